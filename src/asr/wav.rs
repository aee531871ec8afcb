//! Reading WAV files for recognition: any rate, 8–32-bit integer or float samples, channels
//! mixed down to mono, returned as -1..1 floats with the file's rate.

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("{path}: {source}")]
    Read { path: String, source: hound::Error },
    #[error("{path}: the file declares no channels")]
    NoChannels { path: String },
}

/// Mono samples in -1..1 and the sample rate.
#[derive(Debug, Clone)]
pub struct MonoAudio {
    pub samples: Vec<f32>,
    pub rate: u32,
}

impl MonoAudio {
    pub fn duration_ms(&self) -> u64 {
        if self.rate == 0 {
            return 0;
        }
        self.samples.len() as u64 * 1000 / u64::from(self.rate)
    }
}

pub fn read_wav_mono(path: &Path) -> Result<MonoAudio, WavError> {
    let shown = path.display().to_string();
    let err = |source| WavError::Read {
        path: shown.clone(),
        source,
    };
    let mut reader = hound::WavReader::open(path).map_err(err)?;
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    if channels == 0 {
        return Err(WavError::NoChannels { path: shown });
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(err)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(err)?
        }
    };
    let samples = interleaved
        .chunks_exact(channels)
        .map(|frame| (frame.iter().sum::<f32>() / channels as f32).clamp(-1.0, 1.0))
        .collect();
    Ok(MonoAudio {
        samples,
        rate: spec.sample_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stereo_16_bit_as_mono() {
        let path = std::env::temp_dir().join(format!("hotline-wav-{}.wav", std::process::id()));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..80 {
            w.write_sample(16384i16).unwrap();
            w.write_sample(0i16).unwrap();
        }
        w.finalize().unwrap();
        let audio = read_wav_mono(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(audio.rate, 8000);
        assert_eq!(audio.samples.len(), 80);
        assert!((audio.samples[0] - 0.25).abs() < 1e-6);
        assert_eq!(audio.duration_ms(), 10);
    }

    #[test]
    fn garbage_is_an_error() {
        let path = std::env::temp_dir().join(format!("hotline-notwav-{}.wav", std::process::id()));
        std::fs::write(&path, b"this is not audio").unwrap();
        let result = read_wav_mono(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(result.is_err());
    }
}
