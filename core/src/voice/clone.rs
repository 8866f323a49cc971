//! Cloning a voice for Kokoro-82M: a style vector found by search, scored by the GE2E speaker
//! encoder on parts of the reference held back from the search, plus pitch and rate.
//!
//! # Method ([`clone_kokoro`])
//! 1. The reference's speech is cut at a pause near 60 % of its speech time into a *search*
//!    part A and a *held-out* part B; each gets its own GE2E embedding.
//! 2. Every English stock voice speaks a fixed search phrase (cached in a style bank file
//!    next to the model, [`BANK_FILE`]); the three whose speech is closest to A start the
//!    search, each spoken again with its F0 mapped to the reference ([`map_f0`]).
//! 3. An evolution strategy (μ/μ, λ) moves the style in a low-dimensional basis: the leading
//!    principal components of the English stock voices' style rows, each step measured in
//!    that component's standard deviation, every coordinate bounded to ±[`BOUND_SD`]
//!    standard deviations of the stock voices (so the style stays among the voices the
//!    network was trained on). A candidate scores the cosine of its speech's embedding to A;
//!    candidates whose speech fails the guards (level, length, F0, voicing against the start
//!    voice's) are dropped.
//! 4. The best candidates by A and the start voice speak a second phrase; the one whose
//!    speech (both phrases) is closest to the *held-out* part B wins. A never decides alone,
//!    so a style that only fits the search audio is not kept.
//!
//! At synthesis the F0 curve Kokoro predicts is mapped to the reference's log-F0 mean and
//! spread before the decoder, and the speed follows the reference's syllable rate.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::analysis::ReferenceAnalysis;
use super::encoder::cosine;
use super::{vad, EmbedOptions, VoiceEncoder};
use crate::audio::eq::{long_term_spectrum, ChannelEq, Spectrum};
use crate::audio::{resample, Audio};
use crate::progress::Progress;
use crate::tts::kokoro::{KokoroModel, KokoroSynthesizer, KOKORO_MODEL_ID, SAMPLE_RATE, STYLE_DIM};
use crate::{Error, Result};

/// Identifier of this search method, stored in profiles.
pub const CLONE_METHOD: &str = "kokoro-style-pca-es-eq-v4";
/// Median F0 (Hz) of a reference for which stock voices of both families start the search.
pub const AMBIGUOUS_F0_HZ: (f64, f64) = (150.0, 190.0);
/// Largest gain or cut (dB) of the channel equaliser.
pub const CHANNEL_EQ_MAX_DB: f64 = 9.0;
/// Largest gain or cut (dB) a stored profile's equaliser may hold: profiles made with an
/// earlier, wider limit (±12 dB) stay valid; beyond this the profile is malformed.
pub const CHANNEL_EQ_VALID_DB: f64 = 24.0;
/// File of the style bank (stock voices' embeddings on the search phrase) in the model folder.
pub const BANK_FILE: &str = "clone-style-bank-v1.json";
/// Phrase every candidate speaks during the search.
pub const SEARCH_PHRASE: &str = "She sells fresh bread at the market every morning.";
/// Second phrase, spoken only by the finalists (choice on the held-out part).
pub const CHECK_PHRASE: &str =
    "Please call me back when you have a moment, and we can talk it over.";
/// Bound of every basis coordinate, in standard deviations of the stock voices.
pub const BOUND_SD: f64 = 2.5;
/// Lowest and highest speed the rate match may choose.
pub const SPEED_RANGE: (f32, f32) = (0.9, 1.06);
/// Bounds of the F0 spread ratio (reference / Kokoro) the pitch map applies.
pub const SPREAD_RATIO_RANGE: (f64, f64) = (0.6, 1.6);

/// The Kokoro conditioning of a cloned voice, as stored in a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KokoroClone {
    /// The model the style belongs to ([`KOKORO_MODEL_ID`]).
    pub model: String,
    /// Search method ([`CLONE_METHOD`]).
    pub method: String,
    /// The style vector (256 values: acoustic half, prosody half), used for every length.
    pub style: Vec<f32>,
    /// The stock voice the search started from.
    pub base_voice: String,
    /// Speed passed to the model (rate match).
    pub speed: f32,
    /// Mean and standard deviation of ln F0 (Hz) of Kokoro's own predicted curve with this
    /// style, measured on the search phrases: the source of the pitch map.
    pub kokoro_log_f0: (f64, f64),
    /// Mean and standard deviation of ln F0 of the reference: the target of the pitch map.
    pub target_log_f0: (f64, f64),
    /// What the search measured.
    pub search: CloneReport,
    /// Equaliser giving the synthesis the reference recording's long-term spectral balance
    /// (microphone and room colour; [`crate::audio::eq`]); applied to the clone's speech.
    /// Absent in profiles made before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_eq: Option<ChannelEq>,
}

/// What the search measured (GE2E cosines of synthesized speech; centred cosines when the
/// search ran with [`CloneOptions::centred_score`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloneReport {
    /// Seconds of reference speech in the search part A and the held-out part B.
    pub search_speech_s: f64,
    /// Seconds of speech in the held-out part.
    pub held_out_speech_s: f64,
    /// Best stock voice (pitch-mapped) against the held-out part.
    pub start_held_out: f64,
    /// The chosen style against the held-out part.
    pub chosen_held_out: f64,
    /// The chosen style against the search part.
    pub chosen_search: f64,
    /// Candidates spoken.
    pub evaluations: usize,
    /// Candidates dropped by the guards.
    pub rejected: usize,
    /// How many each guard dropped (`level`, `length`, `f0`, `voicing`).
    #[serde(default)]
    pub rejected_by: std::collections::BTreeMap<String, usize>,
    /// Seconds the enrolment's search took.
    pub seconds: f64,
}

