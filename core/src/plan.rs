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
    /// Share of the width on the left kept clear.
    pub safe_left: f32,
    /// Share of the width on the right kept clear (the like/share buttons of vertical apps).
    pub safe_right: f32,
}

/// Frame shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Aspect {
    /// 9:16, 1080×1920.
    #[default]
    #[serde(rename = "9:16")]
    Vertical,
    /// 16:9, 1920×1080.
    #[serde(rename = "16:9")]
    Landscape,
    /// 1:1, 1080×1080.
    #[serde(rename = "1:1")]
    Square,
}

impl std::str::FromStr for Aspect {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "9:16" => Ok(Aspect::Vertical),
            "16:9" => Ok(Aspect::Landscape),
            "1:1" => Ok(Aspect::Square),
            _ => Err(crate::Error::InvalidArgument {
                name: "aspect".into(),
                reason: format!("{s:?} (9:16, 16:9 or 1:1 expected)"),
            }),
        }
    }
}

/// Where the video goes: sets the size and that platform's safe area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// YouTube Shorts: 9:16; top 10 %, bottom 20 %, right 12 % clear.
    Shorts,
    /// TikTok: 9:16; top 9 %, bottom 22 %, right 14 % (buttons) clear.
    Tiktok,
    /// Instagram Reels: 9:16; top 14 %, bottom 22 %, right 12 % clear.
    Reels,
    /// YouTube: 16:9; 5 % title-safe margins, captions above the bottom 10 %.
    Youtube,
}

impl std::str::FromStr for Preset {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "shorts" => Ok(Preset::Shorts),
            "tiktok" => Ok(Preset::Tiktok),
            "reels" => Ok(Preset::Reels),
            "youtube" => Ok(Preset::Youtube),
            _ => Err(crate::Error::InvalidArgument {
                name: "preset".into(),
                reason: format!("{s:?} (shorts, tiktok, reels or youtube expected)"),
            }),
        }
    }
}

impl Preset {
    /// The frame shape the platform expects.
    pub fn aspect(self) -> Aspect {
        match self {
            Preset::Youtube => Aspect::Landscape,
            _ => Aspect::Vertical,
        }
    }
}

impl FrameSpec {
    /// 1080×1920 at 30 fps with the vertical platforms' safe area
    /// (top 10 % and bottom 20 % clear, 6 % on each side).
    pub fn vertical() -> Self {
        Self::for_format(Aspect::Vertical, None, 30, false)
    }

    /// The frame for an aspect, an optional platform preset (which wins over the
    /// aspect's own safe area), a frame rate, and draft mode (half size).
    ///
    /// ```
    /// use voxreel::plan::{Aspect, FrameSpec, Preset};
    /// let f = FrameSpec::for_format(Aspect::Landscape, None, 24, false);
    /// assert_eq!((f.width, f.height, f.fps), (1920, 1080, 24));
    /// let t = FrameSpec::for_format(Aspect::Vertical, Some(Preset::Tiktok), 30, true);
    /// assert_eq!((t.width, t.height), (540, 960));
    /// assert!(t.safe_right > t.safe_left);
    /// ```
    pub fn for_format(aspect: Aspect, preset: Option<Preset>, fps: u32, draft: bool) -> Self {
        let aspect = preset.map_or(aspect, Preset::aspect);
        let (width, height) = match aspect {
            Aspect::Vertical => (1080, 1920),
            Aspect::Landscape => (1920, 1080),
            Aspect::Square => (1080, 1080),
        };
        // (top, bottom, left, right)
        let (safe_top, safe_bottom, safe_left, safe_right) = match (preset, aspect) {
            (Some(Preset::Shorts), _) => (0.10, 0.20, 0.06, 0.12),
            (Some(Preset::Tiktok), _) => (0.09, 0.22, 0.06, 0.14),
            (Some(Preset::Reels), _) => (0.14, 0.22, 0.06, 0.12),
            (Some(Preset::Youtube), _) | (None, Aspect::Landscape) => (0.05, 0.10, 0.05, 0.05),
            (None, Aspect::Vertical) => (0.10, 0.20, 0.06, 0.06),
            (None, Aspect::Square) => (0.06, 0.12, 0.06, 0.06),
        };
        let div = if draft { 2 } else { 1 };
        FrameSpec {
            width: width / div,
            height: height / div,
            fps,
            safe_top,
            safe_bottom,
            safe_left,
            safe_right,
        }
    }

