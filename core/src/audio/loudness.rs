//! Loudness: EBU R128 integrated loudness and true peak (the `ebur128` crate),
//! normalisation to a target with a look-ahead true-peak limiter.

use ebur128::{EbuR128, Mode};

use super::{db, Audio};
use crate::{Error, Result};

/// Integrated loudness (LUFS) and true peak (dBTP) of mono audio.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Loudness {
    /// Integrated loudness, LUFS (−inf when everything is gated out).
    pub integrated_lufs: f64,
    /// True peak, dBTP (4× oversampled).
    pub true_peak_dbtp: f64,
}

fn r128_err(e: ebur128::Error) -> Error {
    Error::InvalidArgument {
        name: "loudness measurement".into(),
        reason: e.to_string(),
    }
}

/// Measures integrated loudness and true peak.
///
/// ```
/// use voxreel::audio::{Audio, loudness::measure};
/// // A full-scale 1 kHz sine reads about −3 LUFS (mono) with a 0 dBTP peak.
/// let a = Audio::new((0..48000).map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 48000.0).sin()).collect(), 48000);
/// let l = measure(&a).unwrap();
/// assert!((l.integrated_lufs + 3.0).abs() < 0.2, "{l:?}");
/// assert!(l.true_peak_dbtp.abs() < 0.2);
/// ```
pub fn measure(audio: &Audio) -> Result<Loudness> {
    let mut m = EbuR128::new(1, audio.sample_rate, Mode::I | Mode::TRUE_PEAK).map_err(r128_err)?;
    m.add_frames_f32(&audio.samples).map_err(r128_err)?;
    let integrated_lufs = m.loudness_global().map_err(r128_err)?;
    let tp = m.true_peak(0).map_err(r128_err)?;
    Ok(Loudness {
        integrated_lufs,
        true_peak_dbtp: db(tp),
    })
}

/// Look-ahead peak limiter: a gain curve that keeps every sample at or below
/// `ceiling` (linear), reaching each reduction 2.5 ms before the peak and
/// recovering over about 60 ms.
pub fn limit(samples: &mut [f32], sample_rate: u32, ceiling: f32) {
    let n = samples.len();
    if n == 0 {
        return;
    }
    let look = ((sample_rate as f64 * 0.0025) as usize).max(1);
    let need: Vec<f32> = samples
        .iter()
        .map(|&x| {
            if x.abs() > ceiling {
                ceiling / x.abs()
            } else {
                1.0
            }
        })
        .collect();
    if need.iter().all(|&g| g >= 1.0) {
        return;
    }
    // Minimum over [i - look, i + look] (two passes of a monotone deque).
    let min_win = sliding_min(&need, look);
    // Moving average over [i - look/2, i + look/2] keeps gain ≤ need at every peak.
    let half = look / 2;
    let mut prefix = vec![0.0f64; n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i] + min_win[i] as f64;
    }
    let release = 1.0 - (-1.0 / (0.06 * sample_rate as f64)).exp() as f32;
    let mut g = 1.0f32;
    for i in 0..n {
        let a = i.saturating_sub(half);
        let b = (i + half + 1).min(n);
        let avg = ((prefix[b] - prefix[a]) / (b - a) as f64) as f32;
        // Falls at once (the average already ramps), rises slowly.
        g = if avg < g {
            avg
        } else {
            g + (avg - g) * release
        };
        samples[i] *= g; // g ≤ avg ≤ need[i]
    }
    // Rounding in the smoothing can leave a sample a hair over; clamp those exactly.
    for s in samples.iter_mut() {
        *s = s.clamp(-ceiling, ceiling);
    }
}

fn sliding_min(x: &[f32], radius: usize) -> Vec<f32> {
    let n = x.len();
    let mut out = vec![0.0f32; n];
    let mut dq: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut j = 0; // next index to push
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (i + radius).min(n - 1);
        while j <= hi {
            while dq.back().is_some_and(|&k| x[k] >= x[j]) {
                dq.pop_back();
            }
            dq.push_back(j);
            j += 1;
        }
        while dq.front().is_some_and(|&k| k + radius < i) {
            dq.pop_front();
        }
        *o = x[*dq.front().expect("window is never empty")];
    }
    out
}

/// Normalises to `target_lufs` integrated loudness with the true peak at or below
/// `ceiling_dbtp`: gain, then the limiter, repeated until both hold (within 0.1 LU).
///
/// Errors with [`Error::Silence`] when the audio has no measurable loudness.
pub fn normalize(audio: &Audio, target_lufs: f64, ceiling_dbtp: f64) -> Result<Audio> {
    audio.validate("soundtrack")?;
    let mut out = audio.clone();
    let mut sample_ceiling = 10f64.powf(ceiling_dbtp / 20.0) as f32;
    for _ in 0..6 {
        let l = measure(&out)?;
        if !l.integrated_lufs.is_finite() {
            return Err(Error::Silence {
                what: "soundtrack".into(),
                peak_dbfs: db(out.peak() as f64),
            });
        }
        let gain = 10f64.powf((target_lufs - l.integrated_lufs) / 20.0) as f32;
        for s in &mut out.samples {
            *s *= gain;
        }
        limit(&mut out.samples, out.sample_rate, sample_ceiling);
        let after = measure(&out)?;
        let over = after.true_peak_dbtp - ceiling_dbtp;
        if over > 0.0 {
            // Inter-sample peaks exceed the sample ceiling: lower it and go again.
            sample_ceiling *= 10f64.powf(-(over + 0.05) / 20.0) as f32;
            continue;
        }
        if (after.integrated_lufs - target_lufs).abs() <= 0.1 {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_hits_target_and_ceiling_on_peaky_signal() {
        // A tone with sharp bursts: a high peak-to-loudness ratio like speech.
        let sr = 48000;
        let samples: Vec<f32> = (0..sr * 6)
            .map(|i| {
                let t = i as f32 / sr as f32;
                let burst = if (t * 3.0).fract() < 0.05 { 4.0 } else { 1.0 };
                0.05 * burst * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
            })
            .collect();
        let out = normalize(&Audio::new(samples, sr), -14.0, -2.0).unwrap();
        let l = measure(&out).unwrap();
        assert!((l.integrated_lufs + 14.0).abs() < 0.3, "{l:?}");
        assert!(l.true_peak_dbtp <= -2.0 + 1e-6, "{l:?}");
    }

    #[test]
    fn silence_is_an_error() {
        let e = normalize(&Audio::new(vec![0.0; 48000], 48000), -14.0, -1.0).unwrap_err();
        assert!(matches!(e, Error::Silence { .. }));
    }

    #[test]
    fn sliding_min_matches_brute_force() {
        let x: Vec<f32> = (0..200).map(|i| ((i * 37 % 101) as f32).sin()).collect();
        let m = sliding_min(&x, 5);
        for i in 0..x.len() {
            let a = i.saturating_sub(5);
            let b = (i + 5).min(x.len() - 1);
            let want = x[a..=b].iter().cloned().fold(f32::INFINITY, f32::min);
            assert_eq!(m[i], want);
        }
    }
}
