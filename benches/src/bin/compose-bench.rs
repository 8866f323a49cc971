//! Composition benchmark: the cost of composing a finished video next to the cost
//! of encoding its frames alone, and peak memory against video length.
//!
//! `cargo run --release -p voxreel-benches --bin compose-bench [SECONDS ...]`
//!
//! For each length (default 60 s), in a fresh child process so that its peak RSS
//! (VmHWM) is its own: a timeline of 6 image scenes with pan/zoom and crossfades,
//! one caption cue every 2 s (30 a minute, word highlight on), and narration read
//! from a WAV (the bundled sample voice, tiled) is rendered at 1080×1920 30 fps with
//! libx264 `veryfast` CRF 20 into an MP4. Prints one JSON line per length.
//!
//! With `--x264` the first length's frames are also written as raw `yuv420p` and
//! encoded by the `ffmpeg` CLI with libx264 at the same preset and CRF (plus the same
//! WAV as AAC): the cost of the encoder alone on the same frames.
//! `benches/run-compose-bench.sh` runs both and the MoviePy comparison.
//! With `COMPOSE_BENCH_RENDER_ONLY=1` in the environment frames are rendered but
//! not encoded (the renderer's own cost).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use voxreel_benches::peak_rss_mb;
use voxreel_benches::repo;

use voxreel::audio::{self, loudness, Audio};
use voxreel::lang::Language;
use voxreel::media::{Mp4Writer, VideoSpec};
use voxreel::plan::{Cue, CueWord, FrameSpec, Timeline, TimelineScene, Transition};
use voxreel::render::fonts::FontSet;
use voxreel::render::motion::Motion;
use voxreel::render::{CaptionStyle, FrameRenderer};
use voxreel::NoProgress;

const WORDS: [&str; 16] = [
    "Honeybees",
    "visit",
    "millions",
    "of",
    "flowers",
    "in",
    "a",
    "single",
    "season,",
    "and",
    "foragers",
    "dance",
    "to",
    "show",
    "the",
    "way.",
];

/// Six 1600×2400 test pictures (smooth gradients with detail), written as PNG.
fn make_images(dir: &Path) -> Vec<PathBuf> {
    (0..6)
        .map(|k| {
            let p = dir.join(format!("scene{k}.png"));
            if !p.is_file() {
                let img = image::RgbImage::from_fn(1600, 2400, |x, y| {
                    let (fx, fy) = (x as f32 / 1600.0, y as f32 / 2400.0);
                    let ripple = ((fx * 40.0 + k as f32).sin() * (fy * 31.0).cos() * 40.0) as i32;
                    image::Rgb([
                        (60 + (fx * 150.0) as i32 + ripple + k as i32 * 20).clamp(0, 255) as u8,
                        (40 + (fy * 170.0) as i32 - ripple).clamp(0, 255) as u8,
                        (90 + ((fx + fy) * 60.0) as i32 + ripple / 2).clamp(0, 255) as u8,
                    ])
                });
                img.save(&p).expect("write a bench image");
            }
            p
        })
        .collect()
}

/// The narration WAV: the bundled sample voice tiled to `seconds`.
fn make_wav(dir: &Path, seconds: f64) -> PathBuf {
    let p = dir.join(format!("narration-{seconds}.wav"));
    let voice = audio::decode_file(&repo().join("samples/voices/librispeech-367.flac"))
        .expect("the bundled sample voice decodes");
    let n = (seconds * voice.sample_rate as f64) as usize;
    let samples: Vec<f32> = voice.samples.iter().copied().cycle().take(n).collect();
    audio::write_wav(&p, &Audio::new(samples, voice.sample_rate)).expect("write the WAV");
    p
}

fn timeline(seconds: f64, images: &[PathBuf]) -> Timeline {
    let frame = FrameSpec::vertical();
    let per = seconds / images.len() as f64;
    let scenes = images
        .iter()
        .enumerate()
        .map(|(k, img)| TimelineScene {
            index: k,
            start_s: k as f64 * per,
            end_s: (k + 1) as f64 * per,
            title: (k == 0).then(|| "How Bees Find Flowers".to_string()),
            image: Some(img.clone()),
            motion: Some(Motion::for_scene(7, k)),
            transition: if k == 0 {
                Transition::Cut
            } else {
                Transition::Default
            },
        })
        .collect();
    let n_cues = (seconds / 2.0).floor() as usize;
    let cues = (0..n_cues)
        .map(|i| {
            let (start_s, end_s) = (i as f64 * 2.0, i as f64 * 2.0 + 1.9);
            let words: Vec<&str> = (0..8).map(|j| WORDS[(i * 8 + j) % WORDS.len()]).collect();
            let lines = vec![words[..4].join(" "), words[4..].join(" ")];
            let mut cw = Vec::new();
            for (l, line) in lines.iter().enumerate() {
                let mut c = 0;
                for (j, w) in line.split(' ').enumerate() {
                    let n = w.chars().count();
                    let k = l * 4 + j;
                    cw.push(CueWord {
                        line: l,
                        char_start: c,
                        char_end: c + n,
                        start_s: start_s + k as f64 * 0.23,
                        end_s: start_s + (k + 1) as f64 * 0.23,
                    });
                    c += n + 1;
                }
            }
            Cue {
                index: i,
                start_s,
                end_s,
                lines,
                words: cw,
            }
        })
        .collect();
    Timeline {
        frame,
        duration_s: seconds,
        scenes,
        cues,
        seed: 7,
        burn_captions: true,
    }
}

