//! Kokoro benchmark: synthesize the 8 reference sentences of `core/tests/data/kokoro`
//! (about 22 s of speech, one call per sentence) with voxreel's candle engine and print
//! the real-time factor; `scripts/kokoro-reference.py --bench` times onnxruntime on the
//! same token sequences.
//!
//! `cargo run --release -p voxreel-benches --bin kokoro-bench` (needs the model installed
//! by `scripts/fetch-kokoro.sh`).

use std::path::Path;
use std::time::Instant;

use voxreel::tts::kokoro::{KokoroModel, SAMPLE_RATE};
use voxreel::Device;

fn main() {
    let dir = KokoroModel::default_dir();
    let t0 = Instant::now();
    let model = match KokoroModel::load(&dir, &Device::Cpu) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let load_s = t0.elapsed().as_secs_f64();
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/kokoro/cases.json");
    let text = std::fs::read_to_string(&cases).expect("reference cases");
    let v: serde_json::Value = serde_json::from_str(&text).expect("cases.json");
    let inputs: Vec<(Vec<u32>, Vec<f32>)> = v["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let tokens: Vec<u32> = c["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_u64().unwrap() as u32)
                .collect();
            let style = model
                .voices()
                .style(c["voice"].as_str().unwrap(), tokens.len())
                .unwrap()
                .to_vec();
            (tokens, style)
        })
        .collect();
    // warm-up
    model
        .synthesize_tokens(&inputs[0].0, &inputs[0].1, 1.0)
        .unwrap();
    let runs = 2;
    let t1 = Instant::now();
    let mut samples = 0;
    for _ in 0..runs {
        samples = 0;
        for (tokens, style) in &inputs {
            samples += model
                .synthesize_tokens(tokens, style, 1.0)
                .unwrap()
                .audio
                .len();
        }
    }
    let dt = t1.elapsed().as_secs_f64() / runs as f64;
    let audio_s = samples as f64 / SAMPLE_RATE as f64;
    println!(
        "voxreel kokoro (candle CPU, {} threads): load {load_s:.2} s; {audio_s:.1} s of audio in {dt:.2} s, real-time factor {:.3}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        dt / audio_s
    );
}
