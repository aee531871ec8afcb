//! Readback against the real en-US prompt folder: every word a readback can say is a
//! valid recording, and a spoken balance joins into one buffer that is shorter than the
//! recordings played back to back (their quiet edges are gone) with no step at the joints
//! larger than the steps inside the words.

use hotline::dialplan::template::ReadAs;
use hotline::prompts::PromptCatalog;
use hotline::prompts::gapless::{CROSSFADE_SAMPLES, join};
use hotline::prompts::readback::{READBACK_PROMPTS, readback};
use std::path::PathBuf;
use std::sync::Arc;

fn catalog() -> PromptCatalog {
    PromptCatalog::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompts"), "en-US").expect("prompts load")
}

fn largest_step(samples: &[i16]) -> i32 {
    samples.windows(2).map(|w| (i32::from(w[1]) - i32::from(w[0])).abs()).max().unwrap_or(0)
}

#[test]
fn every_readback_word_is_recorded() {
    let catalog = catalog();
    let missing: Vec<&str> = READBACK_PROMPTS.iter().copied().filter(|id| catalog.samples(id).is_none()).collect();
    assert!(missing.is_empty(), "no recording for {missing:?}");
}

#[test]
fn balances_play_as_one_buffer_without_gaps_or_clicks() {
    let catalog = catalog();
    for (read_as, value) in [(ReadAs::Money, "-1234.56"), (ReadAs::Money, "0"), (ReadAs::Digits, "12345678"), (ReadAs::Date, "2026-11-26")] {
        let ids = readback(read_as, value).unwrap();
        let parts: Vec<Arc<[i16]>> = ids.iter().map(|id| catalog.samples(id).expect("recorded")).collect();
        let raw: usize = parts.iter().map(|p| p.len()).sum();
        let joined = join(&parts);
        assert!(joined.len() < raw, "{value}: {} !< {raw}", joined.len());
        assert!(joined.len() > raw / 2, "{value}: words were lost");
        let inside = parts.iter().map(|p| largest_step(p)).max().unwrap();
        assert!(largest_step(&joined) <= inside + 1000, "{value}: click {} vs {inside}", largest_step(&joined));
        assert!(joined.first().unwrap().unsigned_abs() < 1000 && joined.last().unwrap().unsigned_abs() < 1000);
        assert!(ids.len() < 2 || joined.len() > CROSSFADE_SAMPLES * ids.len());
    }
}
