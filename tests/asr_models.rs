//! `hotline models` and `hotline transcribe` as a user runs them: installing a model from a
//! local file (whisper.cpp's download location), verifying, listing, refusing bad files,
//! and transcribing fixtures to text and JSON.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hotline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("hotline runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The q8_0 model in models/, fetched (once per test process) through the real path when
/// missing.
fn cached_model() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        hotline::asr::ensure_model(&root().join("models"), "tiny.en-q8_0", true).expect("model")
    })
    .clone()
}

#[test]
fn install_from_a_local_file_then_verify_and_list() {
    let source = cached_model();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let out = hotline(&[
        "models",
        "fetch",
        "tiny.en-q8_0",
        "--dir",
        d,
        "--from",
        source.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("ggml-tiny.en-q8_0.bin").exists());

    let out = hotline(&["models", "verify", "--dir", d]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ok     tiny.en-q8_0"), "{}", text(&out));

    let out = hotline(&["models", "list", "--dir", d]);
    let listing = text(&out);
    assert!(
        listing.contains("tiny.en-q8_0") && listing.contains("present"),
        "{listing}"
    );
    assert!(
        listing.contains("missing"),
        "tiny.en is not there: {listing}"
    );
}

#[test]
fn a_file_that_is_not_the_model_is_refused_with_its_checksum() {
    let source = cached_model();
    let dir = tempfile::tempdir().expect("tempdir");
    // A structurally valid ggml file with one weight changed: only the sha256 tells.
    let mut bytes = std::fs::read(&source).expect("reads");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    let tampered = dir.path().join("download.bin");
    std::fs::write(&tampered, &bytes).expect("writes");
    let target = dir.path().join("models");
    let out = hotline(&[
        "models",
        "fetch",
        "tiny.en-q8_0",
        "--dir",
        target.to_str().expect("path"),
        "--from",
        tampered.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("sha256 is"), "{}", text(&out));
    assert!(
        !target.join("ggml-tiny.en-q8_0.bin").exists(),
        "nothing installed"
    );

    // An HTML error page saved under the model's name.
    let page = dir.path().join("page.bin");
    std::fs::write(&page, b"<html><body>404</body></html>").expect("writes");
    let out = hotline(&[
        "models",
        "fetch",
        "tiny.en",
        "--dir",
        target.to_str().expect("path"),
        "--from",
        page.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a whisper.cpp ggml model"),
        "{}",
        text(&out)
    );
}

#[test]
fn transcribe_prints_text_and_json() {
    cached_model();
    let wav = "sip-testbench/utterances/dispute-awb.wav";
    let out = hotline(&["transcribe", "--no-fetch", "--model", "tiny.en-q8_0", wav]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("I want to dispute a charge"),
        "{}",
        text(&out)
    );

    let out = hotline(&[
        "transcribe",
        "--no-fetch",
        "--json",
        "--model",
        "tiny.en-q8_0",
        wav,
        "sip-testbench/utterances/silence.wav",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let items = json.as_array().expect("array");
    assert_eq!(items.len(), 2);
    assert!(items[0]["text"].as_str().expect("text").contains("dispute"));
    assert!(items[0]["confidence"].as_f64().expect("confidence") > 0.5);
    assert!(items[0]["audio_ms"].as_u64().expect("audio_ms") > 2000);
    assert_eq!(items[1]["text"], "");
}

#[test]
fn transcribe_without_a_model_and_without_fetching_names_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hotline(&[
        "transcribe",
        "--no-fetch",
        "--dir",
        dir.path().to_str().expect("path"),
        "sip-testbench/utterances/silence.wav",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains(&format!(
            "hotline models fetch tiny.en --dir {}",
            dir.path().display()
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn a_file_that_is_not_audio_is_reported_per_file() {
    cached_model();
    let out = hotline(&[
        "transcribe",
        "--no-fetch",
        "--model",
        "tiny.en-q8_0",
        "Cargo.toml",
        "sip-testbench/utterances/agent-kal.wav",
    ]);
    assert!(!out.status.success(), "a failed file fails the command");
    let report = text(&out);
    assert!(report.contains("Cargo.toml\terror:"), "{report}");
    assert!(
        report.contains("Agent"),
        "other files still transcribed: {report}"
    );
}

/// A loopback HTTP server standing in for whisper.cpp's download location (or a mirror):
/// `/good` is the model, `/corrupt` the model with one byte changed, anything else 404.
/// Serves `requests` connections, then stops.
fn model_server(model: Vec<u8>, requests: usize) -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut request_line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            reader.read_line(&mut request_line).ok();
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let body = match path {
                "/good" => Some(model.clone()),
                "/corrupt" => {
                    let mut bad = model.clone();
                    let middle = bad.len() / 2;
                    bad[middle] ^= 0x55;
                    Some(bad)
                }
                _ => None,
            };
            let _ = match body {
                Some(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|_| stream.write_all(&body)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    (base, handle)
}

#[test]
fn download_from_a_url_is_verified_before_it_is_installed() {
    let model = std::fs::read(cached_model()).expect("model bytes");
    let (base, server) = model_server(model, 3);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let installed = dir.path().join("ggml-tiny.en-q8_0.bin");
    let fetch = |path: &str| {
        hotline(&[
            "models",
            "fetch",
            "tiny.en-q8_0",
            "--dir",
            d,
            "--url",
            &format!("{base}{path}"),
        ])
    };

    let out = fetch("/corrupt");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("sha256"), "{}", text(&out));
    assert!(!installed.exists(), "a corrupt download is never installed");

    let out = fetch("/missing");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("404"), "{}", text(&out));

    let out = fetch("/good");
    assert!(out.status.success(), "{}", text(&out));
    assert!(installed.exists());
    let out = hotline(&["models", "verify", "--dir", d]);
    assert!(text(&out).contains("ok     tiny.en-q8_0"), "{}", text(&out));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    server.join().expect("server thread");
}
