//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use tidings::config::{Config, Layers};
use tidings::posts::{self, LoadError, Loaded, Post};

/// The repository's own sample site.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds")
}

/// A config from TOML text on top of the defaults.
pub fn config(toml: &str) -> Config {
    Layers::from_toml(toml)
        .unwrap_or_else(|e| panic!("bad test config: {e}"))
        .resolve()
        .unwrap_or_else(|e| panic!("bad test config: {e}"))
}

/// Loads one post from text, expecting an entry.
#[track_caller]
pub fn post(path: &str, text: &str, config: &Config) -> Post {
    match posts::load_post(path, text.as_bytes(), config) {
        Ok(Loaded::Post(p)) => *p,
        Ok(other) => panic!("{path}: expected a post, got {other:?}"),
        Err(e) => panic!("{path}: expected a post, got error {e}"),
    }
}

/// Loads one post from bytes, expecting an error.
#[track_caller]
pub fn error(path: &str, bytes: &[u8], config: &Config) -> LoadError {
    match posts::load_post(path, bytes, config) {
        Err(e) => e,
        Ok(other) => panic!("{path}: expected an error, got {other:?}"),
    }
}

/// Writes `files` (relative path, contents) under a new temporary directory.
pub fn site(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for (rel, bytes) in files {
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir: {e}"));
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }
    dir
}
