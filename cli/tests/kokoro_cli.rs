//! The Kokoro engine through the `voxreel` binary: `say --engine kokoro`, `voices`,
//! `models list`, engine choice and its errors.
//!
//! Tests that need the installed model (`$VOXREEL_HOME/models/kokoro`, resolved as the
//! library does) skip with a message when it is absent; install it with
//! `voxreel models fetch kokoro`.

mod common;
use common::{assert_ok, sample_voice};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use voxreel::tts::kokoro::synth as kokoro_synth;

const BIN: &str = env!("CARGO_BIN_EXE_voxreel");

/// The installed Kokoro folder, or None (with a SKIP message).
fn kokoro_dir(test: &str) -> Option<PathBuf> {
    let dir = kokoro_synth::default_dir();
    if kokoro_synth::is_installed(&dir) {
        Some(dir)
    } else {
        eprintln!(
            "SKIP {test}: Kokoro is not installed in {} (set VOXREEL_HOME or run `voxreel models fetch kokoro`)",
            dir.display()
        );
        None
    }
}

fn run(args: &[&str], home: Option<&Path>) -> Output {
    let mut c = Command::new(BIN);
    c.args(args);
    if let Some(h) = home {
        c.env("VOXREEL_HOME", h);
    }
    c.output().unwrap()
}

fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Lower-case words without punctuation.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn say_with_kokoro_writes_24khz_speech_with_ordered_word_timings() {
    if kokoro_dir("say_with_kokoro").is_none() {
        return;
    }
    let text = "The quick brown fox jumps over the lazy dog. Then it rests by the river, \
                counting 12 boats as they drift slowly past.";
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("say.wav");
    let voice = sample_voice();
    let out = run(
        &[
            "say",
            "--voice",
            voice.to_str().unwrap(),
            "--engine",
            "kokoro",
            "--speaker",
            "am_michael",
            "--json",
            "-o",
            wav.to_str().unwrap(),
            text,
        ],
        None,
    );
    assert!(
        out.status.success(),
        "say failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j = stdout_json(&out);
    assert_eq!(j["ok"], true);
    assert_eq!(j["engine"], "kokoro-82m (am_michael)");
    assert_eq!(j["sample_rate"], 24000);
    assert_eq!(j["language"], "en");

    // The WAV: 24 kHz mono, with speech.
    let r = hound::WavReader::open(&wav).unwrap();
    let spec = r.spec();
    assert_eq!((spec.sample_rate, spec.channels), (24000, 1));
    let audio = voxreel::audio::decode_file(&wav).unwrap();
    let dur = audio.duration_s();
    assert!(dur > 4.0 && dur < 20.0, "duration {dur} s");
    let rms =
        (audio.samples.iter().map(|x| x * x).sum::<f32>() / audio.samples.len() as f32).sqrt();
    assert!(rms > 0.02, "too quiet: rms {rms}");

    // Word timings: every word of the text, in order, inside the audio, over speech.
    let ws = j["words"].as_array().expect("words");
    let got: Vec<String> = ws
        .iter()
        .flat_map(|w| words(w["text"].as_str().unwrap()))
        .collect();
    assert_eq!(got, words(text));
    let mut last = 0.0f64;
    for w in ws {
        let (s, e) = (w["start_s"].as_f64().unwrap(), w["end_s"].as_f64().unwrap());
        assert!(s >= last - 1e-9, "{w} starts before the previous word");
        assert!(
            e >= s && e <= dur + 1e-6,
            "{w} ends outside the audio ({dur} s)"
        );
        last = s;
    }
    let first = ws[0]["start_s"].as_f64().unwrap();
    let end = ws.last().unwrap()["end_s"].as_f64().unwrap();
    assert!(first < 1.0, "first word at {first} s");
    assert!(end > dur - 1.5, "last word ends at {end} s of {dur} s");
    let f = voxreel::voice::vad::speech_fraction(&audio, first, end);
    assert!(f > 0.7, "speech under the words: {f}");
    // Every word of at least a few letters has voice under it.
    for w in ws {
        let (s, e) = (w["start_s"].as_f64().unwrap(), w["end_s"].as_f64().unwrap());
        if e - s >= 0.15 {
            let f = voxreel::voice::vad::speech_fraction(&audio, s, e);
            assert!(f >= 0.5, "no speech under {w}: {f}");
        }
    }
}

#[test]
fn auto_engine_uses_kokoro_for_english_and_for_chinese_when_installed() {
    if kokoro_dir("auto_engine").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let voice = sample_voice();
    let en = dir.path().join("en.wav");
    let out = run(
        &[
            "say",
            "--voice",
            voice.to_str().unwrap(),
            "--json",
            "-o",
            en.to_str().unwrap(),
            "Good morning.",
        ],
        None,
    );
    assert_ok(&out);
    let j = stdout_json(&out);
    // A recording as --voice is enrolled on the fly: English speaks through its clone.
    assert!(
        j["engine"]
            .as_str()
            .unwrap_or("")
            .starts_with("kokoro-82m (clone "),
        "{j}"
    );
    let zh = dir.path().join("zh.wav");
    let zh_installed = voxreel::tts::g2p::zh::is_installed(&kokoro_synth::default_dir());
    let out = run(
        &[
            "say",
            "--voice",
            voice.to_str().unwrap(),
            "--lang",
            "zh-TW",
            "--json",
            "-o",
            zh.to_str().unwrap(),
            "我們今天很好。",
        ],
        None,
    );
    if zh_installed {
        // Kokoro speaks Mandarin with a Mandarin voice (the sample voice is female).
        assert_ok(&out);
        let j = stdout_json(&out);
        assert_eq!(j["engine"], "kokoro-82m (zf_xiaoxiao)");
    } else if cfg!(feature = "espeak") {
        assert_ok(&out);
        assert_eq!(stdout_json(&out)["engine"], "espeak-ng");
    }
    // Forcing Kokoro on Chinese: Kokoro, or exit 3 naming the install command.
    let out = run(
        &[
            "say",
            "--voice",
            voice.to_str().unwrap(),
            "--engine",
            "kokoro",
            "--lang",
            "zh-TW",
            "--json",
            "-o",
            zh.to_str().unwrap(),
            "我們今天很好。",
        ],
        None,
    );
    if zh_installed {
        assert_ok(&out);
        let j = stdout_json(&out);
        assert_eq!(j["engine"], "kokoro-82m (zf_xiaoxiao)");
        let words = j["words"].as_array().expect("words");
        assert!(words.len() >= 3, "{j}");
    } else {
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("voxreel models fetch kokoro"));
    }
}

