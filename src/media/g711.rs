//! G.711 µ-law (PCMU) and A-law (PCMA) codecs between 8-bit codewords and 16-bit linear PCM.
//!
//! Hand-written because it is small and on the hot path: per-sample arithmetic, no tables
//! to initialise, no allocation. The decoders reproduce the ITU-T G.711 reconstruction
//! levels scaled to 16 bits (µ-law ±32124, A-law ±32256), which is what sox produces; the
//! tests check all 256 codewords of each law against sox's own decoder output.

/// Bias added before µ-law segment search (ITU-T G.711, 33 in 14-bit units, scaled by 4).
const ULAW_BIAS: i32 = 0x84;

/// Which G.711 law a payload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711Law {
    /// µ-law, RTP static payload type 0 (PCMU): North America and Japan.
    Ulaw,
    /// A-law, RTP static payload type 8 (PCMA): most of the rest of the world.
    Alaw,
}

impl G711Law {
    /// Encodes one 16-bit sample.
    #[inline]
    pub fn encode(self, sample: i16) -> u8 {
        match self {
            G711Law::Ulaw => linear_to_ulaw(sample),
            G711Law::Alaw => linear_to_alaw(sample),
        }
    }

    /// Decodes one codeword.
    #[inline]
    pub fn decode(self, code: u8) -> i16 {
        match self {
            G711Law::Ulaw => ulaw_to_linear(code),
            G711Law::Alaw => alaw_to_linear(code),
        }
    }

    /// Encodes `pcm` into `out`, one codeword per sample, over the shorter of the two.
    pub fn encode_into(self, pcm: &[i16], out: &mut [u8]) {
        for (o, s) in out.iter_mut().zip(pcm) {
            *o = self.encode(*s);
        }
    }

    /// Decodes `payload` into `out`, one sample per codeword, over the shorter of the two.
    pub fn decode_into(self, payload: &[u8], out: &mut [i16]) {
        for (o, c) in out.iter_mut().zip(payload) {
            *o = self.decode(*c);
        }
    }

    /// The codeword for digital silence (linear 0).
    pub fn silence(self) -> u8 {
        self.encode(0)
    }
}

/// Index of the highest set bit (`value` must be non-zero).
#[inline]
fn top_bit(value: i32) -> i32 {
    31 - value.leading_zeros() as i32
}

/// Encodes one sample as µ-law.
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let (magnitude, mask) = if sample < 0 {
        (ULAW_BIAS - i32::from(sample) - 1, 0x7F)
    } else {
        (ULAW_BIAS + i32::from(sample), 0xFF)
    };
    let segment = top_bit(magnitude | 0xFF) - 7;
    if segment >= 8 {
        // Clipped: the largest magnitude codeword.
        return 0x7F ^ mask;
    }
    (((segment << 4) | ((magnitude >> (segment + 3)) & 0x0F)) as u8) ^ mask
}

/// Decodes one µ-law codeword.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    let code = !code;
    let magnitude = ((i32::from(code & 0x0F) << 3) + ULAW_BIAS) << ((code & 0x70) >> 4);
    let linear = if code & 0x80 != 0 {
        ULAW_BIAS - magnitude
    } else {
        magnitude - ULAW_BIAS
    };
    linear as i16
}

/// Encodes one sample as A-law.
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    let (magnitude, mask) = if sample >= 0 {
        (i32::from(sample), 0xD5)
    } else {
        // One's complement keeps -32768 in range and matches the reference rounding.
        (-i32::from(sample) - 1, 0x55)
    };
    let segment = top_bit(magnitude | 0xFF) - 7;
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if segment == 0 { 4 } else { segment + 3 };
    (((segment << 4) | ((magnitude >> shift) & 0x0F)) as u8) ^ mask
}

/// Decodes one A-law codeword.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    let code = code ^ 0x55;
    let mut magnitude = i32::from(code & 0x0F) << 4;
    let segment = (code & 0x70) >> 4;
    if segment == 0 {
        magnitude += 8;
    } else {
        magnitude = (magnitude + 0x108) << (segment - 1);
    }
    let linear = if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    linear as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sox's decoding of codewords 0..=255, as 16-bit little-endian samples:
    /// `sox -t raw -e u-law -r 8000 -c 1 codes.raw -t raw -e signed -b 16 out.raw`.
    const SOX_ULAW: &[u8; 512] = include_bytes!("testdata/g711_ulaw_sox.s16le");
    const SOX_ALAW: &[u8; 512] = include_bytes!("testdata/g711_alaw_sox.s16le");

    fn sox_table(raw: &[u8; 512]) -> Vec<i16> {
        raw.chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn ulaw_decoder_matches_sox_for_all_codewords() {
        let sox = sox_table(SOX_ULAW);
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_linear(code), sox[code as usize], "code {code:#04x}");
        }
    }

    #[test]
    fn alaw_decoder_matches_sox_for_all_codewords() {
        let sox = sox_table(SOX_ALAW);
        for code in 0..=255u8 {
            assert_eq!(alaw_to_linear(code), sox[code as usize], "code {code:#04x}");
        }
    }

    #[test]
    fn reconstruction_levels_encode_back_to_themselves() {
        for law in [G711Law::Ulaw, G711Law::Alaw] {
            for code in 0..=255u8 {
                let level = law.decode(code);
                // µ-law has two zeros (0x7F and 0xFF); both decode to 0, which encodes as 0xFF.
                assert_eq!(law.decode(law.encode(level)), level, "{law:?} {code:#04x}");
            }
        }
    }

    #[test]
    fn encoder_picks_the_nearest_level_and_clips_extremes() {
        for law in [G711Law::Ulaw, G711Law::Alaw] {
            assert_eq!(
                law.decode(law.encode(i16::MAX)),
                law.decode(law.encode(32767))
            );
            assert!(law.decode(law.encode(i16::MAX)) > 32000);
            assert!(law.decode(law.encode(i16::MIN)) < -32000);
            // Quantisation error stays within half the widest step (1024 in the top segment).
            for sample in (i16::MIN..=i16::MAX).step_by(7) {
                let err = (i32::from(law.decode(law.encode(sample))) - i32::from(sample)).abs();
                assert!(err <= 1024, "{law:?} {sample} -> err {err}");
            }
        }
        assert_eq!(G711Law::Ulaw.silence(), 0xFF);
        assert_eq!(G711Law::Alaw.silence(), 0xD5);
    }
}
