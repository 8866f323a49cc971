//! Voice profiles (format version 3) and enrolment: round trip, versions, corruption,
//! bad references (too short, music, two speakers, clipping), and a Kokoro clone of a
//! shared speaker. Tests that need `../shared` or the installed Kokoro model skip with a
//! message when they are absent.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use voxreel::audio::eq::ChannelEq;
use voxreel::audio::{decode_file, resample, Audio};
use voxreel::lang::Language;
use voxreel::tts::kokoro::synth::{self as kokoro_synth, KokoroSynthesizer};
use voxreel::tts::kokoro::{KOKORO_MODEL_ID, STYLE_DIM};
use voxreel::tts::Synthesizer;
use voxreel::voice::analysis::ReferenceAnalysis;
use voxreel::voice::clone::{
    max_window_ncc, CloneOptions, CloneReport, KokoroClone, BANK_FILE, CHANNEL_EQ_MAX_DB,
    SEARCH_PHRASE,
};
use voxreel::voice::{VoiceEncoder, VoiceProfile, PROFILE_FORMAT_VERSION};
use voxreel::{Device, Error, NoProgress};

fn speech() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/speech");
    if p.join("index.tsv").is_file() {
        Some(p)
    } else {
        eprintln!("SKIP: ../shared/data/speech is absent");
        None
    }
}

fn encoder() -> &'static VoiceEncoder {
    static E: OnceLock<VoiceEncoder> = OnceLock::new();
    E.get_or_init(|| VoiceEncoder::load(&Device::Cpu).expect("bundled GE2E weights"))
}

/// Clips of one shared speaker, in file order.
fn clips(dir: &Path, speaker: &str) -> Vec<Audio> {
    let d = dir.join("librispeech-test-other").join(speaker);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| decode_file(f).unwrap()).collect()
}

fn join(parts: &[&Audio]) -> Audio {
    let mut s = Vec::new();
    for p in parts {
        let p = resample(p, 16_000).unwrap();
        s.extend_from_slice(&p.samples);
        s.extend(std::iter::repeat_n(0.0, 4800));
    }
    Audio::new(s, 16_000)
}

/// A harmonic buzz with a gliding pitch and syllable-like bursts (speech-like for the
/// analysis; not a real voice).
fn buzz(secs: f64) -> Audio {
    let sr = 16_000.0;
    let mut phase = 0.0f64;
    let s = (0..(secs * sr) as usize)
        .map(|i| {
            let t = i as f64 / sr;
            let f0 = 130.0 * (1.0 + 0.15 * (2.0 * std::f64::consts::PI * 0.7 * t).sin());
            phase += 2.0 * std::f64::consts::PI * f0 / sr;
            let env = (std::f64::consts::PI * 4.0 * t).sin().abs();
            let v: f64 = (1..6).map(|k| (k as f64 * phase).sin() / k as f64).sum();
            (0.2 * env * v) as f32
        })
        .collect();
    Audio::new(s, 16_000)
}

fn sample_profile() -> VoiceProfile {
    let mut p = VoiceProfile::from_audio(&buzz(8.0), "buzz").unwrap();
    p.id = "0123456789abcdef".into();
    p.set_consent("Test Speaker, 2025-01-01, for the voxreel test suite");
    p.kokoro = Some(KokoroClone {
        model: voxreel::tts::kokoro::KOKORO_MODEL_ID.into(),
        method: voxreel::voice::clone::CLONE_METHOD.into(),
        style: (0..256).map(|i| (i as f32 * 0.37).sin() * 0.2).collect(),
        base_voice: "am_michael".into(),
        speed: 1.05,
        kokoro_log_f0: (4.9, 0.2),
        target_log_f0: (4.8, 0.15),
        search: CloneReport::default(),
        channel_eq: Some(ChannelEq {
            hz: vec![80.0, 400.0, 2000.0, 7000.0],
            gain_db: vec![-3.0, 1.5, 2.5, -1.0],
        }),
    });
    p
}

#[test]
fn profile_round_trips_with_clone_and_consent() {
    let p = sample_profile();
    let json = p.to_json();
    assert!(json.len() < 1 << 20, "{} bytes", json.len());
    let q = VoiceProfile::from_json(&json, "x.voice").unwrap();
    assert_eq!(q, p);
    assert_eq!(q.format_version, PROFILE_FORMAT_VERSION);
    assert_eq!(
        q.consent.as_ref().unwrap().statement,
        "Test Speaker, 2025-01-01, for the voxreel test suite"
    );
    // Through a file too.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.voice");
    p.save_json(&path).unwrap();
    assert_eq!(VoiceProfile::load_json(&path).unwrap(), p);
}

