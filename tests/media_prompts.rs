//! The prompt catalog: the committed prompts load, and bad files are refused by name.

use std::path::{Path, PathBuf};

use hotline::prompts::{PromptCatalog, PromptError};

fn repo_prompts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts")
}

fn write_wav(path: &Path, channels: u16, rate: u32, bits: u16, samples: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..samples * usize::from(channels) {
        if bits == 16 {
            writer.write_sample((i % 100) as i16 * 100).unwrap();
        } else {
            writer.write_sample((i % 100) as i32).unwrap();
        }
    }
    writer.finalize().unwrap();
}

#[test]
fn committed_core_prompts_load_with_text() {
    let catalog = PromptCatalog::load(&repo_prompts(), "en-US").unwrap();
    let wanted = [
        "welcome",
        "goodbye",
        "you-pressed",
        "zero",
        "nine",
        "star",
        "hash",
        "nineteen",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "billion",
        "dollars",
        "cents",
        "and",
        "minus",
        "point",
        "january",
        "december",
        "first",
        "thirty-first",
        "oclock",
        "am",
        "pm",
    ];
    for id in wanted {
        let prompt = catalog
            .get(id)
            .unwrap_or_else(|| panic!("missing prompt {id}"));
        assert!(prompt.text.is_some(), "{id} has no text");
        assert!(prompt.duration_ms() > 100, "{id} is too short");
    }
    assert!(catalog.text("welcome").unwrap().contains("Hotline"));
    // Shared, not copied.
    let a = catalog.samples("welcome").unwrap();
    let b = catalog.samples("welcome").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn wrong_formats_are_refused_with_the_file_named() {
    for (channels, rate, bits, found) in [
        (2, 8000, 16, "2 channel(s)"),
        (1, 16000, 16, "16000 Hz"),
        (1, 8000, 8, "8-bit"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let lang = dir.path().join("en-US");
        std::fs::create_dir(&lang).unwrap();
        write_wav(&lang.join("ok.wav"), 1, 8000, 16, 800);
        write_wav(&lang.join("bad.wav"), channels, rate, bits, 800);
        let err = PromptCatalog::load(dir.path(), "en-US").unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, PromptError::Format { .. }), "{message}");
        assert!(
            message.contains("bad.wav") && message.contains(found),
            "{message}"
        );
    }
}

#[test]
fn not_a_wav_listed_without_recording_and_bad_lists_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let lang = dir.path().join("en-US");
    std::fs::create_dir(&lang).unwrap();
    std::fs::write(lang.join("junk.wav"), b"RIFF nonsense").unwrap();
    let err = PromptCatalog::load(dir.path(), "en-US").unwrap_err();
    assert!(matches!(err, PromptError::Wav { .. }) && err.to_string().contains("junk.wav"));

    std::fs::remove_file(lang.join("junk.wav")).unwrap();
    write_wav(&lang.join("hello.wav"), 1, 8000, 16, 800);
    std::fs::write(
        lang.join("list.txt"),
        "# comment\nhello\tHello.\nbye\tGoodbye.\n",
    )
    .unwrap();
    let err = PromptCatalog::load(dir.path(), "en-US").unwrap_err();
    assert!(
        matches!(&err, PromptError::MissingWav { id, line: 3, .. } if id == "bye"),
        "{err}"
    );

    std::fs::write(lang.join("list.txt"), "hello Hello.\n").unwrap();
    let err = PromptCatalog::load(dir.path(), "en-US").unwrap_err();
    assert!(
        err.to_string().contains("list.txt:1: expected id<TAB>text"),
        "{err}"
    );

    std::fs::write(lang.join("list.txt"), "hello\tHello.\n").unwrap();
    let catalog = PromptCatalog::load(dir.path(), "en-US").unwrap();
    assert_eq!(catalog.text("hello"), Some("Hello."));
    assert_eq!(catalog.get("hello").unwrap().samples.len(), 800);

    write_wav(&lang.join("empty.wav"), 1, 8000, 16, 0);
    assert!(matches!(
        PromptCatalog::load(dir.path(), "en-US"),
        Err(PromptError::Empty { .. })
    ));
    assert!(matches!(
        PromptCatalog::load(dir.path(), "fr-FR"),
        Err(PromptError::Io { .. })
    ));
}
