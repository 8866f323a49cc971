//! Subtitle sidecars: SRT and WebVTT from caption cues.

use std::fmt::Write as _;

use crate::plan::Cue;

fn stamp(t: f64, sep: char) -> String {
    let ms = (t.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// Cue times in whole milliseconds, made strictly ordered and non-overlapping after rounding.
fn ms_times(cues: &[Cue]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(cues.len());
    let mut prev_end = 0.0f64;
    for c in cues {
        let s = ((c.start_s * 1000.0).round() / 1000.0).max(prev_end);
        let e = ((c.end_s * 1000.0).round() / 1000.0).max(s + 0.001);
        out.push((s, e));
        prev_end = e;
    }
    out
}

/// Renders cues as SubRip (`.srt`): numbered from 1, `HH:MM:SS,mmm`, plain text lines.
///
/// ```
/// use voxreel::{plan::Cue, subtitles::to_srt};
/// let c = Cue { index: 0, start_s: 0.5, end_s: 1.25, lines: vec!["Hello".into(), "world".into()], words: vec![] };
/// assert_eq!(to_srt(&[c]), "1\n00:00:00,500 --> 00:00:01,250\nHello\nworld\n\n");
/// ```
pub fn to_srt(cues: &[Cue]) -> String {
    let mut s = String::new();
    for (i, (c, (a, b))) in cues.iter().zip(ms_times(cues)).enumerate() {
        let _ = write!(
            s,
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(a, ','),
            stamp(b, ','),
            c.lines.join("\n")
        );
    }
    s
}

/// Renders cues as WebVTT (`.vtt`).
///
/// ```
/// use voxreel::{plan::Cue, subtitles::to_vtt};
/// let c = Cue { index: 0, start_s: 0.5, end_s: 1.25, lines: vec!["Hi".into()], words: vec![] };
/// assert_eq!(to_vtt(&[c]), "WEBVTT\n\n1\n00:00:00.500 --> 00:00:01.250\nHi\n\n");
/// ```
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut s = String::from("WEBVTT\n\n");
    for (i, (c, (a, b))) in cues.iter().zip(ms_times(cues)).enumerate() {
        // `-->` may not appear in cue text; the script's arrows are spaced out.
        let text = c.lines.join("\n").replace("-->", "- ->");
        let _ = write!(
            s,
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(a, '.'),
            stamp(b, '.'),
            text
        );
    }
    s
}

/// One cue read back from an SRT file: start, end (seconds) and lines.
#[derive(Debug, Clone, PartialEq)]
pub struct SrtCue {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Text lines.
    pub lines: Vec<String>,
}

/// Parses SubRip text (used by tests and tools to check sidecars).
pub fn parse_srt(text: &str) -> Vec<SrtCue> {
    let parse_t = |t: &str| -> Option<f64> {
        let t = t.trim().replace(',', ".");
        let mut p = t.split(':');
        let h: f64 = p.next()?.parse().ok()?;
        let m: f64 = p.next()?.parse().ok()?;
        let s: f64 = p.next()?.parse().ok()?;
        Some(h * 3600.0 + m * 60.0 + s)
    };
    let mut out = Vec::new();
    for block in text.replace("\r\n", "\n").split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.is_empty());
        let (Some(_), Some(times)) = (lines.next(), lines.next()) else {
            continue;
        };
        let Some((a, b)) = times.split_once("-->") else {
            continue;
        };
        let (Some(start_s), Some(end_s)) = (parse_t(a), parse_t(b)) else {
            continue;
        };
        out.push(SrtCue {
            start_s,
            end_s,
            lines: lines.map(String::from).collect(),
        });
    }
    out
}
