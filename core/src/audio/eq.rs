//! Long-term spectrum matching: a smooth equaliser that gives one recording the average
//! spectral balance of another ("channel EQ").
//!
//! A voice clone is compared with — and heard next to — the speaker's own recordings, which
//! carry their microphone and room: a tilt, a presence peak, a low-cut. [`ChannelEq::fit`]
//! measures the long-term average spectrum of each (speech frames only, 16 kHz, so only
//! what a 16 kHz reference can show), takes the ratio, smooths it over a fifth of an octave,
//! removes its mean (the loudness stays), and clamps it; [`ChannelEq::apply`] filters audio
//! of any sample rate with it (short-time Fourier transform, overlap-add). Above the top band
//! the gain fades to 0 dB, so a 24 kHz synthesis keeps its highs.
//!
//! ```
//! use voxreel::audio::eq::{long_term_spectrum, ChannelEq};
//! use voxreel::Audio;
//! let tone = |f: f32| Audio::new(
//!     (0..16_000).map(|i| 0.3 * (i as f32 * f * std::f32::consts::TAU / 16_000.0).sin()
//!         + 0.3 * (i as f32 * 2_000.0 * std::f32::consts::TAU / 16_000.0).sin()).collect(),
//!     16_000,
//! );
//! let (a, b) = (long_term_spectrum(&tone(300.0)).unwrap(), long_term_spectrum(&tone(300.0)).unwrap());
//! let eq = ChannelEq::fit(&a, &b, 12.0);
//! assert!(eq.gain_db.iter().all(|g| g.abs() < 1e-3)); // same spectrum: flat
//! ```

use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

use super::{resample, Audio};
use crate::error::{Error, Result};

/// FFT size of the long-term spectrum at 16 kHz (32 ms frames, 31.25 Hz bins).
const LTAS_FFT: usize = 512;
/// Lowest and highest band centres (Hz).
const BAND_LO_HZ: f64 = 80.0;
const BAND_HI_HZ: f64 = 7_000.0;
/// Band spacing and smoothing width (octaves).
const BAND_STEP_OCT: f64 = 1.0 / 6.0;
const SMOOTH_OCT: f64 = 0.2;
/// Where the gain has faded back to 0 dB above the top band.
const FADE_TOP_HZ: f64 = 8_000.0;

/// Long-term average power spectrum of speech at 16 kHz (`LTAS_FFT / 2 + 1` bins, linear
/// power), over the frames within 30 dB of the loudest.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Mean power per bin (bin `k` is `k · 31.25` Hz).
    pub power: Vec<f64>,
    /// Frames averaged.
    pub frames: usize,
}

impl Spectrum {
    /// The power-weighted mean of several spectra (by their frame counts).
    pub fn combine(parts: &[&Spectrum]) -> Option<Spectrum> {
        let total: usize = parts.iter().map(|p| p.frames).sum();
        if total == 0 {
            return None;
        }
        let mut power = vec![0.0; LTAS_FFT / 2 + 1];
        for p in parts {
            for (a, b) in power.iter_mut().zip(&p.power) {
                *a += b * p.frames as f64 / total as f64;
            }
        }
        Some(Spectrum {
            power,
            frames: total,
        })
    }
}

fn fft_error(e: realfft::FftError) -> Error {
    Error::InvalidArgument {
        name: "FFT buffer".into(),
        reason: e.to_string(),
    }
}

fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// The long-term spectrum of `audio` (resampled to 16 kHz). Errors on audio shorter than
/// one frame or without any sound.
pub fn long_term_spectrum(audio: &Audio) -> Result<Spectrum> {
    let x = resample(audio, 16_000)?.samples;
    if x.len() < LTAS_FFT {
        return Err(Error::AudioTooShort {
            what: "audio for a long-term spectrum".into(),
            speech_s: x.len() as f64 / 16_000.0,
            need_s: LTAS_FFT as f64 / 16_000.0,
        });
    }
    let fft = RealFftPlanner::<f32>::new().plan_fft_forward(LTAS_FFT);
    let w = hann(LTAS_FFT);
    let mut frames: Vec<(f64, Vec<f64>)> = Vec::new();
    let mut buf = vec![0f32; LTAS_FFT];
    let mut spec = fft.make_output_vec();
    for start in (0..=x.len() - LTAS_FFT).step_by(LTAS_FFT / 2) {
        for ((b, &s), &wi) in buf.iter_mut().zip(&x[start..]).zip(&w) {
            *b = s * wi;
        }
        fft.process(&mut buf, &mut spec).map_err(fft_error)?;
        let p: Vec<f64> = spec
            .iter()
            .map(|c| (c.re as f64).powi(2) + (c.im as f64).powi(2))
            .collect();
        frames.push((p.iter().sum(), p));
    }
    let loudest = frames.iter().map(|f| f.0).fold(0.0, f64::max);
    if !(loudest > 0.0 && loudest.is_finite()) {
        return Err(Error::Silence {
            what: "audio for a long-term spectrum".into(),
            peak_dbfs: f64::NEG_INFINITY,
        });
    }
    let mut power = vec![0.0; LTAS_FFT / 2 + 1];
    let mut n = 0;
    for (e, p) in &frames {
        if *e >= loudest * 1e-3 {
            for (a, b) in power.iter_mut().zip(p) {
                *a += b;
            }
            n += 1;
        }
    }
    power.iter_mut().for_each(|p| *p /= n as f64);
    Ok(Spectrum { power, frames: n })
}

