//! The Kokoro engine behind the `Synthesizer` trait and the studio's engine choice.
//! Tests that need the installed model skip with a message when it is absent.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use voxreel::lang::Language;
use voxreel::studio::{Engine, Studio};
use voxreel::tts::kokoro::synth::{self as kokoro_synth, KokoroSynthesizer, CHUNK_PAUSE_S};
use voxreel::tts::Synthesizer;
use voxreel::voice::{Gender, VoiceProfile};
use voxreel::{Device, Error};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn profile() -> VoiceProfile {
    let a =
        voxreel::audio::decode_file(&repo().join("samples/voices/librispeech-367.flac")).unwrap();
    VoiceProfile::from_audio(&a, "sample").unwrap()
}

fn engine() -> Option<&'static KokoroSynthesizer> {
    static E: OnceLock<Option<KokoroSynthesizer>> = OnceLock::new();
    E.get_or_init(|| {
        let dir = kokoro_synth::default_dir();
        if !kokoro_synth::is_installed(&dir) {
            eprintln!(
                "SKIP: Kokoro is not installed in {} (run `voxreel models fetch kokoro`)",
                dir.display()
            );
            return None;
        }
        Some(KokoroSynthesizer::load(&dir, &Device::Cpu).expect("load Kokoro"))
    })
    .as_ref()
}

#[test]
fn windows_are_joined_with_a_quiet_pause_and_timings_stay_in_order() {
    let Some(k) = engine() else { return };
    let text =
        "Rivers carry water to the sea, and the sea returns it as rain over distant mountains.";
    // Windows of 24 tokens force several model calls for this one sentence.
    let k = k.with_speaker("af_heart").unwrap().with_max_tokens(24);
    assert_eq!(k.name(), "kokoro-82m (af_heart)");
    let s = k.synthesize(text, Language::English, &profile()).unwrap();
    assert_eq!(s.audio.sample_rate, 24_000);
    let sr = 24_000.0;
    // Every word has a timing, in text order, inside the audio.
    let n_words = text.split_whitespace().count();
    assert_eq!(s.words.len(), n_words, "{:?}", s.words);
    let chars: Vec<char> = text.chars().collect();
    for (w, expect) in s.words.iter().zip(text.split_whitespace()) {
        let got: String = chars[w.char_start..w.char_end].iter().collect();
        assert!(expect.starts_with(&got), "{got:?} vs {expect:?}");
    }
    assert!(s.words.windows(2).all(|p| p[0].start_s < p[1].start_s));
    assert!(s.words.last().unwrap().start_s < s.audio.duration_s());
    // At least two joins: runs of exact zeros as long as the pause, with faded edges.
    let pause = (CHUNK_PAUSE_S * sr) as usize;
    let mut joins = 0;
    let mut i = 0;
    let x = &s.audio.samples;
    while i < x.len() {
        if x[i] == 0.0 {
            let mut j = i;
            while j < x.len() && x[j] == 0.0 {
                j += 1;
            }
            if j - i >= pause && i > 0 && j < x.len() {
                joins += 1;
                // No step at the edges: the samples next to the pause are near zero.
                assert!(
                    x[i - 1].abs() < 0.01 && x[j].abs() < 0.01,
                    "click at a join"
                );
            }
            i = j;
        } else {
            i += 1;
        }
    }
    assert!(joins >= 2, "{joins} joins");
}

#[test]
fn typed_errors_for_nothing_to_say_other_languages_and_unknown_speakers() {
    let Some(k) = engine() else { return };
    let p = profile();
    for text in ["", "  ", "?!… —", "🙂"] {
        let e = k.synthesize(text, Language::English, &p).unwrap_err();
        assert!(matches!(e, Error::NothingToSpeak { .. }), "{text:?}: {e}");
    }
    if k.speaks_mandarin() {
        for text in ["", "，。！", "🙂"] {
            let e = k
                .synthesize(text, Language::ChineseTraditional, &p)
                .unwrap_err();
            assert!(matches!(e, Error::NothingToSpeak { .. }), "{text:?}: {e}");
        }
    } else {
        let e = k
            .synthesize("我們今天很好", Language::ChineseTraditional, &p)
            .unwrap_err();
        assert!(matches!(e, Error::MissingDependency { .. }), "{e}");
        assert!(e.to_string().contains("voxreel models fetch kokoro"), "{e}");
    }
    let e = k.with_speaker("nobody").unwrap_err();
    assert!(matches!(e, Error::UnknownSpeaker { .. }), "{e}");
    assert_eq!(e.kind(), voxreel::ErrorKind::BadInput);
}

#[test]
fn speaker_follows_the_profile() {
    let Some(k) = engine() else { return };
    let mut p = profile();
    p.gender = Gender::Female;
    assert_eq!(k.speaker_for(&p), "af_heart");
    p.gender = Gender::Male;
    assert_eq!(k.speaker_for(&p), "am_michael");
    assert_eq!(
        k.with_speaker("bf_emma").unwrap().resolve_speaker(&p),
        "bf_emma"
    );
}

