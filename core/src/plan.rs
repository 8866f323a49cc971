//! Planning: scenes and narration timings → caption cues and a [`Timeline`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
        Self { width: 1080, height: 1920, fps: 30, safe_top: 0.10, safe_bottom: 0.20, safe_side: 0.06 }
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
        (self.duration_s * self.frame.fps as f64 - 1e-9).ceil().max(1.0) as u64
    }
}
