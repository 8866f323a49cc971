//! End-to-end: the `voxreel` binary renders real videos, checked with ffprobe,
//! ffmpeg's EBU R128 meter, tesseract OCR and a voice-activity detector.
//!
//! Needs the shared speech data (`../shared/data/speech/`); tests skip with a
//! message when it is absent.

mod common;
use common::{repo, shared_speech};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use voxreel::subtitles::{parse_srt, SrtCue};

const BIN: &str = env!("CARGO_BIN_EXE_voxreel");

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("-version").output().is_ok()
        || Command::new(cmd).arg("--version").output().is_ok()
}

struct Rendered {
    dir: tempfile::TempDir,
    video: PathBuf,
    srt: Vec<SrtCue>,
    script: String,
    json: serde_json::Value,
}

fn render(voice: &Path, script: &Path, lang: &str) -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("out.mp4");
    let out = Command::new(BIN)
        .args(["render", "--voice"])
        .arg(voice)
        .arg("--script")
        .arg(script)
        .args(["--lang", lang, "--json", "-o"])
        .arg(&video)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "render failed: {stderr}");
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    let srt = parse_srt(&std::fs::read_to_string(dir.path().join("out.srt")).unwrap());
    assert!(dir.path().join("out.vtt").is_file());
    Rendered {
        video,
        srt,
        script: std::fs::read_to_string(script).unwrap(),
        json,
        dir,
    }
}

fn english() -> Option<&'static Rendered> {
    static R: OnceLock<Option<Rendered>> = OnceLock::new();
    R.get_or_init(|| {
        let speech = shared_speech()?;
        let voice = speech.join("librispeech-test-other/1688/1688-142285-0000.flac");
        Some(render(&voice, &repo().join("samples/demo.md"), "auto"))
    })
    .as_ref()
}

fn mandarin() -> Option<&'static Rendered> {
    static R: OnceLock<Option<Rendered>> = OnceLock::new();
    R.get_or_init(|| {
        let speech = shared_speech()?;
        let voice = speech.join("aishell1/BAC009S0764W0121.wav");
        Some(render(
            &voice,
            &repo().join("samples/demo-zh-TW.md"),
            "auto",
        ))
    })
    .as_ref()
}