/// Knobs of the search.
#[derive(Debug, Clone)]
pub struct CloneOptions {
    /// Principal components searched.
    pub dims: usize,
    /// Generations of the evolution strategy.
    pub generations: usize,
    /// Candidates per generation.
    pub population: usize,
    /// Initial step, in standard deviations.
    pub step: f64,
    /// Finalists re-scored on the held-out part (besides the start voice).
    pub finalists: usize,
    /// Seed of the candidate sampler.
    pub seed: u64,
    /// Where the style bank is cached (none: computed every time).
    pub bank_path: Option<PathBuf>,
    /// Only these stock voices (bank, starts and basis); all English voices when `None`.
    pub voices: Option<Vec<String>>,
    /// Match the reference recording's long-term spectrum (a smooth equaliser, stored in
    /// the profile and applied to the clone's speech; candidates are judged through it).
    pub channel_eq: bool,
    /// Score candidates by the cosine of embeddings centred on the stock voices' mean
    /// embedding (what sets the reference apart from Kokoro's voices) instead of raw cosine.
    pub centred_score: bool,
}

impl Default for CloneOptions {
    fn default() -> Self {
        CloneOptions {
            dims: 10,
            generations: 10,
            population: 6,
            step: 0.7,
            finalists: 3,
            seed: 0x5eed,
            bank_path: None,
            voices: None,
            channel_eq: true,
            centred_score: false,
        }
    }
}

impl CloneOptions {
    /// Defaults with the style bank cached in `model_dir`.
    pub fn with_bank_in(model_dir: &Path) -> Self {
        CloneOptions {
            bank_path: Some(model_dir.join(BANK_FILE)),
            ..Default::default()
        }
    }
}

/// Cosine of `a` and `b` after subtracting `centre` from both: how alike their departures
/// from the centre are (the component they share with the centre does not count).
///
/// ```
/// use voxreel::voice::clone::centred_cosine;
/// let centre = [1.0, 0.0, 0.0];
/// // Raw cosine of these is about 0.98; about the centre they point opposite ways.
/// let c = centred_cosine(&[1.0, 0.2, 0.0], &[1.0, -0.2, 0.0], &centre);
/// assert!((c + 1.0).abs() < 1e-6);
/// ```
pub fn centred_cosine(a: &[f32], b: &[f32], centre: &[f32]) -> f32 {
    let a: Vec<f32> = a.iter().zip(centre).map(|(x, c)| x - c).collect();
    let b: Vec<f32> = b.iter().zip(centre).map(|(x, c)| x - c).collect();
    cosine(&a, &b)
}

/// Mean and standard deviation of ln F0 over the voiced values (≥ 10 Hz) of a curve.
pub fn log_f0_stats(curve: &[f32]) -> Option<(f64, f64)> {
    let v: Vec<f64> = curve
        .iter()
        .filter(|&&f| f >= 10.0 && f.is_finite())
        .map(|&f| (f as f64).ln())
        .collect();
    if v.len() < 4 {
        return None;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
    Some((m, sd))
}

/// Maps an F0 curve (Hz; values under 10 Hz are unvoiced and kept) from the log-F0
/// distribution `from` (mean, sd) to `to`: `exp(to.0 + (ln f − from.0) · k)`, `k` the spread
/// ratio clamped to [`SPREAD_RATIO_RANGE`].
///
/// ```
/// use voxreel::voice::clone::map_f0;
/// let out = map_f0(&[0.0, 200.0, 400.0], (200f64.ln(), 0.2), (100f64.ln(), 0.2));
/// assert_eq!(out[0], 0.0);
/// assert!((out[1] - 100.0).abs() < 1e-3 && (out[2] - 200.0).abs() < 1e-2);
/// ```
pub fn map_f0(curve: &[f32], from: (f64, f64), to: (f64, f64)) -> Vec<f32> {
    let k = if from.1 > 1e-6 {
        (to.1 / from.1).clamp(SPREAD_RATIO_RANGE.0, SPREAD_RATIO_RANGE.1)
    } else {
        1.0
    };
    curve
        .iter()
        .map(|&f| {
            if f >= 10.0 && f.is_finite() {
                (to.0 + ((f as f64).ln() - from.0) * k).exp() as f32
            } else {
                f
            }
        })
        .collect()
}

/// The reference's ln-F0 mean and standard deviation from its analysis (median and spread).
pub fn reference_log_f0(a: &ReferenceAnalysis) -> (f64, f64) {
    let sd = a.f0_spread_semitones / 12.0 * std::f64::consts::LN_2;
    (a.f0_median_hz.max(40.0).ln(), sd.clamp(0.02, 0.5))
}

impl KokoroClone {
    /// Speaks token ids with this clone: its style, speed, and F0 mapped to the reference.
    pub fn synthesize_tokens(
        &self,
        model: &KokoroModel,
        ids: &[u32],
    ) -> Result<crate::tts::kokoro::Synthesis> {
        let (from, to) = (self.kokoro_log_f0, self.target_log_f0);
        model.synthesize_tokens_with_f0(ids, &self.style, self.speed, &|c| map_f0(c, from, to))
    }

    /// `audio` through the clone's channel equaliser (unchanged when it has none), scaled
    /// down if a boost would take a peak over 0.99.
    pub fn apply_channel(&self, audio: Audio) -> Result<Audio> {
        let Some(eq) = &self.channel_eq else {
            return Ok(audio);
        };
        let mut out = eq.apply(&audio)?;
        let peak = out.samples.iter().fold(0f32, |m, x| m.max(x.abs()));
        if peak > 0.99 {
            let g = 0.99 / peak;
            out.samples.iter_mut().for_each(|x| *x *= g);
        }
        Ok(out)
    }

    /// Checks the stored values: model, style width and finiteness.
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.model != KOKORO_MODEL_ID {
            return Err(Error::ModelMismatch {
                expected: KOKORO_MODEL_ID.into(),
                found: self.model.clone(),
            });
        }
        let finite = |x: f64| x.is_finite();
        if self.style.len() != STYLE_DIM
            || self.style.iter().any(|v| !v.is_finite())
            || !(self.speed.is_finite() && self.speed > 0.0)
            || ![
                self.kokoro_log_f0.0,
                self.kokoro_log_f0.1,
                self.target_log_f0.0,
                self.target_log_f0.1,
            ]
            .into_iter()
            .all(finite)
            || self.channel_eq.as_ref().is_some_and(|eq| {
                eq.hz.len() != eq.gain_db.len()
                    || eq.hz.windows(2).any(|w| !(w[0] > 0.0 && w[1] > w[0]))
                    || eq
                        .gain_db
                        .iter()
                        .any(|g| !(g.abs() <= CHANNEL_EQ_VALID_DB as f32))
            })
        {
            return Err(Error::InvalidProfile {
                what: what.into(),
                reason: format!(
                    "its Kokoro style has {} values (need {STYLE_DIM}), values that are not finite, or a malformed channel equaliser",
                    self.style.len()
                ),
            });
        }
        Ok(())
    }
}

