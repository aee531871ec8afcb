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
    PromptCatalog::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        "en-US",
    )
    .expect("prompts load")
}

fn largest_step(samples: &[i16]) -> i32 {
    samples
        .windows(2)
        .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
        .max()
        .unwrap_or(0)
}

#[test]
fn every_readback_word_is_recorded() {
    let catalog = catalog();
    let missing: Vec<&str> = READBACK_PROMPTS
        .iter()
        .copied()
        .filter(|id| catalog.samples(id).is_none())
        .collect();
    assert!(missing.is_empty(), "no recording for {missing:?}");
}

#[test]
fn balances_play_as_one_buffer_without_gaps_or_clicks() {
    let catalog = catalog();
    for (read_as, value) in [
        (ReadAs::Money, "-1234.56"),
        (ReadAs::Money, "0"),
        (ReadAs::Digits, "12345678"),
        (ReadAs::Date, "2026-11-26"),
    ] {
        let ids = readback(read_as, value).unwrap();
        let parts: Vec<Arc<[i16]>> = ids
            .iter()
            .map(|id| catalog.samples(id).expect("recorded"))
            .collect();
        let raw: usize = parts.iter().map(|p| p.len()).sum();
        let joined = join(&parts);
        assert!(joined.len() < raw, "{value}: {} !< {raw}", joined.len());
        assert!(joined.len() > raw / 2, "{value}: words were lost");
        let inside = parts.iter().map(|p| largest_step(p)).max().unwrap();
        assert!(
            largest_step(&joined) <= inside + 1000,
            "{value}: click {} vs {inside}",
            largest_step(&joined)
        );
        assert!(
            joined.first().unwrap().unsigned_abs() < 1000
                && joined.last().unwrap().unsigned_abs() < 1000
        );
        assert!(ids.len() < 2 || joined.len() > CROSSFADE_SAMPLES * ids.len());
    }
}

#[test]
fn check_fails_when_a_readback_word_has_no_recording() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let copy = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(copy.path().join("dialplans")).unwrap();
    std::fs::create_dir_all(copy.path().join("prompts/en-US")).unwrap();
    std::fs::copy(
        root.join("dialplans/acme-bank.yaml"),
        copy.path().join("dialplans/acme-bank.yaml"),
    )
    .unwrap();
    for entry in std::fs::read_dir(root.join("prompts/en-US")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(
            &path,
            copy.path()
                .join("prompts/en-US")
                .join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    let plan = copy.path().join("dialplans/acme-bank.yaml");
    let codes =
        |report: &hotline::dialplan::Report| report.errors().map(|d| d.code).collect::<Vec<_>>();
    let report = match hotline::dialplan::load_path(&plan) {
        Ok((_, report)) | Err(report) => report,
    };
    assert!(codes(&report).is_empty(), "{}", report.render());

    std::fs::remove_file(copy.path().join("prompts/en-US/cents.wav")).unwrap();
    let report = match hotline::dialplan::load_path(&plan) {
        Ok((_, report)) | Err(report) => report,
    };
    assert!(
        codes(&report).contains(&"missing-readback-prompt"),
        "{}",
        report.render()
    );
    assert!(report.render().contains("cents"));
}
