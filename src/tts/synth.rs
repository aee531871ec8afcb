//! Running the configured text-to-speech command, with an on-disk cache in front of it.
//!
//! A text's cache file is `<cache_dir>/<sha256 of command and text>.wav`, already at 8 kHz
//! mono 16-bit: a cached text costs one small file read, and changing the command (a
//! voice, a rate) gives new files rather than stale audio. The command writes to a
//! temporary file in the same folder; the converted result is renamed into place, so a
//! half-written file is never played. Calls asking for the same text at the same time
//! wait for one run of the command instead of starting several.

use super::config::{OUT_PLACEHOLDER, TEXT_PLACEHOLDER, TtsConfig};
use super::convert;
use super::error::TtsError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How much of the command's stderr a failure's log line keeps.
const STDERR_KEPT: usize = 300;

/// The text-to-speech command and its cache. Share it behind an `Arc`.
pub struct Tts {
    command: Vec<String>,
    cache_dir: PathBuf,
    timeout: Duration,
    max_chars: usize,
    /// One lock per text being synthesised, so concurrent calls run the command once.
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Tts {
    /// Prepares the command and creates the cache folder.
    pub fn new(config: &TtsConfig) -> Result<Self, TtsError> {
        std::fs::create_dir_all(&config.cache_dir).map_err(|source| TtsError::Cache {
            path: config.cache_dir.clone(),
            source,
        })?;
        Ok(Tts {
            command: config.command.clone(),
            cache_dir: config.cache_dir.clone(),
            timeout: Duration::from_millis(config.timeout_ms),
            max_chars: config.max_chars,
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// The program's name, for log lines.
    pub fn program(&self) -> &str {
        self.command.first().map(String::as_str).unwrap_or("")
    }

    /// The samples that say `text` (8 kHz mono): from the cache, or by running the command
    /// once and caching what it wrote.
    pub async fn speak(&self, text: &str) -> Result<Arc<[i16]>, TtsError> {
        let text = clean(text);
        if text.is_empty() {
            return Err(TtsError::Empty);
        }
        let chars = text.chars().count();
        if chars > self.max_chars {
            return Err(TtsError::TooLong {
                chars,
                max: self.max_chars,
            });
        }
        let key = self.cache_key(&text);
        let path = self.cache_path(&key);
        if let Some(samples) = read_cached(&path).await {
            tracing::debug!(key = &key[..12], "text-to-speech cache hit");
            return Ok(samples);
        }
        let lock = self.lock_for(&key);
        let result = {
            let _running = lock.lock().await;
            match read_cached(&path).await {
                // Another call synthesised it while this one waited.
                Some(samples) => Ok(samples),
                None => self.synthesise(&text, &key, &path).await,
            }
        };
        self.release(&key, lock);
        result
    }

    /// The cache file name's stem: sha256 over the command template and the text.
    pub fn cache_key(&self, text: &str) -> String {
        let mut hash = Sha256::new();
        for arg in &self.command {
            hash.update(arg.as_bytes());
            hash.update([0u8]);
        }
        hash.update([1u8]);
        hash.update(clean(text).as_bytes());
        format!("{:x}", hash.finalize())
    }

    /// Where the cached WAV for `key` lives.
    pub fn cache_path(&self, key: &str) -> PathBuf {
        self.cache_dir.join(format!("{key}.wav"))
    }

    async fn synthesise(&self, text: &str, key: &str, path: &Path) -> Result<Arc<[i16]>, TtsError> {
        let started = std::time::Instant::now();
        let out = TempFile(self.cache_dir.join(format!(
            "{key}.{}-{:08x}.synth.wav",
            std::process::id(),
            rand::random::<u32>()
        )));
        let argv = fill(&self.command, text, &out.0);
        let program = self.program().to_string();
        let child = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| TtsError::Spawn {
                program: program.clone(),
                source,
            })?;
        // On timeout the child is dropped, and with it killed.
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| TtsError::Timeout {
                program: program.clone(),
                ms: self.timeout.as_millis() as u64,
            })?
            .map_err(|source| TtsError::Spawn {
                program: program.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(TtsError::Failed {
                program,
                status: output.status.to_string(),
                stderr: tail(&String::from_utf8_lossy(&output.stderr)),
            });
        }
        let (final_path, program_name) = (path.to_path_buf(), program.clone());
        let samples = tokio::task::spawn_blocking(move || -> Result<Arc<[i16]>, TtsError> {
            let samples =
                convert::read_as_prompt(&out.0).map_err(|reason| TtsError::BadOutput {
                    program: program_name,
                    reason,
                })?;
            write_atomically(&final_path, &samples)?;
            drop(out);
            Ok(samples.into())
        })
        .await
        .map_err(|e| TtsError::Task(e.to_string()))??;
        tracing::info!(
            program = %program,
            key = &key[..12],
            chars = text.chars().count(),
            audio_ms = samples.len() as u64 / 8,
            synth_ms = started.elapsed().as_millis() as u64,
            "text-to-speech synthesised and cached"
        );
        Ok(samples)
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_string()).or_default().clone()
    }

    /// Forgets the lock when no other call holds it.
    fn release(&self, key: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        drop(lock);
        if map.get(key).is_some_and(|l| Arc::strong_count(l) == 1) {
            map.remove(key);
        }
    }
}

/// The text as sent: control characters become spaces, runs of spaces one space.
fn clean(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The argv with `{text}` and `{out}` replaced; the text itself is never searched for
/// placeholders (it is inserted, not re-scanned).
fn fill(template: &[String], text: &str, out: &Path) -> Vec<String> {
    let out = out.to_string_lossy();
    template
        .iter()
        .map(|arg| {
            let mut filled = String::new();
            let mut rest = arg.as_str();
            loop {
                let next = [(TEXT_PLACEHOLDER, text), (OUT_PLACEHOLDER, &*out)]
                    .into_iter()
                    .filter_map(|(p, v)| rest.find(p).map(|at| (at, p, v)))
                    .min_by_key(|(at, _, _)| *at);
                match next {
                    Some((at, placeholder, value)) => {
                        filled.push_str(&rest[..at]);
                        filled.push_str(value);
                        rest = &rest[at + placeholder.len()..];
                    }
                    None => {
                        filled.push_str(rest);
                        break filled;
                    }
                }
            }
        })
        .collect()
}

fn tail(stderr: &str) -> String {
    let trimmed = stderr.trim();
    let start = trimmed
        .char_indices()
        .rev()
        .nth(STDERR_KEPT)
        .map(|(i, _)| i)
        .unwrap_or(0);
    trimmed[start..].replace('\n', " | ")
}

/// The cached samples, if a valid cache file exists. A damaged one is removed (and so
/// synthesised again).
async fn read_cached(path: &Path) -> Option<Arc<[i16]>> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if !path.exists() {
            return None;
        }
        match crate::prompts::catalog::read_prompt_wav(&path) {
            Ok(samples) => Some(samples),
            Err(err) => {
                tracing::warn!(error = %err, "damaged text-to-speech cache file: removed");
                std::fs::remove_file(&path).ok();
                None
            }
        }
    })
    .await
    .ok()
    .flatten()
}