/// A small deterministic generator (SplitMix64) with normal deviates (Box–Muller).
struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Principal components of a set of style rows: mean, unit directions and their standard
/// deviations, largest first (power iteration with deflation on the 256×256 covariance).
#[derive(Debug, Clone)]
pub struct StyleBasis {
    /// Mean style.
    pub mean: Vec<f64>,
    /// Unit directions.
    pub dirs: Vec<Vec<f64>>,
    /// Standard deviation of the rows along each direction.
    pub sd: Vec<f64>,
}

impl StyleBasis {
    /// The `k` leading components of `rows` (each [`STYLE_DIM`] values).
    pub fn fit(rows: &[Vec<f32>], k: usize) -> StyleBasis {
        let n = rows.len().max(1) as f64;
        let d = STYLE_DIM;
        let mut mean = vec![0.0; d];
        for r in rows {
            for (m, &x) in mean.iter_mut().zip(r) {
                *m += x as f64 / n;
            }
        }
        let mut cov = vec![0.0; d * d];
        for r in rows {
            let c: Vec<f64> = r.iter().zip(&mean).map(|(&x, m)| x as f64 - m).collect();
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] += c[i] * c[j] / n;
                }
            }
        }
        let mut dirs: Vec<Vec<f64>> = Vec::new();
        let mut sd = Vec::new();
        let mut rng = Rng(7);
        for _ in 0..k.min(rows.len().saturating_sub(1)) {
            let mut v: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
            let mut lambda = 0.0;
            for _ in 0..200 {
                let mut w = vec![0.0; d];
                for i in 0..d {
                    w[i] = (0..d).map(|j| cov[i * d + j] * v[j]).sum();
                }
                // Keep it orthogonal to the directions found (deflation alone drifts).
                for u in &dirs {
                    let p: f64 = w.iter().zip(u).map(|(a, b): (&f64, &f64)| a * b).sum();
                    for (wi, ui) in w.iter_mut().zip(u) {
                        *wi -= p * ui;
                    }
                }
                let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
                if norm < 1e-12 {
                    break;
                }
                lambda = norm;
                v = w.into_iter().map(|x| x / norm).collect();
            }
            if lambda < 1e-10 {
                break;
            }
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] -= lambda * v[i] * v[j];
                }
            }
            sd.push(lambda.sqrt());
            dirs.push(v);
        }
        StyleBasis { mean, dirs, sd }
    }

    /// Coordinates of `x` in standard deviations.
    pub fn coords(&self, x: &[f32]) -> Vec<f64> {
        self.dirs
            .iter()
            .zip(&self.sd)
            .map(|(v, s)| {
                v.iter()
                    .zip(x)
                    .zip(&self.mean)
                    .map(|((a, &b), m)| a * (b as f64 - m))
                    .sum::<f64>()
                    / s
            })
            .collect()
    }

    /// `base` moved to the basis coordinates `target` (standard deviations), keeping its
    /// part outside the basis; every coordinate clamped to ±`bound`.
    pub fn place(&self, base: &[f32], target: &[f64], bound: f64) -> Vec<f32> {
        let cur = self.coords(base);
        let mut x: Vec<f64> = base.iter().map(|&v| v as f64).collect();
        for (k, v) in self.dirs.iter().enumerate() {
            let delta = (target[k].clamp(-bound, bound) - cur[k]) * self.sd[k];
            for (xi, vi) in x.iter_mut().zip(v) {
                *xi += delta * vi;
            }
        }
        x.into_iter().map(|v| v as f32).collect()
    }
}

