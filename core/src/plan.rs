//! Planning: scenes and narration timings → caption cues and a [`Timeline`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::text::Unit;

/// Measures the rendered width of a line of text, in pixels, at a font size in pixels.
///
/// Caption wrapping uses the real font through this trait, so wrapped lines fit the frame.
pub trait TextMeasure {
    /// Width of `text` set at `px` pixels per em.
    fn text_width(&self, text: &str, px: f32) -> f32;
}

/// Frame geometry and the caption safe area.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameSpec {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// Share of the height at the top kept clear of captions and titles (platform UI).
    pub safe_top: f32,
    /// Share of the height at the bottom kept clear (platform UI: description, buttons).
    pub safe_bottom: f32,
    /// Share of the width on each side kept clear.
    pub safe_side: f32,
}

impl FrameSpec {
    /// 1080×1920 at 30 fps with the vertical platforms' safe area
    /// (top 10 % and bottom 20 % clear, 6 % on each side).
    pub fn vertical() -> Self {
        Self {
            width: 1080,
            height: 1920,
            fps: 30,
            safe_top: 0.10,
            safe_bottom: 0.20,
            safe_side: 0.06,
        }
    }
}

/// One scene on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineScene {
    /// Position in the script, from 0.
    pub index: usize,
    /// Start time in seconds.
    pub start_s: f64,
    /// End time in seconds (exclusive).
    pub end_s: f64,
    /// Title shown on screen (a Markdown heading), if any.
    pub title: Option<String>,
    /// Image filling the frame, if the scene has one.
    pub image: Option<PathBuf>,
}

/// One caption cue: at most two lines shown together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// Position, from 0.
    pub index: usize,
    /// Start time in seconds.
    pub start_s: f64,
    /// End time in seconds.
    pub end_s: f64,
    /// The lines as shown (and as written to SRT/VTT).
    pub lines: Vec<String>,
}

impl Cue {
    /// The cue text with lines joined by `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Everything the frame renderer needs: geometry, scenes and cues with times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Frame geometry.
    pub frame: FrameSpec,
    /// Total duration in seconds (equal to the narration's length).
    pub duration_s: f64,
    /// Scenes in script order, covering the whole duration without gaps.
    pub scenes: Vec<TimelineScene>,
    /// Caption cues in time order, not overlapping.
    pub cues: Vec<Cue>,
    /// Seed for generated visuals.
    pub seed: u64,
}

impl Timeline {
    /// Number of video frames: the duration rounded up to whole frames.
    pub fn frame_count(&self) -> u64 {
        (self.duration_s * self.frame.fps as f64 - 1e-9)
            .ceil()
            .max(1.0) as u64
    }
}

/// Limits that shape caption cues.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CaptionLayout {
    /// Caption font size in pixels per em (the size the renderer draws at).
    pub font_px: f32,
    /// Widest a line may be, in pixels, measured with the caption font.
    pub max_line_width: f32,
    /// Most lines in one cue.
    pub max_lines: usize,
}

/// A sentence with the times at which each of its units is spoken.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedSentence {
    /// The scene it belongs to.
    pub scene: usize,
    /// Its units, as shown.
    pub units: Vec<Unit>,
    /// Start and end time of each unit, seconds from the start of the narration.
    pub times: Vec<(f64, f64)>,
}

