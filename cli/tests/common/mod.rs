//! Helpers shared by the CLI integration tests (each test file includes this module).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The bundled sample voice (LibriSpeech 367, female).
pub fn sample_voice() -> PathBuf {
    repo().join("samples/voices/librispeech-367.flac")
}

/// `../shared/data/speech` beside the repository, or None (with a SKIP message) when the
/// project was cloned alone.
pub fn shared_speech() -> Option<PathBuf> {
    let p = repo().join("../shared/data/speech");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: shared speech data not found at {}", p.display());
        None
    }
}

/// Asserts that a command succeeded, showing its stderr if not.
pub fn assert_ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
