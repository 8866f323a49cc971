//! Speaker-encoder benchmark: embed 60 s of 16 kHz speech (preprocessed path,
//! model loaded) and print the real-time factor; with `--python PY`, run the same
//! clip through Resemblyzer 0.1.4 (PyTorch CPU) with that interpreter and print
//! its figure too (`benches/ge2e_resemblyzer.py`; `benches/run-ge2e-bench.sh`
//! makes the venv).
//!
//! `cargo run --release -p voxreel-benches --bin ge2e-bench [-- --python PY]`

use std::path::PathBuf;
use std::time::Instant;
use voxreel_benches::repo;

use voxreel::audio::{decode_file, write_wav, Audio};
use voxreel::voice::encoder::cosine;
use voxreel::voice::{EmbedOptions, VoiceEncoder};

const SECONDS: f64 = 60.0;
const RUNS: usize = 5;

/// 60 s of one speaker: the shared LibriSpeech clips of speaker 1688 joined, or the bundled sample looped.
fn clip() -> Audio {
    let dir = repo().join("../shared/data/speech/librispeech-test-other/1688");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "flac"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        eprintln!("shared speech not found; looping the bundled sample");
        files.push(repo().join("samples/voices/librispeech-367.flac"));
    }
    let want = (SECONDS * 16000.0) as usize;
    let mut samples = Vec::with_capacity(want);
    'outer: loop {
        for f in &files {
            let a = decode_file(f).expect("decodable clip");
            assert_eq!(a.sample_rate, 16000);
            samples.extend_from_slice(&a.samples);
            if samples.len() >= want {
                break 'outer;
            }
        }
    }
    samples.truncate(want);
    Audio::new(samples, 16000)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let python = args
        .iter()
        .position(|a| a == "--python")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let audio = clip();
    let t = Instant::now();
    let enc = VoiceEncoder::load(&voxreel::Device::Cpu).expect("bundled weights");
    let load_s = t.elapsed().as_secs_f64();
    let opts = EmbedOptions::default();
    let _ = enc.embed_utterance(&audio, &opts).expect("embed"); // warm-up
    let mut times = Vec::new();
    let mut ours = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let u = enc.embed_utterance(&audio, &opts).expect("embed");
        times.push(t.elapsed().as_secs_f64());
        ours = Some(u);
    }
    let ours = ours.expect("at least one run");
    let s = median(times);
    println!(
        "{}",
        serde_json::json!({"impl": "voxreel (candle, CPU)", "audio_s": SECONDS, "partials": ours.partials.len(),
            "load_s": load_s, "embed_s": s, "realtime_factor": s / SECONDS, "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)})
    );
    if let Some(py) = python {
        let wav = std::env::temp_dir().join(format!("ge2e-bench-{}.wav", std::process::id()));
        write_wav(&wav, &audio).expect("write wav");
        let script = repo().join("benches/ge2e_resemblyzer.py");
        let out = std::process::Command::new(&py)
            .arg(&script)
            .arg(&wav)
            .arg(RUNS.to_string())
            .output()
            .expect("run python");
        let _ = std::fs::remove_file(&wav);
        if !out.status.success() {
            eprintln!(
                "resemblyzer run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("python prints JSON");
        let theirs: Vec<f32> = v["embedding"]
            .as_array()
            .expect("embedding")
            .iter()
            .map(|x| x.as_f64().unwrap_or(0.0) as f32)
            .collect();
        let their_s = v["embed_s"].as_f64().unwrap_or(f64::NAN);
        println!(
            "{}",
            serde_json::json!({"impl": "resemblyzer 0.1.4 (PyTorch CPU)", "torch": v["torch"], "audio_s": SECONDS, "load_s": v["load_s"],
                "embed_s": their_s, "realtime_factor": their_s / SECONDS, "speedup_of_voxreel": their_s / s,
                "cosine_with_voxreel": cosine(&theirs, &ours.embedding.embedding)})
        );
    }
}
