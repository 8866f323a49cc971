//! Background music under narration: looped or trimmed to the video, faded in
//! and out, and ducked by a side-chain that follows the narration's speech
//! activity (attack and release), so the music rises in the pauses.

use serde::{Deserialize, Serialize};

use super::{loudness, Audio};
use crate::voice::vad;
use crate::{Error, Result};

/// How music is mixed under narration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MusicMix {
    /// Loudness the music is set to before ducking, LUFS (relative to a −14 LUFS narration).
    pub music_lufs: f64,
    /// Gain reduction while speech is active, dB (positive).
    pub duck_db: f64,
    /// Time for the gain to fall when speech starts, seconds.
    pub attack_s: f64,
    /// Time for the gain to rise again when speech stops, seconds.
    pub release_s: f64,
    /// Ducking starts this long before speech onsets, seconds (look-ahead).
    pub lookahead_s: f64,
    /// Fade-in at the start of the video, seconds.
    pub fade_in_s: f64,
    /// Fade-out at the end of the video, seconds.
    pub fade_out_s: f64,
}

impl Default for MusicMix {
    /// Music at −24 LUFS, 15 dB lower under speech (60 ms attack, 150 ms release
    /// time constants, 120 ms look-ahead so it is down before the first syllable),
    /// 1 s fade-in, 2 s fade-out.
    fn default() -> Self {
        MusicMix {
            music_lufs: -24.0,
            duck_db: 15.0,
            attack_s: 0.06,
            release_s: 0.15,
            lookahead_s: 0.12,
            fade_in_s: 1.0,
            fade_out_s: 2.0,
        }
    }
}

/// The side-chain gain (linear, per sample of `narration`) that ducks music under speech.
pub fn duck_gain(narration: &Audio, mix: &MusicMix) -> Result<Vec<f32>> {
    let a16 = super::resample(narration, 16_000)?;
    let mask = vad::detect(&a16);
    let sr = narration.sample_rate as f64;
    let hop = vad::HOP_S;
    let ahead = (mix.lookahead_s / hop).round() as usize;
    let n = mask.frames.len();
    // Speech at frame f, looked ahead: any speech within the next `ahead` frames.
    let target: Vec<f32> = (0..n)
        .map(|f| {
            if mask.frames[f..(f + ahead + 1).min(n)].iter().any(|&s| s) {
                -(mix.duck_db as f32)
            } else {
                0.0
            }
        })
        .collect();
    let mut gain = Vec::with_capacity(narration.samples.len());
    let a_coef = (-1.0 / (mix.attack_s.max(1e-3) * sr)).exp() as f32;
    let r_coef = (-1.0 / (mix.release_s.max(1e-3) * sr)).exp() as f32;
    let mut g_db = 0.0f32;
    for i in 0..narration.samples.len() {
        let f = ((i as f64 / sr) / hop) as usize;
        let t = target
            .get(f.min(n.saturating_sub(1)))
            .copied()
            .unwrap_or(0.0);
        let c = if t < g_db { a_coef } else { r_coef };
        g_db = t + (g_db - t) * c;
        gain.push(10f32.powf(g_db / 20.0));
    }
    Ok(gain)
}

/// Music laid under `narration` (same rate, same length): looped or trimmed,
/// faded, set to [`MusicMix::music_lufs`], and ducked by the side-chain.
pub fn music_bed(music: &Audio, narration: &Audio, mix: &MusicMix) -> Result<Vec<f32>> {
    music.validate("music")?;
    let m = super::resample(music, narration.sample_rate)?;
    let len = narration.samples.len();
    if len == 0 {
        return Ok(Vec::new());
    }
    // Level first, on the music itself.
    let l = loudness::measure(&m)?;
    if !l.integrated_lufs.is_finite() {
        return Err(Error::Silence {
            what: "music".into(),
            peak_dbfs: super::db(m.peak() as f64),
        });
    }
    let level = 10f64.powf((mix.music_lufs - l.integrated_lufs) / 20.0) as f32;
    // Loop with a short crossfade at each wrap so the seam does not click.
    let xf = ((0.05 * narration.sample_rate as f64) as usize).min(m.samples.len() / 4);
    let period = m.samples.len() - xf;
    let mut bed = Vec::with_capacity(len);
    for i in 0..len {
        let k = i % period.max(1);
        let mut v = m.samples[k];
        if i >= period && k < xf {
            // Blend the tail of the previous loop into the head of this one.
            let w = k as f32 / xf as f32;
            v = v * w + m.samples[period + k] * (1.0 - w);
        }
        bed.push(v * level);
    }
    let sr = narration.sample_rate as f64;
    let (fi, fo) = (
        (mix.fade_in_s * sr) as usize,
        (mix.fade_out_s * sr) as usize,
    );
    let gain = duck_gain(narration, mix)?;
    for (i, v) in bed.iter_mut().enumerate() {
        let mut g = gain[i];
        if i < fi {
            g *= i as f32 / fi as f32;
        }
        if len - i <= fo {
            g *= (len - i) as f32 / fo.max(1) as f32;
        }
        *v *= g;
    }
    Ok(bed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bursts of a buzz (speech-like) with pauses.
    fn narration() -> Audio {
        let sr = 48_000;
        let s = (0..sr * 8)
            .map(|i| {
                let t = i as f32 / sr as f32;
                let on = (t as usize) % 2 == 0; // 1 s on, 1 s off
                if on {
                    0.3 * (2.0 * std::f32::consts::PI * 150.0 * t).sin()
                        * (1.0 + (2.0 * std::f32::consts::PI * 4.0 * t).sin())
                        / 2.0
                } else {
                    0.0
                }
            })
            .collect();
        Audio::new(s, sr as u32)
    }

    #[test]
    fn music_is_ducked_under_speech_and_rises_in_pauses() {
        let n = narration();
        let tone = Audio::new(
            (0..48_000 * 3)
                .map(|i| 0.2 * (i as f32 * 0.05).sin())
                .collect(),
            48_000,
        );
        let bed = music_bed(&tone, &n, &MusicMix::default()).unwrap();
        assert_eq!(bed.len(), n.samples.len());
        let rms = |a: f64, b: f64| {
            let s = &bed[(a * 48_000.0) as usize..(b * 48_000.0) as usize];
            (s.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
        };
        // Inside speech (2.3–2.8 s) versus inside a pause (3.5–3.8 s).
        let under = 20.0 * rms(2.3, 2.8).log10();
        let pause = 20.0 * rms(3.5, 3.8).log10();
        assert!(
            pause - under >= 10.0,
            "pause {pause:.1} dB, under speech {under:.1} dB"
        );
        assert!(bed.iter().all(|x| x.abs() < 1.0));
        // Faded in and out.
        assert!(bed[0].abs() < 1e-6 && bed[bed.len() - 1].abs() < 1e-4);
    }
}
