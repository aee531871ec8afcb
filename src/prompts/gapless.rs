//! Gapless joining of prompt samples: a readback such as "twelve dollars and fifty cents"
//! is five recordings, and played back to back they would carry each file's leading and
//! trailing near-silence (audible gaps) and a step where one ends and the next begins
//! (an audible click). [`join`] trims the quiet edges and overlaps each joint with a short
//! linear crossfade, so the call shell can play one continuous buffer.

/// Samples (8 kHz) overlapped at each joint: 5 ms.
pub const CROSSFADE_SAMPLES: usize = 40;

/// Edge samples quieter than this (about -50 dBFS) are trimmed.
pub const SILENCE_THRESHOLD: i16 = 100;

/// Joins prompt recordings into one buffer without gaps or clicks.
pub fn join<S: AsRef<[i16]>>(parts: &[S]) -> Vec<i16> {
    let mut out: Vec<i16> = Vec::new();
    for part in parts {
        let mut part = trim(part.as_ref()).to_vec();
        if part.is_empty() {
            continue;
        }
        fade_edges(&mut part);
        // Overlap-add: the faded tail of one word and the faded head of the next sum to a
        // crossfade, so the joint has no step and no silence.
        let overlap = CROSSFADE_SAMPLES.min(out.len()).min(part.len());
        let start = out.len() - overlap;
        for (i, &incoming) in part[..overlap].iter().enumerate() {
            out[start + i] = out[start + i].saturating_add(incoming);
        }
        out.extend_from_slice(&part[overlap..]);
    }
    out
}

/// The recording from its first to its last sample above [`SILENCE_THRESHOLD`].
fn trim(samples: &[i16]) -> &[i16] {
    let loud = |s: &i16| s.unsigned_abs() > SILENCE_THRESHOLD.unsigned_abs();
    let Some(first) = samples.iter().position(loud) else {
        return &[];
    };
    let last = samples.iter().rposition(loud).unwrap_or(first);
    &samples[first..=last]
}

/// Linear ramps over the first and last [`CROSSFADE_SAMPLES`] so a word starts and ends
/// at silence wherever its recording was cut.
fn fade_edges(samples: &mut [i16]) {
    let n = CROSSFADE_SAMPLES.min(samples.len() / 2);
    let len = samples.len();
    for i in 0..n {
        let w = (i as f32 + 0.5) / n as f32;
        samples[i] = (f32::from(samples[i]) * w) as i16;
        samples[len - 1 - i] = (f32::from(samples[len - 1 - i]) * w) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, phase: f32, len: usize, lead_silence: usize) -> Vec<i16> {
        let mut v = vec![0i16; lead_silence];
        v.extend((0..len).map(|i| {
            (8000.0 * (phase + std::f32::consts::TAU * freq * i as f32 / 8000.0).sin()) as i16
        }));
        v.extend(vec![0i16; lead_silence]);
        v
    }

    fn largest_step(samples: &[i16]) -> i32 {
        samples
            .windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap_or(0)
    }

    fn longest_quiet_run(samples: &[i16]) -> usize {
        let (mut best, mut run) = (0, 0);
        for s in samples {
            run = if s.unsigned_abs() <= 100 { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    }

    #[test]
    fn joints_have_no_clicks_and_no_gaps() {
        // Words cut at a peak: 50.5 cycles starting at +max (a) and at -max (b).
        let half_pi = std::f32::consts::FRAC_PI_2;
        let a = tone(400.0, half_pi, 1010, 800);
        let b = tone(400.0, -half_pi, 1010, 800);
        let inside = largest_step(&a[800..1790]).max(largest_step(&b[800..1790]));
        let butt: Vec<i16> = a.iter().chain(&b).copied().collect();
        assert!(
            largest_step(&butt) > inside + 3000,
            "the fixture must click when butt-joined"
        );
        assert!(longest_quiet_run(&butt) >= 1600, "and have a gap");
        let joined = join(&[a, b]);
        assert!(
            largest_step(&joined) <= inside + 400,
            "click: {} > {inside}",
            largest_step(&joined)
        );
        assert!(
            longest_quiet_run(&joined) <= CROSSFADE_SAMPLES,
            "gap of {} samples",
            longest_quiet_run(&joined)
        );
        assert!(
            joined.len() < 2000 && joined.len() > 1900,
            "{}",
            joined.len()
        );
        assert!(joined[0].abs() < 300 && joined[joined.len() - 1].abs() < 300);
    }

    #[test]
    fn silent_and_empty_parts_are_skipped() {
        let word = tone(300.0, 0.0, 400, 0);
        let joined = join(&[vec![0i16; 500], word.clone(), vec![]]);
        assert!(joined.len() <= word.len() && joined.len() > word.len() - 10);
        assert!(join::<Vec<i16>>(&[]).is_empty());
    }
}