#[test]
fn profiles_of_other_versions_and_models_are_refused() {
    let p = sample_profile();
    // Older format version.
    let old = p.to_json().replace(
        &format!("\"format_version\": {PROFILE_FORMAT_VERSION}"),
        "\"format_version\": 2",
    );
    let e = VoiceProfile::from_json(&old, "old.voice").unwrap_err();
    assert_eq!(e.code(), "invalid_profile", "{e}");
    assert!(e.to_string().contains("format version 2"), "{e}");
    // A clone made for another Kokoro version (a consistent file, checksum and all).
    let mut other = p.clone();
    other.kokoro.as_mut().unwrap().model = "kokoro-82m-v0.19".into();
    let e = VoiceProfile::from_json(&other.to_json(), "other.voice").unwrap_err();
    assert!(matches!(e, Error::ModelMismatch { .. }), "{e}");
    // Another speaker-encoder model.
    let mut other = p.clone();
    other.embedding = Some(voxreel::voice::VoiceEmbedding {
        model: "ecapa-tdnn".into(),
        embedding: vec![0.0625; 256],
    });
    let e = VoiceProfile::from_json(&other.to_json(), "other.voice").unwrap_err();
    assert!(matches!(e, Error::ModelMismatch { .. }), "{e}");
    // A style of the wrong width.
    let mut bad = p.clone();
    bad.kokoro.as_mut().unwrap().style.truncate(10);
    let e = VoiceProfile::from_json(&bad.to_json(), "bad.voice").unwrap_err();
    assert_eq!(e.code(), "invalid_profile", "{e}");
    // A channel equaliser out of range, or with bands out of order.
    for eq in [
        ChannelEq {
            hz: vec![80.0, 400.0],
            gain_db: vec![0.0, 40.0],
        },
        ChannelEq {
            hz: vec![400.0, 80.0],
            gain_db: vec![0.0, 1.0],
        },
        ChannelEq {
            hz: vec![80.0, 400.0],
            gain_db: vec![0.0],
        },
    ] {
        let mut bad = p.clone();
        bad.kokoro.as_mut().unwrap().channel_eq = Some(eq);
        let e = VoiceProfile::from_json(&bad.to_json(), "bad.voice").unwrap_err();
        assert_eq!(e.code(), "invalid_profile", "{e}");
    }
    // A clone made under the earlier ±12 dB limit still loads.
    let mut wide = p.clone();
    wide.kokoro.as_mut().unwrap().channel_eq = Some(ChannelEq {
        hz: vec![80.0, 400.0, 4000.0],
        gain_db: vec![-12.0, 0.0, 12.0],
    });
    assert_eq!(
        VoiceProfile::from_json(&wide.to_json(), "wide.voice").unwrap(),
        wide
    );
    // A clone made before the equaliser existed still loads (no `channel_eq` key).
    let mut before = p.clone();
    before.kokoro.as_mut().unwrap().channel_eq = None;
    let json = before.to_json();
    assert!(!json.contains("channel_eq"));
    assert_eq!(
        VoiceProfile::from_json(&json, "before.voice").unwrap(),
        before
    );
}

#[test]
fn corrupted_profiles_are_refused() {
    let json = sample_profile().to_json();
    // A changed digit in the style.
    let i = json.find("\"style\"").unwrap();
    let j = i + json[i..]
        .find(|c: char| c.is_ascii_digit() && c != '0')
        .unwrap();
    let mut bytes = json.clone().into_bytes();
    bytes[j] = if bytes[j] == b'9' { b'8' } else { bytes[j] + 1 };
    let edited = String::from_utf8(bytes).unwrap();
    let e = VoiceProfile::from_json(&edited, "edited.voice").unwrap_err();
    assert_eq!(e.code(), "invalid_profile");
    assert!(e.to_string().contains("checksum"), "{e}");
    // Truncated.
    let e = VoiceProfile::from_json(&json[..json.len() / 2], "cut.voice").unwrap_err();
    assert_eq!(e.code(), "invalid_profile");
    // Not a profile at all.
    let e = VoiceProfile::from_json("[1, 2, 3]", "list.voice").unwrap_err();
    assert_eq!(e.code(), "invalid_profile");
    // Binary garbage in a file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.voice");
    std::fs::write(&path, [0xffu8, 0x00, 0x13, 0x37]).unwrap();
    assert!(VoiceProfile::load_json(&path).is_err());
}

