//! Composition: formats and presets, safe areas, scene order, music ducking.
//! Renders real (short) videos and checks decoded frames and audio with ffmpeg.

mod common;
use common::sample_voice as voice;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_voxreel");

fn render(dir: &Path, script: &str, extra: &[&str]) -> serde_json::Value {
    let sp = dir.join("script.md");
    std::fs::write(&sp, script).unwrap();
    let out = Command::new(BIN)
        .args(["render", "--json", "--voice"])
        .arg(voice())
        .arg("--script")
        .arg(&sp)
        .arg("-o")
        .arg(dir.join("out.mp4"))
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "render {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (width, height) of the video stream.
fn video_size(path: &Path) -> (usize, usize) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.trim().split(',').map(|v| v.parse::<usize>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// One decoded frame at `t` seconds, RGB24.
fn frame_at(path: &Path, t: f64, w: usize, h: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-ss", &format!("{t:.3}"), "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .unwrap();
    assert_eq!(out.stdout.len(), w * h * 3, "frame at {t}");
    out.stdout
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out.json")).unwrap()).unwrap()
}

const SHORT: &str = "# Safe Areas Matter\n\nEvery platform puts buttons over the picture, so captions must stay clear of them.\n";

#[test]
fn every_preset_and_aspect_has_its_size_and_keeps_text_in_its_safe_area() {
    // (args, width, height, safe left, top, right, bottom as shares)
    let cases: [(&[&str], usize, usize, [f64; 4]); 6] = [
        (&["--aspect", "9:16"], 1080, 1920, [0.06, 0.10, 0.06, 0.20]),
        (&["--aspect", "16:9"], 1920, 1080, [0.05, 0.05, 0.05, 0.10]),
        (&["--aspect", "1:1"], 1080, 1080, [0.06, 0.06, 0.06, 0.12]),
        (
            &["--preset", "shorts"],
            1080,
            1920,
            [0.06, 0.10, 0.12, 0.20],
        ),
        (
            &["--preset", "tiktok"],
            1080,
            1920,
            [0.06, 0.09, 0.14, 0.22],
        ),
        (&["--preset", "reels"], 1080, 1920, [0.06, 0.14, 0.12, 0.22]),
    ];
    for (args, w, h, safe) in cases {
        let dir = tempfile::tempdir().unwrap();
        let j = render(dir.path(), SHORT, args);
        let video = dir.path().join("out.mp4");
        assert_eq!(video_size(&video), (w, h), "{args:?}");
        let m = manifest(dir.path());
        let cues = m["timeline"]["cues"].as_array().unwrap();
        assert!(!cues.is_empty());
        // A frame in the middle of each cue: every near-white pixel (caption and title
        // fill on the dark generated background) lies inside the safe area.
        let mut seen = 0usize;
        for c in cues {
            let t = (c["start_s"].as_f64().unwrap() + c["end_s"].as_f64().unwrap()) / 2.0;
            let rgb = frame_at(&video, t, w, h);
            let (l, top, r, b) = (
                (safe[0] * w as f64) as usize,
                (safe[1] * h as f64) as usize,
                w - (safe[2] * w as f64) as usize,
                h - (safe[3] * h as f64) as usize,
            );
            for y in 0..h {
                for x in 0..w {
                    let p = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
                    if p.iter().all(|&v| v > 225) {
                        seen += 1;
                        assert!(x >= l && x < r && y >= top && y < b, "{args:?}: text pixel at ({x}, {y}) outside the safe area {l}..{r} × {top}..{b}");
                    }
                }
            }
        }
        assert!(seen > 1000, "{args:?}: no caption pixels found");
        assert_eq!(j["cover"], serde_json::json!(dir.path().join("out.png")));
        assert!(dir.path().join("out.png").is_file());
    }
}

#[test]
fn a_folder_of_images_maps_to_scenes_in_natural_order() {
    let dir = tempfile::tempdir().unwrap();
    let imgs = dir.path().join("imgs");
    std::fs::create_dir(&imgs).unwrap();
    // 11 scenes; image N is a solid colour that encodes N.
    let colour = |n: usize| {
        [
            (n * 23 % 256) as u8,
            (255 - n * 20) as u8,
            (n * 37 % 200 + 40) as u8,
        ]
    };
    for n in 1..=11 {
        let c = colour(n);
        let img = image::RgbImage::from_fn(64, 96, |_, _| image::Rgb(c));
        img.save(imgs.join(format!("{n}.png"))).unwrap();
    }
    let script: String = (1..=11)
        .map(|n| format!("Scene number {n} is here.\n\n---\n\n"))
        .collect();
    render(
        dir.path(),
        &script,
        &[
            "--images",
            imgs.to_str().unwrap(),
            "--draft",
            "--captions",
            "sidecar",
        ],
    );
    let video = dir.path().join("out.mp4");
    let (w, h) = video_size(&video);
    assert_eq!((w, h), (540, 960), "--draft renders half size");
    let m = manifest(dir.path());
    let scenes = m["timeline"]["scenes"].as_array().unwrap();
    assert_eq!(scenes.len(), 11);
    for (i, s) in scenes.iter().enumerate() {
        let want_file = format!("{}.png", i + 1);
        assert!(
            s["image"].as_str().unwrap().ends_with(&want_file),
            "scene {i}: {}",
            s["image"]
        );
        let t = (s["start_s"].as_f64().unwrap() + s["end_s"].as_f64().unwrap()) / 2.0;
        // Mean colour of the middle band (no titles, captions are sidecar only).
        let got = middle_colour(&frame_at(&video, t, w, h), w, h);
        let want = colour(i + 1);
        for k in 0..3 {
            assert!(
                (got[k] - want[k] as f64).abs() < 12.0,
                "scene {i}: colour {got:?}, image {} is {want:?}",
                i + 1
            );
        }
    }
    // Sidecar captions only: SRT written, none burned (checked by the colours above).
    assert!(dir.path().join("out.srt").is_file());
}

/// Level (dB) of a 100 Hz component over [a, b) s of mono 16 kHz samples (Goertzel).
fn tone_db(x: &[f32], a: f64, b: f64) -> f64 {
    let (i0, i1) = (
        (a * 16000.0) as usize,
        ((b * 16000.0) as usize).min(x.len()),
    );
    let w = 2.0 * std::f64::consts::PI * 100.0 / 16000.0;
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in &x[i0..i1] {
        let s = v as f64 + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let p = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
    10.0 * (p / ((i1 - i0) as f64).powi(2)).max(1e-20).log10()
}

#[test]
fn music_ducks_under_narration_and_rises_in_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("tone.wav");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=100:duration=7",
            "-ar",
            "44100",
        ])
        .arg(&music)
        .status()
        .unwrap();
    assert!(st.success());
    let script = "# Ducking\n\nThe music falls while I speak.\n\n---\n\nAnd it rises again in the pauses between scenes.\n\n---\n\nOne more scene to be sure.\n\n---\n\nAnd the last one.\n";
    render(
        dir.path(),
        script,
        &["--music", music.to_str().unwrap(), "--draft"],
    );
    // The left channel (both carry the same mix; `-ac 1` would add them at −3 dB each).
    let wav = dir.path().join("a.wav");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(dir.path().join("out.mp4"))
        .args(["-af", "pan=mono|c0=c0", "-ar", "16000", "-c:a", "pcm_f32le"])
        .arg(&wav)
        .status()
        .unwrap();
    assert!(st.success());
    let mut r = hound::WavReader::open(&wav).unwrap();
    let x: Vec<f32> = r.samples::<f32>().map(|s| s.unwrap()).collect();
    assert!(x.iter().all(|v| v.abs() < 1.0), "a sample clips");
    let m = manifest(dir.path());
    let cues: Vec<(f64, f64)> = m["timeline"]["cues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["start_s"].as_f64().unwrap(), c["end_s"].as_f64().unwrap()))
        .collect();
    // Under speech: the middle of each cue. Pauses: gaps between cues (scene changes) of
    // 0.4 s or more; a cue lingers 0.15 s after its speech, so the window starts 0.25 s
    // after speech ended and stops before the 0.12 s look-ahead of the next onset.
    let under: Vec<f64> = cues
        .iter()
        .filter(|c| c.1 - c.0 > 0.8)
        .map(|c| tone_db(&x, c.0 + 0.25, c.1 - 0.25))
        .collect();
    let pauses: Vec<f64> = cues
        .windows(2)
        .filter(|w| w[1].0 - w[0].1 >= 0.4)
        .map(|w| tone_db(&x, w[0].1 + 0.1, w[1].0 - 0.13))
        .collect();
    assert!(!under.is_empty() && !pauses.is_empty(), "cues {cues:?}");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!("music level under speech {under:?}, in pauses {pauses:?}");
    assert!(
        mean(&pauses) - mean(&under) >= 10.0,
        "pauses {:.1} dB vs under speech {:.1} dB",
        mean(&pauses),
        mean(&under)
    );
}

/// Pixels of the highlight colour (yellow) in a frame: (count, mean x, mean y), and a
/// black-on-white image of them for OCR.
fn yellow(rgb: &[u8], w: usize, h: usize) -> (usize, f64, f64, Vec<u8>) {
    let mut mask = vec![255u8; w * h];
    let (mut n, mut sx, mut sy) = (0usize, 0f64, 0f64);
    for y in 0..h {
        for x in 0..w {
            let p = &rgb[(y * w + x) * 3..(y * w + x) * 3 + 3];
            if p[0] > 200 && p[1] > 160 && p[2] < 110 {
                mask[y * w + x] = 0;
                n += 1;
                sx += x as f64;
                sy += y as f64;
            }
        }
    }
    (n, sx / n.max(1) as f64, sy / n.max(1) as f64, mask)
}

#[test]
fn the_spoken_word_is_highlighted() {
    let dir = tempfile::tempdir().unwrap();
    render(
        dir.path(),
        "Bright yellow letters follow every single spoken word.\n",
        &["--highlight"],
    );
    let video = dir.path().join("out.mp4");
    let (w, h) = video_size(&video);
    let m = manifest(dir.path());
    let cue = m["timeline"]["cues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["words"].as_array().unwrap().len() >= 4)
        .expect("a cue of 4+ words")
        .clone();
    let words = cue["words"].as_array().unwrap();
    let text_of = |k: usize| {
        let wd = &words[k];
        let line: Vec<char> = cue["lines"][wd["line"].as_u64().unwrap() as usize]
            .as_str()
            .unwrap()
            .chars()
            .collect();
        line[wd["char_start"].as_u64().unwrap() as usize..wd["char_end"].as_u64().unwrap() as usize]
            .iter()
            .collect::<String>()
    };
    let mid = |k: usize| {
        (words[k]["start_s"].as_f64().unwrap() + words[k]["end_s"].as_f64().unwrap()) / 2.0
    };
    let (a, b) = (1usize, words.len() - 2);
    let fa = yellow(&frame_at(&video, mid(a), w, h), w, h);
    let fb = yellow(&frame_at(&video, mid(b), w, h), w, h);
    assert!(
        fa.0 > 200 && fb.0 > 200,
        "highlight pixels {} and {}",
        fa.0,
        fb.0
    );
    // The later word is further along: on a lower line, or to the right on the same line.
    let later = fb.2 > fa.2 + 20.0 || ((fb.2 - fa.2).abs() <= 20.0 && fb.1 > fa.1 + 20.0);
    assert!(
        later,
        "word {a} ({:?}) at ({:.0}, {:.0}), word {b} ({:?}) at ({:.0}, {:.0})",
        text_of(a),
        fa.1,
        fa.2,
        text_of(b),
        fb.1,
        fb.2
    );
    // OCR of the yellow pixels reads the word being spoken.
    if Command::new("tesseract").arg("--version").output().is_ok() {
        for (k, f) in [(a, &fa), (b, &fb)] {
            let pgm = dir.path().join(format!("w{k}.pgm"));
            let mut data = format!("P5\n{w} {h}\n255\n").into_bytes();
            data.extend_from_slice(&f.3);
            std::fs::write(&pgm, data).unwrap();
            let out = Command::new("tesseract")
                .arg(&pgm)
                .args(["-", "-l", "eng", "--psm", "7"])
                .output()
                .unwrap();
            let got: String = String::from_utf8_lossy(&out.stdout)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase();
            let want: String = text_of(k)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase();
            assert!(
                got.contains(&want),
                "highlight OCR {got:?}, spoken word {want:?}"
            );
        }
    }
}

/// Mean colour of the middle band of a frame.
fn middle_colour(rgb: &[u8], w: usize, h: usize) -> [f64; 3] {
    let mut sum = [0f64; 3];
    let mut n = 0f64;
    for y in h * 3 / 10..h * 7 / 10 {
        for x in w / 5..w * 4 / 5 {
            for k in 0..3 {
                sum[k] += rgb[(y * w + x) * 3 + k] as f64;
            }
            n += 1.0;
        }
    }
    sum.map(|v| v / n)
}

#[test]
fn a_video_clip_is_scene_media_and_loops_to_fill_its_scene() {
    let dir = tempfile::tempdir().unwrap();
    // A 1 s green clip (made by the ffmpeg CLI, so our decoder reads a foreign file).
    let clip = dir.path().join("clip.mp4");
    let st = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=0x20C040:s=320x240:r=25:d=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(st.success(), "ffmpeg could not make the test clip");
    let img = dir.path().join("still.png");
    image::RgbImage::from_fn(64, 96, |_, _| image::Rgb([200, 40, 40]))
        .save(&img)
        .unwrap();
    let script = "![](clip.mp4)\n\nThis scene plays a short video clip, and it keeps playing for as long as the narration lasts.\n\n---\n\n![](still.png)\n\nThis one shows a still picture.\n";
    render(
        dir.path(),
        script,
        &["--draft", "--captions", "sidecar", "--transition", "cut"],
    );
    let video = dir.path().join("out.mp4");
    let (w, h) = video_size(&video);
    let m = manifest(dir.path());
    let scenes = m["timeline"]["scenes"].as_array().unwrap();
    assert!(scenes[0]["image"].as_str().unwrap().ends_with("clip.mp4"));
    assert!(scenes[0]["motion"].is_null(), "clips get no pan/zoom");
    let (a, b) = (
        scenes[0]["start_s"].as_f64().unwrap(),
        scenes[0]["end_s"].as_f64().unwrap(),
    );
    assert!(
        b - a > 2.5,
        "the scene should outlast the 1 s clip: {a}..{b}"
    );
    // Early in the scene, and well past the clip's own end (looped): the clip's green.
    for t in [a + 0.4, b - 0.6] {
        let c = middle_colour(&frame_at(&video, t, w, h), w, h);
        assert!(
            (c[0] - 32.0).abs() < 15.0 && (c[1] - 192.0).abs() < 15.0 && (c[2] - 64.0).abs() < 15.0,
            "at {t:.2} s the clip scene shows {c:?}"
        );
    }
    let t = (scenes[1]["start_s"].as_f64().unwrap() + scenes[1]["end_s"].as_f64().unwrap()) / 2.0;
    let c = middle_colour(&frame_at(&video, t, w, h), w, h);
    assert!((c[0] - 200.0).abs() < 15.0, "still scene shows {c:?}");
}
