//! The no-copy check of `clone-eval`, recomputed from its WAVs, with a control: for each
//! evaluated speaker, the highest normalised cross-correlation of any 1 s window of (a) the
//! clone's five sentences and (b) the speaker's own other clips (real speech that is
//! certainly not a copy) with the reference (the first three clips joined).
//!
//! `cargo run --release -p voxreel-benches --bin clone-ncc -- DIR` (DIR: clone-eval's --out)

use std::path::{Path, PathBuf};

use voxreel::audio::{decode_file, resample, Audio};
use voxreel::voice::clone::max_window_ncc;

fn join(files: &[PathBuf], pause: usize) -> Vec<f32> {
    let mut s = Vec::new();
    for f in files {
        let a = resample(&decode_file(f).expect("decode"), 16_000).expect("resample");
        s.extend_from_slice(&a.samples);
        s.extend(std::iter::repeat_n(0.0, pause));
    }
    s
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: clone-ncc DIR"));
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/speech");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).expect("results"))
            .expect("json");
    println!("| speaker | clone vs reference | other real clips vs reference (control) |");
    println!("| --- | --- | --- |");
    for row in r["rows"].as_array().expect("rows") {
        let spk = row["speaker"].as_str().expect("speaker");
        let d = shared.join("librispeech-test-other").join(spk);
        let mut clips: Vec<PathBuf> = std::fs::read_dir(&d)
            .expect("speaker dir")
            .map(|e| e.expect("entry").path())
            .collect();
        clips.sort();
        let reference = join(&clips[..3], 4800);
        let outs: Vec<PathBuf> = (0..5)
            .map(|i| dir.join(format!("{spk}-clone-{i}.wav")))
            .collect();
        let clone = join(&outs, 0);
        let control = join(&clips[3..], 0);
        let a = max_window_ncc(&clone, &reference, 16_000, 1.0);
        let b = max_window_ncc(&control, &reference, 16_000, 1.0);
        println!("| {spk} | {a:.2} | {b:.2} |");
        let _ = Audio::new(vec![], 16_000);
    }
}