/// One stock voice in the style bank.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BankEntry {
    voice: String,
    embedding: Vec<f32>,
    syllables_per_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Bank {
    model: String,
    phrase: String,
    voices_len: u64,
    entries: Vec<BankEntry>,
}

/// What one spoken candidate measured.
#[derive(Debug, Clone)]
struct Heard {
    embedding: Vec<f32>,
    /// Long-term spectrum of the synthesis before the channel equaliser.
    spectrum: Option<Spectrum>,
    level_db: f64,
    seconds: f64,
    f0_median: f64,
    voiced_share: f64,
    syllables_per_s: f64,
    kokoro_log_f0: Option<(f64, f64)>,
}

/// The speaking machinery of the search.
struct Speaker<'a> {
    model: &'a KokoroModel,
    encoder: &'a VoiceEncoder,
    /// The reference's long-term spectrum: candidates are heard through the equaliser that
    /// matches it, so the search compares voices, not microphones.
    channel: Option<Spectrum>,
}

impl Speaker<'_> {
    /// Speaks `ids` with `style` at `speed`, the F0 mapped to `target` when given (from the
    /// curve's own distribution), and measures the result.
    fn hear(
        &self,
        ids: &[u32],
        style: &[f32],
        speed: f32,
        target: Option<(f64, f64)>,
    ) -> Result<Heard> {
        let seen = std::sync::Mutex::new(None);
        let syn = self
            .model
            .synthesize_tokens_with_f0(ids, style, speed, &|c| {
                let st = log_f0_stats(c);
                *seen.lock().unwrap_or_else(|p| p.into_inner()) = st;
                match (st, target) {
                    (Some(from), Some(to)) => map_f0(c, from, to),
                    _ => c.to_vec(),
                }
            })?;
        let kokoro_log_f0 = *seen.lock().unwrap_or_else(|p| p.into_inner());
        let audio = Audio::new(syn.audio, SAMPLE_RATE);
        self.measure(&audio, kokoro_log_f0)
    }

    fn measure(&self, audio: &Audio, kokoro_log_f0: Option<(f64, f64)>) -> Result<Heard> {
        let spectrum = long_term_spectrum(audio).ok();
        let a16 = match (&self.channel, &spectrum) {
            (Some(t), Some(c)) => resample(
                &ChannelEq::fit(t, c, CHANNEL_EQ_MAX_DB).apply(audio)?,
                16_000,
            )?,
            _ => resample(audio, 16_000)?,
        };
        let u = self
            .encoder
            .embed_utterance(&a16, &EmbedOptions::default())?;
        let rms = (a16.samples.iter().map(|&x| (x as f64).powi(2)).sum::<f64>()
            / a16.samples.len().max(1) as f64)
            .sqrt();
        // (Not ReferenceAnalysis::of: a search phrase is shorter than a reference's minimum.)
        let (f0_median, voiced_share, syl) = super::analysis::quick_pitch(&a16);
        Ok(Heard {
            embedding: u.embedding.embedding,
            spectrum,
            level_db: 20.0 * rms.max(1e-9).log10(),
            seconds: a16.duration_s(),
            f0_median,
            voiced_share,
            syllables_per_s: syl,
            kokoro_log_f0,
        })
    }
}

/// Why a candidate's speech is not natural next to the start voice's (`start`), if it is
/// not: level within 6 dB, length within 30 %, median F0 within 4 semitones of the target
/// and at least 60 % of the start's voiced share.
fn guard_failure(h: &Heard, start: &Heard, target_hz: f64) -> Option<&'static str> {
    if !h.embedding.iter().all(|v| v.is_finite()) {
        Some("embedding")
    } else if (h.level_db - start.level_db).abs() > 6.0 {
        Some("level")
    } else if (h.seconds / start.seconds - 1.0).abs() > 0.3 {
        Some("length")
    } else if h.f0_median <= 0.0 || (12.0 * (h.f0_median / target_hz).log2()).abs() > 4.0 {
        Some("f0")
    } else if h.voiced_share < 0.6 * start.voiced_share {
        Some("voicing")
    } else {
        None
    }
}

fn tokens(k: &KokoroSynthesizer, text: &str) -> Result<Vec<u32>> {
    let chunks = k
        .g2p()
        .phonemize_with_limit(text, crate::tts::kokoro::MAX_TOKENS)?;
    Ok(chunks
        .iter()
        .flat_map(|c| c.tokens.iter().map(|&t| u32::try_from(t).unwrap_or(0)))
        .collect())
}

/// The English stock voices (`a*`/`b*`), or those of `only` that are installed.
fn english_voices(model: &KokoroModel, only: Option<&[String]>) -> Vec<String> {
    model
        .voices()
        .names()
        .into_iter()
        .filter(|n| n.starts_with('a') || n.starts_with('b'))
        .filter(|n| only.is_none_or(|o| o.iter().any(|x| x == n)))
        .map(String::from)
        .collect()
}

