//! Checks of a long synthesis: the longest gap of silence, and whether a join between two
//! pieces of audio clicks.
//!
//! # Gaps
//! [`longest_silence_s`]: the signal is cut into 10 ms windows; a window is silent when its
//! RMS is below a threshold (−50 dBFS in the tests); the longest run of silent windows is
//! the longest gap.
//!
//! # Clicks
//! A click is a step in the waveform: one sample-to-sample difference much larger than the
//! signal's own differences around it. Speech at 24 kHz has most of its energy below 4 kHz,
//! so its first differences are a small fraction of its amplitude; butting two pieces of
//! speech together at arbitrary phase makes a step of the order of the amplitude itself.
//! [`join_click`] compares the difference across the join, `|x[j] − x[j−1]|` (and the one
//! after it, so that a single odd sample at the join counts too), with the 99th percentile
//! of the absolute first differences in the 10 ms on either side of the join (the join's own
//! two differences excluded). The join clicks when the step is more than
//! [`CLICK_RATIO`] times that local level *and* above [`CLICK_FLOOR`] (−60 dBFS: a step
//! smaller than that is inaudible next to speech). The percentile rather than the maximum
//! keeps one sharp natural transient from excusing a real step; the floor keeps a join
//! between two silences (local level ≈ 0) from counting as a click for a rounding-sized step.

/// A step across a join larger than this many times the local 99th-percentile first
/// difference is a click.
pub const CLICK_RATIO: f64 = 3.0;
/// Steps below this (absolute, full scale 1.0; −60 dBFS) never count as clicks.
pub const CLICK_FLOOR: f64 = 1e-3;

/// Length of the longest run of 10 ms windows whose RMS is below `threshold_dbfs`, seconds.
/// A trailing partial window counts as a window.
pub fn longest_silence_s(samples: &[f32], sample_rate: u32, threshold_dbfs: f64) -> f64 {
    let win = (sample_rate as usize / 100).max(1);
    let th = 10f64.powf(threshold_dbfs / 20.0);
    let (mut run, mut best) = (0usize, 0usize);
    for w in samples.chunks(win) {
        let rms = (w.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>() / w.len() as f64).sqrt();
        if rms < th {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best as f64 * win as f64 / sample_rate as f64
}

/// What [`join_click`] measured at one join.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JoinCheck {
    /// The join: the index of the first sample after it.
    pub index: usize,
    /// The larger of `|x[j] − x[j−1]|` and `|x[j+1] − x[j]|`.
    pub step: f64,
    /// 99th percentile of the absolute first differences within 10 ms on either side,
    /// the join's own excluded.
    pub local: f64,
    /// Whether the step is a click (see the module docs).
    pub click: bool,
}

/// Checks the join before sample `index` of `samples` for a click (see the module docs).
/// A join at the very start or end (nothing on one side) is checked against what is there.
pub fn join_click(samples: &[f32], sample_rate: u32, index: usize) -> JoinCheck {
    let n = samples.len();
    let d = |k: usize| -> f64 {
        // |x[k] − x[k−1]|, with silence before the start and after the end
        let a = if k == 0 {
            0.0
        } else {
            samples.get(k - 1).copied().unwrap_or(0.0)
        };
        let b = samples.get(k).copied().unwrap_or(0.0);
        (b as f64 - a as f64).abs()
    };
    let j = index.min(n);
    let step = d(j).max(d(j + 1));
    let half = (sample_rate as usize / 100).max(2);
    let lo = j.saturating_sub(half).max(1);
    let hi = (j + 1 + half).min(n.saturating_sub(1));
    let mut diffs: Vec<f64> = (lo..=hi.max(lo))
        .filter(|&k| k != j && k != j + 1 && k < n)
        .map(d)
        .collect();
    diffs.sort_by(f64::total_cmp);
    let local = if diffs.is_empty() {
        0.0
    } else {
        diffs[((diffs.len() - 1) as f64 * 0.99).round() as usize]
    };
    JoinCheck {
        index: j,
        step,
        local,
        click: step > CLICK_FLOOR && step > CLICK_RATIO * local,
    }
}

/// The joins between runs of exact zeros at least `min_zeros` long (inserted pauses) and
/// signal: the index of the first non-zero sample after each such run, and of the first
/// zero of each run that follows signal.
pub fn silence_edges(samples: &[f32], min_zeros: usize) -> Vec<usize> {
    let mut edges = Vec::new();
    let mut i = 0;
    let n = samples.len();
    while i < n {
        if samples[i] != 0.0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && samples[i] == 0.0 {
            i += 1;
        }
        if i - start >= min_zeros.max(1) {
            if start > 0 {
                edges.push(start);
            }
            if i < n {
                edges.push(i);
            }
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n: usize, f: f64, phase: f64, amp: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                amp * (phase + 2.0 * std::f64::consts::PI * f * i as f64 / 24_000.0).sin() as f32
            })
            .collect()
    }

    #[test]
    fn a_phase_jump_is_a_click_and_a_continuous_tone_is_not() {
        // 200 Hz at 0.5: first differences up to 0.026; a jump of half a period in phase
        // steps by up to 1.0.
        let mut x = sine(2400, 200.0, 0.0, 0.5);
        let cont = join_click(&x, 24_000, 1200);
        assert!(!cont.click, "{cont:?}");
        let y = sine(
            2400,
            200.0,
            2.0 * std::f64::consts::PI * 200.0 * 2400.0 / 24_000.0 + 1.3,
            0.5,
        );
        x.extend(y);
        let jump = join_click(&x, 24_000, 2400);
        assert!(jump.click, "{jump:?}");
        assert!(jump.step > 0.3);
    }

    #[test]
    fn a_faded_join_into_silence_is_not_a_click_but_a_cut_is() {
        let mut tone = sine(2400, 300.0, 0.4, 0.5);
        let mut x = vec![0.0f32; 1200];
        let cut = x.len();
        x.extend_from_slice(&tone);
        assert!(join_click(&x, 24_000, cut).click);
        // the same with a 5 ms raised-cosine fade-in
        for (i, s) in tone.iter_mut().take(120).enumerate() {
            *s *= (0.5 - 0.5 * (std::f64::consts::PI * i as f64 / 120.0).cos()) as f32;
        }
        let mut y = vec![0.0f32; 1200];
        y.extend_from_slice(&tone);
        let j = join_click(&y, 24_000, cut);
        assert!(!j.click, "{j:?}");
        // the fade's first sample is exactly 0: the silence ends one sample later
        assert_eq!(silence_edges(&y, 240), vec![cut + 1]);
        assert!(!join_click(&y, 24_000, cut + 1).click);
    }

    #[test]
    fn longest_silence_counts_quiet_windows() {
        let mut x = sine(24_000, 200.0, 0.0, 0.3);
        x.extend(std::iter::repeat_n(0.0005f32, 36_000)); // −66 dBFS for 1.5 s
        x.extend(sine(24_000, 200.0, 0.0, 0.3));
        let g = longest_silence_s(&x, 24_000, -50.0);
        assert!((g - 1.5).abs() < 0.011, "{g}");
        assert_eq!(
            longest_silence_s(&sine(24_000, 200.0, 0.0, 0.3), 24_000, -50.0),
            0.0
        );
    }
}
