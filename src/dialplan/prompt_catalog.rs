//! The prompts a dialplan may play: ids and texts from the list files
//! `prompts/<lang>/*.txt` (`id<TAB>text`, one a line) and the recorded `<id>.wav` files.
//! The simulator shows a prompt's text; `hotline check` flags unknown prompt ids.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptCatalog {
    /// The folder that was read (`prompts/en-US`), if any.
    pub dir: Option<PathBuf>,
    texts: BTreeMap<String, String>,
    recorded: BTreeSet<String>,
}

impl PromptCatalog {
    /// Reads a language folder; a missing folder gives an empty catalog with `dir` set.
    pub fn load(dir: &Path) -> Self {
        let mut catalog = PromptCatalog {
            dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return catalog;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            let (Some(stem), Some(ext)) =
                (path.file_stem().and_then(|s| s.to_str()), path.extension())
            else {
                continue;
            };
            if ext == "wav" {
                catalog.recorded.insert(stem.to_string());
            } else if ext == "txt"
                && let Ok(text) = std::fs::read_to_string(&path)
            {
                catalog.add_list(&text);
            }
        }
        catalog
    }

    /// Adds the prompts of one list file's text.
    pub fn add_list(&mut self, text: &str) {
        for line in text.lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((id, prompt)) = line.split_once('\t') {
                self.texts
                    .insert(id.trim().to_string(), prompt.trim().to_string());
            }
        }
    }

    /// Whether the catalog was read from a folder that exists.
    pub fn is_available(&self) -> bool {
        self.dir.as_ref().is_some_and(|d| d.is_dir())
    }

    pub fn text(&self, id: &str) -> Option<&str> {
        self.texts.get(id).map(String::as_str)
    }

    pub fn knows(&self, id: &str) -> bool {
        self.texts.contains_key(id) || self.recorded.contains(id)
    }

    pub fn has_recording(&self, id: &str) -> bool {
        self.recorded.contains(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.texts
            .keys()
            .chain(self.recorded.iter())
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lists_and_recordings() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("bank.txt"),
            "# comment\nwelcome\tWelcome to Acme.\nbad line\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("welcome.wav"), b"RIFF").unwrap();
        std::fs::write(dir.path().join("beep.wav"), b"RIFF").unwrap();
        let catalog = PromptCatalog::load(dir.path());
        assert_eq!(catalog.text("welcome"), Some("Welcome to Acme."));
        assert!(catalog.knows("beep") && catalog.has_recording("welcome"));
        assert!(!catalog.knows("bad line") && !catalog.knows("missing"));
        assert!(catalog.is_available());
        assert!(!PromptCatalog::load(&dir.path().join("nope")).is_available());
    }
}