#[test]
fn under_three_seconds_of_speech_is_refused() {
    let Some(dir) = speech() else { return };
    let a = resample(&clips(&dir, "367")[0], 16_000).unwrap();
    let n = a.samples.len().min((2.8 * 16_000.0) as usize);
    let short = Audio::new(a.samples[..n].to_vec(), 16_000);
    let e = VoiceProfile::enroll(&short, "short", encoder()).unwrap_err();
    assert!(matches!(e, Error::AudioTooShort { .. }), "{e}");
}

/// Piano-like notes (harmonics with a decay) of a melody over held chords (`chords`), or
/// alone with a rest after every note.
fn music(secs: f64, chords_on: bool) -> Audio {
    let sr = 16_000.0;
    let melody = [262.0, 294.0, 330.0, 349.0, 392.0, 440.0, 392.0, 330.0];
    let chords = [[131.0, 165.0, 196.0], [147.0, 175.0, 220.0]];
    let s = (0..(secs * sr) as usize)
        .map(|i| {
            let t = i as f64 / sr;
            let note = (t / 0.4) as usize;
            let tn = t - note as f64 * 0.4;
            let f = melody[note % melody.len()];
            if !chords_on && tn > 0.3 {
                return 0.0;
            }
            let mut v = 0.0;
            for k in 1..6 {
                v += (2.0 * std::f64::consts::PI * f * k as f64 * t).sin() / (k * k) as f64;
            }
            v *= (-tn * 3.0).exp();
            if chords_on {
                let chord = chords[(t / 1.6) as usize % 2];
                for c in chord {
                    v += 0.3 * (2.0 * std::f64::consts::PI * c * t).sin();
                }
            }
            (0.15 * v) as f32
        })
        .collect();
    Audio::new(s, 16_000)
}

#[test]
fn music_is_refused_and_real_speech_is_not() {
    for chords in [true, false] {
        let e = VoiceProfile::enroll(&music(12.0, chords), "song", encoder()).unwrap_err();
        assert!(matches!(e, Error::NotSpeech { .. }), "chords {chords}: {e}");
    }
    let Some(dir) = speech() else { return };
    // No clip of real speech in ../shared looks like music.
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let mut worst: (f64, String) = (0.0, String::new());
    for line in index.lines().skip(1) {
        let file = line.split('\t').next().unwrap();
        let a = decode_file(&dir.join(file)).unwrap();
        let Ok(r) = ReferenceAnalysis::of(&a, file) else {
            continue;
        };
        assert_eq!(r.speech_check(), None, "{file}: {r:?}");
        if r.flat_pitch_share > worst.0 {
            worst = (r.flat_pitch_share, file.to_string());
        }
    }
    eprintln!(
        "highest held-note share in real speech: {:.3} ({})",
        worst.0, worst.1
    );
}

#[test]
fn two_speakers_are_refused_and_one_is_not() {
    let Some(dir) = speech() else { return };
    let f = clips(&dir, "367");
    let m = clips(&dir, "2609");
    let f2 = clips(&dir, "1998");
    // One speaker, three clips joined (the evaluation's reference).
    for (name, c) in [("367", &f), ("2609", &m), ("1998", &f2)] {
        let one = join(&[&c[0], &c[1], &c[2]]);
        let p = VoiceProfile::enroll(&one, name, encoder());
        assert!(p.is_ok(), "{name}: {:?}", p.err());
    }
    // A woman and a man taking turns.
    let two = join(&[&f[0], &m[0], &f[1], &m[1]]);
    let e = VoiceProfile::enroll(&two, "dialogue", encoder()).unwrap_err();
    assert!(matches!(e, Error::MultipleSpeakers { .. }), "{e}");
    // Two women.
    let two = join(&[&f[0], &f2[0], &f[1], &f2[1]]);
    let e = VoiceProfile::enroll(&two, "two women", encoder()).unwrap_err();
    assert!(matches!(e, Error::MultipleSpeakers { .. }), "{e}");
}

#[test]
fn clipped_speech_is_refused() {
    let Some(dir) = speech() else { return };
    let a = join(&[&clips(&dir, "1688")[0]]);
    let loud = Audio::new(
        a.samples
            .iter()
            .map(|x| (x * 40.0).clamp(-1.0, 1.0))
            .collect(),
        16_000,
    );
    let e = VoiceProfile::enroll(&loud, "loud", encoder()).unwrap_err();
    assert!(matches!(e, Error::Clipped { .. }), "{e}");
}

