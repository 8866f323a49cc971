//! Voice-cloning evaluation on the shared speakers.
//!
//! For every speaker with at least 5 clips in `../shared/data/speech/index.tsv`: the first
//! three clips (file order) joined are the reference; enrol (Kokoro clone), speak
//! [`SENTENCES`], and measure against the speaker's *other* clips:
//! - GE2E cosine of each sentence to each other clip (mean), next to the real same-speaker
//!   level (reference clips vs other clips) and the best English stock voice (the stock
//!   voice whose 5 sentences score highest on the same clips: an oracle choice);
//! - nearest-centroid identification among all speakers of the index (5 multi-clip speakers
//!   by their other clips, the rest by their single clip);
//! - median F0 of the clone's speech vs the speaker's other clips (same tracker);
//! - enrolment time;
//! - no-copy: the highest normalised cross-correlation of any 1 s window of the output with
//!   any stretch of the reference.
//!
//! WAVs and each speaker's profile (`<speaker>.voice`) go to `--out DIR` (default
//! `target/clone-eval`) with `results.json`, for the ASR and DNSMOS scripts
//! (`scripts/clone-eval-wer.sh DIR`, `scripts/clone-eval-dnsmos.sh DIR [--watermarked]`).
//!
//! `cargo run --release -p voxreel-benches --bin clone-eval [-- --speakers 367,1688 --out DIR]`
//! (`--stock-from DIR/results.json` reuses an earlier run's stock-voice oracle; `--ablate`
//! also speaks the sentences with the equaliser, the pitch map, the speed or the searched
//! style undone, one at a time, and reports their similarity and identification;
//! `--generations N`, `--population N` change the search budget, `--seed N` its sampler,
//! `--centred` scores candidates about the stock voices' mean embedding)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use voxreel::audio::{decode_file, resample, write_wav, Audio};
use voxreel::lang::Language;
use voxreel::tts::kokoro::KokoroSynthesizer;
use voxreel::tts::Synthesizer;
use voxreel::voice::analysis::ReferenceAnalysis;
use voxreel::voice::clone::{max_window_ncc, CloneOptions};
use voxreel::voice::encoder::cosine;
use voxreel::voice::{EmbedOptions, VoiceEncoder, VoiceProfile};
use voxreel::{Device, NoProgress, Progress};

/// Token count whose style row the `start` ablation variant takes from the base voice.
const START_ROW_TOKENS: usize = 60;

/// The five fixed sentences (none is used by the enrolment search).
const SENTENCES: [&str; 5] = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Rainbows appear when sunlight shines through drops of falling rain.",
    "We will meet at the library at seven o'clock tomorrow evening.",
    "A cup of warm tea is the best way to start a cold winter day.",
    "Scientists have discovered a new species of frog in the rainforest.",
];

struct Clip {
    file: PathBuf,
    speaker: String,
}

fn embed(enc: &VoiceEncoder, a: &Audio) -> Vec<f32> {
    let a16 = resample(a, 16_000).expect("resample");
    enc.embed_utterance(&a16, &EmbedOptions::default())
        .expect("embed")
        .embedding
        .embedding
}

fn mean_unit(v: &[Vec<f32>]) -> Vec<f32> {
    let mut m = vec![0.0f32; v[0].len()];
    for e in v {
        for (a, b) in m.iter_mut().zip(e) {
            *a += b;
        }
    }
    let n = m.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    m.iter().map(|x| x / n).collect()
}

fn mean_cos(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    let mut s = 0.0;
    for x in a {
        for y in b {
            s += cosine(x, y) as f64;
        }
    }
    s / (a.len() * b.len()) as f64
}

fn join(clips: &[Audio]) -> Audio {
    let mut s = Vec::new();
    for c in clips {
        let c = resample(c, 16_000).expect("resample");
        s.extend_from_slice(&c.samples);
        s.extend(std::iter::repeat_n(0.0, 4800));
    }
    Audio::new(s, 16_000)
}

struct Bar;
impl Progress for Bar {
    fn stage(&self, name: &str, total: u64) {
        eprintln!("  [{name}] {total} steps");
    }
}

