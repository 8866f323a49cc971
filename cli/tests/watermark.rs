//! The watermark: every clip `voxreel say` and `voxreel render` make carries it, it survives
//! the real ffmpeg CLI's AAC and MP3 encoders, gain changes and metadata stripping, and
//! `voxreel detect` finds nothing in real speech (`../shared/data/speech`, skipped when
//! absent, and the bundled sample voice).

mod common;
use common::{assert_ok, sample_voice, shared_speech};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_voxreel");

fn voxreel(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg (scripts/setup.sh installs it)");
    assert_ok(&out);
}

/// `voxreel detect --json FILE`: exit code and the JSON object.
fn detect(path: &Path) -> (i32, serde_json::Value) {
    let out = voxreel(&["detect".as_ref(), path.as_os_str(), "--json".as_ref()]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: no JSON ({e}): {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

/// Speaks `text` with espeak-ng in the sample voice; returns the WAV and its payload.
fn say(dir: &Path, name: &str, text: &str) -> (PathBuf, String) {
    let wav = dir.join(format!("{name}.wav"));
    let out = voxreel(&[
        "say".as_ref(),
        "--engine".as_ref(),
        "espeak".as_ref(),
        "--voice".as_ref(),
        sample_voice().as_os_str(),
        "-o".as_ref(),
        wav.as_os_str(),
        "--json".as_ref(),
        text.as_ref(),
    ]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let payload = v["watermark"].as_str().expect("say reports its watermark");
    assert!(
        payload.starts_with("voice:") && payload.contains(" time:"),
        "{payload}"
    );
    (wav, payload.to_string())
}

/// The copies the issue names, made with the real ffmpeg CLI.
fn transformed_copies(wav: &Path) -> Vec<PathBuf> {
    let dir = wav.parent().unwrap();
    let stem = wav.file_stem().unwrap().to_str().unwrap();
    let p = |suffix: &str| dir.join(format!("{stem}{suffix}"));
    let w = wav.to_str().unwrap();
    let (aac, mp3, quiet, chain) = (
        p("-aac128.m4a"),
        p("-16k-mp3128.mp3"),
        p("-minus6db-nometa.wav"),
        p("-chain.mp3"),
    );
    ffmpeg(&[
        "-i",
        w,
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        aac.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        w,
        "-ar",
        "16000",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        mp3.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        w,
        "-af",
        "volume=-6dB",
        "-map_metadata",
        "-1",
        quiet.to_str().unwrap(),
    ]);
    // All of it in a row: AAC, then −6 dB, metadata stripped, 16 kHz MP3.
    ffmpeg(&[
        "-i",
        aac.to_str().unwrap(),
        "-af",
        "volume=-6dB",
        "-map_metadata",
        "-1",
        "-ar",
        "16000",
        "-c:a",
        "libmp3lame",
        "-b:a",
        "128k",
        chain.to_str().unwrap(),
    ]);
    vec![wav.to_path_buf(), aac, mp3, quiet, chain]
}

#[test]
fn synthetic_speech_survives_codecs_gain_and_metadata_stripping() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "long",
            "The quick brown fox jumps over the lazy dog. Every clip of synthetic speech carries an inaudible watermark.",
        ),
        ("short", "Short one, five words here."),
    ] {
        let (wav, payload) = say(tmp.path(), name, text);
        for copy in transformed_copies(&wav) {
            let (code, v) = detect(&copy);
            assert_eq!(code, 0, "{}: {v}", copy.display());
            assert_eq!(v["detected"], true, "{}: {v}", copy.display());
            assert_eq!(v["payload"], payload.as_str(), "{}", copy.display());
            let z = v["confidence"].as_f64().unwrap();
            assert!(z >= v["threshold"].as_f64().unwrap(), "{}: {v}", copy.display());
            eprintln!("{}: confidence {z}", copy.file_name().unwrap().to_string_lossy());
        }
        // The plain output names the payload.
        let out = voxreel(&["detect".as_ref(), wav.as_os_str()]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("watermark: detected ({payload})")
        );
    }
}

#[test]
fn real_speech_is_not_detected() {
    // The bundled sample voice is real speech: always available.
    let out = voxreel(&["detect".as_ref(), sample_voice().as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "watermark: none"
    );
    let Some(speech) = shared_speech() else {
        return;
    };
    let index = std::fs::read_to_string(speech.join("index.tsv")).unwrap();
    let mut checked = 0;
    let mut max_z = f64::MIN;
    for line in index.lines().skip(1) {
        let rel = line.split('\t').next().unwrap();
        let (code, v) = detect(&speech.join(rel));
        assert_eq!(code, 1, "{rel}: {v}");
        assert_eq!(v["detected"], false, "{rel}: {v}");
        assert!(v["payload"].is_null(), "{rel}: {v}");
        max_z = max_z.max(v["confidence"].as_f64().unwrap());
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} clips in the index");
    eprintln!("{checked} real clips: none detected, highest confidence {max_z}");
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let text = tmp.path().join("notes.mp3");
    std::fs::write(&text, "this is a text file, not audio\n".repeat(40)).unwrap();
    // 0.2 s of audio: too short to hold a watermark.
    let short = tmp.path().join("short.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&short, spec).unwrap();
    for i in 0..3200 {
        w.write_sample(((i as f32 * 0.2).sin() * 8000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    let missing = tmp.path().join("missing.wav");
    for (path, code) in [
        (&empty, "empty_audio"),
        (&text, "not_audio"),
        (&short, "audio_too_short"),
        (&missing, "file_not_found"),
    ] {
        let (exit, v) = detect(path);
        assert_eq!(exit, 2, "{}: {v}", path.display());
        assert_eq!(v["error"]["code"], code, "{}: {v}", path.display());
        let plain = voxreel(&["detect".as_ref(), path.as_os_str()]);
        assert_eq!(plain.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&plain.stderr).starts_with("error: "));
    }
}

#[test]
fn rendered_mp4_carries_the_watermark_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("s.md");
    std::fs::write(
        &script,
        "# A title\n\nThis is the first scene of a short video. It has two sentences.\n\n---\n\nThe second scene says something else, and then the video ends.\n",
    )
    .unwrap();
    let mp4 = tmp.path().join("r.mp4");
    let out = voxreel(&[
        "render".as_ref(),
        "--engine".as_ref(),
        "espeak".as_ref(),
        "--draft".as_ref(),
        "--voice".as_ref(),
        sample_voice().as_os_str(),
        "--script".as_ref(),
        script.as_os_str(),
        "-o".as_ref(),
        mp4.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_ok(&out);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let payload = r["watermark"].as_str().unwrap().to_string();
    // The comment tag says the narration is synthetic and names the payload.
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format_tags=comment"])
        .args(["-of", "default=nw=1:nk=1"])
        .arg(&mp4)
        .output()
        .unwrap();
    assert_ok(&probe);
    let comment = String::from_utf8_lossy(&probe.stdout);
    assert!(comment.contains("synthetic voice"), "{comment}");
    assert!(comment.contains(&payload), "{comment} lacks {payload}");
    // The MP4 itself, and its audio stripped of metadata and re-encoded.
    let (code, v) = detect(&mp4);
    assert_eq!(
        (code, v["payload"].as_str()),
        (0, Some(payload.as_str())),
        "{v}"
    );
    let audio = tmp.path().join("r-audio.m4a");
    ffmpeg(&[
        "-i",
        mp4.to_str().unwrap(),
        "-vn",
        "-map_metadata",
        "-1",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        audio.to_str().unwrap(),
    ]);
    let (code, v) = detect(&audio);
    assert_eq!(
        (code, v["payload"].as_str()),
        (0, Some(payload.as_str())),
        "{v}"
    );
}
