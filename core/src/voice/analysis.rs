//! Reference analysis: how long the speech is, its pitch (F0 by YIN), speaking
//! rate (syllable nuclei per second), loudness, clipping; and the errors that
//! make a recording unusable as a voice reference.

use serde::{Deserialize, Serialize};

use super::vad;
use crate::audio::{db, loudness, resample, Audio};
use crate::{Error, Result};

/// Least speech a reference must hold, seconds.
pub const MIN_SPEECH_S: f64 = 3.0;
/// Below this much speech the analysis warns that the voice may be matched poorly.
pub const RECOMMENDED_SPEECH_S: f64 = 10.0;
/// Share of voiced time in steady-pitch notes (see [`ReferenceAnalysis::flat_pitch_share`])
/// above which a reference is music or tones, not speech.
pub const MAX_FLAT_PITCH_SHARE: f64 = 0.35;
/// Longest reference accepted, seconds.
pub const MAX_REFERENCE_S: f64 = 600.0;
/// Share of speech frames with clipped samples above which a reference is refused.
pub const MAX_CLIPPED_SHARE: f64 = 0.5;
/// F0 that separates the likely-male from the likely-female voice family, Hz.
pub const GENDER_SPLIT_HZ: f64 = 160.0;

/// The likely voice family, from the median F0 (used to pick an engine voice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Median F0 at or above [`GENDER_SPLIT_HZ`].
    Female,
    /// Median F0 below [`GENDER_SPLIT_HZ`].
    Male,
}

/// What the analysis of a reference recording found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceAnalysis {
    /// Length of the recording, seconds.
    pub duration_s: f64,
    /// Seconds of detected speech.
    pub speech_s: f64,
    /// Where speech starts (leading silence trimmed), seconds.
    pub speech_start_s: f64,
    /// Where speech ends (trailing silence trimmed), seconds.
    pub speech_end_s: f64,
    /// Median F0 of voiced frames, Hz.
    pub f0_median_hz: f64,
    /// Spread of F0: standard deviation in semitones.
    pub f0_spread_semitones: f64,
    /// 10th and 90th percentiles of F0, Hz.
    pub f0_p10_p90_hz: (f64, f64),
    /// Share of speech frames that are voiced.
    pub voiced_share: f64,
    /// Syllable nuclei per second of speech.
    pub speaking_rate_syllables_per_s: f64,
    /// Integrated loudness, LUFS.
    pub loudness_lufs: f64,
    /// Peak sample level, dBFS.
    pub peak_dbfs: f64,
    /// Share of speech frames with clipped samples.
    pub clipped_share: f64,
    /// Non-fatal findings (e.g. little speech).
    pub warnings: Vec<String>,
    /// Share of voiced frames inside steady-pitch notes: runs of at least 250 ms whose F0
    /// stays within half a semitone of the run's start. Speech glides; music holds notes.
    #[serde(default)]
    pub flat_pitch_share: f64,
}