/// Lays `units` out in lines no wider than `layout.max_line_width` (measured)
/// and no longer than 42 Latin / 20 CJK characters; returns the lines' texts.
/// A unit wider than a line gets a line of its own.
pub fn wrap_lines(
    units: &[Unit],
    layout: &CaptionLayout,
    measure: &dyn TextMeasure,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut share = 0.0f32;
    for u in units {
        let candidate = if cur.is_empty() {
            u.text.clone()
        } else if u.space_before {
            format!("{cur} {}", u.text)
        } else {
            format!("{cur}{}", u.text)
        };
        let s = share
            + u.line_share()
            + if u.space_before && !cur.is_empty() {
                1.0 / 42.0
            } else {
                0.0
            };
        let fits = s <= 1.0 + 1e-4
            && measure.text_width(&candidate, layout.font_px) <= layout.max_line_width;
        if fits || cur.is_empty() {
            cur = candidate;
            share = if cur == u.text { u.line_share() } else { s };
        } else {
            lines.push(std::mem::take(&mut cur));
            cur = u.text.clone();
            share = u.line_share();
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn quote_spans(units: &[Unit]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < units.len() {
        if units[i].opens_quote() {
            let mut j = i;
            while j < units.len()
                && !(units[j].closes_quote() && (j > i || units[i].text.chars().count() > 1))
            {
                j += 1;
            }
            let j = j.min(units.len() - 1);
            spans.push((i, j));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    spans
}

/// Splits one sentence's units into cue ranges. Rules: a cue holds at most
/// `max_lines` wrapped lines; breaks prefer clause ends in the second half of a
/// cue; a quotation that fits in one cue is never split (the cue breaks before it);
/// a longer quotation splits only at a clause end inside it (or, if it has none,
/// where it must).
pub fn cue_ranges(
    units: &[Unit],
    layout: &CaptionLayout,
    measure: &dyn TextMeasure,
) -> Vec<std::ops::Range<usize>> {
    let n = units.len();
    let fits =
        |a: usize, b: usize| wrap_lines(&units[a..b], layout, measure).len() <= layout.max_lines;
    let spans = quote_spans(units);
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        // Longest prefix that fits.
        let mut end = start + 1;
        while end < n && fits(start, end + 1) {
            end += 1;
        }
        if end < n {
            let inside = spans
                .iter()
                .find(|&&(qs, qe)| qs < end && end <= qe)
                .copied();
            let clause_break = |lo: usize| {
                (lo..end)
                    .rev()
                    .find(|&i| units[i].ends_clause())
                    .map(|i| i + 1)
            };
            end = match inside {
                Some((qs, qe)) if qs > start && fits(qs, qe + 1) => qs,
                Some((qs, _)) => clause_break(qs.max(start))
                    .filter(|&b| b > start)
                    .unwrap_or(end),
                None => clause_break(start + (end - start).div_ceil(2)).unwrap_or(end),
            };
        }
        out.push(start..end);
        start = end;
    }
    out
}

/// Builds the caption cues of a whole narration. Cue times come from the units'
/// spoken times; cues never overlap, and each ends by the next one's start.
pub fn build_cues(
    sentences: &[TimedSentence],
    layout: &CaptionLayout,
    measure: &dyn TextMeasure,
) -> Vec<Cue> {
    let mut cues: Vec<Cue> = Vec::new();
    for s in sentences {
        for r in cue_ranges(&s.units, layout, measure) {
            let lines = wrap_lines(&s.units[r.clone()], layout, measure);
            let start_s = s.times[r.start].0;
            let end_s = s.times[r.end - 1].1.max(start_s + 0.05);
            cues.push(Cue {
                index: cues.len(),
                start_s,
                end_s,
                lines,
            });
        }
    }
    // Keep cues ordered, apart and readable: a short linger after speech, never past the next cue.
    for i in 0..cues.len() {
        if i > 0 && cues[i].start_s < cues[i - 1].end_s {
            cues[i].start_s = cues[i - 1].end_s;
        }
        let next_start = cues.get(i + 1).map(|c| c.start_s).unwrap_or(f64::INFINITY);
        let linger = (cues[i].end_s + 0.15).min(next_start);
        cues[i].end_s = cues[i].end_s.max(linger).max(cues[i].start_s + 0.05);
    }
    cues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::Language;
    use crate::text::units;

    /// A fake measure: every character 30 px wide, CJK 60 px.
    struct Mono;
    impl TextMeasure for Mono {
        fn text_width(&self, text: &str, px: f32) -> f32 {
            text.chars()
                .map(|c| {
                    if crate::lang::is_cjk_char(c) {
                        px
                    } else {
                        px * 0.5
                    }
                })
                .sum()
        }
    }
    const L: CaptionLayout = CaptionLayout {
        font_px: 60.0,
        max_line_width: 950.0,
        max_lines: 2,
    };

    fn cues_of(text: &str, lang: Language) -> Vec<Vec<String>> {
        let u = units(text, lang);
        cue_ranges(&u, &L, &Mono)
            .into_iter()
            .map(|r| wrap_lines(&u[r], &L, &Mono))
            .collect()
    }

    #[test]
    fn english_lines_limit_and_words_whole() {
        let t = "The quick brown fox jumps over the lazy dog while 1,234,567 people watch from the hills, cheering loudly and waving their flags in the wind.";
        let cues = cues_of(t, Language::English);
        let mut words = Vec::new();
        for c in &cues {
            assert!(c.len() <= 2);
            for l in c {
                assert!(l.chars().count() <= 42, "{l}");
                words.extend(l.split(' ').map(String::from));
            }
        }
        assert_eq!(words.join(" "), t);
        assert!(cues.len() >= 2);
    }

    #[test]
    fn cjk_no_line_starts_with_closing_punct() {
        let t = "今天我們要介紹台灣最美的十個地方，從北到南，每一個都值得你花一整天慢慢欣賞，而且交通非常方便，票價也很便宜。";
        let cues = cues_of(t, Language::ChineseTraditional);
        let mut all = String::new();
        for c in &cues {
            assert!(c.len() <= 2);
            for l in c {
                assert!(l.chars().count() <= 20, "{l}");
                assert!(!l.starts_with(|c| "，。！？」、；：".contains(c)), "{l}");
                all.push_str(l);
            }
        }
        assert_eq!(all, t);
    }

    #[test]
    fn quote_that_fits_stays_in_one_cue() {
        let t = "After a very long and winding introduction that fills most of a cue, she said \"we will never give up on this city,\" and the crowd went wild.";
        let cues = cues_of(t, Language::English);
        let q = cues.iter().filter(|c| c.join(" ").contains("\"we")).count();
        assert_eq!(q, 1);
        let cue = cues
            .iter()
            .find(|c| c.join(" ").contains("\"we"))
            .unwrap()
            .join(" ");
        assert!(cue.contains("city,\""), "{cue}");
    }

    #[test]
    fn long_quote_splits_at_clause() {
        let t = "He read: \"We shall fight on the beaches, we shall fight on the landing grounds, we shall fight in the fields and in the streets, we shall never surrender.\"";
        let cues = cues_of(t, Language::English);
        assert!(cues.len() >= 2);
        for c in &cues[..cues.len() - 1] {
            let last = c.last().unwrap();
            assert!(
                last.ends_with(',') || last.ends_with(':'),
                "cue ends mid-clause: {c:?}"
            );
        }
    }
}