#[test]
fn voices_lists_kokoro_voices_with_language_and_gender() {
    if kokoro_dir("voices").is_none() {
        return;
    }
    let out = run(&["voices", "--json"], None);
    assert_ok(&out);
    let j = stdout_json(&out);
    assert_eq!(j["kokoro"]["installed"], true);
    let vs = j["kokoro"]["voices"].as_array().unwrap();
    let find = |n: &str| {
        vs.iter()
            .find(|v| v["name"] == n)
            .unwrap_or_else(|| panic!("{n} not listed"))
            .clone()
    };
    let v = find("af_heart");
    assert_eq!(
        (v["language"].as_str(), v["gender"].as_str()),
        (Some("en-US"), Some("female"))
    );
    let v = find("am_michael");
    assert_eq!(
        (v["language"].as_str(), v["gender"].as_str()),
        (Some("en-US"), Some("male"))
    );
    let v = find("zf_xiaobei");
    assert_eq!(
        (v["language"].as_str(), v["gender"].as_str()),
        (Some("zh"), Some("female"))
    );
    assert!(j["espeak"]["available"].is_boolean());

    let out = run(&["voices"], None);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for (name, lang, gender) in [
        ("af_heart", "American English", "female"),
        ("am_michael", "American English", "male"),
        ("zf_xiaobei", "Mandarin Chinese", "female"),
    ] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not in:\n{text}"));
        assert!(line.contains(lang) && line.contains(gender), "{line}");
    }
    assert!(text.contains("espeak-ng"));
}

#[test]
fn forced_kokoro_without_the_model_exits_3_with_the_install_command() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("x.wav");
    let voice = sample_voice();
    let out = run(
        &[
            "say",
            "--voice",
            voice.to_str().unwrap(),
            "--engine",
            "kokoro",
            "--json",
            "-o",
            wav.to_str().unwrap(),
            "Hello there.",
        ],
        Some(home.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("voxreel models fetch kokoro"), "{stderr}");
    let j = stdout_json(&out);
    assert_eq!(j["error"]["code"], "missing_dependency");
    assert!(!wav.exists());

    // render too, before any slow work.
    let script = dir.path().join("s.md");
    std::fs::write(&script, "Hello there.").unwrap();
    let out = run(
        &[
            "render",
            "--voice",
            voice.to_str().unwrap(),
            "--script",
            script.to_str().unwrap(),
            "--engine",
            "kokoro",
            "-o",
            dir.path().join("o.mp4").to_str().unwrap(),
        ],
        Some(home.path()),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("voxreel models fetch kokoro"), "{stderr}");
    assert!(!dir.path().join("o.mp4").exists());

    // voices and models list say what is missing and succeed.
    let out = run(&["voices", "--json"], Some(home.path()));
    assert!(out.status.success());
    assert_eq!(stdout_json(&out)["kokoro"]["installed"], false);
    let out = run(&["models", "list"], Some(home.path()));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not installed") && text.contains("voxreel models fetch kokoro"),
        "{text}"
    );
}

#[test]
fn unknown_speaker_and_engine_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("x.wav");
    let voice = sample_voice();
    // An unknown engine name needs no model.
    let out = run(
        &[
            "say",
            "--voice",
            voice.to_str().unwrap(),
            "--engine",
            "festival",
            "-o",
            wav.to_str().unwrap(),
            "Hello.",
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if kokoro_dir("unknown_speaker").is_none() {
        return;
    }
    for engine in ["kokoro", "auto"] {
        let out = run(
            &[
                "say",
                "--voice",
                voice.to_str().unwrap(),
                "--engine",
                engine,
                "--speaker",
                "xx_nobody",
                "--json",
                "-o",
                wav.to_str().unwrap(),
                "Hello.",
            ],
            None,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("xx_nobody") && stderr.contains("af_heart"),
            "{stderr}"
        );
        assert_eq!(stdout_json(&out)["error"]["code"], "unknown_speaker");
        assert!(!wav.exists());
    }
}

#[test]
fn models_list_shows_the_installed_files() {
    let Some(dir) = kokoro_dir("models_list") else {
        return;
    };
    let out = run(&["models", "list", "--json"], None);
    assert!(out.status.success());
    let j = stdout_json(&out);
    let k = &j["models"][0];
    assert_eq!(k["name"], "kokoro-82m");
    assert_eq!(k["installed"], true);
    assert_eq!(k["dir"].as_str().map(PathBuf::from), Some(dir));
    assert!(k["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["bytes"].as_u64().unwrap_or(0) > 0));
}
