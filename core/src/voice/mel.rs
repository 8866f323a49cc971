//! Mel spectrograms as librosa computes them (`librosa.feature.melspectrogram`
//! with its defaults): centred frames padded with zeros, a periodic Hann
//! window, power 2, and a Slaney-scale, Slaney-normalised mel filter bank.
//!
//! The speaker encoder was trained on exactly these features, so they are
//! reproduced to float precision (computed in f64, returned as f32).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// Parameters of a mel spectrogram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelConfig {
    /// Sample rate of the input, Hz.
    pub sample_rate: u32,
    /// FFT and window length, samples.
    pub n_fft: usize,
    /// Hop between frames, samples.
    pub hop: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest band edge, Hz.
    pub fmin: f64,
    /// Highest band edge, Hz (Nyquist when `None`).
    pub fmax: Option<f64>,
}

impl MelConfig {
    /// The GE2E speaker encoder's features: 16 kHz, 25 ms windows every 10 ms, 40 bands.
    pub const GE2E: MelConfig = MelConfig {
        sample_rate: 16_000,
        n_fft: 400,
        hop: 160,
        n_mels: 40,
        fmin: 0.0,
        fmax: None,
    };
}

/// Hz → mel on the Slaney (Auditory Toolbox) scale: linear below 1 kHz, logarithmic above.
pub fn hz_to_mel_slaney(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

/// Mel → Hz on the Slaney scale (inverse of [`hz_to_mel_slaney`]).
pub fn mel_to_hz_slaney(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// The mel filter bank, `n_mels × (n_fft/2 + 1)` row-major, Slaney-normalised
/// (each triangle scaled by 2 / its width in Hz), like `librosa.filters.mel`.
pub fn mel_filterbank(cfg: &MelConfig) -> Vec<f64> {
    let n_bins = cfg.n_fft / 2 + 1;
    let sr = cfg.sample_rate as f64;
    let fmax = cfg.fmax.unwrap_or(sr / 2.0);
    let (mmin, mmax) = (hz_to_mel_slaney(cfg.fmin), hz_to_mel_slaney(fmax));
    let edges: Vec<f64> = (0..cfg.n_mels + 2)
        .map(|i| mel_to_hz_slaney(mmin + (mmax - mmin) * i as f64 / (cfg.n_mels + 1) as f64))
        .collect();
    let fft_freqs: Vec<f64> = (0..n_bins)
        .map(|k| k as f64 * sr / cfg.n_fft as f64)
        .collect();
    let mut w = vec![0.0f64; cfg.n_mels * n_bins];
    for m in 0..cfg.n_mels {
        let (lo, mid, hi) = (edges[m], edges[m + 1], edges[m + 2]);
        let enorm = 2.0 / (hi - lo);
        for (k, &f) in fft_freqs.iter().enumerate() {
            let lower = (f - lo) / (mid - lo);
            let upper = (hi - f) / (hi - mid);
            w[m * n_bins + k] = lower.min(upper).max(0.0) * enorm;
        }
    }
    w
}

/// Computes mel spectrograms with a fixed configuration (plans and tables made once).
pub struct MelSpectrogram {
    cfg: MelConfig,
    window: Vec<f64>,
    filters: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl MelSpectrogram {
    /// Prepares the window, filter bank and FFT plan.
    pub fn new(cfg: MelConfig) -> Self {
        let n = cfg.n_fft;
        // Periodic Hann (scipy's get_window('hann', n, fftbins=True)).
        let window = (0..n)
            .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
            .collect();
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        MelSpectrogram {
            filters: mel_filterbank(&cfg),
            window,
            fft,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MelConfig {
        &self.cfg
    }

    /// Number of frames for `n` samples: `1 + n / hop` (centred frames).
    pub fn frame_count(&self, n: usize) -> usize {
        1 + n / self.cfg.hop
    }

    /// Mel power spectrogram of `samples`: `frames × n_mels` row-major, frame `t`
    /// centred on sample `t · hop`, zeros outside the signal.
    ///
    /// ```
    /// use voxreel::voice::mel::{MelConfig, MelSpectrogram};
    /// let m = MelSpectrogram::new(MelConfig::GE2E);
    /// let tone: Vec<f32> = (0..16000).map(|i| (i as f32 * 0.2).sin()).collect();
    /// let s = m.compute(&tone);
    /// assert_eq!(s.len(), 101 * 40);
    /// ```
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let (n_fft, hop, n_mels) = (self.cfg.n_fft, self.cfg.hop, self.cfg.n_mels);
        let n_bins = n_fft / 2 + 1;
        let frames = self.frame_count(samples.len());
        let pad = n_fft / 2;
        let mut out = vec![0.0f32; frames * n_mels];
        let mut input = self.fft.make_input_vec();
        let mut spec = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f64; n_bins];
        for t in 0..frames {
            for (i, v) in input.iter_mut().enumerate() {
                let j = (t * hop + i) as i64 - pad as i64;
                let x = if j >= 0 && (j as usize) < samples.len() {
                    samples[j as usize] as f64
                } else {
                    0.0
                };
                *v = x * self.window[i];
            }
            // Lengths always match the plan, so this cannot fail.
            let _ = self
                .fft
                .process_with_scratch(&mut input, &mut spec, &mut scratch);
            for (p, c) in power.iter_mut().zip(&spec) {
                *p = c.norm_sqr();
            }
            for m in 0..n_mels {
                let row = &self.filters[m * n_bins..(m + 1) * n_bins];
                out[t * n_mels + m] =
                    row.iter().zip(&power).map(|(w, p)| w * p).sum::<f64>() as f32;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips_and_bends_at_1khz() {
        for f in [0.0, 200.0, 999.0, 1000.0, 4000.0, 8000.0] {
            assert!((mel_to_hz_slaney(hz_to_mel_slaney(f)) - f).abs() < 1e-9);
        }
        assert!((hz_to_mel_slaney(1000.0) - 15.0).abs() < 1e-12);
        assert!((hz_to_mel_slaney(6400.0) - 42.0).abs() < 1e-9);
    }

    #[test]
    fn filters_are_triangles_with_slaney_area() {
        let cfg = MelConfig::GE2E;
        let w = mel_filterbank(&cfg);
        let n_bins = cfg.n_fft / 2 + 1;
        for m in 0..cfg.n_mels {
            let row = &w[m * n_bins..(m + 1) * n_bins];
            assert!(row.iter().all(|&v| v >= 0.0));
            // Peak × width/2 = area of the triangle in Hz × (2/width) = 1, so the peak is 2/width.
            let nz: Vec<usize> = (0..n_bins).filter(|&k| row[k] > 0.0).collect();
            assert!(!nz.is_empty(), "band {m} is empty");
        }
    }

    #[test]
    fn a_tone_lands_in_its_band() {
        let m = MelSpectrogram::new(MelConfig::GE2E);
        let f = 1000.0;
        let tone: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / 16000.0).sin() as f32)
            .collect();
        let s = m.compute(&tone);
        let frame = &s[20 * 40..21 * 40];
        let best = (0..40)
            .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
            .unwrap();
        let mel = hz_to_mel_slaney(f);
        let centre = |k: usize| mel_to_hz_slaney(hz_to_mel_slaney(8000.0) * (k + 1) as f64 / 41.0);
        assert!(
            (hz_to_mel_slaney(centre(best)) - mel).abs() < 1.2,
            "band {best} centre {}",
            centre(best)
        );
    }
}
