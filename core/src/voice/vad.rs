//! Voice activity: where a recording holds speech.
//!
//! An energy detector with an adaptive threshold, on 20 ms frames every 10 ms
//! of high-passed audio (hum and rumble below 100 Hz do not count). The
//! threshold sits 10 dB over the noise floor (the 10th percentile of frame
//! levels), at most 40 dB under the loudest frame and never under −60 dBFS.
//! Gaps shorter than 200 ms inside speech are closed and islands shorter than
//! 50 ms dropped, so a segment is a run of words rather than a syllable.

use super::super::audio::Audio;

/// Frame hop of the detector, seconds.
pub const HOP_S: f64 = 0.010;
const WIN_S: f64 = 0.020;
const MAX_GAP_S: f64 = 0.200;
const MIN_ISLAND_S: f64 = 0.050;

/// Per-frame speech decisions for a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechMask {
    /// One flag per frame, frames every [`HOP_S`] seconds.
    pub frames: Vec<bool>,
    /// Level of each frame, dBFS.
    pub levels_db: Vec<f32>,
    /// The threshold used, dBFS.
    pub threshold_db: f32,
}

impl SpeechMask {
    /// Speech segments as (start, end) seconds.
    pub fn segments(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &s) in self
            .frames
            .iter()
            .chain(std::iter::once(&false))
            .enumerate()
        {
            match (s, start) {
                (true, None) => start = Some(i),
                (false, Some(a)) => {
                    out.push((a as f64 * HOP_S, i as f64 * HOP_S + (WIN_S - HOP_S)));
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    /// Seconds of speech.
    pub fn speech_s(&self) -> f64 {
        self.frames.iter().filter(|&&s| s).count() as f64 * HOP_S
    }

    /// Share of frames between two times that hold speech (0 when the span is empty).
    pub fn fraction(&self, start_s: f64, end_s: f64) -> f64 {
        let a = ((start_s / HOP_S).floor().max(0.0) as usize).min(self.frames.len());
        let b = ((end_s / HOP_S).ceil().max(0.0) as usize).clamp(a, self.frames.len());
        if b == a {
            return 0.0;
        }
        self.frames[a..b].iter().filter(|&&s| s).count() as f64 / (b - a) as f64
    }
}

/// Runs the detector over a whole recording.
///
/// ```
/// use voxreel::{audio::Audio, voice::vad};
/// let sr = 16000;
/// // 1 s silence, 1 s of a voiced-like buzz, 1 s silence.
/// let mut s = vec![0.0f32; sr];
/// s.extend((0..sr).map(|i| 0.3 * (i as f32 * 0.08).sin() * (i as f32 * 0.003).sin().abs()));
/// s.extend(vec![0.0f32; sr]);
/// let m = vad::detect(&Audio::new(s, sr as u32));
/// let seg = m.segments();
/// assert_eq!(seg.len(), 1);
/// assert!((seg[0].0 - 1.0).abs() < 0.1 && (seg[0].1 - 2.0).abs() < 0.1, "{seg:?}");
/// ```
pub fn detect(audio: &Audio) -> SpeechMask {
    let sr = audio.sample_rate.max(1) as f64;
    let hop = (HOP_S * sr).round().max(1.0) as usize;
    let win = (WIN_S * sr).round().max(1.0) as usize;
    // First-order high-pass at 100 Hz.
    let rc = 1.0 / (2.0 * std::f64::consts::PI * 100.0);
    let alpha = (rc / (rc + 1.0 / sr)) as f32;
    let mut hp = Vec::with_capacity(audio.samples.len());
    let (mut prev_x, mut prev_y) = (0.0f32, 0.0f32);
    for &x in &audio.samples {
        let y = alpha * (prev_y + x - prev_x);
        hp.push(y);
        prev_x = x;
        prev_y = y;
    }
    let n_frames = if hp.len() >= win {
        (hp.len() - win) / hop + 1
    } else if hp.is_empty() {
        0
    } else {
        1
    };
    let levels_db: Vec<f32> = (0..n_frames)
        .map(|f| {
            let a = f * hop;
            let b = (a + win).min(hp.len());
            let e: f64 = hp[a..b]
                .iter()
                .map(|&v| (v as f64) * (v as f64))
                .sum::<f64>()
                / (b - a).max(1) as f64;
            (10.0 * e.max(1e-12).log10()) as f32
        })
        .collect();
    if levels_db.is_empty() {
        return SpeechMask {
            frames: Vec::new(),
            levels_db,
            threshold_db: 0.0,
        };
    }
    let mut sorted = levels_db.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let floor = sorted[sorted.len() / 10];
    let loudest = sorted[sorted.len() - 1];
    let threshold_db = (floor + 10.0).max(loudest - 40.0).max(-60.0);
    let mut frames: Vec<bool> = levels_db.iter().map(|&l| l > threshold_db).collect();
    fill_runs(
        &mut frames,
        false,
        (MAX_GAP_S / HOP_S).round() as usize,
        true,
    );
    fill_runs(
        &mut frames,
        true,
        (MIN_ISLAND_S / HOP_S).round() as usize,
        false,
    );
    SpeechMask {
        frames,
        levels_db,
        threshold_db,
    }
}

/// Replaces runs of `value` no longer than `max_len` by `!value`; with
/// `interior_only`, runs touching either end are kept.
fn fill_runs(frames: &mut [bool], value: bool, max_len: usize, interior_only: bool) {
    let n = frames.len();
    let mut i = 0;
    while i < n {
        if frames[i] != value {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < n && frames[j] == value {
            j += 1;
        }
        let touches_end = i == 0 || j == n;
        if j - i <= max_len && !(interior_only && touches_end) {
            frames[i..j].iter_mut().for_each(|f| *f = !value);
        }
        i = j;
    }
}

/// Share of the span [start_s, end_s) that holds speech, with thresholds taken
/// from the whole recording.
pub fn speech_fraction(audio: &Audio, start_s: f64, end_s: f64) -> f64 {
    detect(audio).fraction(start_s, end_s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_has_no_speech_and_gaps_close() {
        let m = detect(&Audio::new(vec![0.0; 16000], 16000));
        assert_eq!(m.speech_s(), 0.0);
        let mut f = vec![true, true, false, false, true, false, true];
        fill_runs(&mut f, false, 2, true);
        assert_eq!(f, vec![true; 7]);
        let mut f = vec![false, true, false, false, false];
        fill_runs(&mut f, true, 1, false);
        assert_eq!(f, vec![false; 5]);
    }
}
