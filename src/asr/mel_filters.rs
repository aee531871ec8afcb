//! The Slaney-style mel filterbank Whisper was trained with (librosa's `filters.mel` for
//! 16 kHz, n_fft 400, 80 bands): whisper.cpp reads it from the model file, and the
//! CTranslate2 package does not carry it, so the converter computes it.

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// `n_mels × (n_fft/2 + 1)` weights, row-major, area-normalised ("slaney") triangles from
/// 0 Hz to Nyquist.
pub fn mel_filterbank(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let n_bins = n_fft / 2 + 1;
    let nyquist = f64::from(sample_rate) / 2.0;
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|i| nyquist * i as f64 / (n_bins - 1) as f64)
        .collect();
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(nyquist));
    let mel_freqs: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut weights = Vec::with_capacity(n_mels * n_bins);
    for m in 0..n_mels {
        let (left, centre, right) = (mel_freqs[m], mel_freqs[m + 1], mel_freqs[m + 2]);
        let norm = 2.0 / (right - left);
        for &f in &fft_freqs {
            let lower = (f - left) / (centre - left);
            let upper = (right - f) / (right - centre);
            weights.push((lower.min(upper).max(0.0) * norm) as f32);
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whisper_filterbank_has_the_known_shape_and_values() {
        let w = mel_filterbank(16_000, 400, 80);
        assert_eq!(w.len(), 80 * 201);
        // First band: a triangle peaking near bin 1 (40 Hz); librosa gives 0.0248626 there.
        assert!((w[1] - 0.024_862_6).abs() < 1e-6, "{}", w[1]);
        assert_eq!(w[0], 0.0);
        // Every band has some weight, none is negative.
        for band in w.chunks(201) {
            assert!(band.iter().any(|v| *v > 0.0));
            assert!(band.iter().all(|v| *v >= 0.0));
        }
    }
}