/// Splits 16 kHz speech into a search part and a held-out part at the pause nearest to 60 %
/// of the speech time; `None` when either part would hold under 2 s of speech.
pub fn split_reference(a16: &Audio) -> Option<(Audio, Audio)> {
    let mask = vad::detect(a16);
    let segs = mask.segments();
    let total: f64 = segs.iter().map(|s| s.1 - s.0).sum();
    let mut acc = 0.0;
    let mut best: Option<(f64, f64)> = None; // (distance to 60 %, cut time)
    for w in segs.windows(2) {
        acc += w[0].1 - w[0].0;
        let cut = 0.5 * (w[0].1 + w[1].0);
        let dist = (acc / total - 0.6).abs();
        if acc >= 2.0 && total - acc >= 2.0 && best.is_none_or(|b| dist < b.0) {
            best = Some((dist, cut));
        }
    }
    let cut = match best {
        Some((_, c)) => c,
        // No pause in the right place: cut inside speech at 60 % of the speech time.
        None if total >= 4.0 => {
            let mut acc = 0.0;
            let mut at = None;
            for s in &segs {
                let len = s.1 - s.0;
                if acc + len >= 0.6 * total {
                    at = Some(s.0 + (0.6 * total - acc));
                    break;
                }
                acc += len;
            }
            at?
        }
        None => return None,
    };
    let i = ((cut * 16_000.0) as usize).min(a16.samples.len());
    Some((
        Audio::new(a16.samples[..i].to_vec(), 16_000),
        Audio::new(a16.samples[i..].to_vec(), 16_000),
    ))
}

fn bank(
    sp: &Speaker,
    k: &KokoroSynthesizer,
    ids: &[u32],
    opts: &CloneOptions,
    progress: &dyn Progress,
) -> Result<Vec<BankEntry>> {
    let voices = english_voices(sp.model, opts.voices.as_deref());
    let voices_len = (voices.len() * STYLE_DIM) as u64;
    if let Some(p) = &opts.bank_path {
        if let Ok(text) = std::fs::read_to_string(p) {
            if let Ok(b) = serde_json::from_str::<Bank>(&text) {
                let names: Vec<&str> = b.entries.iter().map(|e| e.voice.as_str()).collect();
                if b.model == KOKORO_MODEL_ID
                    && b.phrase == SEARCH_PHRASE
                    && b.voices_len == voices_len
                    && names == voices.iter().map(String::as_str).collect::<Vec<_>>()
                    && bank_still_heard(sp, ids, &b.entries)?
                {
                    return Ok(b.entries);
                }
            }
        }
    }
    progress.stage("style bank", voices.len() as u64);
    let mut entries = Vec::new();
    for v in &voices {
        if progress.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let style = sp.model.voices().style(v, ids.len())?.to_vec();
        let h = sp.hear(ids, &style, 1.0, None)?;
        entries.push(BankEntry {
            voice: v.clone(),
            embedding: h.embedding,
            syllables_per_s: h.syllables_per_s,
        });
        progress.advance(1);
    }
    let _ = k;
    if let Some(p) = &opts.bank_path {
        let b = Bank {
            model: KOKORO_MODEL_ID.into(),
            phrase: SEARCH_PHRASE.into(),
            voices_len,
            entries: entries.clone(),
        };
        // A cache: failing to write it only costs time next run.
        let tmp = p.with_extension(format!("{}.partial", std::process::id()));
        if std::fs::write(&tmp, serde_json::to_string(&b).unwrap_or_default()).is_ok() {
            let _ = std::fs::rename(&tmp, p);
        }
    }
    Ok(entries)
}

/// Cosine below which a cached bank entry no longer matches what the engine speaks now.
const BANK_STALE_BELOW: f32 = 0.999;

/// Whether a cached bank still matches the engine: its first voice is spoken again and must
/// embed as before (a bank from an earlier build of the synthesis or the encoder, whose
/// numerics differ, would silently pick other start voices).
fn bank_still_heard(sp: &Speaker, ids: &[u32], entries: &[BankEntry]) -> Result<bool> {
    let Some(first) = entries.first() else {
        return Ok(false);
    };
    let style = sp.model.voices().style(&first.voice, ids.len())?.to_vec();
    let h = sp.hear(ids, &style, 1.0, None)?;
    Ok(cosine(&h.embedding, &first.embedding) >= BANK_STALE_BELOW)
}

