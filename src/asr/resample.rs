//! Any sample rate to Whisper's 16 kHz, with rubato's FFT resampler (anti-aliased, about
//! 10,000× real time here). Telephone audio arrives at 8 kHz; WAV files at anything.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::{AsrError, WHISPER_RATE};

/// A resampler from one input rate to 16 kHz, kept per worker so the FFT plans are made once.
pub struct ToWhisperRate {
    rate: u32,
    fft: Option<Fft<f32>>,
}

impl std::fmt::Debug for ToWhisperRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToWhisperRate")
            .field("rate", &self.rate)
            .finish()
    }
}

impl ToWhisperRate {
    pub fn new(rate: u32) -> Result<Self, AsrError> {
        if rate == 0 {
            return Err(AsrError::Resample("sample rate 0".into()));
        }
        let fft = if rate == WHISPER_RATE {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    rate as usize,
                    WHISPER_RATE as usize,
                    1024,
                    1,
                    FixedSync::Input,
                )
                .map_err(|e| AsrError::Resample(e.to_string()))?,
            )
        };
        Ok(Self { rate, fft })
    }

    pub fn input_rate(&self) -> u32 {
        self.rate
    }

    /// Resamples a whole clip (mono, -1..1), trimming the resampler's delay.
    pub fn process(&mut self, input: &[f32]) -> Result<Vec<f32>, AsrError> {
        let Some(fft) = self.fft.as_mut() else {
            return Ok(input.to_vec());
        };
        if input.is_empty() {
            return Ok(Vec::new());
        }
        let adapter = InterleavedSlice::new(input, 1, input.len())
            .map_err(|e| AsrError::Resample(e.to_string()))?;
        let out = fft
            .process_all(&adapter, input.len(), None)
            .map_err(|e| AsrError::Resample(e.to_string()))?;
        Ok(out.take_data())
    }
}

/// 16-bit PCM to -1..1 floats.
pub fn i16_to_f32(pcm: &[i16]) -> Vec<f32> {
    pcm.iter().map(|s| f32::from(*s) / 32768.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_the_length_from_8k_and_keeps_a_tone() {
        let tone: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 8000.0).sin() * 0.5)
            .collect();
        let mut rs = ToWhisperRate::new(8000).unwrap();
        let out = rs.process(&tone).unwrap();
        assert!((out.len() as i64 - 16000).abs() <= 2, "{}", out.len());
        // Same tone at the new rate: compare the middle against a 440 Hz sine at 16 kHz.
        let rms = |v: &[f32]| (v.iter().map(|x| x * x).sum::<f32>() / v.len() as f32).sqrt();
        let mid = &out[4000..12000];
        assert!((rms(mid) - 0.5 / 2f32.sqrt()).abs() < 0.02, "{}", rms(mid));
        let expected: Vec<f32> = (4000..12000)
            .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16000.0).sin() * 0.5)
            .collect();
        let err: Vec<f32> = mid.iter().zip(&expected).map(|(a, b)| a - b).collect();
        assert!(rms(&err) < 0.02, "phase or level drift: {}", rms(&err));
    }

    #[test]
    fn sixteen_k_passes_through_and_empty_is_empty() {
        let mut rs = ToWhisperRate::new(16_000).unwrap();
        assert_eq!(rs.process(&[0.25, -0.5]).unwrap(), vec![0.25, -0.5]);
        let mut rs = ToWhisperRate::new(8000).unwrap();
        assert!(rs.process(&[]).unwrap().is_empty());
        assert!(ToWhisperRate::new(0).is_err());
    }
}
