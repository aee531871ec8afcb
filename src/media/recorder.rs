//! Records received audio frames to a WAV file (16-bit PCM, mono, 8000 Hz): the caller bot
//! keeps what it heard, and a call could be recorded the same way.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use super::events::AudioFrame;

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
#[error("recording {path}: {source}")]
pub struct RecordError {
    /// The file.
    pub path: PathBuf,
    /// hound's error.
    pub source: hound::Error,
}

/// An open WAV recording.
pub struct WavRecorder {
    writer: hound::WavWriter<BufWriter<File>>,
    path: PathBuf,
    samples: u64,
}

impl WavRecorder {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, RecordError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|source| RecordError {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(WavRecorder {
            writer,
            path: path.to_path_buf(),
            samples: 0,
        })
    }

    /// Appends samples.
    pub fn write(&mut self, samples: &[i16]) -> Result<(), RecordError> {
        for sample in samples {
            self.writer
                .write_sample(*sample)
                .map_err(|source| RecordError {
                    path: self.path.clone(),
                    source,
                })?;
        }
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Appends one 20 ms frame.
    pub fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), RecordError> {
        self.write(&frame.samples)
    }

    /// Samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Writes the header and closes the file.
    pub fn finish(self) -> Result<(), RecordError> {
        let path = self.path;
        self.writer
            .finalize()
            .map_err(|source| RecordError { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::events::FRAME_SAMPLES;
    use crate::prompts::catalog::read_prompt_wav;

    #[test]
    fn recorded_frames_read_back_as_a_valid_prompt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("heard.wav");
        let mut recorder = WavRecorder::create(&path).unwrap();
        let mut frame = AudioFrame {
            samples: [0; FRAME_SAMPLES],
        };
        for (i, s) in frame.samples.iter_mut().enumerate() {
            *s = (i as i16 - 80) * 100;
        }
        recorder.write_frame(&frame).unwrap();
        recorder.write(&[1, 2, 3]).unwrap();
        assert_eq!(recorder.samples(), 163);
        recorder.finish().unwrap();
        let samples = read_prompt_wav(&path).unwrap();
        assert_eq!(&samples[..160], &frame.samples[..]);
        assert_eq!(&samples[160..], &[1, 2, 3]);
        assert!(WavRecorder::create(&dir.path().join("missing/dir/x.wav")).is_err());
    }
}
