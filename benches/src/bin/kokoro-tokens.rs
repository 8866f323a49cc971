//! Token ids of texts through voxreel's own front ends (English or Mandarin), as JSON, for
//! reference data made with onnxruntime (`scripts/kokoro-reference.py --cases-in`).
//!
//! `cargo run --release -p voxreel-benches --bin kokoro-tokens -- --lang zh --voice zf_xiaoxiao "今天天氣很好。" …`
//!
//! Prints `{"cases": [{"text", "phonemes", "tokens", "voice", "style_row"}, …]}`: one entry
//! per model window (a text shorter than 510 tokens is one window).

use std::sync::Arc;

use voxreel::tts::g2p::{EnglishG2p, MandarinG2p};
use voxreel::tts::kokoro::KokoroModel;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut lang, mut voice, mut texts) = ("en".to_string(), "af_heart".to_string(), vec![]);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--lang" => lang = args.next().expect("--lang en|zh"),
            "--voice" => voice = args.next().expect("--voice NAME"),
            _ => texts.push(a),
        }
    }
    let dir = KokoroModel::default_dir();
    let en = match EnglishG2p::load(&dir) {
        Ok(g) => Arc::new(g),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    let zh = if lang == "zh" {
        match MandarinG2p::load(&dir) {
            Ok(g) => Some(g.with_english(en.clone())),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(3);
            }
        }
    } else {
        None
    };
    let mut cases = Vec::new();
    for text in &texts {
        let chunks = match &zh {
            Some(z) => z.phonemize(text),
            None => en.phonemize(text),
        };
        let chunks = match chunks {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{text:?}: {e}");
                std::process::exit(2);
            }
        };
        for c in chunks {
            cases.push(serde_json::json!({
                "text": text,
                "phonemes": c.phonemes,
                "tokens": c.tokens,
                "voice": voice,
                "style_row": c.tokens.len().min(509),
            }));
        }
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({ "cases": cases })).unwrap()
    );
}