/// Renders and encodes; with `yuv_out`, also writes the frames as raw yuv420p.
fn child(seconds: f64, yuv_out: Option<&Path>) -> voxreel::Result<()> {
    let dir = std::env::temp_dir().join("voxreel-compose-bench");
    std::fs::create_dir_all(&dir).map_err(|e| voxreel::Error::io(&dir, e))?;
    let images = make_images(&dir);
    let wav = make_wav(&dir, seconds);
    let t0 = Instant::now();
    let tl = timeline(seconds, &images);
    let fonts = FontSet::for_language_in(Language::English, &[])?;
    let style = CaptionStyle {
        highlight: Some([255, 214, 10]),
        ..CaptionStyle::default()
    };
    let narration = audio::resample(&audio::decode_file(&wav)?, 48_000)?;
    let mut soundtrack = loudness::normalize(&narration, -17.0, -2.0)?;
    drop(narration);
    soundtrack
        .samples
        .resize((seconds * 48_000.0) as usize, 0.0);
    let spec = VideoSpec::vertical();
    let out = dir.join(format!("compose-{seconds}.mp4"));
    let mut writer = Mp4Writer::create(&out, &spec, soundtrack, &[])?;
    let renderer = FrameRenderer::new(&tl, &fonts, &style)?;
    let mut raw = match yuv_out {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| voxreel::Error::io(p, e))?,
        )),
        None => None,
    };
    let mut encode = std::time::Duration::ZERO;
    let render_only = std::env::var_os("COMPOSE_BENCH_RENDER_ONLY").is_some();
    let busy = renderer.render_all(&NoProgress, &mut |rgb: &[u8]| {
        let t = Instant::now();
        if !render_only {
            writer.write_frame(rgb)?;
        }
        encode += t.elapsed();
        if let Some(w) = raw.as_mut() {
            use std::io::Write;
            let yuv = voxreel::media::rgb_to_yuv420p(rgb, 1080, 1920)?;
            w.write_all(&yuv)
                .map_err(|e| voxreel::Error::io(Path::new("frames.yuv"), e))?;
        }
        Ok(())
    })?;
    let stats = writer.finish()?;
    let wall = t0.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "what": "voxreel compose", "video_s": stats.duration_s, "frames": stats.frames,
            "scenes": tl.scenes.len(), "cues": tl.cues.len(), "size": "1080x1920", "fps": 30,
            "wall_s": wall, "render_busy_s": busy, "encode_calls_s": encode.as_secs_f64(),
            "raw_yuv_written": yuv_out.is_some(), "render_only": render_only,
            "peak_rss_mb": peak_rss_mb(), "mp4_bytes": bytes,
            "wav": wav,
        })
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    voxreel::media::quiet_ffmpeg_logs();
    if args.first().map(String::as_str) == Some("--child") {
        let s: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60.0);
        let yuv = args.get(2).map(PathBuf::from);
        if let Err(e) = child(s, yuv.as_deref()) {
            eprintln!("compose-bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    let x264 = args.iter().any(|a| a == "--x264");
    let mut lengths: Vec<f64> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if lengths.is_empty() {
        lengths.push(60.0);
    }
    let me = std::env::current_exe().expect("own path");
    let dir = std::env::temp_dir().join("voxreel-compose-bench");
    for s in &lengths {
        let st = Command::new(&me)
            .arg("--child")
            .arg(s.to_string())
            .status()
            .expect("spawn");
        if !st.success() {
            std::process::exit(1);
        }
    }
    if x264 {
        // The same frames, dumped raw (not timed), then libx264 alone through the ffmpeg CLI.
        let s = lengths[0];
        let yuv = dir.join("frames.yuv");
        let st = Command::new(&me)
            .arg("--child")
            .arg(s.to_string())
            .arg(&yuv)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("spawn");
        if !st.success() {
            std::process::exit(1);
        }
        let wav = dir.join(format!("narration-{s}.wav"));
        let out = dir.join("x264-alone.mp4");
        let t = Instant::now();
        let st = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-s",
                "1080x1920",
            ])
            .args(["-r", "30", "-i"])
            .arg(&yuv)
            .arg("-i")
            .arg(&wav)
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "20",
                "-profile:v",
                "high",
            ])
            .args([
                "-g", "60", "-c:a", "aac", "-b:a", "160k", "-ar", "48000", "-ac", "2",
            ])
            .args(["-movflags", "+faststart"])
            .arg(&out)
            .status()
            .expect("ffmpeg");
        let wall = t.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&yuv);
        if !st.success() {
            eprintln!("compose-bench: ffmpeg failed");
            std::process::exit(1);
        }
        println!(
            "{}",
            serde_json::json!({"what": "ffmpeg libx264 alone, same frames (raw yuv420p), same WAV",
                               "video_s": s, "wall_s": wall})
        );
    }
}