/// Finds a Kokoro style for the reference `audio` (see the module docs). `analysis` is the
/// reference's analysis (pitch target and rate).
pub fn clone_kokoro(
    k: &KokoroSynthesizer,
    encoder: &VoiceEncoder,
    audio: &Audio,
    analysis: &ReferenceAnalysis,
    opts: &CloneOptions,
    progress: &dyn Progress,
) -> Result<KokoroClone> {
    let t0 = Instant::now();
    let model = k.model();
    let a16 = resample(audio, 16_000)?;
    let channel = if opts.channel_eq {
        Some(long_term_spectrum(&a16)?)
    } else {
        None
    };
    let sp = Speaker {
        model,
        encoder,
        channel: channel.clone(),
    };
    let eo = EmbedOptions::default();
    let (part_a, part_b) = match split_reference(&a16) {
        Some(p) => p,
        None => (a16.clone(), a16.clone()),
    };
    let e_a = encoder.embed_utterance(&part_a, &eo)?;
    let e_b = encoder.embed_utterance(&part_b, &eo)?;
    let (e_a, e_b_speech) = (e_a.embedding.embedding, e_b.speech_s);
    let e_b = e_b.embedding.embedding;
    let search_ids = tokens(k, SEARCH_PHRASE)?;
    let check_ids = tokens(k, CHECK_PHRASE)?;
    // The bank is cached across references: heard without the equaliser.
    let plain = Speaker {
        model,
        encoder,
        channel: None,
    };
    let bank = bank(&plain, k, &search_ids, opts, progress)?;
    let target = reference_log_f0(analysis);
    let target_hz = target.0.exp();
    // The score of heard speech against a part of the reference: raw cosine, or cosine about
    // the stock voices' mean embedding.
    let centre: Option<Vec<f32>> = opts.centred_score.then(|| {
        let n = bank.len().max(1) as f32;
        let mut m = vec![0f32; e_a.len()];
        for e in &bank {
            for (mi, v) in m.iter_mut().zip(&e.embedding) {
                *mi += v / n;
            }
        }
        m
    });
    let judge = |h: &[f32], r: &[f32]| -> f32 {
        match &centre {
            Some(m) => centred_cosine(h, r, m),
            None => cosine(h, r),
        }
    };

    // Speed from the rate of the closest stock voices.
    let mut ranked: Vec<(f32, &BankEntry)> = bank
        .iter()
        .map(|e| (cosine(&e.embedding, &e_a), e))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Starts: the closest voices of the reference's voice family (mapping a male voice's F0
    // up to a female range, or down, strains the vocoder), else any.
    let family = match analysis.gender() {
        super::Gender::Female => 'f',
        super::Gender::Male => 'm',
    };
    let mut starts: Vec<&BankEntry> = ranked
        .iter()
        .filter(|r| r.1.voice.chars().nth(1) == Some(family))
        .take(3)
        .map(|r| r.1)
        .collect();
    if starts.is_empty() {
        starts = ranked.iter().take(3).map(|r| r.1).collect();
    }
    // Where F0 does not tell the family (low female or high male voices), the two closest
    // voices of the other family start too; the heard score (pitch-mapped, through the
    // channel equaliser) decides.
    if (AMBIGUOUS_F0_HZ.0..=AMBIGUOUS_F0_HZ.1).contains(&analysis.f0_median_hz) {
        starts.extend(
            ranked
                .iter()
                .filter(|r| r.1.voice.chars().nth(1).is_some_and(|c| c != family))
                .take(2)
                .map(|r| r.1),
        );
    }
    let speed = if analysis.speaking_rate_syllables_per_s > 0.5 && starts[0].syllables_per_s > 0.5 {
        ((analysis.speaking_rate_syllables_per_s / starts[0].syllables_per_s) as f32)
            .clamp(SPEED_RANGE.0, SPEED_RANGE.1)
    } else {
        1.0
    };

    let total =
        (starts.len() + opts.generations * opts.population + 2 * (opts.finalists + 1)) as u64;
    progress.stage("clone", total);
    let check = |p: &dyn Progress| -> Result<()> {
        if p.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };

    // The basis: English stock voices' rows for the search phrase's length.
    let rows: Vec<Vec<f32>> = english_voices(model, opts.voices.as_deref())
        .iter()
        .map(|v| {
            model
                .voices()
                .style(v, search_ids.len())
                .map(|s| s.to_vec())
        })
        .collect::<Result<_>>()?;
    let basis = StyleBasis::fit(&rows, opts.dims);

    // Candidates: (style, heard on the search phrase, score on A).
    let mut evaluated: Vec<(Vec<f32>, Heard, f32)> = Vec::new();
    let mut rejected = 0usize;
    let mut rejected_by: std::collections::BTreeMap<String, usize> = Default::default();
    let mut start: Option<(Vec<f32>, Heard, f32, String)> = None;
    for s in &starts {
        check(progress)?;
        let style = model.voices().style(&s.voice, search_ids.len())?.to_vec();
        let h = sp.hear(&search_ids, &style, speed, Some(target))?;
        let score = judge(&h.embedding, &e_a);
        progress.advance(1);
        if start.as_ref().is_none_or(|b| score > b.2) {
            start = Some((style.clone(), h.clone(), score, s.voice.clone()));
        }
        evaluated.push((style, h, score));
    }
    let (start_style, start_heard, start_score, base_voice) =
        start.expect("at least one English stock voice");

    // (μ/μ, λ) evolution strategy in the basis, from the best start.
    let mut rng = Rng(opts.seed);
    let mut mean = basis.coords(&start_style);
    let mut step = opts.step;
    let mut best_score = start_score;
    let parents = (opts.population / 2).max(1);
    for _ in 0..opts.generations {
        let mut gen: Vec<(Vec<f64>, f32)> = Vec::new();
        for _ in 0..opts.population {
            check(progress)?;
            let c: Vec<f64> = mean
                .iter()
                .map(|m| (m + step * rng.normal()).clamp(-BOUND_SD, BOUND_SD))
                .collect();
            let style = basis.place(&start_style, &c, BOUND_SD);
            let h = sp.hear(&search_ids, &style, speed, Some(target))?;
            progress.advance(1);
            if let Some(why) = guard_failure(&h, &start_heard, target_hz) {
                rejected += 1;
                *rejected_by.entry(why.to_string()).or_insert(0) += 1;
                continue;
            }
            let score = judge(&h.embedding, &e_a);
            gen.push((c, score));
            evaluated.push((style, h, score));
        }
        if gen.is_empty() {
            step *= 0.6;
            continue;
        }
        gen.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top = &gen[..parents.min(gen.len())];
        // Weighted recombination of the best, log-rank weights.
        let w: Vec<f64> = (0..top.len())
            .map(|i| ((top.len() as f64 + 0.5).ln() - ((i + 1) as f64).ln()).max(1e-3))
            .collect();
        let ws: f64 = w.iter().sum();
        mean = (0..mean.len())
            .map(|d| top.iter().zip(&w).map(|(t, wi)| t.0[d] * wi).sum::<f64>() / ws)
            .collect();
        if gen[0].1 > best_score {
            best_score = gen[0].1;
            step *= 1.15;
        } else {
            step *= 0.7;
        }
    }

    // Finalists: the start and the best candidates by A, judged on the held-out part B with
    // both phrases.
    evaluated.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut finalists: Vec<(Vec<f32>, Heard)> = vec![(start_style.clone(), start_heard.clone())];
    for (s, h, _) in &evaluated {
        if finalists.len() > opts.finalists {
            break;
        }
        if finalists.iter().all(|f| f.0 != *s) {
            finalists.push((s.clone(), h.clone()));
        }
    }
    let mut chosen: Option<(usize, f64, f64, (f64, f64), Option<Spectrum>)> = None;
    let mut start_held_out = 0.0;
    for (i, (style, h1)) in finalists.iter().enumerate() {
        check(progress)?;
        let h2 = sp.hear(&check_ids, style, speed, Some(target))?;
        progress.advance(2);
        let held = 0.5 * (judge(&h1.embedding, &e_b) + judge(&h2.embedding, &e_b)) as f64;
        let search = 0.5 * (judge(&h1.embedding, &e_a) + judge(&h2.embedding, &e_a)) as f64;
        if i == 0 {
            start_held_out = held;
        }
        if i > 0 && guard_failure(&h2, &start_heard, target_hz).is_some() {
            continue;
        }
        let mut stats = match (h1.kokoro_log_f0, h2.kokoro_log_f0) {
            (Some(a), Some(b)) => (0.5 * (a.0 + b.0), 0.5 * (a.1 + b.1)),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => target,
        };
        // Calibration: the median F0 heard in the mapped speech (same tracker as the
        // reference's) against the target; the predicted curve's mean is not the heard
        // median (transitions, the vocoder), so shift the map's source by the difference.
        let heard: Vec<f64> = [h1.f0_median, h2.f0_median]
            .into_iter()
            .filter(|&f| f > 0.0)
            .collect();
        if !heard.is_empty() {
            let off = heard.iter().map(|f| (f / target_hz).ln()).sum::<f64>() / heard.len() as f64;
            stats.0 += off.clamp(-0.3, 0.3);
        }
        if chosen.as_ref().is_none_or(|c| held > c.1) {
            let heard = [&h1.spectrum, &h2.spectrum]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>();
            chosen = Some((i, held, search, stats, Spectrum::combine(&heard)));
        }
    }
    let (i, held, search, stats, heard) = chosen.expect("the start is always a finalist");
    let channel_eq = match (&channel, &heard) {
        (Some(t), Some(h)) => Some(ChannelEq::fit(t, h, CHANNEL_EQ_MAX_DB)),
        _ => None,
    };
    let _ = start_score;
    Ok(KokoroClone {
        model: KOKORO_MODEL_ID.into(),
        method: CLONE_METHOD.into(),
        style: finalists[i].0.clone(),
        base_voice,
        speed,
        kokoro_log_f0: stats,
        target_log_f0: target,
        search: CloneReport {
            search_speech_s: vad::detect(&part_a).speech_s(),
            held_out_speech_s: e_b_speech,
            start_held_out,
            chosen_held_out: held,
            chosen_search: search,
            evaluations: evaluated.len() + rejected + finalists.len(),
            rejected,
            rejected_by,
            seconds: t0.elapsed().as_secs_f64(),
        },
        channel_eq,
    })
}

