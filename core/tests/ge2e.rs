//! Parity of the GE2E speaker encoder with Resemblyzer 0.1.4, on the reference
//! vectors in `../shared/data/reference/ge2e/` (skips when absent).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use voxreel::audio::{decode_file, Audio};
use voxreel::voice::encoder::cosine;
use voxreel::voice::{EmbedOptions, VoiceEncoder, VoiceProfile};
use voxreel::{Device, Error};

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    if p.join("reference/ge2e/embeddings.tsv").is_file() {
        Some(p)
    } else {
        eprintln!("SKIP: shared reference data not found at {}", p.display());
        None
    }
}

fn encoder() -> &'static VoiceEncoder {
    static E: OnceLock<VoiceEncoder> = OnceLock::new();
    E.get_or_init(|| VoiceEncoder::load(&Device::Cpu).expect("bundled GE2E weights load"))
}

struct Reference {
    file: String,
    raw: Vec<f32>,
    pre: Vec<f32>,
    speaker: String,
}

fn references(data: &Path) -> Vec<Reference> {
    let index = std::fs::read_to_string(data.join("speech/index.tsv")).unwrap();
    let speakers: BTreeMap<String, String> = index
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut p = l.split('\t');
            Some((p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect();
    let text = std::fs::read_to_string(data.join("reference/ge2e/embeddings.tsv")).unwrap();
    let parse = |s: &str| {
        s.split_whitespace()
            .map(|v| v.parse::<f32>().unwrap())
            .collect::<Vec<f32>>()
    };
    text.lines()
        .skip(1)
        .map(|l| {
            let mut p = l.split('\t');
            let file = p.next().unwrap().to_string();
            let raw = parse(p.next().unwrap());
            let pre = parse(p.next().unwrap());
            let speaker = speakers.get(&file).cloned().unwrap_or_default();
            Reference {
                file,
                raw,
                pre,
                speaker,
            }
        })
        .collect()
}

/// Every clip embedded both ways, once for all tests.
fn ours(data: &Path) -> &'static Vec<(Vec<f32>, Vec<f32>)> {
    static O: OnceLock<Vec<(Vec<f32>, Vec<f32>)>> = OnceLock::new();
    O.get_or_init(|| {
        let refs = references(data);
        let audios: Vec<Audio> = refs
            .iter()
            .map(|r| decode_file(&data.join("speech").join(&r.file)).unwrap())
            .collect();
        let enc = encoder();
        let raw = enc.embed_batch(&audios, &EmbedOptions::raw()).unwrap();
        let pre = enc.embed_batch(&audios, &EmbedOptions::default()).unwrap();
        raw.into_iter()
            .zip(pre)
            .map(|(r, p)| (r.embedding.embedding, p.embedding.embedding))
            .collect()
    })
}

#[test]
fn mel_frames_and_partials_match_resemblyzer() {
    let Some(data) = shared() else { return };
    let j: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("reference/ge2e/mel_and_partials.json")).unwrap(),
    )
    .unwrap();
    let audio = decode_file(&data.join("speech").join(j["file"].as_str().unwrap())).unwrap();
    assert_eq!(audio.sample_rate, 16000);
    let enc = encoder();
    let mel = enc.mel_spectrogram(&audio.samples);
    let shape: Vec<usize> = j["mel_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    assert_eq!(shape, vec![mel.len() / 40, 40], "mel shape");
    let sum: f64 = mel.iter().map(|&v| v as f64).sum();
    let want_sum = j["mel_sum"].as_f64().unwrap();
    assert!(
        (sum - want_sum).abs() <= 1e-4 * want_sum,
        "mel sum {sum} vs {want_sum}"
    );
    let mut worst = 0.0f64;
    for (t, frame) in j["mel_frames_first_20"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        for (m, v) in frame.as_array().unwrap().iter().enumerate() {
            let want = v.as_f64().unwrap();
            let got = mel[t * 40 + m] as f64;
            // Relative 1e-4, with an absolute floor at float32 resolution of the frame's energy.
            let rel = (got - want).abs() / want.abs().max(1e-7);
            worst = worst.max(rel);
            assert!(rel <= 1e-4, "frame {t} band {m}: {got} vs {want}");
        }
    }
    eprintln!("mel: worst relative error {worst:.2e}");
    let want_partials: Vec<Vec<f32>> = j["partial_embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    let u = enc.embed_utterance(&audio, &EmbedOptions::raw()).unwrap();
    let p = enc
        .embed_utterance(&audio, &EmbedOptions::default())
        .unwrap();
    let (best, name) = if u.partials.len() == want_partials.len()
        && (p.partials.len() != want_partials.len()
            || cosine(&u.partials[0], &want_partials[0])
                >= cosine(&p.partials[0], &want_partials[0]))
    {
        (&u, "raw")
    } else {
        (&p, "preprocessed")
    };
    assert_eq!(
        best.partials.len(),
        want_partials.len(),
        "number of partials"
    );
    for (i, (a, b)) in best.partials.iter().zip(&want_partials).enumerate() {
        let c = cosine(a, b);
        eprintln!("partial {i} ({name}): cosine {c:.6}");
        assert!(c >= 0.9999, "partial {i}: cosine {c}");
    }
}

#[test]
fn every_clip_matches_resemblyzer() {
    let Some(data) = shared() else { return };
    let refs = references(&data);
    let got = ours(&data);
    let (mut min_raw, mut min_pre) = (1.0f32, 1.0f32);
    let mut failures = Vec::new();
    for (r, (raw, pre)) in refs.iter().zip(got) {
        let (cr, cp) = (cosine(raw, &r.raw), cosine(pre, &r.pre));
        min_raw = min_raw.min(cr);
        min_pre = min_pre.min(cp);
        if cr < 0.999 || cp < 0.995 {
            failures.push(format!("{}: raw {cr:.5} preprocessed {cp:.5}", r.file));
        }
    }
    eprintln!(
        "{} clips: min raw cosine {min_raw:.5}, min preprocessed cosine {min_pre:.5}",
        refs.len()
    );
    assert!(
        failures.is_empty(),
        "clips below parity:\n{}",
        failures.join("\n")
    );
}

/// Same-speaker and different-speaker cosine means and the equal error rate.
fn verification_stats(embs: &[(&str, &[f32])]) -> (f64, f64, f64, f64) {
    let (mut same, mut diff) = (Vec::new(), Vec::new());
    for i in 0..embs.len() {
        for j in i + 1..embs.len() {
            let c = cosine(embs[i].1, embs[j].1) as f64;
            if embs[i].0 == embs[j].0 {
                same.push(c)
            } else {
                diff.push(c)
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // EER: sweep thresholds over all scores; where false rejects meet false accepts.
    let mut thresholds: Vec<f64> = same.iter().chain(&diff).copied().collect();
    thresholds.sort_by(f64::total_cmp);
    let (mut best_gap, mut eer, mut at) = (f64::INFINITY, 0.0, 0.0);
    for &t in &thresholds {
        let frr = same.iter().filter(|&&c| c < t).count() as f64 / same.len() as f64;
        let far = diff.iter().filter(|&&c| c >= t).count() as f64 / diff.len() as f64;
        if (frr - far).abs() < best_gap {
            best_gap = (frr - far).abs();
            eer = (frr + far) / 2.0;
            at = t;
        }
    }
    (mean(&same), mean(&diff), eer, at)
}

#[test]
fn verification_statistics_match_the_reference() {
    let Some(data) = shared() else { return };
    let refs = references(&data);
    let got = ours(&data);
    let libri: Vec<usize> = (0..refs.len())
        .filter(|&i| refs[i].file.starts_with("librispeech"))
        .collect();
    assert_eq!(libri.len(), 110);
    let theirs: Vec<(&str, &[f32])> = libri
        .iter()
        .map(|&i| (refs[i].speaker.as_str(), refs[i].pre.as_slice()))
        .collect();
    let mine: Vec<(&str, &[f32])> = libri
        .iter()
        .map(|&i| (refs[i].speaker.as_str(), got[i].1.as_slice()))
        .collect();
    let r = verification_stats(&theirs);
    let o = verification_stats(&mine);
    eprintln!(
        "reference: same {:.3} different {:.3} EER {:.2}% at {:.3}",
        r.0,
        r.1,
        r.2 * 100.0,
        r.3
    );
    eprintln!(
        "voxreel:   same {:.3} different {:.3} EER {:.2}% at {:.3}",
        o.0,
        o.1,
        o.2 * 100.0,
        o.3
    );
    // The documented reference figures, and ours within ±0.01 of them.
    assert!(
        (r.0 - 0.880).abs() < 0.0051 && (r.1 - 0.561).abs() < 0.0051,
        "reference column changed: {r:?}"
    );
    assert!((o.0 - 0.880).abs() <= 0.01, "same-speaker mean {}", o.0);
    assert!(
        (o.1 - 0.561).abs() <= 0.01,
        "different-speaker mean {}",
        o.1
    );
    assert!((o.2 - 0.018).abs() <= 0.01, "EER {}", o.2);
    assert!(
        (o.3 as f32 - voxreel::voice::SAME_SPEAKER_THRESHOLD).abs() < 0.02,
        "threshold {}",
        o.3
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let enc = encoder();
    let e = enc.embed(&Audio::new(Vec::new(), 16000)).unwrap_err();
    assert!(matches!(e, Error::EmptyAudio { .. }), "{e:?}");
    let e = enc
        .embed(&Audio::new(vec![0.1, f32::NAN, 0.2], 16000))
        .unwrap_err();
    assert!(matches!(e, Error::InvalidSamples { count: 1, .. }), "{e:?}");
    let e = enc.embed(&Audio::new(vec![0.0; 32000], 16000)).unwrap_err();
    assert!(matches!(e, Error::Silence { .. }), "{e:?}");
    // Short but not empty: embedded with a warning, not an error.
    let tone: Vec<f32> = (0..8000)
        .map(|i| (i as f32 * 0.07).sin() * 0.3 * ((i / 400) % 2) as f32)
        .collect();
    let u = enc
        .embed_utterance(&Audio::new(tone, 16000), &EmbedOptions::raw())
        .unwrap();
    assert_eq!(u.partials.len(), 1);
    assert_eq!(u.warnings.len(), 1, "{:?}", u.warnings);
    // A profile from another model.
    let json = r#"{"format_version": 3, "name": null, "gender": "male", "analysis": {"duration_s": 1, "speech_s": 1, "speech_start_s": 0, "speech_end_s": 1, "f0_median_hz": 100, "f0_spread_semitones": 1, "f0_p10_p90_hz": [90, 110], "voiced_share": 0.5, "speaking_rate_syllables_per_s": 4, "loudness_lufs": -20, "peak_dbfs": -3, "clipped_share": 0, "warnings": []}, "embedding": {"model": "ge2e-other-9", "embedding": [1.0]}}"#;
    let e = VoiceProfile::from_json(json, "x.voice").unwrap_err();
    assert!(matches!(e, Error::ModelMismatch { .. }), "{e:?}");
    let e = VoiceProfile::from_json(
        &json.replace("\"format_version\": 3", "\"format_version\": 1"),
        "x.voice",
    )
    .unwrap_err();
    assert_eq!(e.code(), "invalid_profile");
    let e = VoiceProfile::from_json("{\"format_version\": 2, \"name\": 3}", "x.voice").unwrap_err();
    assert_eq!(e.code(), "invalid_profile");
}

#[test]
fn profiles_round_trip_with_their_embedding() {
    let Some(data) = shared() else { return };
    let audio = decode_file(
        &data
            .join("speech/librispeech-test-other/367/367-130732-0003.flac")
            .canonicalize()
            .unwrap_or_default(),
    )
    .or_else(|_| {
        let dir = data.join("speech/librispeech-test-other/367");
        let f = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .min()
            .unwrap();
        decode_file(&f)
    })
    .unwrap();
    let p = VoiceProfile::enroll(&audio, "367", encoder()).unwrap();
    let e = p.embedding.clone().unwrap();
    assert_eq!(e.embedding.len(), 256);
    let q = VoiceProfile::from_json(&p.to_json(), "x").unwrap();
    assert_eq!(q, p);
    assert!((e.similarity(q.embedding.as_ref().unwrap()).unwrap() - 1.0).abs() < 1e-6);
    assert!(p.to_json().len() < 1 << 20);
}
