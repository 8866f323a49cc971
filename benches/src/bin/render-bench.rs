//! Render benchmark: wall time per stage and peak memory of the main job.
//!
//! `cargo run --release -p voxreel-benches --bin render-bench [SECONDS ...]`
//! renders a generated English script of about each length (default 30 and
//! 180 s) with the bundled sample voice, each in a fresh child process so its
//! peak RSS (VmHWM) is its own, and prints one JSON line per render.

use std::process::Command;
use voxreel_benches::peak_rss_mb;
use voxreel_benches::repo;

use voxreel::lang::LanguageChoice;
use voxreel::studio::{RenderRequest, Studio};
use voxreel::NoProgress;

const SENTENCES: [&str; 8] = [
    "Honeybees visit millions of flowers in a single season.",
    "A forager returns to the hive and dances to show where the food is.",
    "The angle of the dance points toward the flowers, and its length tells the distance.",
    "One queen can lay up to 2,000 eggs a day during the summer.",
    "Workers clean the cells, build new comb, and defend the entrance.",
    "Honey found in ancient tombs was still perfectly edible after 3,000 years.",
    "Plant flowers that bloom at different times of the year.",
    "Small changes in a garden add up to a healthier colony.",
];

/// A Markdown script of about `seconds` of espeak narration (about 2.6 words per second).
fn script(seconds: f64) -> String {
    let words_needed = (seconds * 2.6) as usize;
    let mut out = String::from("# Benchmark Script\n\n");
    let (mut words, mut i) = (0usize, 0usize);
    while words < words_needed {
        if i % 6 == 5 {
            out.push_str(&format!("\n\n## Part {}\n\n", i / 6 + 2));
        }
        let s = SENTENCES[i % SENTENCES.len()];
        out.push_str(s);
        out.push(' ');
        words += s.split_whitespace().count();
        i += 1;
    }
    out
}

fn child(seconds: f64) -> voxreel::Result<()> {
    let dir = std::env::temp_dir().join(format!("voxreel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| voxreel::Error::io(&dir, e))?;
    let script_path = dir.join("script.md");
    std::fs::write(&script_path, script(seconds))
        .map_err(|e| voxreel::Error::io(&script_path, e))?;
    let studio = Studio::with_espeak()?;
    let req = RenderRequest {
        voice: repo().join("samples/voices/librispeech-367.flac"),
        script: script_path,
        output: dir.join("bench.mp4"),
        images: None,
        language: LanguageChoice::Auto,
        seed: 1,
        ..Default::default()
    };
    let out = studio.render(&req, &NoProgress)?;
    let bytes = std::fs::metadata(&out.video).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{}",
        serde_json::json!({
            "target_s": seconds, "video_s": out.duration_s, "frames": out.frames, "mp4_bytes": bytes,
            "timings": out.timings, "peak_rss_mb": peak_rss_mb(),
            "realtime_factor": out.timings.total_s / out.duration_s,
        })
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    voxreel::media::quiet_ffmpeg_logs();
    if args.first().map(String::as_str) == Some("--child") {
        let s: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30.0);
        if let Err(e) = child(s) {
            eprintln!("render-bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    let lengths: Vec<f64> = if args.is_empty() {
        vec![30.0, 180.0]
    } else {
        args.iter().filter_map(|a| a.parse().ok()).collect()
    };
    let me = std::env::current_exe().expect("own path");
    for s in lengths {
        let st = Command::new(&me)
            .arg("--child")
            .arg(s.to_string())
            .status()
            .expect("spawn child");
        if !st.success() {
            std::process::exit(1);
        }
    }
}