/// Enrols speaker 2609 (three clips) with a small search over six stock voices, speaks a
/// sentence with the clone and checks pitch, identity and that no reference audio is copied.
#[test]
fn kokoro_clone_of_a_shared_speaker() {
    let Some(dir) = speech() else { return };
    let kdir = kokoro_synth::default_dir();
    if !kokoro_synth::is_installed(&kdir) {
        eprintln!("SKIP: Kokoro is not installed in {}", kdir.display());
        return;
    }
    let k = KokoroSynthesizer::load(&kdir, &Device::Cpu).unwrap();
    let c = clips(&dir, "2609");
    let reference = join(&[&c[0], &c[1], &c[2]]);
    let voices = [
        "af_heart",
        "af_bella",
        "bf_emma",
        "am_michael",
        "am_adam",
        "bm_george",
    ];
    // A cached style bank of the right shape whose embeddings are not what this build hears
    // (as a bank left by an earlier build would be): it must be noticed and rebuilt.
    // (Entries in the model's voice order, which is by name, as the engine writes them.)
    let tmp = tempfile::tempdir().unwrap();
    let bank_path = tmp.path().join(BANK_FILE);
    let mut names = voices.to_vec();
    names.sort_unstable();
    let stale = serde_json::json!({
        "model": KOKORO_MODEL_ID,
        "phrase": SEARCH_PHRASE,
        "voices_len": voices.len() * STYLE_DIM,
        "entries": names.iter().map(|v| serde_json::json!({
            "voice": v, "embedding": vec![0.0625f32; 256], "syllables_per_s": 4.0,
        })).collect::<Vec<_>>(),
    });
    std::fs::write(&bank_path, stale.to_string()).unwrap();
    let opts = CloneOptions {
        dims: 4,
        generations: 1,
        population: 2,
        finalists: 1,
        voices: Some(voices.map(String::from).to_vec()),
        bank_path: Some(bank_path.clone()),
        ..Default::default()
    };
    let mut p =
        VoiceProfile::enroll_clone(&reference, "2609", encoder(), &k, &opts, &NoProgress).unwrap();
    p.set_consent("LibriSpeech speaker 2609, public corpus (CC BY 4.0), test only");
    let rebuilt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bank_path).unwrap()).unwrap();
    let first = &rebuilt["entries"][0]["embedding"];
    assert_eq!(first.as_array().map(Vec::len), Some(256));
    assert_ne!(
        first, &stale["entries"][0]["embedding"],
        "stale bank was kept"
    );
    let clone = p.kokoro.clone().unwrap();
    assert_eq!(clone.style.len(), 256);
    let eq = clone.channel_eq.as_ref().expect("a channel equaliser");
    assert!(
        eq.gain_db.iter().any(|g| *g != 0.0)
            && eq
                .gain_db
                .iter()
                .all(|g| f64::from(g.abs()) <= CHANNEL_EQ_MAX_DB + 1e-3)
    );
    assert!(clone.base_voice.starts_with("am_") || clone.base_voice.starts_with("bm_"));
    let q = VoiceProfile::from_json(&p.to_json(), "2609.voice").unwrap();
    assert_eq!(q, p);

    let out = k
        .with_clone_of(&q)
        .synthesize(
            "Scientists have discovered a new species of frog in the rainforest.",
            Language::English,
            &q,
        )
        .unwrap()
        .audio;
    let a = ReferenceAnalysis::of(&out, "clone").unwrap();
    let ratio = a.f0_median_hz / p.analysis.f0_median_hz;
    eprintln!(
        "clone F0 {:.0} Hz vs reference {:.0} Hz; search {:?}",
        a.f0_median_hz, p.analysis.f0_median_hz, clone.search
    );
    assert!((ratio - 1.0).abs() < 0.15, "F0 ratio {ratio}");
    let e_out = encoder().embed(&resample(&out, 16_000).unwrap()).unwrap();
    let e_other = encoder().embed(&join(&[&c[5], &c[6]])).unwrap();
    let sim = e_out.similarity(&e_other).unwrap();
    eprintln!("clone vs other clips of 2609: cosine {sim:.3}");
    assert!(sim > 0.4, "{sim}");
    let ncc = max_window_ncc(
        &resample(&out, 16_000).unwrap().samples,
        &reference.samples,
        16_000,
        1.0,
    );
    assert!(ncc < 0.5, "{ncc}");
}