    /// Scale of sizes given for a 1080-pixel short side (fonts, outlines, gaps).
    pub fn scale(&self) -> f32 {
        self.width.min(self.height) as f32 / 1080.0
    }

    /// The safe rectangle in pixels: (left, top, right, bottom), right/bottom exclusive.
    pub fn safe_rect(&self) -> (f32, f32, f32, f32) {
        let (w, h) = (self.width as f32, self.height as f32);
        (
            w * self.safe_left,
            h * self.safe_top,
            w * (1.0 - self.safe_right),
            h * (1.0 - self.safe_bottom),
        )
    }
}

/// How one scene gives way to the next.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// A hard cut.
    Cut,
    /// A crossfade of the given length, seconds, centred on the scene boundary.
    Crossfade(f64),
    /// The default: a 0.5 s crossfade.
    #[default]
    Default,
}

impl Transition {
    /// Crossfade length in seconds (0 for a cut).
    pub fn seconds(self) -> f64 {
        match self {
            Transition::Cut => 0.0,
            Transition::Crossfade(s) => s.max(0.0),
            Transition::Default => 0.5,
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
    /// Pan/zoom over the image (none: a still image).
    pub motion: Option<crate::render::motion::Motion>,
    /// How this scene starts (from the scene before it).
    pub transition: Transition,
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
    /// Where each word of the cue is in its lines and when it is spoken (for the
    /// word-by-word highlight).
    #[serde(default)]
    pub words: Vec<CueWord>,
}

/// One word (caption unit) of a cue: its place in the lines and its spoken time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CueWord {
    /// Line index within the cue.
    pub line: usize,
    /// First character (char index) in that line.
    pub char_start: usize,
    /// One past the last character.
    pub char_end: usize,
    /// When it starts being spoken, seconds.
    pub start_s: f64,
    /// When the next word starts (or speech ends), seconds.
    pub end_s: f64,
}

impl Cue {
    /// The word being spoken at `t`, if any.
    pub fn word_at(&self, t: f64) -> Option<usize> {
        self.words
            .iter()
            .rposition(|w| w.start_s <= t)
            .filter(|&i| {
                t < self.words[i].end_s.max(self.words[i].start_s + 0.05)
                    || i + 1 == self.words.len()
            })
    }
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
    /// Whether captions are burned into the frames.
    pub burn_captions: bool,
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

/// Finds each unit's characters in the wrapped lines (units appear in order,
/// separated by at most one space) and pairs them with the unit times.
fn locate_words(units: &[Unit], times: &[(f64, f64)], lines: &[String]) -> Vec<CueWord> {
    let mut out = Vec::with_capacity(units.len());
    let (mut line, mut pos) = (0usize, 0usize);
    for (u, &(start_s, end_s)) in units.iter().zip(times) {
        let n = u.text.chars().count();
        loop {
            let Some(l) = lines.get(line) else { return out };
            let chars: Vec<char> = l.chars().collect();
            while pos < chars.len() && chars[pos] == ' ' {
                pos += 1;
            }
            if pos + n <= chars.len() && chars[pos..pos + n].iter().copied().eq(u.text.chars()) {
                out.push(CueWord {
                    line,
                    char_start: pos,
                    char_end: pos + n,
                    start_s,
                    end_s,
                });
                pos += n;
                break;
            }
            line += 1;
            pos = 0;
        }
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
            let words = locate_words(&s.units[r.clone()], &s.times[r.clone()], &lines);
            let start_s = s.times[r.start].0;
            let end_s = s.times[r.end - 1].1.max(start_s + 0.05);
            cues.push(Cue {
                words,
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