fn write_atomically(path: &Path, samples: &[i16]) -> Result<(), TtsError> {
    let cache_error = |source| TtsError::Cache {
        path: path.to_path_buf(),
        source,
    };
    let partial = TempFile(path.with_extension("wav.part"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: crate::prompts::catalog::PROMPT_SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let to_io = |e: hound::Error| match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    let mut writer =
        hound::WavWriter::create(&partial.0, spec).map_err(|e| cache_error(to_io(e)))?;
    for s in samples {
        writer.write_sample(*s).map_err(|e| cache_error(to_io(e)))?;
    }
    writer.finalize().map_err(|e| cache_error(to_io(e)))?;
    std::fs::rename(&partial.0, path).map_err(cache_error)?;
    Ok(())
}

/// A file removed when dropped (the command's raw output, a partial cache file).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        std::fs::remove_file(&self.0).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fake synthesiser: counts its runs in `runs`, writes a 16 kHz tone to its last
    /// argument. Stands in for flite in the unit tests (the call test uses flite itself).
    fn fake_synth(dir: &Path, body: &str) -> PathBuf {
        let script = dir.join("synth.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho run >> \"{}/runs\"\n{body}\n",
                dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn runs(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("runs"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }

    fn tts(dir: &Path, script: &Path, timeout_ms: u64) -> Tts {
        Tts::new(&TtsConfig {
            command: vec![
                script.display().to_string(),
                "--say={text}".into(),
                "{out}".into(),
            ],
            cache_dir: dir.join("cache"),
            timeout_ms,
            max_chars: 50,
        })
        .unwrap()
    }

    /// sox is not assumed: the fake copies a WAV the test wrote.
    fn tone_wav(dir: &Path) -> PathBuf {
        let path = dir.join("tone.wav");
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 16000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..3200 {
            w.write_sample(((i as f32 * 0.1).sin() * 8000.0) as i16)
                .unwrap();
        }
        w.finalize().unwrap();
        path
    }

    #[tokio::test]
    async fn the_second_request_for_a_text_is_served_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let tone = tone_wav(dir.path());
        let script = fake_synth(
            dir.path(),
            &format!("for out; do :; done\ncp \"{}\" \"$out\"", tone.display()),
        );
        let tts = tts(dir.path(), &script, 5000);
        let first = tts.speak("Hello  there\n").await.unwrap();
        assert!(
            (1550..=1650).contains(&first.len()),
            "16 kHz → 8 kHz: {}",
            first.len()
        );
        let again = tts.speak("Hello there").await.unwrap();
        assert_eq!(first, again);
        assert_eq!(runs(dir.path()), 1, "the command ran once");
        let cached = tts.cache_path(&tts.cache_key("Hello there"));
        assert_eq!(
            crate::prompts::catalog::read_prompt_wav(&cached).unwrap(),
            first
        );
        tts.speak("Another text").await.unwrap();
        assert_eq!(runs(dir.path()), 2);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("cache"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                !e.file_name().to_string_lossy().ends_with(".wav")
                    || e.file_name().to_string_lossy().contains(".synth.")
            })
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }

    #[tokio::test]
    async fn concurrent_requests_run_the_command_once() {
        let dir = tempfile::tempdir().unwrap();
        let tone = tone_wav(dir.path());
        let script = fake_synth(
            dir.path(),
            &format!(
                "sleep 0.2\nfor out; do :; done\ncp \"{}\" \"$out\"",
                tone.display()
            ),
        );
        let tts = Arc::new(tts(dir.path(), &script, 5000));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let tts = tts.clone();
                tokio::spawn(async move { tts.speak("same text").await.map(|s| s.len()) })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(runs(dir.path()), 1);
    }

    #[tokio::test]
    async fn failures_are_errors_that_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let failing = fake_synth(dir.path(), "echo 'no voice here' >&2\nexit 3");
        let err = tts(dir.path(), &failing, 5000)
            .speak("hi")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TtsError::Failed { stderr, .. } if stderr.contains("no voice here")),
            "{err}"
        );

        let slow = dir.path().join("slow");
        std::fs::create_dir(&slow).unwrap();
        let sleeper = fake_synth(&slow, "sleep 5");
        let started = std::time::Instant::now();
        let err = tts(&slow, &sleeper, 200).speak("hi").await.unwrap_err();
        assert!(matches!(err, TtsError::Timeout { ms: 200, .. }), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "killed, not waited for"
        );

        let garbage = dir.path().join("garbage");
        std::fs::create_dir(&garbage).unwrap();
        let writer = fake_synth(&garbage, "for out; do :; done\necho nonsense > \"$out\"");
        let err = tts(&garbage, &writer, 5000).speak("hi").await.unwrap_err();
        assert!(matches!(err, TtsError::BadOutput { .. }), "{err}");

        let missing = Tts::new(&TtsConfig {
            command: vec!["/nonexistent/tts".into(), "{text}".into(), "{out}".into()],
            cache_dir: dir.path().join("cache"),
            ..TtsConfig::default()
        })
        .unwrap();
        assert!(matches!(
            missing.speak("hi").await,
            Err(TtsError::Spawn { .. })
        ));

        let tts = tts(dir.path(), &failing, 5000);
        assert!(matches!(tts.speak(" \n\t").await, Err(TtsError::Empty)));
        assert!(matches!(
            tts.speak(&"x".repeat(51)).await,
            Err(TtsError::TooLong { .. })
        ));
    }

    #[test]
    fn placeholders_are_filled_once_and_keys_follow_command_and_text() {
        let template = vec![
            "tts".to_string(),
            "-t".into(),
            "{text}".into(),
            "--out={out}".into(),
        ];
        let argv = fill(&template, "say {out} literally", Path::new("/tmp/x.wav"));
        assert_eq!(
            argv,
            ["tts", "-t", "say {out} literally", "--out=/tmp/x.wav"]
        );
        let dir = tempfile::tempdir().unwrap();
        let a = Tts::new(&TtsConfig {
            command: template.clone(),
            cache_dir: dir.path().into(),
            ..TtsConfig::default()
        })
        .unwrap();
        let mut other = template;
        other.insert(1, "-voice=kal".into());
        let b = Tts::new(&TtsConfig {
            command: other,
            cache_dir: dir.path().into(),
            ..TtsConfig::default()
        })
        .unwrap();
        assert_eq!(a.cache_key("Hello there"), a.cache_key(" Hello\nthere "));
        assert_ne!(a.cache_key("Hello there"), a.cache_key("Hello, there"));
        assert_ne!(a.cache_key("Hello there"), b.cache_key("Hello there"));
        assert_eq!(a.cache_key("x").len(), 64);
    }
}