fn ffprobe_json(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name,profile,width,height,pix_fmt,sample_rate,duration,r_frame_rate", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Integrated loudness and true peak measured by ffmpeg's own EBU R128 filter.
fn ffmpeg_loudness(path: &Path) -> (f64, f64) {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args(["-vn", "-af", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = &text[text.rfind("Summary:").expect("ebur128 summary")..];
    let grab = |key: &str| -> f64 {
        let i = summary.find(key).unwrap() + key.len();
        summary[i..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    (grab("I:"), grab("Peak:"))
}

/// Words of a text for comparison: Latin words lowercased without punctuation,
/// and every Han character or digit run as one word.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if voxreel::lang::is_cjk_char(c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() || c == '\'' {
            cur.extend(c.to_lowercase());
        } else if c.is_whitespace() || !(c == ',' || c == '.') {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The script's words with Markdown syntax removed by simple line rules (independent of the library's parser).
fn script_words(md: &str) -> Vec<String> {
    let mut text = String::new();
    for line in md.lines() {
        let l = line.trim();
        if l == "---" || l == "***" {
            continue;
        }
        let l = l.trim_start_matches('#').trim_start();
        let l = l.strip_prefix("- ").unwrap_or(l);
        text.push_str(&l.replace("**", "").replace('_', " "));
        text.push('\n');
    }
    words(&text)
}

fn check_video(r: &Rendered) {
    let p = ffprobe_json(&r.video);
    let streams = p["streams"].as_array().unwrap();
    let video: Vec<_> = streams
        .iter()
        .filter(|s| s["codec_type"] == "video")
        .collect();
    let audio: Vec<_> = streams
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .collect();
    assert_eq!(video.len(), 1, "{p}");
    assert_eq!(audio.len(), 1, "{p}");
    assert_eq!(video[0]["codec_name"], "h264");
    assert_eq!(video[0]["width"], 1080);
    assert_eq!(video[0]["height"], 1920);
    assert_eq!(video[0]["pix_fmt"], "yuv420p");
    assert_eq!(video[0]["r_frame_rate"], "30/1");
    assert_eq!(audio[0]["codec_name"], "aac");
    assert_eq!(audio[0]["sample_rate"], "48000");
    let num = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    let (dc, dv, da) = (
        num(&p["format"]["duration"]),
        num(&video[0]["duration"]),
        num(&audio[0]["duration"]),
    );
    assert!(
        (dc - dv).abs() <= 0.05 && (dc - da).abs() <= 0.05 && (dv - da).abs() <= 0.05,
        "durations container {dc} video {dv} audio {da}"
    );
    let (lufs, peak) = ffmpeg_loudness(&r.video);
    assert!(
        (lufs + 14.0).abs() <= 1.0,
        "integrated loudness {lufs} LUFS"
    );
    assert!(peak <= -1.0, "true peak {peak} dBTP");
    // SRT: ordered, apart, inside the audio.
    assert!(!r.srt.is_empty());
    let mut prev_end = 0.0;
    for c in &r.srt {
        assert!(
            c.start_s >= prev_end - 1e-9,
            "cue overlaps the one before: {c:?}"
        );
        assert!(c.end_s > c.start_s, "{c:?}");
        assert!(c.end_s <= da + 1e-3, "cue past the audio: {c:?}");
        assert!(c.lines.len() <= 2, "{c:?}");
        prev_end = c.end_s;
    }
    // Captions carry exactly the script's words, in order.
    let caption_text: String = r.srt.iter().map(|c| c.lines.join("\n") + "\n").collect();
    assert_eq!(words(&caption_text), script_words(&r.script));
}

#[test]
fn english_render_is_a_valid_video_with_exact_captions() {
    let Some(r) = english() else { return };
    check_video(r);
    assert_eq!(r.json["language"], "en");
    // The default engine speaks English with Kokoro when it is installed (the same
    // VOXREEL_HOME resolution as the library), with espeak-ng otherwise.
    let engine = r.json["engine"].as_str().unwrap_or_default();
    let kokoro =
        voxreel::tts::kokoro::synth::is_installed(&voxreel::tts::kokoro::synth::default_dir());
    if kokoro {
        assert!(engine.starts_with("kokoro-82m ("), "engine {engine}");
    } else {
        eprintln!("NOTE: Kokoro not installed; the English render used {engine}");
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.dir.path().join("out.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["engine"].as_str(), Some(engine));
    for c in &r.srt {
        for l in &c.lines {
            assert!(l.chars().count() <= 42, "line too long: {l:?}");
            for bad in ["**", "_", "#", "---"] {
                assert!(!l.contains(bad), "Markdown {bad:?} in caption {l:?}");
            }
            assert!(!l.starts_with("- "), "list marker in caption {l:?}");
        }
    }
    let all: String = r.srt.iter().map(|c| c.lines.join(" ") + " ").collect();
    assert!(
        all.contains("They Dance to Talk"),
        "heading text must be captioned"
    );
    assert!(
        all.contains("Drones exist for a single purpose."),
        "list item must be captioned"
    );
}

#[test]
fn mandarin_render_is_a_valid_video_with_exact_captions() {
    let Some(r) = mandarin() else { return };
    check_video(r);
    // Kokoro speaks Mandarin when its Mandarin front end is installed; espeak-ng otherwise.
    let dir = voxreel::tts::kokoro::synth::default_dir();
    if voxreel::tts::kokoro::synth::is_installed_for(
        &dir,
        voxreel::lang::Language::ChineseTraditional,
    ) {
        assert!(
            r.json["engine"]
                .as_str()
                .unwrap()
                .starts_with("kokoro-82m (z"),
            "{}",
            r.json["engine"]
        );
    } else {
        assert_eq!(r.json["engine"], "espeak-ng");
    }
    assert_eq!(r.json["language"], "zh-TW");
    for c in &r.srt {
        for l in &c.lines {
            let cjk = l
                .chars()
                .filter(|&c| {
                    voxreel::lang::is_cjk_char(c)
                        || ('\u{3000}'..='\u{303f}').contains(&c)
                        || ('\u{ff00}'..='\u{ff60}').contains(&c)
                })
                .count();
            assert!(cjk <= 20, "line too long: {l:?}");
            assert!(
                !l.starts_with(|c| "，。！？」、；：".contains(c)),
                "line starts with closing punctuation: {l:?}"
            );
        }
    }
}

/// Speech is present under every cue.
fn check_speech_under_cues(r: &Rendered) {
    let wav = r.dir.path().join("audio.wav");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&r.video)
        .args(["-ac", "1", "-ar", "16000"])
        .arg(&wav)
        .status()
        .unwrap();
    assert!(st.success());
    let audio = voxreel::audio::decode_file(&wav).unwrap();
    let mut weak = Vec::new();
    for c in &r.srt {
        let f = voxreel::voice::vad::speech_fraction(&audio, c.start_s, c.end_s);
        if f < 0.5 {
            weak.push((c.lines.join(" "), f));
        }
    }
    assert!(weak.is_empty(), "cues without speech under them: {weak:?}");
}

#[test]
fn speech_under_every_cue() {
    if let Some(r) = english() {
        check_speech_under_cues(r);
    }
    if let Some(r) = mandarin() {
        check_speech_under_cues(r);
    }
}

/// OCR of frames in the middle of cues reads the cue; caption pixels stay in the safe area.
fn check_ocr(r: &Rendered, lang: &str) {
    if !have("tesseract") {
        eprintln!("SKIP: tesseract not installed");
        return;
    }
    let n = r.srt.len();
    let picks: Vec<usize> = [n / 5, n / 2, 4 * n / 5].into_iter().collect();
    let mut good = 0;
    for &i in &picks {
        let c = &r.srt[i];
        let t = (c.start_s + c.end_s) / 2.0;
        let png = r.dir.path().join(format!("f{i}.png"));
        let st = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-ss", &format!("{t:.3}"), "-i"])
            .arg(&r.video)
            .args(["-frames:v", "1"])
            .arg(&png)
            .status()
            .unwrap();
        assert!(st.success());
        let img = image_rgb(&png);
        let (w, h) = (1080usize, 1920usize);
        // Near-white pixels below the title band are caption pixels: all inside the safe area.
        let mut mask = vec![255u8; w * h];
        let mut min_y = h;
        let mut max_y = 0;
        for y in (h * 45 / 100)..h {
            for x in 0..w {
                let p = &img[(y * w + x) * 3..(y * w + x) * 3 + 3];
                if p.iter().all(|&v| v > 215) {
                    mask[y * w + x] = 0;
                    min_y = min_y.min(y);
                    max_y = max_y.max(y);
                    assert!(
                        x >= w * 5 / 100 && x < w * 95 / 100,
                        "caption pixel at x={x} outside side margins (cue {i})"
                    );
                }
            }
        }
        assert!(max_y > min_y, "no caption pixels found for cue {i}");
        assert!(
            max_y < h * 80 / 100,
            "caption pixel at y={max_y} inside the bottom 20 % (cue {i})"
        );
        assert!(min_y >= h * 10 / 100);
        // OCR the mask (black text on white).
        let crop_top = min_y.saturating_sub(20);
        let crop_h = (max_y + 20).min(h) - crop_top;
        let pgm = r.dir.path().join(format!("m{i}.pgm"));
        let mut data = format!("P5\n{w} {crop_h}\n255\n").into_bytes();
        data.extend_from_slice(&mask[crop_top * w..(crop_top + crop_h) * w]);
        std::fs::write(&pgm, data).unwrap();
        let out = Command::new("tesseract")
            .arg(&pgm)
            .args(["-", "-l", lang, "--psm", "6"])
            .output()
            .unwrap();
        let ocr = String::from_utf8_lossy(&out.stdout).to_string();
        let expect = words(&c.lines.join(" "));
        let got = words(&ocr);
        let hits = expect.iter().filter(|w| got.contains(w)).count();
        let ratio = hits as f64 / expect.len().max(1) as f64;
        eprintln!(
            "cue {i}: {:?} → OCR {:?} ({:.0}%)",
            c.lines,
            ocr.trim(),
            ratio * 100.0
        );
        if ratio >= 0.6 {
            good += 1;
        }
    }
    assert!(
        good >= 2,
        "OCR read fewer than 2 of {} sampled cues",
        picks.len()
    );
}

fn image_rgb(png: &Path) -> Vec<u8> {
    // Decode with ffmpeg to raw RGB to avoid another image dependency.
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(png)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), 1080 * 1920 * 3);
    out.stdout
}

#[test]
fn ocr_reads_captions_inside_safe_area() {
    if let Some(r) = english() {
        check_ocr(r, "eng");
    }
    if let Some(r) = mandarin() {
        check_ocr(r, "chi_tra");
    }
}

/// Each bad input fails with exit code 2, a readable message, and no output left behind.
#[test]
fn bad_inputs_exit_2_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good_script = repo().join("samples/demo.md");
    let good_voice = repo().join("samples/voices/librispeech-367.flac");
    std::fs::write(
        d.join("text.wav"),
        "this is not audio at all, just text\n".repeat(50),
    )
    .unwrap();
    write_wav(&d.join("empty.wav"), &[]);
    write_wav(&d.join("silence.wav"), &vec![0i16; 160_000]);
    // 1 s of a real voice (taken from the bundled sample).
    let real = voxreel::audio::decode_file(&good_voice).unwrap();
    let one_s: Vec<i16> = real.samples[16_000..32_000]
        .iter()
        .map(|&x| (x * 32767.0) as i16)
        .collect();
    write_wav(&d.join("short.wav"), &one_s);
    std::fs::write(d.join("empty.md"), "").unwrap();
    std::fs::write(d.join("rules.md"), "---\n\n***\n\n---\n").unwrap();
    let cases: Vec<(&str, PathBuf, PathBuf, &str)> = vec![
        (
            "missing file",
            d.join("nope.wav"),
            good_script.clone(),
            "not found",
        ),
        (
            "text renamed .wav",
            d.join("text.wav"),
            good_script.clone(),
            "not audio",
        ),
        (
            "zero-length WAV",
            d.join("empty.wav"),
            good_script.clone(),
            "no audio",
        ),
        (
            "10 s of silence",
            d.join("silence.wav"),
            good_script.clone(),
            "silent",
        ),
        (
            "1 s clip",
            d.join("short.wav"),
            good_script.clone(),
            "speech",
        ),
        (
            "empty script",
            good_voice.clone(),
            d.join("empty.md"),
            "empty",
        ),
        (
            "only rules",
            good_voice.clone(),
            d.join("rules.md"),
            "nothing to narrate",
        ),
    ];
    for (name, voice, script, needle) in cases {
        let out_dir = tempfile::tempdir().unwrap();
        let out = Command::new(BIN)
            .args(["render", "--voice"])
            .arg(&voice)
            .arg("--script")
            .arg(&script)
            .arg("-o")
            .arg(out_dir.path().join("x.mp4"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: exit {:?}, stderr {err}",
            out.status.code()
        );
        assert!(
            err.contains(needle),
            "{name}: message {err:?} lacks {needle:?}"
        );
        let left: Vec<_> = std::fs::read_dir(out_dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{name}: files left behind: {left:?}");
    }
}

fn write_wav(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn unknown_language_is_bad_input() {
    let out = Command::new(BIN)
        .args([
            "render",
            "--voice",
            "x.wav",
            "--script",
            "x.md",
            "-o",
            "/tmp/never.mp4",
            "--lang",
            "klingon",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported language"));
}