/// A smooth equaliser: gains (dB) at band centres spaced a sixth of an octave from 80 Hz to
/// 7 kHz, interpolated in log frequency, held below the first band and faded to 0 dB
/// between the last band and 8 kHz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelEq {
    /// Band centres (Hz), rising.
    pub hz: Vec<f32>,
    /// Gain per band (dB), mean 0.
    pub gain_db: Vec<f32>,
}

impl ChannelEq {
    /// The equaliser that moves `current`'s long-term spectrum to `target`'s: the dB ratio,
    /// smoothed over a fifth of an octave, minus its mean over the bands, clamped to
    /// ±`max_db`.
    pub fn fit(target: &Spectrum, current: &Spectrum, max_db: f64) -> ChannelEq {
        let nb = LTAS_FFT / 2 + 1;
        let bin_hz = 8_000.0 / (nb - 1) as f64;
        let ratio: Vec<f64> = (0..nb)
            .map(|k| 10.0 * ((target.power[k] + 1e-20) / (current.power[k] + 1e-20)).log10())
            .collect();
        let mut hz = Vec::new();
        let mut f = BAND_LO_HZ;
        while f <= BAND_HI_HZ * 1.0001 {
            hz.push(f);
            f *= 2f64.powf(BAND_STEP_OCT);
        }
        let raw: Vec<f64> = hz
            .iter()
            .map(|&c| {
                let (lo, hi) = (
                    c * 2f64.powf(-SMOOTH_OCT / 2.0),
                    c * 2f64.powf(SMOOTH_OCT / 2.0),
                );
                let k0 = ((lo / bin_hz).floor() as usize).max(1);
                let k1 = ((hi / bin_hz).ceil() as usize).min(nb - 1).max(k0);
                let sel = &ratio[k0..=k1];
                sel.iter().sum::<f64>() / sel.len() as f64
            })
            .collect();
        let mean = raw.iter().sum::<f64>() / raw.len() as f64;
        ChannelEq {
            hz: hz.iter().map(|&h| h as f32).collect(),
            gain_db: raw
                .iter()
                .map(|g| (g - mean).clamp(-max_db, max_db) as f32)
                .collect(),
        }
    }

    /// Gain (dB) at `hz`.
    pub fn gain_db_at(&self, hz: f64) -> f64 {
        let (Some(&first), Some(&last)) = (self.hz.first(), self.hz.last()) else {
            return 0.0;
        };
        if hz <= first as f64 {
            return self.gain_db[0] as f64;
        }
        if hz >= last as f64 {
            let top = *self.gain_db.last().unwrap_or(&0.0) as f64;
            let t = ((hz - last as f64) / (FADE_TOP_HZ - last as f64)).clamp(0.0, 1.0);
            return top * (1.0 - t);
        }
        let i = self.hz.partition_point(|&c| (c as f64) <= hz).max(1) - 1;
        let (f0, f1) = (self.hz[i] as f64, self.hz[i + 1] as f64);
        let t = (hz / f0).ln() / (f1 / f0).ln();
        self.gain_db[i] as f64 * (1.0 - t) + self.gain_db[i + 1] as f64 * t
    }

    /// Whether the equaliser is the identity (no band, or every gain 0 dB).
    pub fn is_flat(&self) -> bool {
        self.gain_db.iter().all(|g| *g == 0.0)
    }