/// The highest normalised cross-correlation between any `window_s` window of `output`
/// (hop half a window) and any stretch of `reference` (same sample rate, any lag):
/// `Σ w·r / (‖w‖ · ‖r_lag‖)`, after removing DC and rumble under 20 Hz from both. 1 means the window is a (scaled) copy of part of the
/// reference; unrelated speech stays far below. Windows more than 10 dB quieter than the
/// output's mean level are skipped (mostly pauses: a few milliseconds of sound in them can
/// match anything).
pub fn max_window_ncc(output: &[f32], reference: &[f32], sample_rate: u32, window_s: f64) -> f64 {
    use realfft::RealFftPlanner;
    let w = (window_s * sample_rate as f64).round() as usize;
    if w == 0 || output.len() < w || reference.len() < w {
        return 0.0;
    }
    // Both through a DC blocker (one-pole high-pass near 20 Hz): an offset or rumble shared
    // by two recordings correlates without any audio being copied.
    let block = |x: &[f32]| -> Vec<f32> {
        let a = (-2.0 * std::f64::consts::PI * 20.0 / sample_rate as f64).exp();
        let (mut px, mut py) = (0.0f64, 0.0f64);
        x.iter()
            .map(|&v| {
                let y = v as f64 - px + a * py;
                px = v as f64;
                py = y;
                y as f32
            })
            .collect()
    };
    let (output, reference) = (&block(output)[..], &block(reference)[..]);
    let n = (reference.len() + w).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut rbuf: Vec<f64> = reference.iter().map(|&x| x as f64).collect();
    rbuf.resize(n, 0.0);
    let mut rspec = fwd.make_output_vec();
    fwd.process(&mut rbuf, &mut rspec).expect("fft sizes match");
    // Running energy of the reference over every window position.
    let mut cum = vec![0.0f64; reference.len() + 1];
    for (i, &x) in reference.iter().enumerate() {
        cum[i + 1] = cum[i] + (x as f64) * (x as f64);
    }
    let out_energy_floor = 0.1 * w as f64 * {
        let e: f64 = output.iter().map(|&x| (x as f64).powi(2)).sum::<f64>();
        e / output.len() as f64
    };
    let mut best = 0.0f64;
    let mut wspec = fwd.make_output_vec();
    let mut corr = inv.make_output_vec();
    let mut start = 0;
    while start + w <= output.len() {
        let win = &output[start..start + w];
        let we: f64 = win.iter().map(|&x| (x as f64).powi(2)).sum();
        if we > out_energy_floor && we > 1e-9 {
            // Correlation = IFFT(conj(W) · R): reverse-free form via conjugate.
            let mut wbuf: Vec<f64> = win.iter().map(|&x| x as f64).collect();
            wbuf.resize(n, 0.0);
            fwd.process(&mut wbuf, &mut wspec).expect("fft sizes match");
            let mut prod: Vec<realfft::num_complex::Complex<f64>> = rspec
                .iter()
                .zip(&wspec)
                .map(|(r, q)| r * q.conj())
                .collect();
            // The inverse of a real signal's spectrum needs real DC and Nyquist bins.
            prod[0].im = 0.0;
            let last = prod.len() - 1;
            prod[last].im = 0.0;
            inv.process(&mut prod, &mut corr).expect("fft sizes match");
            let wn = we.sqrt();
            for lag in 0..=reference.len() - w {
                let re = cum[lag + w] - cum[lag];
                if re <= 1e-9 {
                    continue;
                }
                let c = corr[lag] / n as f64 / (wn * re.sqrt());
                if c > best {
                    best = c;
                }
            }
        }
        start += w / 2;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ncc_finds_a_copy_and_not_unrelated_noise() {
        let mut rng = Rng(3);
        let reference: Vec<f32> = (0..48_000).map(|_| rng.normal() as f32 * 0.1).collect();
        // A copy of 1.5 s of the reference, scaled, inside other noise.
        let mut out: Vec<f32> = (0..16_000).map(|_| rng.normal() as f32 * 0.1).collect();
        out.extend(reference[20_000..44_000].iter().map(|x| x * 0.5));
        let c = max_window_ncc(&out, &reference, 16_000, 1.0);
        assert!(c > 0.99, "{c}");
        let other: Vec<f32> = (0..32_000).map(|_| rng.normal() as f32 * 0.1).collect();
        let c = max_window_ncc(&other, &reference, 16_000, 1.0);
        assert!(c < 0.1, "{c}");
    }

    #[test]
    fn f0_map_moves_mean_and_scales_spread() {
        let curve: Vec<f32> = vec![0.0, 100.0, 200.0, 5.0, 400.0, 150.0, 120.0];
        let from = log_f0_stats(&curve).unwrap();
        let to = (150f64.ln(), from.1 * 0.8);
        let out = map_f0(&curve, from, to);
        assert_eq!(out[0], 0.0);
        assert_eq!(out[3], 5.0);
        let got = log_f0_stats(&out).unwrap();
        assert!((got.0 - to.0).abs() < 1e-4, "{got:?}");
        assert!((got.1 - to.1).abs() < 1e-4, "{got:?}");
        // Spread ratio is bounded.
        let out = map_f0(&curve, from, (150f64.ln(), from.1 * 10.0));
        let got = log_f0_stats(&out).unwrap();
        assert!((got.1 / from.1 - SPREAD_RATIO_RANGE.1).abs() < 1e-4);
    }

    #[test]
    fn basis_places_within_bounds_and_keeps_the_rest() {
        let mut rng = Rng(1);
        let rows: Vec<Vec<f32>> = (0..20)
            .map(|_| (0..STYLE_DIM).map(|_| rng.normal() as f32).collect())
            .collect();
        let b = StyleBasis::fit(&rows, 4);
        assert_eq!(b.dirs.len(), 4);
        assert!(b.sd.windows(2).all(|p| p[0] >= p[1] * 0.999));
        let x = b.place(&rows[0], &[1.0, -9.0, 0.5, 0.0], 2.5);
        let c = b.coords(&x);
        assert!(
            (c[0] - 1.0).abs() < 1e-2 && (c[1] + 2.5).abs() < 1e-2,
            "{c:?}"
        );
        // Nothing changes outside the basis.
        let dx: Vec<f64> = x
            .iter()
            .zip(&rows[0])
            .map(|(a, b)| (a - b) as f64)
            .collect();
        let resid: f64 = {
            let mut r = dx.clone();
            for v in &b.dirs {
                let p: f64 = v.iter().zip(&dx).map(|(a, b)| a * b).sum();
                for (ri, vi) in r.iter_mut().zip(v) {
                    *ri -= p * vi;
                }
            }
            r.iter().map(|v| v * v).sum::<f64>().sqrt()
        };
        assert!(resid < 1e-3, "{resid}");
    }
}
