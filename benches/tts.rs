//! Text-to-speech cost per text: a cold synthesis through flite's slt voice (16 kHz; the
//! command run, its WAV converted to 8 kHz and cached), a cache hit (what every later call pays), and
//! the WAV conversion alone.
//!
//! Run: `cargo bench --bench tts` (needs flite). Figures go in docs/benchmarks.md.

use criterion::{Criterion, criterion_group, criterion_main};
use hotline::tts::{Tts, TtsConfig};
use std::hint::black_box;
use std::time::Duration;

const SENTENCE: &str = "Our branch on Main Street is open until five today.";

fn tts(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let tts = Tts::new(&TtsConfig {
        command: ["flite", "-voice", "slt", "-t", "{text}", "-o", "{out}"]
            .map(String::from)
            .to_vec(),
        cache_dir: dir.path().join("cache"),
        ..TtsConfig::default()
    })
    .expect("tts");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("tts");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(15));

    let mut n = 0u64;
    group.bench_function("cold synthesis (flite, 56 chars)", |b| {
        b.iter(|| {
            n += 1;
            // A new text each time: the number keeps the length and misses the cache.
            let text = format!("{SENTENCE} {:04}", n % 10_000);
            rt.block_on(tts.speak(&text)).expect("synthesis")
        })
    });
    rt.block_on(tts.speak(SENTENCE)).expect("warm the cache");
    group.bench_function("cache hit", |b| {
        b.iter(|| rt.block_on(tts.speak(black_box(SENTENCE))).expect("hit"))
    });

    let raw = dir.path().join("raw.wav");
    let status = std::process::Command::new("flite")
        .args(["-voice", "slt", "-t", SENTENCE, "-o"])
        .arg(&raw)
        .status()
        .expect("flite");
    assert!(status.success());
    group.bench_function("convert 16 kHz WAV to 8 kHz", |b| {
        b.iter(|| hotline::tts::convert::read_as_prompt(black_box(&raw)).expect("convert"))
    });
    group.finish();
}

criterion_group!(benches, tts);
criterion_main!(benches);
