//! A synthesiser's WAV, whatever its rate, sample format or channels, turned into what
//! the call plays: 8 kHz mono 16-bit samples (the prompts' format, see
//! `prompts::catalog`). Reading and mixing down reuse `asr::wav`; the rate change is
//! rubato's FFT resampler, anti-aliased.

use crate::asr::wav::MonoAudio;
use crate::prompts::catalog::PROMPT_SAMPLE_RATE;
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use std::path::Path;

/// Reads any WAV file hound understands and converts it to 8 kHz mono 16-bit.
pub fn read_as_prompt(path: &Path) -> Result<Vec<i16>, String> {
    let audio = crate::asr::wav::read_wav_mono(path).map_err(|e| e.to_string())?;
    to_prompt_rate(&audio)
}

/// Mono audio at any rate (samples in -1..1) to 8 kHz 16-bit.
pub fn to_prompt_rate(audio: &MonoAudio) -> Result<Vec<i16>, String> {
    if audio.samples.is_empty() {
        return Err("the WAV file has no samples".into());
    }
    if audio.rate == 0 {
        return Err("the WAV file declares a sample rate of 0".into());
    }
    let resampled = if audio.rate == PROMPT_SAMPLE_RATE {
        audio.samples.clone()
    } else {
        let mut fft = Fft::<f32>::new(
            audio.rate as usize,
            PROMPT_SAMPLE_RATE as usize,
            1024,
            1,
            FixedSync::Input,
        )
        .map_err(|e| format!("cannot resample from {} Hz: {e}", audio.rate))?;
        let input = InterleavedSlice::new(&audio.samples, 1, audio.samples.len())
            .map_err(|e| e.to_string())?;
        fft.process_all(&input, audio.samples.len(), None)
            .map_err(|e| e.to_string())?
            .take_data()
    };
    Ok(resampled.iter().map(|s| to_i16(*s)).collect())
}

fn to_i16(sample: f32) -> i16 {
    (sample * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_wav(path: &Path, spec: hound::WavSpec, frames: usize, tone_hz: f32) {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for i in 0..frames {
            let t = i as f32 / spec.sample_rate as f32;
            let v = (2.0 * std::f32::consts::PI * tone_hz * t).sin() * 0.5;
            for _ in 0..spec.channels {
                match spec.sample_format {
                    hound::SampleFormat::Float => w.write_sample(v).unwrap(),
                    hound::SampleFormat::Int => w.write_sample((v * 32767.0) as i16).unwrap(),
                }
            }
        }
        w.finalize().unwrap();
    }

    /// Zero crossings per second of a tone: twice its frequency.
    fn crossings_per_second(samples: &[i16], rate: u32) -> f32 {
        let middle = &samples[samples.len() / 4..samples.len() * 3 / 4];
        let n = middle
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        n as f32 * rate as f32 / middle.len() as f32
    }

    #[test]
    fn stereo_16_khz_becomes_8_khz_mono_of_the_same_length_and_pitch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write_wav(&path, spec, 16000, 440.0);
        let out = read_as_prompt(&path).unwrap();
        assert!(
            (7900..=8100).contains(&out.len()),
            "one second at 8 kHz, got {} samples",
            out.len()
        );
        let crossings = crossings_per_second(&out, 8000);
        assert!(
            (860.0..920.0).contains(&crossings),
            "440 Hz kept: {crossings}"
        );
        let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((15000..18000).contains(&peak), "level kept: {peak}");
    }

    #[test]
    fn float_44_1_khz_and_8_khz_input_convert() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("float.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 44100,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        write_wav(&path, spec, 22050, 300.0);
        let out = read_as_prompt(&path).unwrap();
        assert!((3900..=4100).contains(&out.len()), "{}", out.len());

        let path = dir.path().join("8k.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write_wav(&path, spec, 800, 300.0);
        assert_eq!(
            read_as_prompt(&path).unwrap().len(),
            800,
            "8 kHz passes as is"
        );
    }

    #[test]
    fn garbage_and_empty_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.wav");
        std::fs::write(&path, b"RIFF not really").unwrap();
        assert!(read_as_prompt(&path).is_err());
        let path = dir.path().join("empty.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        write_wav(&path, spec, 0, 1.0);
        assert!(read_as_prompt(&path).is_err());
    }
}
