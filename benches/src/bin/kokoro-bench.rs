//! Kokoro benchmark on 2 cores: real-time factor, load time, peak memory and time to first
//! audio, next to onnxruntime int8 on the same token sequences
//! (`scripts/kokoro-reference.py --bench --bench-inputs FILE` with the file written here).
//!
//! `cargo run --release -p voxreel-benches --bin kokoro-bench [-- --write-inputs FILE] [--no-long | --only-long] [--rounds N]`
//! (needs the model and the Mandarin tables, `voxreel models fetch kokoro`).
//!
//! 1. The 8 reference sentences of `core/tests/data/kokoro` (about 22 s, one call each).
//! 2. An English paragraph (about 30 s) and a Mandarin one, one model call per sentence
//!    (token ids from our front ends, as `narrate` would send them): the model alone, median
//!    of 3 runs; then the whole narration (front end, model, joins) with one and with two
//!    sentences at a time.
//! 3. Time to first audio and total time of the 3-minute script of the long-script test
//!    (`core/tests/data/long/three-minutes.md`), one and two sentences at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use voxreel::lang::Language;
use voxreel::progress::NoProgress;
use voxreel::script::Script;
use voxreel::text::units;
use voxreel::tts::g2p::{EnglishG2p, MandarinG2p};
use voxreel::tts::kokoro::synth::KokoroSynthesizer;
use voxreel::tts::kokoro::{KokoroModel, SAMPLE_RATE};
use voxreel::tts::narrate::{narrate_stream, speech_text, NarrateOptions};
use voxreel::voice::VoiceProfile;
use voxreel::Device;
use voxreel_benches::{peak_rss_mb, repo};

const ENGLISH: &str =
    "The city wakes up slowly on Sunday mornings. Bakers open their shutters first, \
and the smell of warm bread drifts into streets that are still almost empty. A few runners pass \
the fountain in the square, and a man on a bicycle delivers newspapers to the cafes. By nine \
o'clock the market is busy: farmers sell apples, cheese and fresh flowers, children point at the \
honey cakes, and somewhere a street musician starts to play an old song on the violin.";

const MANDARIN: &str =
    "星期天的早上，城市慢慢地醒過來。麵包店最早開門，剛出爐的麵包香味飄到還很安靜的街上。\
幾個人在廣場的噴水池旁邊跑步，一位先生騎著腳踏車，把報紙送到咖啡店。到了九點，市場已經很熱鬧了：\
農夫賣蘋果、起司和新鮮的花，孩子們指著蜂蜜蛋糕，遠處有一位街頭音樂家開始用小提琴演奏一首老歌。";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Per-sentence token ids of `text`, split into sentences as `narrate` does.
fn sentence_tokens(text: &str, lang: Language, en: &EnglishG2p, zh: &MandarinG2p) -> Vec<Vec<u32>> {
    let script = Script::parse(text, "bench", None).expect("script");
    let mut out = Vec::new();
    for scene in &script.scenes {
        for s in &scene.sentences {
            let us = units(&s.text, lang);
            let (t, _) = speech_text(&us, s.kind, lang);
            let chunks = if lang == Language::English {
                en.phonemize(&t)
            } else {
                zh.phonemize(&t)
            }
            .expect("front end");
            for c in chunks {
                out.push(c.tokens.iter().map(|&x| x as u32).collect());
            }
        }
    }
    out
}