#[test]
fn studio_engine_choice() {
    let p = profile();
    let empty = tempfile::tempdir().unwrap();
    // Without the model: Auto falls back, forced Kokoro names the install command.
    let studio = Studio::with_fallback(None).with_kokoro_dir(empty.path().to_path_buf());
    assert!(!studio.kokoro_installed());
    let e = studio
        .select_engine(Engine::Kokoro, None, Language::English, &p)
        .unwrap_err();
    assert!(matches!(e, Error::MissingDependency { .. }), "{e}");
    assert!(e.to_string().contains("voxreel models fetch kokoro"), "{e}");
    // No fallback either: Auto reports Kokoro's missing files.
    let e = studio
        .select_engine(Engine::Auto, None, Language::English, &p)
        .unwrap_err();
    assert!(matches!(e, Error::MissingDependency { .. }), "{e}");
    let e = studio
        .select_engine(Engine::Espeak, None, Language::English, &p)
        .unwrap_err();
    assert!(matches!(e, Error::MissingDependency { .. }), "{e}");

    if engine().is_none() {
        return;
    }
    let studio = Studio::with_fallback(None);
    let s = studio
        .select_engine(Engine::Auto, None, Language::English, &p)
        .unwrap();
    assert!(s.name().starts_with("kokoro-82m ("), "{}", s.name());
    let s = studio
        .select_engine(Engine::Kokoro, Some("am_michael"), Language::English, &p)
        .unwrap();
    assert_eq!(s.name(), "kokoro-82m (am_michael)");
    if voxreel::tts::g2p::zh::is_installed(&kokoro_synth::default_dir()) {
        // Chinese: a Mandarin voice chosen by the profile (the sample voice is female).
        let s = studio
            .select_engine(Engine::Kokoro, None, Language::ChineseSimplified, &p)
            .unwrap();
        assert_eq!(s.name(), "kokoro-82m (zf_xiaoxiao)");
        let s = studio
            .select_engine(Engine::Auto, None, Language::ChineseTraditional, &p)
            .unwrap();
        assert_eq!(s.name(), "kokoro-82m (zf_xiaoxiao)");
    }
    let e = studio
        .select_engine(Engine::Espeak, Some("af_heart"), Language::English, &p)
        .unwrap_err();
    assert_eq!(e.kind(), voxreel::ErrorKind::BadInput);
}

#[test]
fn old_requests_without_engine_fields_parse() {
    let r: voxreel::studio::RenderRequest = serde_json::from_str(
        r#"{"voice":"v.flac","script":"s.md","output":"o.mp4","images":null,"language":"auto","seed":0}"#,
    )
    .unwrap();
    assert_eq!(r.engine, Engine::Auto);
    assert_eq!(r.speaker, None);
    let r: voxreel::studio::RenderRequest = serde_json::from_str(
        r#"{"voice":"v.flac","script":"s.md","output":"o.mp4","images":null,"language":"en","seed":0,"engine":"kokoro","speaker":"af_heart"}"#,
    )
    .unwrap();
    assert_eq!(r.engine, Engine::Kokoro);
    assert_eq!(r.speaker.as_deref(), Some("af_heart"));
}

#[test]
fn mandarin_is_spoken_with_a_mandarin_voice_and_timed_per_word() {
    let Some(k) = engine() else { return };
    if !k.speaks_mandarin() {
        eprintln!("SKIP: the Mandarin front end is not installed (scripts/fetch-zh-frontend.sh)");
        return;
    }
    let p = profile();
    assert_eq!(
        k.speaker_for_language(&p, Language::ChineseTraditional),
        "zf_xiaoxiao"
    );
    let text = "我們今天去銀行，買了兩把雨傘。";
    let s = k
        .synthesize(text, Language::ChineseTraditional, &p)
        .unwrap();
    let dur = s.audio.duration_s();
    assert!((1.5..8.0).contains(&dur), "{dur} s");
    let rms =
        (s.audio.samples.iter().map(|x| x * x).sum::<f32>() / s.audio.samples.len() as f32).sqrt();
    assert!(rms > 0.01, "audible: rms {rms}");
    // One timing per Chinese word (jieba's words after sandhi merging), in order.
    let chars: Vec<char> = text.chars().collect();
    let words: Vec<String> = s
        .words
        .iter()
        .map(|w| chars[w.char_start..w.char_end].iter().collect())
        .collect();
    assert!(words.len() >= 6, "{words:?}");
    assert!(words.contains(&"銀行".to_string()), "{words:?}");
    assert!(
        s.words.windows(2).all(|w| w[0].start_s < w[1].start_s),
        "{:?}",
        s.words
    );
    assert!(s.words.last().unwrap().start_s < dur);
    // A fixed English voice may still be asked for explicitly.
    let s = k
        .with_speaker("af_heart")
        .unwrap()
        .synthesize("你好", Language::ChineseSimplified, &p)
        .unwrap();
    assert!(s.audio.duration_s() > 0.3);
}
