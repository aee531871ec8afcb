//! G.711 µ-law (PCMU) and A-law (PCMA) codecs between 8-bit codewords and 16-bit linear PCM.
//!
//! Hand-written because it is small and on the hot path: per-sample arithmetic, no tables
//! to initialise, no allocation. The decoders reproduce the ITU-T G.711 reconstruction
//! levels scaled to 16 bits (µ-law ±32124, A-law ±32256), which is what sox produces; the
//! tests check all 256 codewords of each law against sox's own decoder output.

/// µ-law decoding bias (33 in 14-bit units, scaled by 4 to 16 bits).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude µ-law encodes before clipping.
const ULAW_CLIP_14: i32 = 8159;

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

/// Encodes one sample as µ-law: rounded to the 14-bit linear input G.711 defines, then
/// segment and step as in the ITU reference (the same rounding sox uses).
#[inline]
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let linear14 = if sample >= 32766 {
        8191
    } else {
        (i32::from(sample) + 2) >> 2
    };
    let (magnitude, mask) = if linear14 < 0 {
        (-linear14, 0x7F)
    } else {
        (linear14, 0xFF)
    };
    // Bias 33 makes the segment boundaries powers of two.
    let biased = magnitude.min(ULAW_CLIP_14) + 33;
    let segment = top_bit(biased | 0x3F) - 5;
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    (((segment << 4) | ((biased >> (segment + 1)) & 0x0F)) as u8) ^ mask
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

/// Encodes one sample as A-law: rounded to the 13-bit linear input G.711 defines, then
/// segment and step as in the ITU reference (the same rounding sox uses).
#[inline]
pub fn linear_to_alaw(sample: i16) -> u8 {
    let linear13 = if sample >= 32764 {
        4095
    } else {
        (i32::from(sample) + 4) >> 3
    };
    let (magnitude, mask) = if linear13 >= 0 {
        (linear13, 0xD5)
    } else {
        // One's complement: A-law has no negative zero, -1 maps to the first negative step.
        (-linear13 - 1, 0x55)
    };
    let segment = top_bit(magnitude | 0x1F) - 4;
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let step = if segment < 2 {
        (magnitude >> 1) & 0x0F
    } else {
        (magnitude >> segment) & 0x0F
    };
    (((segment << 4) | step) as u8) ^ mask
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

    /// SHA-256 of sox's encoding of every 16-bit sample from -32768 to 32767, in order:
    /// `sox -D -t raw -e signed -b 16 -L -r 8000 -c 1 all.raw -t raw -e u-law out.raw`
    /// (and `-e a-law`).
    const SOX_ULAW_ENCODING_SHA256: &str =
        "cd03795221187036041e2c68724ebbcc497e1844823ff4ab4ac6e61bc5948fb3";
    const SOX_ALAW_ENCODING_SHA256: &str =
        "9ad77510792fe7c8192acff6bf30d3fe660e5644727b703881516fa61dbabdeb";

    fn encoding_hash(law: G711Law) -> String {
        use sha2::{Digest, Sha256};
        let codes: Vec<u8> = (i16::MIN..=i16::MAX).map(|s| law.encode(s)).collect();
        Sha256::digest(&codes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn encoders_match_sox_for_every_16_bit_sample() {
        assert_eq!(encoding_hash(G711Law::Ulaw), SOX_ULAW_ENCODING_SHA256);
        assert_eq!(encoding_hash(G711Law::Alaw), SOX_ALAW_ENCODING_SHA256);
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