/// Sections 1 and 2: the reference sentences and the two paragraphs.
fn short_inputs(
    k: &KokoroSynthesizer,
    dir: &Path,
    profile: &VoiceProfile,
    write_inputs: Option<&Path>,
) {
    let model = k.model();
    // 1. the 8 reference sentences
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
    model
        .synthesize_tokens(&inputs[0].0, &inputs[0].1, 1.0)
        .unwrap(); // warm-up
    let time_model = |inputs: &[(Vec<u32>, Vec<f32>)], runs: usize| -> (f64, f64) {
        let mut times = Vec::new();
        let mut samples = 0;
        for _ in 0..runs {
            let t = Instant::now();
            samples = 0;
            for (tokens, style) in inputs {
                samples += model
                    .synthesize_tokens(tokens, style, 1.0)
                    .unwrap()
                    .audio
                    .len();
            }
            times.push(t.elapsed().as_secs_f64());
        }
        (median(times), samples as f64 / SAMPLE_RATE as f64)
    };
    let (dt, audio_s) = time_model(&inputs, 3);
    println!(
        "  8 reference sentences (model only, median of 3): {audio_s:.1} s of audio in {dt:.2} s, real-time factor {:.3}",
        dt / audio_s
    );

    // 2. paragraphs
    let en = Arc::new(EnglishG2p::load(dir).expect("English front end"));
    let zh = MandarinG2p::load(dir)
        .expect("Mandarin front end")
        .with_english(en.clone());
    let groups = [
        ("English paragraph", ENGLISH, Language::English, "af_heart"),
        (
            "Mandarin paragraph",
            MANDARIN,
            Language::ChineseTraditional,
            "zf_xiaoxiao",
        ),
    ];
    let mut json_groups = Vec::new();
    for (name, text, lang, voice) in groups {
        let toks = sentence_tokens(text, lang, &en, &zh);
        let inputs: Vec<(Vec<u32>, Vec<f32>)> = toks
            .iter()
            .map(|t| {
                (
                    t.clone(),
                    model.voices().style(voice, t.len()).unwrap().to_vec(),
                )
            })
            .collect();
        let (dt, audio_s) = time_model(&inputs, 3);
        println!(
            "  {name} ({} sentences, {voice}), model only, one call per sentence, median of 3: {audio_s:.1} s of audio in {dt:.2} s, real-time factor {:.3}",
            toks.len(),
            dt / audio_s
        );
        let kv = k.with_speaker(voice).unwrap();
        let script = Script::parse(text, "bench", None).unwrap();
        for parallel in [1, 2] {
            let t = Instant::now();
            let mut first = None;
            let n = narrate_stream(
                &script,
                lang,
                &kv,
                profile,
                &NoProgress,
                &NarrateOptions { parallel },
                &mut |_| {
                    first.get_or_insert(t.elapsed().as_secs_f64());
                    Ok(())
                },
            )
            .unwrap();
            let dt = t.elapsed().as_secs_f64();
            println!(
                "    whole narration, {parallel} sentence(s) at a time: {:.1} s of audio in {dt:.2} s, real-time factor {:.3}, first audio after {:.2} s",
                n.audio.duration_s(),
                dt / n.audio.duration_s(),
                first.unwrap_or(dt)
            );
        }
        json_groups
            .push(serde_json::json!({"name": name, "voice": voice, "text": text, "tokens": toks}));
    }
    if let Some(path) = write_inputs {
        let v =
            serde_json::json!({"generator": "kokoro-bench --write-inputs", "groups": json_groups});
        std::fs::write(path, serde_json::to_string(&v).unwrap()).expect("write inputs");
        println!("  wrote the token sequences to {}", path.display());
    }
}

fn main() {
    let mut write_inputs: Option<PathBuf> = None;
    let mut long = true;
    let mut only_long = false;
    let mut rounds = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--write-inputs" => write_inputs = args.next().map(PathBuf::from),
            "--no-long" => long = false,
            "--only-long" => only_long = true,
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).unwrap_or(1).max(1),
            _ => {
                eprintln!("usage: kokoro-bench [--write-inputs FILE] [--no-long | --only-long] [--rounds N]");
                std::process::exit(2);
            }
        }
    }
    let dir = KokoroModel::default_dir();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let t0 = Instant::now();
    let k = match KokoroSynthesizer::load(&dir, &Device::Cpu) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    let load_s = t0.elapsed().as_secs_f64();
    if !k.speaks_mandarin() {
        eprintln!("the Mandarin tables are not installed (voxreel models fetch kokoro)");
        std::process::exit(3);
    }
    println!("voxreel kokoro (candle CPU, {threads} threads): load {load_s:.2} s (weights, voices, English lexicons, Mandarin tables)");

    let profile = {
        let a = voxreel::audio::decode_file(&repo().join("samples/voices/librispeech-367.flac"))
            .expect("sample voice");
        VoiceProfile::from_audio(&a, "sample").expect("profile")
    };
    if !only_long {
        short_inputs(&k, &dir, &profile, write_inputs.as_deref());
    }
    // 3. a long script: time to first audio
    if long {
        let path = repo().join("core/tests/data/long/three-minutes.md");
        let script = Script::from_file(&path).expect("three-minutes.md");
        let kv = k.with_speaker("af_heart").unwrap();
        // one and two sentences at a time, alternating, `rounds` times (the machine is shared)
        for parallel in (0..rounds).flat_map(|_| [1, 2]) {
            let t = Instant::now();
            let mut first = None;
            let n = narrate_stream(
                &script,
                Language::English,
                &kv,
                &profile,
                &NoProgress,
                &NarrateOptions { parallel },
                &mut |_| {
                    first.get_or_insert(t.elapsed().as_secs_f64());
                    Ok(())
                },
            )
            .unwrap();
            let dt = t.elapsed().as_secs_f64();
            println!(
                "  3-minute script, {parallel} sentence(s) at a time: {:.1} s of audio in {dt:.1} s (real-time factor {:.3}), first audio after {:.2} s",
                n.audio.duration_s(),
                dt / n.audio.duration_s(),
                first.unwrap_or(dt)
            );
        }
    }
    println!("  peak RSS {:.0} MB", peak_rss_mb());
}