/// Nearest-centroid identification of a set of embeddings: the speaker whose centroid is
/// closest to their mean, and the margin (cosine to `speaker`'s own centroid minus the
/// closest other speaker's; positive when identified).
fn identify(centroids: &[(String, Vec<f32>)], embs: &[Vec<f32>], speaker: &str) -> (String, f64) {
    let c = mean_unit(embs);
    let (id, _) = centroids
        .iter()
        .map(|(s, m)| (s.clone(), cosine(&c, m)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("centroids");
    let own = centroids
        .iter()
        .find(|(s, _)| s == speaker)
        .map(|(_, m)| cosine(&c, m))
        .unwrap_or(0.0);
    let other = centroids
        .iter()
        .filter(|(s, _)| s != speaker)
        .map(|(_, m)| cosine(&c, m))
        .fold(f32::MIN, f32::max);
    (id, f64::from(own - other))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let shared = arg("--shared")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/speech"));
    let out_dir = arg("--out")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/clone-eval"));
    let only: Option<Vec<String>> =
        arg("--speakers").map(|s| s.split(',').map(String::from).collect());
    std::fs::create_dir_all(&out_dir).expect("out dir");
    let index = match std::fs::read_to_string(shared.join("index.tsv")) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("no shared speech at {}: {e}", shared.display());
            std::process::exit(2);
        }
    };
    let clips: Vec<Clip> = index
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Clip {
                file: shared.join(c[0]),
                speaker: c[1].to_string(),
            }
        })
        .collect();
    let mut by_speaker: BTreeMap<String, Vec<&Clip>> = BTreeMap::new();
    for c in &clips {
        by_speaker.entry(c.speaker.clone()).or_default().push(c);
    }
    for v in by_speaker.values_mut() {
        v.sort_by(|a, b| a.file.cmp(&b.file));
    }
    let dir = voxreel::tts::kokoro::synth::default_dir();
    let t = Instant::now();
    let k = match KokoroSynthesizer::load(&dir, &Device::Cpu) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(3);
        }
    };
    let enc = VoiceEncoder::load(&Device::Cpu).expect("GE2E");
    eprintln!("models loaded in {:.1} s", t.elapsed().as_secs_f64());

    // Embeddings of every clip.
    let mut emb: BTreeMap<PathBuf, Vec<f32>> = BTreeMap::new();
    let mut audio: BTreeMap<PathBuf, Audio> = BTreeMap::new();
    for c in &clips {
        let a = decode_file(&c.file).expect("decode");
        emb.insert(c.file.clone(), embed(&enc, &a));
        audio.insert(c.file.clone(), a);
    }
    // The search: the library's defaults unless `--generations N`, `--population N`,
    // `--seed N` or `--centred`.
    let mut opts = CloneOptions::with_bank_in(&dir);
    let number = |k: &str| arg(k).map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("{k} N")));
    if let Some(g) = number("--generations") {
        opts.generations = g as usize;
    }
    if let Some(p) = number("--population") {
        opts.population = p as usize;
    }
    if let Some(seed) = number("--seed") {
        opts.seed = seed;
    }
    opts.centred_score = args.iter().any(|a| a == "--centred");
    let targets: Vec<String> = by_speaker
        .iter()
        .filter(|(s, v)| v.len() >= 5 && only.as_ref().is_none_or(|o| o.contains(s)))
        .map(|(s, _)| s.clone())
        .collect();

    // Stock voices: the five sentences each (English voices), embedded.
    let t = Instant::now();
    let stock_from: Option<serde_json::Value> = arg("--stock-from").map(|p| {
        serde_json::from_str(&std::fs::read_to_string(p).expect("--stock-from file")).expect("json")
    });
    let ablate = args.iter().any(|a| a == "--ablate");
    let skip_stock = args.iter().any(|a| a == "--skip-stock") || stock_from.is_some();
    let stock: Vec<(String, Vec<Vec<f32>>)> = k
        .speakers()
        .into_iter()
        .filter(|n| !skip_stock && (n.starts_with('a') || n.starts_with('b')))
        .map(|v| {
            let s = k.with_speaker(v).expect("stock voice");
            let p = VoiceProfile::from_audio(&audio[&clips[0].file], "x").expect("profile");
            let e: Vec<Vec<f32>> = SENTENCES
                .iter()
                .map(|t| {
                    embed(
                        &enc,
                        &s.synthesize(t, Language::English, &p).expect("synth").audio,
                    )
                })
                .collect();
            eprintln!("stock {v} done");
            (v.to_string(), e)
        })
        .collect();
    eprintln!("stock voices spoken in {:.0} s", t.elapsed().as_secs_f64());

    // Centroids for identification: multi-clip speakers by their other clips (not the
    // reference), single-clip speakers by their clip.
    let centroids: Vec<(String, Vec<f32>)> = by_speaker
        .iter()
        .map(|(s, v)| {
            let use_: Vec<Vec<f32>> = if v.len() >= 5 {
                v[3..].iter().map(|c| emb[&c.file].clone()).collect()
            } else {
                v.iter().map(|c| emb[&c.file].clone()).collect()
            };
            (s.clone(), mean_unit(&use_))
        })
        .collect();

    let mut rows = Vec::new();
    for spk in &targets {
        let v = &by_speaker[spk];
        eprintln!("speaker {spk}: {} clips", v.len());
        let refs: Vec<Audio> = v[..3].iter().map(|c| audio[&c.file].clone()).collect();
        let reference = join(&refs);
        let others: Vec<Vec<f32>> = v[3..].iter().map(|c| emb[&c.file].clone()).collect();
        let ref_embs: Vec<Vec<f32>> = v[..3].iter().map(|c| emb[&c.file].clone()).collect();
        let real_level = mean_cos(&ref_embs, &others);
        let t = Instant::now();
        let profile =
            VoiceProfile::enroll_clone(&reference, spk, &enc, &k, &opts, &Bar).expect("enrol");
        let enrol_s = t.elapsed().as_secs_f64();
        // The profile itself, for listening and for experiments with `voxreel say --voice`.
        profile
            .save_json(&out_dir.join(format!("{spk}.voice")))
            .expect("profile");
        let clone = profile.kokoro.clone().expect("clone");
        let synth = k.with_clone_of(&profile);
        let mut outs = Vec::new();
        for (i, s) in SENTENCES.iter().enumerate() {
            let sp = synth
                .synthesize(s, Language::English, &profile)
                .expect("clone speech");
            write_wav(&out_dir.join(format!("{spk}-clone-{i}.wav")), &sp.audio).expect("wav");
            // The same speech watermarked as voxreel delivers it (DNSMOS cost of the mark).
            let marked = voxreel::watermark::embed_audio(
                &sp.audio,
                &voxreel::watermark::Payload::new(0x2a5 + i as u32, 1_764_800_000),
            )
            .expect("watermark");
            write_wav(&out_dir.join(format!("{spk}-clone-{i}.wm.wav")), &marked).expect("wav");
            outs.push(sp.audio);
        }
        let out_embs: Vec<Vec<f32>> = outs.iter().map(|a| embed(&enc, a)).collect();
        let clone_sim = mean_cos(&out_embs, &others);
        // Best stock voice on the same clips (oracle), or from an earlier run's results
        // (`--stock-from results.json`: stock speech does not depend on the clone).
        let earlier = stock_from.as_ref().and_then(|r| {
            r["rows"]
                .as_array()?
                .iter()
                .find(|x| x["speaker"] == spk.as_str())
                .map(|x| {
                    (
                        x["best_stock_voice"].as_str().unwrap_or("").to_string(),
                        x["best_stock"].as_f64().unwrap_or(0.0),
                    )
                })
        });
        let (best_voice, best_stock) = if let Some(e) = earlier {
            e
        } else {
            stock
                .iter()
                .map(|(n, e)| (n.clone(), mean_cos(e, &others)))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((clone.base_voice.clone(), 0.0))
        };
        let base_stock = stock
            .iter()
            .find(|(n, _)| *n == clone.base_voice)
            .map(|(_, e)| mean_cos(e, &others))
            .unwrap_or(0.0);
        // Stock voice speech for the ASR comparison.
        let sv = k.with_speaker(&best_voice).expect("stock");
        for (i, s) in SENTENCES.iter().enumerate() {
            let sp = sv
                .synthesize(s, Language::English, &profile)
                .expect("stock speech");
            write_wav(&out_dir.join(format!("{spk}-stock-{i}.wav")), &sp.audio).expect("wav");
        }
        // Identification.
        let (id, id_margin) = identify(&centroids, &out_embs, spk);
        // F0.
        let joined_out = {
            let mut s = Vec::new();
            for a in &outs {
                s.extend_from_slice(&a.samples);
            }
            Audio::new(s, outs[0].sample_rate)
        };
        let f0_clone = ReferenceAnalysis::of(&joined_out, "clone")
            .expect("analysis")
            .f0_median_hz;
        let other_audio = join(
            &v[3..]
                .iter()
                .map(|c| audio[&c.file].clone())
                .collect::<Vec<_>>(),
        );
        let f0_spk = ReferenceAnalysis::of(&other_audio, "speaker")
            .expect("analysis")
            .f0_median_hz;
        // No copy.
        let out16 = resample(&joined_out, 16_000).expect("resample");
        let ncc = max_window_ncc(&out16.samples, &reference.samples, 16_000, 1.0);
        // Ablation (`--ablate`): the same five sentences with one part of the clone undone,
        // written as `<spk>-<variant>-<i>.wav` (for `KINDS=... clone-eval-wer.sh`).
        let mut ablation = serde_json::Map::new();
        if ablate {
            let variants: [(&str, &dyn Fn(&mut voxreel::voice::clone::KokoroClone)); 4] = [
                ("noeq", &|c| c.channel_eq = None),
                ("nomap", &|c| c.target_log_f0 = c.kokoro_log_f0),
                ("speed1", &|c| c.speed = 1.0),
                ("start", &|c| {
                    c.style = k
                        .model()
                        .voices()
                        .style(&c.base_voice, START_ROW_TOKENS)
                        .expect("base voice")
                        .to_vec()
                }),
            ];
            for (name, undo) in variants {
                let mut p = profile.clone();
                undo(p.kokoro.as_mut().expect("clone"));
                let s = k.with_clone_of(&p);
                let embs: Vec<Vec<f32>> = SENTENCES
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        let a = s
                            .synthesize(t, Language::English, &p)
                            .expect("variant speech")
                            .audio;
                        write_wav(&out_dir.join(format!("{spk}-{name}-{i}.wav")), &a).expect("wav");
                        embed(&enc, &a)
                    })
                    .collect();
                let (id, _) = identify(&centroids, &embs, spk);
                let sim = mean_cos(&embs, &others);
                eprintln!("  {spk} {name}: {sim:.3} (identified as {id})");
                ablation.insert(
                    name.into(),
                    serde_json::json!({"clone": sim, "identified_as": id}),
                );
            }
        }
        let row = serde_json::json!({
            "speaker": spk, "clips": v.len(), "real_level": real_level, "clone": clone_sim,
            "best_stock": best_stock, "best_stock_voice": best_voice, "base_voice": clone.base_voice,
            "base_stock": base_stock, "identified_as": id, "identified": id == *spk, "id_margin": id_margin,
            "f0_clone_hz": f0_clone, "f0_speaker_hz": f0_spk, "f0_reference_hz": profile.analysis.f0_median_hz,
            "enrol_s": enrol_s, "max_ncc": ncc, "speed": clone.speed, "search": clone.search,
            "ablation": ablation,
        });
        eprintln!("{row}");
        rows.push(row);
    }
    let _ = NoProgress;
    println!("| speaker | real same-speaker | best stock (voice) | clone | clone − stock | identified (margin) | F0 clone / speaker (Hz) | enrol s | max NCC |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {:.3} | {:.3} ({}) | {:.3} | {:+.3} | {} | {:.0} / {:.0} ({:+.1} %) | {:.0} | {:.2} |",
            r["speaker"].as_str().unwrap(),
            r["real_level"].as_f64().unwrap(),
            r["best_stock"].as_f64().unwrap(),
            r["best_stock_voice"].as_str().unwrap(),
            r["clone"].as_f64().unwrap(),
            r["clone"].as_f64().unwrap() - r["best_stock"].as_f64().unwrap(),
            if r["identified"].as_bool().unwrap() { format!("yes ({:+.3})", r["id_margin"].as_f64().unwrap()) } else { format!("no ({}, {:+.3})", r["identified_as"].as_str().unwrap(), r["id_margin"].as_f64().unwrap()) },
            r["f0_clone_hz"].as_f64().unwrap(),
            r["f0_speaker_hz"].as_f64().unwrap(),
            100.0 * (r["f0_clone_hz"].as_f64().unwrap() / r["f0_speaker_hz"].as_f64().unwrap() - 1.0),
            r["enrol_s"].as_f64().unwrap(),
            r["max_ncc"].as_f64().unwrap(),
        );
    }
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&serde_json::json!({"sentences": SENTENCES, "rows": rows}))
            .unwrap(),
    )
    .expect("results");
}
