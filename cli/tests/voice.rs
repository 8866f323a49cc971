//! The voice commands: `embed`, `compare`, `voice enroll`, on real speech from
//! `../shared/data/speech/` (skips when absent) and the bundled sample.

mod common;
use common::{repo, shared_speech as speech};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_voxreel");

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

#[test]
fn embed_prints_256_unit_values_with_the_model() {
    let sample = repo().join("samples/voices/librispeech-367.flac");
    let v = json(&run(&[
        "embed".as_ref(),
        sample.as_os_str(),
        "--json".as_ref(),
    ]));
    assert_eq!(v["model"], "ge2e-resemblyzer-0.1.4");
    let e: Vec<f64> = v["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert_eq!(e.len(), 256);
    let norm: f64 = e.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
    let raw = json(&run(&[
        "embed".as_ref(),
        sample.as_os_str(),
        "--raw".as_ref(),
        "--json".as_ref(),
    ]));
    assert_ne!(
        raw["embedding"], v["embedding"],
        "--raw skips preprocessing"
    );
    // Plain output: the same values, space-separated.
    let plain = run(&["embed".as_ref(), sample.as_os_str()]);
    assert!(plain.status.success());
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout)
            .split_whitespace()
            .count(),
        256
    );
}

#[test]
fn compare_tells_speakers_apart_and_enrolled_profiles_work() {
    let Some(s) = speech() else { return };
    let m1 = s.join("librispeech-test-other/1688/1688-142285-0000.flac");
    let m2 = s.join("librispeech-test-other/1688/1688-142285-0003.flac");
    let f1 = s.join("librispeech-test-other/367/367-130732-0001.flac");
    let same = json(&run(&[
        "compare".as_ref(),
        m1.as_os_str(),
        m2.as_os_str(),
        "--json".as_ref(),
    ]));
    let diff = json(&run(&[
        "compare".as_ref(),
        m1.as_os_str(),
        f1.as_os_str(),
        "--json".as_ref(),
    ]));
    assert_eq!(same["same_speaker"], true, "{same}");
    assert_eq!(diff["same_speaker"], false, "{diff}");
    assert!(same["cosine"].as_f64().unwrap() > diff["cosine"].as_f64().unwrap());
    assert_eq!(same["threshold"], 0.756);
    // Enrol, then compare the profile with another clip of the same speaker.
    let dir = tempfile::tempdir().unwrap();
    let prof = dir.path().join("m.voice");
    let e = json(&run(&[
        "voice".as_ref(),
        "enroll".as_ref(),
        m1.as_os_str(),
        "-o".as_ref(),
        prof.as_os_str(),
        "--no-clone".as_ref(),
        "--json".as_ref(),
    ]));
    assert_eq!(e["model"], "ge2e-resemblyzer-0.1.4");
    assert!(std::fs::metadata(&prof).unwrap().len() < 1 << 20);
    let c = json(&run(&[
        "compare".as_ref(),
        prof.as_os_str(),
        m2.as_os_str(),
        "--json".as_ref(),
    ]));
    assert!((c["cosine"].as_f64().unwrap() - same["cosine"].as_f64().unwrap()).abs() < 1e-5);
    // MP3 goes through the same path.
    let mp3 = s.join("mp3/p240_00000.mp3");
    assert!(run(&["embed".as_ref(), mp3.as_os_str(), "--json".as_ref()])
        .status
        .success());
}

#[test]
fn bad_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("text.wav"), "not audio ".repeat(100)).unwrap();
    std::fs::write(d.join("empty.wav"), "").unwrap();
    std::fs::write(d.join("other.voice"), r#"{"format_version": 3, "name": null, "gender": "male", "analysis": {"duration_s": 1, "speech_s": 1, "speech_start_s": 0, "speech_end_s": 1, "f0_median_hz": 100, "f0_spread_semitones": 1, "f0_p10_p90_hz": [90, 110], "voiced_share": 0.5, "speaking_rate_syllables_per_s": 4, "loudness_lufs": -20, "peak_dbfs": -3, "clipped_share": 0, "warnings": []}, "embedding": {"model": "some-other-encoder", "embedding": [1.0]}}"#).unwrap();
    std::fs::write(d.join("broken.voice"), "{ not json").unwrap();
    let sample = repo().join("samples/voices/librispeech-367.flac");
    for (args, needle) in [
        (vec![d.join("text.wav")], "not audio"),
        (vec![d.join("empty.wav")], "no audio"),
        (vec![d.join("missing.flac")], "not found"),
        (
            vec![d.join("other.voice"), sample.clone()],
            "some-other-encoder",
        ),
        (vec![d.join("broken.voice"), sample.clone()], "not json"),
    ] {
        let cmd = if args.len() == 1 { "embed" } else { "compare" };
        let mut a: Vec<&std::ffi::OsStr> = vec![cmd.as_ref()];
        a.extend(args.iter().map(|p| p.as_os_str()));
        let o = run(&a);
        let err = String::from_utf8_lossy(&o.stderr).to_lowercase();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    }
    // Enrolment needs 3 s of speech; a silent file is refused and nothing is written.
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(d.join("silence.wav"), spec).unwrap();
    for _ in 0..48000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let out = d.join("s.voice");
    let o = run(&[
        "voice".as_ref(),
        "enroll".as_ref(),
        d.join("silence.wav").as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists());
}