impl ReferenceAnalysis {
    /// Analyses a reference recording. `what` names it in errors and warnings.
    ///
    /// Errors: [`Error::EmptyAudio`], [`Error::InvalidSamples`], [`Error::Silence`],
    /// [`Error::AudioTooShort`] (under [`MIN_SPEECH_S`] of speech),
    /// [`Error::AudioTooLong`], [`Error::Clipped`].
    pub fn of(audio: &Audio, what: &str) -> Result<ReferenceAnalysis> {
        audio.validate(what)?;
        let duration_s = audio.duration_s();
        if duration_s > MAX_REFERENCE_S {
            return Err(Error::AudioTooLong {
                what: what.into(),
                seconds: duration_s,
                limit_s: MAX_REFERENCE_S,
            });
        }
        let peak_dbfs = db(audio.peak() as f64);
        if peak_dbfs < -60.0 {
            return Err(Error::Silence {
                what: what.into(),
                peak_dbfs,
            });
        }
        let a16 = resample(audio, 16_000)?;
        let mask = vad::detect(&a16);
        let speech_s = mask.speech_s();
        let segments = mask.segments();
        if segments.is_empty() {
            return Err(Error::Silence {
                what: what.into(),
                peak_dbfs,
            });
        }
        if speech_s < MIN_SPEECH_S {
            return Err(Error::AudioTooShort {
                what: what.into(),
                speech_s,
                need_s: MIN_SPEECH_S,
            });
        }
        let clipped_share = clipped_share(audio, &mask);
        if clipped_share > MAX_CLIPPED_SHARE {
            return Err(Error::Clipped {
                what: what.into(),
                clipped_percent: clipped_share * 100.0,
            });
        }
        let mut warnings = Vec::new();
        if speech_s < RECOMMENDED_SPEECH_S {
            warnings.push(format!(
                "{what} has only {speech_s:.1} s of speech; {RECOMMENDED_SPEECH_S:.0} s or more gives a closer voice"
            ));
        }
        if clipped_share > 0.05 {
            warnings.push(format!(
                "{what} is clipped in {:.0}% of its speech",
                clipped_share * 100.0
            ));
        }
        let f0 = track_f0(&a16, &mask);
        let voiced: Vec<f64> = f0.iter().flatten().copied().collect();
        let speech_frames = mask.frames.iter().filter(|&&s| s).count().max(1);
        let (f0_median_hz, f0_spread_semitones, p10, p90) = if voiced.len() >= 10 {
            let mut v = voiced.clone();
            v.sort_by(|a, b| a.total_cmp(b));
            let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
            let med = q(0.5);
            let st: Vec<f64> = v.iter().map(|f| 12.0 * (f / med).log2()).collect();
            let mean = st.iter().sum::<f64>() / st.len() as f64;
            let sd = (st.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / st.len() as f64).sqrt();
            (med, sd, q(0.1), q(0.9))
        } else {
            warnings.push(format!(
                "{what}: too few voiced frames to measure pitch; using a neutral pitch"
            ));
            (150.0, 2.5, 120.0, 190.0)
        };
        let rate = speaking_rate(&mask, &f0, speech_s);
        let flat_pitch_share = flat_share(&f0);
        let loudness_lufs = loudness::measure(audio)
            .map(|l| l.integrated_lufs)
            .unwrap_or(f64::NEG_INFINITY);
        Ok(ReferenceAnalysis {
            duration_s,
            speech_s,
            speech_start_s: segments[0].0,
            speech_end_s: segments[segments.len() - 1].1.min(duration_s),
            f0_median_hz,
            f0_spread_semitones,
            f0_p10_p90_hz: (p10, p90),
            voiced_share: voiced.len() as f64 / speech_frames as f64,
            speaking_rate_syllables_per_s: rate,
            loudness_lufs,
            peak_dbfs,
            clipped_share,
            warnings,
            flat_pitch_share,
        })
    }

    /// Why this does not sound like speech, if it does not: steady notes (over
    /// [`MAX_FLAT_PITCH_SHARE`] of voiced time: music, tones). (A low voiced share is not
    /// used: the tracker finds few voiced frames in some clean male voices of ../shared.)
    pub fn speech_check(&self) -> Option<String> {
        if self.flat_pitch_share > MAX_FLAT_PITCH_SHARE {
            return Some(format!(
                "{:.0}% of its voiced sound is held notes of a steady pitch, as in music",
                self.flat_pitch_share * 100.0
            ));
        }
        None
    }

    /// The likely voice family from the median F0.
    pub fn gender(&self) -> Gender {
        if self.f0_median_hz >= GENDER_SPLIT_HZ {
            Gender::Female
        } else {
            Gender::Male
        }
    }
}