    /// `audio` filtered by the equaliser (same length and rate): short-time Fourier
    /// transform with ~40 ms Hann frames at 75 % overlap, the gain per bin, overlap-add.
    pub fn apply(&self, audio: &Audio) -> Result<Audio> {
        let sr = audio.sample_rate as f64;
        if self.is_flat() || audio.samples.is_empty() || sr <= 0.0 {
            return Ok(audio.clone());
        }
        let n = ((0.04 * sr) as usize).next_power_of_two().max(64);
        let hop = n / 4;
        let gains: Vec<f32> = (0..n / 2 + 1)
            .map(|k| 10f64.powf(self.gain_db_at(k as f64 * sr / n as f64) / 20.0) as f32)
            .collect();
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let w = hann(n);
        let len = audio.samples.len();
        let mut padded = vec![0f32; n];
        padded.extend_from_slice(&audio.samples);
        padded.resize(len + 2 * n + hop, 0.0);
        let mut out = vec![0f32; padded.len()];
        let mut wsum = vec![0f32; padded.len()];
        let mut buf = vec![0f32; n];
        let mut spec = fwd.make_output_vec();
        let mut frame = inv.make_output_vec();
        let mut start = 0;
        while start + n <= padded.len() {
            for ((b, &s), &wi) in buf.iter_mut().zip(&padded[start..]).zip(&w) {
                *b = s * wi;
            }
            fwd.process(&mut buf, &mut spec).map_err(fft_error)?;
            for (c, &g) in spec.iter_mut().zip(&gains) {
                *c *= g;
            }
            spec[0].im = 0.0;
            if let Some(last) = spec.last_mut() {
                last.im = 0.0;
            }
            inv.process(&mut spec, &mut frame).map_err(fft_error)?;
            for j in 0..n {
                out[start + j] += frame[j] / n as f32 * w[j];
                wsum[start + j] += w[j] * w[j];
            }
            start += hop;
        }
        let samples = (n..n + len)
            .map(|j| {
                if wsum[j] > 1e-6 {
                    out[j] / wsum[j]
                } else {
                    0.0
                }
            })
            .collect();
        Ok(Audio::new(samples, audio.sample_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    /// One-pole low-pass: a tilted spectrum.
    fn lowpass(x: &[f32], a: f32) -> Vec<f32> {
        let mut y = 0.0;
        x.iter()
            .map(|&v| {
                y = a * y + (1.0 - a) * v;
                y
            })
            .collect()
    }

    #[test]
    fn matches_a_tilt_and_keeps_the_level() {
        let white = Audio::new(noise(48_000, 1), 16_000);
        let dark = Audio::new(lowpass(&noise(48_000, 2), 0.8), 16_000);
        let (t, c) = (
            long_term_spectrum(&dark).unwrap(),
            long_term_spectrum(&white).unwrap(),
        );
        let eq = ChannelEq::fit(&t, &c, 20.0);
        // darker target: lows up, highs down
        assert!(eq.gain_db_at(150.0) > 3.0, "{:?}", eq.gain_db);
        assert!(eq.gain_db_at(6_000.0) < -3.0, "{:?}", eq.gain_db);
        let out = eq.apply(&white).unwrap();
        assert_eq!(out.samples.len(), white.samples.len());
        let after = ChannelEq::fit(&t, &long_term_spectrum(&out).unwrap(), 20.0);
        let worst = after.gain_db.iter().fold(0f32, |m, g| m.max(g.abs()));
        assert!(worst < 2.5, "residual {worst} dB: {:?}", after.gain_db);
    }

    #[test]
    fn flat_eq_is_the_identity_and_highs_pass_above_8k() {
        let a = Audio::new(noise(24_000, 3), 24_000);
        let flat = ChannelEq {
            hz: vec![100.0, 1000.0],
            gain_db: vec![0.0, 0.0],
        };
        assert_eq!(flat.apply(&a).unwrap(), a);
        let eq = ChannelEq {
            hz: vec![100.0, 7_000.0],
            gain_db: vec![6.0, -6.0],
        };
        assert!((eq.gain_db_at(50.0) - 6.0).abs() < 1e-9);
        assert!((eq.gain_db_at(7_500.0) + 3.0).abs() < 1e-9);
        assert_eq!(eq.gain_db_at(10_000.0), 0.0);
        let out = eq.apply(&a).unwrap();
        assert!(out.samples.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            long_term_spectrum(&Audio::new(vec![0.1; 100], 16_000)),
            Err(Error::AudioTooShort { .. })
        ));
        assert!(matches!(
            long_term_spectrum(&Audio::new(vec![0.0; 16_000], 16_000)),
            Err(Error::Silence { .. })
        ));
    }
}