/// Median F0 (Hz; 0 when nothing is voiced), voiced share of the speech frames and
/// syllable rate of a 16 kHz recording of any length (no minimum, no errors): for measuring
/// synthesized speech.
pub fn quick_pitch(a16: &Audio) -> (f64, f64, f64) {
    let mask = vad::detect(a16);
    let f0 = track_f0(a16, &mask);
    let mut v: Vec<f64> = f0.iter().flatten().copied().collect();
    let speech = mask.frames.iter().filter(|&&s| s).count();
    if v.is_empty() || speech == 0 {
        return (0.0, 0.0, 0.0);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let rate = speaking_rate(&mask, &f0, mask.speech_s());
    (v[v.len() / 2], v.len() as f64 / speech as f64, rate)
}

/// Share of voiced frames in runs of ≥ 25 frames (250 ms) within half a semitone of the
/// run's first frame.
pub fn flat_share(f0: &[Option<f64>]) -> f64 {
    const MIN_RUN: usize = 25;
    let voiced = f0.iter().flatten().count();
    if voiced == 0 {
        return 0.0;
    }
    let mut flat = 0usize;
    let mut i = 0;
    while i < f0.len() {
        let Some(start) = f0[i] else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < f0.len() && f0[j].is_some_and(|f| (12.0 * (f / start).log2()).abs() <= 0.5) {
            j += 1;
        }
        if j - i >= MIN_RUN {
            flat += j - i;
            i = j;
        } else {
            i += 1;
        }
    }
    flat as f64 / voiced as f64
}

/// Share of speech frames (10 ms) holding at least two consecutive samples at full scale.
fn clipped_share(audio: &Audio, mask: &vad::SpeechMask) -> f64 {
    let hop = (vad::HOP_S * audio.sample_rate as f64).round().max(1.0) as usize;
    let full = 0.999f32;
    let (mut speech, mut clipped) = (0usize, 0usize);
    for (f, &is_speech) in mask.frames.iter().enumerate() {
        if !is_speech {
            continue;
        }
        speech += 1;
        let a = (f * hop).min(audio.samples.len());
        let b = (a + hop + 1).min(audio.samples.len());
        if audio.samples[a..b]
            .windows(2)
            .any(|w| w[0].abs() >= full && w[1].abs() >= full)
        {
            clipped += 1;
        }
    }
    clipped as f64 / speech.max(1) as f64
}

/// F0 per detector frame (10 ms hop) over speech frames; `None` where unvoiced.
///
/// pYIN (Mauch & Dixon 2014) in short: YIN's cumulative-mean normalised difference
/// (de Cheveigné & Kawahara 2002) gives the period candidates of a frame (its local minima,
/// refined by parabolic interpolation). Instead of one threshold, a spread of thresholds
/// (a Beta(2, 18) prior, mean 0.1) each votes for the *first* dip under it; a candidate's
/// probability is the mass of the thresholds it wins, and the mass no dip wins is the
/// probability of "unvoiced"; only the vote shares among the candidates are used here. A Viterbi pass then picks one state per frame, paying for
/// pitch jumps (per semitone beyond one) and for voicing switches. A voiced state also pays
/// for its dip depth (a frame whose best dip is shallower than [`UNVOICED_DIP`] leans
/// unvoiced). Plain YIN's first dip
/// under a fixed 0.15 jumps an octave up on voices whose second harmonic is strong (common
/// in male voices) and an octave down where the true dip just misses the threshold; with
/// the path, a jump must pay for itself over many frames.
pub fn track_f0(a16: &Audio, mask: &vad::SpeechMask) -> Vec<Option<f64>> {
    let sr = a16.sample_rate as f64;
    let hop = (vad::HOP_S * sr).round() as usize;
    let win = (YIN_WINDOW_S * sr) as usize;
    let (tau_min, tau_max) = ((sr / 500.0) as usize, (sr / 60.0) as usize);
    let x = &a16.samples;
    let mut d = vec![0.0f64; tau_max + 2];
    let prior = threshold_prior();
    let cands: Vec<Vec<(f64, f64, f64)>> = mask
        .frames
        .iter()
        .enumerate()
        .map(|(f, &speech)| {
            let a = f * hop;
            if !speech || a + win + tau_max + 1 > x.len() {
                return Vec::new();
            }
            yin_candidates(
                &x[a..a + win + tau_max + 1],
                win,
                tau_min,
                tau_max,
                &mut d,
                &prior,
            )
            .into_iter()
            .map(|(tau, p, dip)| (sr / tau, p, dip))
            .collect()
        })
        .collect();
    viterbi_f0(&cands)
}

/// Length of the difference window, seconds: two periods at 50 Hz. (25 ms found more voiced
/// frames on the shared clips but more frames an octave off: 2.9 % against 1.7 %.)
pub const YIN_WINDOW_S: f64 = 0.040;

/// Thresholds 0.01, 0.02, … 1.00 and their Beta(2, 18) prior weights (summing to 1).
fn threshold_prior() -> Vec<(f64, f64)> {
    let raw: Vec<(f64, f64)> = (1..=100)
        .map(|k| {
            let s = k as f64 / 100.0;
            (s, s * (1.0 - s).powi(17))
        })
        .collect();
    let total: f64 = raw.iter().map(|r| r.1).sum();
    raw.into_iter().map(|(s, w)| (s, w / total)).collect()
}

/// Cost per semitone of F0 jump between consecutive voiced frames, beyond one semitone.
const JUMP_COST: f64 = 0.35;
/// Cost of switching between voiced and unvoiced.
const VOICING_SWITCH_COST: f64 = 1.0;
/// Cost per unit of dip depth of a voiced state; unvoiced costs [`UNVOICED_DIP`] times it,
/// so frames whose best dip is deeper than that lean voiced.
const DIP_COST: f64 = 5.0;
/// The dip depth at which voiced and unvoiced cost the same.
pub const UNVOICED_DIP: f64 = 0.3;
/// Weight of −ln(share of the threshold votes) in a candidate's cost.
const VOTE_COST: f64 = 0.5;
/// Floor of a vote share.
const MIN_PROB: f64 = 1e-4;

/// YIN's difference function over `x` (window `win`); its candidates `(lag, vote share,
/// dip depth)` in lag order: every local minimum that is the first under some threshold of
/// `prior`, with the share of the prior's votes it wins among the candidates.
fn yin_candidates(
    x: &[f32],
    win: usize,
    tau_min: usize,
    tau_max: usize,
    d: &mut [f64],
    prior: &[(f64, f64)],
) -> Vec<(f64, f64, f64)> {
    let energy: f64 = x[..win].iter().map(|&v| (v as f64).powi(2)).sum();
    if energy < 1e-8 {
        return Vec::new();
    }
    d[0] = 1.0;
    let mut running = 0.0;
    for tau in 1..=tau_max {
        let mut s = 0.0f64;
        for j in 0..win {
            let diff = (x[j] - x[j + tau]) as f64;
            s += diff * diff;
        }
        running += s;
        d[tau] = if running > 0.0 {
            s * tau as f64 / running
        } else {
            1.0
        };
    }
    // Local minima in lag order, each with the depth that the running minimum reached.
    let mut dips: Vec<(f64, f64)> = Vec::new();
    let mut lowest = f64::INFINITY;
    for tau in tau_min.max(1)..tau_max {
        let (a, b, c) = (d[tau - 1], d[tau], d[tau + 1]);
        if b < a && b <= c && b < lowest {
            lowest = b;
            let den = a - 2.0 * b + c;
            let shift = if den.abs() > 1e-12 {
                (0.5 * (a - c) / den).clamp(-1.0, 1.0)
            } else {
                0.0
            };
            dips.push((tau as f64 + shift, b));
        }
    }
    // Each threshold votes for the first dip under it.
    let mut out: Vec<(f64, f64, f64)> = dips.iter().map(|&(t, v)| (t, 0.0, v)).collect();
    for &(s, w) in prior {
        if let Some(i) = dips.iter().position(|&(_, v)| v < s) {
            out[i].1 += w;
        }
    }
    let total: f64 = out.iter().map(|c| c.1).sum();
    out.retain(|c| c.1 > 1e-3 * total.max(1e-12));
    for c in &mut out {
        c.1 /= total;
    }
    out
}

/// The cheapest path through per-frame candidates `(f0 Hz, vote share, dip)` (see
/// [`track_f0`]).
fn viterbi_f0(cands: &[Vec<(f64, f64, f64)>]) -> Vec<Option<f64>> {
    let n = cands.len();
    if n == 0 {
        return Vec::new();
    }
    let cost_of = |c: &(f64, f64, f64)| -VOTE_COST * c.1.max(MIN_PROB).ln() + DIP_COST * c.2;
    let unvoiced = |_: &[(f64, f64, f64)]| DIP_COST * UNVOICED_DIP;
    // State 0 is unvoiced; state i + 1 is candidate i.
    let mut cost: Vec<f64> = std::iter::once(unvoiced(&cands[0]))
        .chain(cands[0].iter().map(cost_of))
        .collect();
    let mut back: Vec<Vec<usize>> = Vec::with_capacity(n);
    back.push(vec![0; cost.len()]);
    for t in 1..n {
        let prev = &cands[t - 1];
        let cur = &cands[t];
        let mut next = Vec::with_capacity(cur.len() + 1);
        let mut bp = Vec::with_capacity(cur.len() + 1);
        let (mut best, mut arg) = (cost[0], 0);
        for (j, c) in cost.iter().enumerate().skip(1) {
            if c + VOICING_SWITCH_COST < best {
                best = c + VOICING_SWITCH_COST;
                arg = j;
            }
        }
        next.push(best + unvoiced(cur));
        bp.push(arg);
        for c in cur {
            let (mut best, mut arg) = (cost[0] + VOICING_SWITCH_COST, 0);
            for (j, p) in prev.iter().enumerate() {
                let jump = (12.0 * (c.0 / p.0).log2()).abs();
                let v = cost[j + 1] + JUMP_COST * (jump - 1.0).max(0.0);
                if v < best {
                    best = v;
                    arg = j + 1;
                }
            }
            next.push(best + cost_of(c));
            bp.push(arg);
        }
        cost = next;
        back.push(bp);
    }
    let mut state = cost
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap_or(0);
    let mut out = vec![None; n];
    for t in (0..n).rev() {
        if state > 0 {
            out[t] = Some(cands[t][state - 1].0);
        }
        state = back[t][state];
    }
    out
}

/// The old tracker, kept for comparison in tests: YIN's first dip under 0.15 per frame,
/// no path.
pub fn track_f0_plain_yin(a16: &Audio, mask: &vad::SpeechMask) -> Vec<Option<f64>> {
    let sr = a16.sample_rate as f64;
    let hop = (vad::HOP_S * sr).round() as usize;
    let win = (0.040 * sr) as usize;
    let (tau_min, tau_max) = ((sr / 500.0) as usize, (sr / 60.0) as usize);
    let x = &a16.samples;
    let mut d = vec![0.0f64; tau_max + 2];
    mask.frames
        .iter()
        .enumerate()
        .map(|(f, &speech)| {
            let a = f * hop;
            if !speech || a + win + tau_max + 1 > x.len() {
                return None;
            }
            yin(&x[a..a + win + tau_max + 1], win, tau_min, tau_max, &mut d).map(|tau| sr / tau)
        })
        .collect()
}

/// YIN (de Cheveigné & Kawahara 2002): the lag of the first dip of the cumulative-mean
/// normalised difference under 0.15, refined by parabolic interpolation.
fn yin(x: &[f32], win: usize, tau_min: usize, tau_max: usize, d: &mut [f64]) -> Option<f64> {
    let energy: f64 = x[..win].iter().map(|&v| (v as f64).powi(2)).sum();
    if energy < 1e-8 {
        return None;
    }
    d[0] = 1.0;
    let mut running = 0.0;
    for tau in 1..=tau_max {
        let mut s = 0.0f64;
        for j in 0..win {
            let diff = (x[j] - x[j + tau]) as f64;
            s += diff * diff;
        }
        running += s;
        d[tau] = if running > 0.0 {
            s * tau as f64 / running
        } else {
            1.0
        };
    }
    let mut tau = tau_min;
    while tau < tau_max {
        if d[tau] < 0.15 {
            while tau + 1 < tau_max && d[tau + 1] < d[tau] {
                tau += 1;
            }
            let (a, b, c) = (d[tau - 1], d[tau], d[tau + 1]);
            let den = a - 2.0 * b + c;
            let shift = if den.abs() > 1e-12 {
                0.5 * (a - c) / den
            } else {
                0.0
            };
            return Some(tau as f64 + shift.clamp(-1.0, 1.0));
        }
        tau += 1;
    }
    None
}

/// Syllable nuclei per second: peaks of the frame level inside voiced speech that
/// rise at least 2 dB over the dip before them and lie at least 100 ms apart
/// (after de Jong & Wempe 2009).
fn speaking_rate(mask: &vad::SpeechMask, f0: &[Option<f64>], speech_s: f64) -> f64 {
    // Smooth the level over 3 frames.
    let l = &mask.levels_db;
    let n = l.len();
    let sm: Vec<f32> = (0..n)
        .map(|i| (l[i.saturating_sub(1)] + l[i] + l[(i + 1).min(n - 1)]) / 3.0)
        .collect();
    let min_sep = (0.1 / vad::HOP_S) as usize;
    let mut peaks = 0usize;
    let mut last_peak: Option<usize> = None;
    let mut dip = f32::INFINITY;
    for i in 1..n.saturating_sub(1) {
        dip = dip.min(sm[i]);
        let is_peak = sm[i] >= sm[i - 1] && sm[i] > sm[i + 1];
        if is_peak
            && mask.frames[i]
            && f0.get(i).is_some_and(|f| f.is_some())
            && sm[i] - dip >= 2.0
            && sm[i] > mask.threshold_db
        {
            if last_peak.is_none_or(|p| i - p >= min_sep) {
                peaks += 1;
                last_peak = Some(i);
                dip = sm[i];
            }
        }
        if !mask.frames[i] {
            dip = f32::INFINITY.min(sm[i]);
        }
    }
    if speech_s > 0.0 {
        peaks as f64 / speech_s
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buzz with harmonics at `f0`, amplitude-modulated at 4 Hz like syllables.
    fn buzz(f0: f64, secs: f64) -> Audio {
        let sr = 16000.0;
        let n = (secs * sr) as usize;
        let s = (0..n)
            .map(|i| {
                let t = i as f64 / sr;
                let env = (std::f64::consts::PI * 4.0 * t).sin().abs();
                let v: f64 = (1..6)
                    .map(|k| (2.0 * std::f64::consts::PI * f0 * k as f64 * t).sin() / k as f64)
                    .sum();
                (0.2 * env * v) as f32
            })
            .collect();
        Audio::new(s, 16000)
    }

    #[test]
    fn f0_and_rate_of_a_synthetic_voice() {
        let a = ReferenceAnalysis::of(&buzz(120.0, 12.0), "buzz").unwrap();
        assert!((a.f0_median_hz - 120.0).abs() < 3.0, "{a:?}");
        assert!(a.f0_spread_semitones < 1.0);
        assert_eq!(a.gender(), Gender::Male);
        assert!((a.speaking_rate_syllables_per_s - 4.0).abs() < 1.5, "{a:?}");
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        let b = ReferenceAnalysis::of(&buzz(220.0, 4.0), "buzz").unwrap();
        assert!((b.f0_median_hz - 220.0).abs() < 5.0);
        assert_eq!(b.gender(), Gender::Female);
        assert_eq!(b.warnings.len(), 1, "short reference warns");
    }

    #[test]
    fn errors() {
        let silent = Audio::new(vec![0.0; 160_000], 16000);
        assert!(matches!(
            ReferenceAnalysis::of(&silent, "s"),
            Err(Error::Silence { .. })
        ));
        assert!(matches!(
            ReferenceAnalysis::of(&buzz(120.0, 1.0), "s"),
            Err(Error::AudioTooShort { .. })
        ));
        // Over-driven speech: bursts 0.4 s long with 0.3 s pauses, clipped nearly throughout.
        let clipped = Audio::new(
            buzz(120.0, 6.0)
                .samples
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    if (i % 11_200) < 6_400 {
                        (x * 50.0).clamp(-1.0, 1.0)
                    } else {
                        0.0
                    }
                })
                .collect(),
            16000,
        );
        assert!(matches!(
            ReferenceAnalysis::of(&clipped, "c"),
            Err(Error::Clipped { .. })
        ));
        assert!(matches!(
            ReferenceAnalysis::of(&Audio::new(vec![], 16000), "e"),
            Err(Error::EmptyAudio { .. })
        ));
    }
}
