//! Voice embeddings: [`VoiceEncoder`] runs the GE2E speaker encoder over a
//! recording exactly as Resemblyzer 0.1.4 does, and [`VoiceEmbedding`] holds the
//! result with the id of the model that made it.
//!
//! The pipeline (Resemblyzer's `preprocess_wav` + `embed_utterance`):
//! 1. mono 16 kHz;
//! 2. *preprocessing* (the default; skipped with [`EmbedOptions::raw`]): volume
//!    raised to −30 dBFS RMS (never lowered), then long silences trimmed with the
//!    WebRTC VAD (aggressiveness 3, 30 ms windows, moving average over 8
//!    windows, dilation by 3 windows each side);
//! 3. partials of 160 mel frames (1.6 s) every 77 frames (1.3 per second), the
//!    last kept if it covers ≥ 75 %; the signal is zero-padded to the last partial;
//! 4. each partial through the network, the mean of the partial embeddings L2-normalised.

use std::ops::Range;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::ge2e::{Ge2e, Ge2eConfig};
use super::mel::{MelConfig, MelSpectrogram};
use crate::audio::{resample, Audio};
use crate::{Error, Result};

/// Id of the bundled speaker encoder; stored in every embedding and profile.
pub const GE2E_MODEL_ID: &str = "ge2e-resemblyzer-0.1.4";
/// The bundled weights (`models/ge2e/ge2e.safetensors`, converted from Resemblyzer 0.1.4, Apache-2.0).
static GE2E_WEIGHTS: &[u8] = include_bytes!("../../../models/ge2e/ge2e.safetensors");
/// SHA-256 of the bundled weights file.
pub const GE2E_WEIGHTS_SHA256: &str =
    "992a4c5dcad5df0adc50a6e80822d467397232f32cb3217c5a5707217260f220";
/// Cosine similarity at or above which two embeddings are judged the same speaker:
/// the equal-error-rate threshold measured on the shared LibriSpeech clips (docs/voice.md).
pub const SAME_SPEAKER_THRESHOLD: f32 = 0.756;

/// Sample rate the encoder works at.
pub const ENCODER_RATE: u32 = 16_000;
/// Mel frames per partial utterance (1.6 s).
pub const PARTIAL_FRAMES: usize = 160;
/// Longest audio one call embeds, seconds.
pub const MAX_EMBED_S: f64 = 3600.0;
const VAD_WINDOW: usize = 480; // 30 ms at 16 kHz
const VAD_AVERAGE_WIDTH: usize = 8;
const VAD_MAX_SILENCE: usize = 6;
const NORM_TARGET_DBFS: f64 = -30.0;
const INT16_MAX: f64 = 32767.0;
const EMBEDDING_MAGIC: &[u8; 5] = b"VXEMB";
const EMBEDDING_BINARY_VERSION: u8 = 1;

/// How to embed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmbedOptions {
    /// Resemblyzer's preprocessing (volume normalisation and silence trimming).
    pub preprocess: bool,
    /// Partial utterances per second.
    pub rate: f64,
    /// Least share of a partial the last one must cover to be kept.
    pub min_coverage: f64,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            preprocess: true,
            rate: 1.3,
            min_coverage: 0.75,
        }
    }
}

impl EmbedOptions {
    /// No preprocessing: the signal as it is (resampled to 16 kHz).
    pub fn raw() -> Self {
        EmbedOptions {
            preprocess: false,
            ..Self::default()
        }
    }
}

/// A speaker embedding: 256 non-negative floats of unit length, and the model that made them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceEmbedding {
    /// Model id ([`GE2E_MODEL_ID`]); embeddings of different models are never compared.
    pub model: String,
    /// The values.
    pub embedding: Vec<f32>,
}

impl VoiceEmbedding {
    /// Cosine similarity with `other`; [`Error::ModelMismatch`] if the models differ.
    ///
    /// ```
    /// use voxreel::voice::VoiceEmbedding;
    /// let a = VoiceEmbedding { model: "m".into(), embedding: vec![0.6, 0.8] };
    /// let b = VoiceEmbedding { model: "m".into(), embedding: vec![1.0, 0.0] };
    /// assert!((a.similarity(&b).unwrap() - 0.6).abs() < 1e-6);
    /// let c = VoiceEmbedding { model: "other".into(), embedding: vec![1.0, 0.0] };
    /// assert_eq!(a.similarity(&c).unwrap_err().code(), "model_mismatch");
    /// ```
    pub fn similarity(&self, other: &VoiceEmbedding) -> Result<f32> {
        if self.model != other.model || self.embedding.len() != other.embedding.len() {
            return Err(Error::ModelMismatch {
                expected: self.model.clone(),
                found: other.model.clone(),
            });
        }
        Ok(cosine(&self.embedding, &other.embedding))
    }

    /// Whether `other` is judged the same speaker ([`SAME_SPEAKER_THRESHOLD`]).
    pub fn same_speaker(&self, other: &VoiceEmbedding) -> Result<bool> {
        Ok(self.similarity(other)? >= SAME_SPEAKER_THRESHOLD)
    }

    /// JSON: `{"model": "...", "embedding": [...]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an embedding always serialises")
    }

    /// Parses JSON made by [`VoiceEmbedding::to_json`].
    pub fn from_json(text: &str) -> Result<Self> {
        let e: VoiceEmbedding = serde_json::from_str(text).map_err(|e| Error::InvalidArgument {
            name: "embedding".into(),
            reason: e.to_string(),
        })?;
        e.check()?;
        Ok(e)
    }

    /// Compact binary form: `VXEMB`, version byte, model id (length byte + UTF-8),
    /// value count (u16 LE), values (f32 LE).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(10 + self.model.len() + 4 * self.embedding.len());
        b.extend_from_slice(EMBEDDING_MAGIC);
        b.push(EMBEDDING_BINARY_VERSION);
        let id = &self.model.as_bytes()[..self.model.len().min(255)];
        b.push(id.len() as u8);
        b.extend_from_slice(id);
        b.extend_from_slice(&(self.embedding.len() as u16).to_le_bytes());
        for v in &self.embedding {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b
    }

    /// Parses the binary form.
    ///
    /// ```
    /// use voxreel::voice::VoiceEmbedding;
    /// let a = VoiceEmbedding { model: "m".into(), embedding: vec![0.6, 0.8] };
    /// assert_eq!(VoiceEmbedding::from_bytes(&a.to_bytes()).unwrap(), a);
    /// assert!(VoiceEmbedding::from_bytes(b"VXEMB").is_err());
    /// ```
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidArgument {
            name: "embedding".into(),
            reason: reason.into(),
        };
        if b.len() < 7 || &b[..5] != EMBEDDING_MAGIC {
            return Err(bad("not a voxreel embedding"));
        }
        if b[5] != EMBEDDING_BINARY_VERSION {
            return Err(bad(&format!(
                "binary version {}; this voxreel reads {EMBEDDING_BINARY_VERSION}",
                b[5]
            )));
        }
        let id_len = b[6] as usize;
        let rest = b.get(7..).ok_or_else(|| bad("truncated"))?;
        let id = rest
            .get(..id_len)
            .ok_or_else(|| bad("truncated model id"))?;
        let model = std::str::from_utf8(id)
            .map_err(|_| bad("model id is not UTF-8"))?
            .to_string();
        let rest = &rest[id_len..];
        let n = u16::from_le_bytes([
            *rest.first().ok_or_else(|| bad("truncated"))?,
            *rest.get(1).ok_or_else(|| bad("truncated"))?,
        ]) as usize;
        let vals = rest
            .get(2..2 + 4 * n)
            .ok_or_else(|| bad("truncated values"))?;
        let embedding = vals
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let e = VoiceEmbedding { model, embedding };
        e.check()?;
        Ok(e)
    }

    fn check(&self) -> Result<()> {
        if self.embedding.is_empty() || self.embedding.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                name: "embedding".into(),
                reason: "empty or not finite".into(),
            });
        }
        Ok(())
    }
}

/// Cosine similarity of two vectors (0 when either is zero).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        (ab / (aa.sqrt() * bb.sqrt())) as f32
    }
}

/// An utterance embedded, with its partials.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    /// The utterance embedding.
    pub embedding: VoiceEmbedding,
    /// One embedding per partial (each unit length).
    pub partials: Vec<Vec<f32>>,
    /// Each partial's sample range in the (preprocessed) 16 kHz signal.
    pub slices: Vec<Range<usize>>,
    /// Seconds of audio after preprocessing.
    pub speech_s: f64,
    /// Non-fatal findings (audio shorter than one partial is zero-padded).
    pub warnings: Vec<String>,
}

/// The speaker encoder, loaded once and used for many embeddings.
pub struct VoiceEncoder {
    model: Ge2e,
    mel: MelSpectrogram,
    device: Device,
    model_id: String,
}

impl std::fmt::Debug for VoiceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceEncoder")
            .field("model", &self.model_id)
            .field("device", &self.device)
            .finish()
    }
}

fn model_err(e: candle_core::Error) -> Error {
    Error::Model {
        model: GE2E_MODEL_ID.into(),
        reason: e.to_string(),
    }
}

impl VoiceEncoder {
    /// Loads the bundled GE2E weights onto `device` (CPU, or CUDA/Metal with those features).
    ///
    /// ```
    /// let enc = voxreel::voice::VoiceEncoder::load(&voxreel::Device::Cpu).unwrap();
    /// assert_eq!(enc.model_id(), voxreel::voice::GE2E_MODEL_ID);
    /// ```
    pub fn load(device: &Device) -> Result<Self> {
        let vb = VarBuilder::from_buffered_safetensors(GE2E_WEIGHTS.to_vec(), DType::F32, device)
            .map_err(model_err)?;
        Self::from_var_builder(vb, GE2E_MODEL_ID, device)
    }

    /// Loads weights from a safetensors file with Resemblyzer's tensor names; `model_id`
    /// names them in embeddings.
    pub fn from_safetensors(path: &Path, model_id: &str, device: &Device) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let vb = VarBuilder::from_buffered_safetensors(bytes, DType::F32, device).map_err(|e| {
            Error::Model {
                model: model_id.into(),
                reason: format!("{}: {e}", path.display()),
            }
        })?;
        Self::from_var_builder(vb, model_id, device)
    }

    /// Builds the encoder from any [`VarBuilder`] (e.g. random weights in tests).
    pub fn from_var_builder(vb: VarBuilder, model_id: &str, device: &Device) -> Result<Self> {
        let model = Ge2e::load(vb, Ge2eConfig::default()).map_err(model_err)?;
        Ok(VoiceEncoder {
            model,
            mel: MelSpectrogram::new(MelConfig::GE2E),
            device: device.clone(),
            model_id: model_id.into(),
        })
    }

    /// The id stored in embeddings this encoder makes.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Embeds `audio` with the default options (preprocessed). `audio` may be any
    /// non-empty recording; shorter than 1.6 s is zero-padded.
    pub fn embed(&self, audio: &Audio) -> Result<VoiceEmbedding> {
        Ok(self
            .embed_utterance(audio, &EmbedOptions::default())?
            .embedding)
    }

    /// Embeds `audio` and returns the partial embeddings too.
    pub fn embed_utterance(&self, audio: &Audio, opts: &EmbedOptions) -> Result<Utterance> {
        self.embed_batch(std::slice::from_ref(audio), opts)?
            .pop()
            .ok_or_else(|| Error::Model {
                model: self.model_id.clone(),
                reason: "no output".into(),
            })
    }

    /// Embeds several recordings; all their partials go through the network in one batch.
    pub fn embed_batch(&self, audios: &[Audio], opts: &EmbedOptions) -> Result<Vec<Utterance>> {
        use rayon::prelude::*;
        if !(opts.rate > 0.0 && opts.rate.is_finite())
            || !(opts.min_coverage > 0.0 && opts.min_coverage <= 1.0)
        {
            return Err(Error::InvalidArgument {
                name: "embed options".into(),
                reason: format!("{opts:?}"),
            });
        }
        // Features per recording (in parallel), then one forward pass.
        let prepared: Vec<Prepared> = audios
            .par_iter()
            .map(|a| self.prepare(a, opts))
            .collect::<Result<_>>()?;
        let n_mels = self.mel.config().n_mels;
        let total: usize = prepared.iter().map(|p| p.slices.len()).sum();
        let mut flat = Vec::with_capacity(total * PARTIAL_FRAMES * n_mels);
        for p in &prepared {
            for s in &p.mel_slices {
                flat.extend_from_slice(&p.mel[s.start * n_mels..s.end * n_mels]);
            }
        }
        let mels = Tensor::from_vec(flat, (total, PARTIAL_FRAMES, n_mels), &self.device)
            .map_err(model_err)?;
        let out: Vec<Vec<f32>> = self
            .model
            .forward(&mels)
            .and_then(|t| t.to_vec2::<f32>())
            .map_err(model_err)?;
        let mut rows = out.into_iter();
        let mut result = Vec::with_capacity(prepared.len());
        for p in prepared {
            let partials: Vec<Vec<f32>> = rows.by_ref().take(p.slices.len()).collect();
            let dim = partials.first().map_or(0, Vec::len);
            let mut mean = vec![0.0f64; dim];
            for row in &partials {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += *v as f64;
                }
            }
            let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(Error::Silence {
                    what: "audio to embed".into(),
                    peak_dbfs: crate::audio::db(p.peak as f64),
                });
            }
            let embedding = mean.iter().map(|v| (v / norm) as f32).collect();
            result.push(Utterance {
                embedding: VoiceEmbedding {
                    model: self.model_id.clone(),
                    embedding,
                },
                partials,
                slices: p.slices,
                speech_s: p.speech_len as f64 / ENCODER_RATE as f64,
                warnings: p.warnings,
            });
        }
        Ok(result)
    }

    /// Mel spectrogram of 16 kHz samples as the encoder sees them (`frames × 40`).
    pub fn mel_spectrogram(&self, samples_16k: &[f32]) -> Vec<f32> {
        self.mel.compute(samples_16k)
    }

    fn prepare(&self, audio: &Audio, opts: &EmbedOptions) -> Result<Prepared> {
        audio.validate("audio to embed")?;
        if audio.duration_s() > MAX_EMBED_S {
            return Err(Error::AudioTooLong {
                what: "audio to embed".into(),
                seconds: audio.duration_s(),
                limit_s: MAX_EMBED_S,
            });
        }
        let mut wav = resample(audio, ENCODER_RATE)?.samples;
        let peak = audio.peak();
        if opts.preprocess {
            wav = trim_long_silences(&normalize_volume(&wav, NORM_TARGET_DBFS));
            if wav.is_empty() {
                return Err(Error::Silence {
                    what: "audio to embed".into(),
                    peak_dbfs: crate::audio::db(peak as f64),
                });
            }
        }
        let mut warnings = Vec::new();
        let speech_len = wav.len();
        if speech_len < PARTIAL_FRAMES * self.mel.config().hop {
            warnings.push(format!(
                "only {:.2} s of audio to embed; it is zero-padded to {:.1} s, and the embedding is less reliable",
                speech_len as f64 / ENCODER_RATE as f64,
                (PARTIAL_FRAMES * self.mel.config().hop) as f64 / ENCODER_RATE as f64
            ));
        }
        let (slices, mel_slices) = partial_slices(wav.len(), opts.rate, opts.min_coverage);
        let max_len = slices.last().map_or(0, |s| s.end);
        if max_len >= wav.len() {
            wav.resize(max_len, 0.0);
        }
        let mel = self.mel.compute(&wav);
        Ok(Prepared {
            mel,
            slices,
            mel_slices,
            speech_len,
            peak,
            warnings,
        })
    }
}

struct Prepared {
    mel: Vec<f32>,
    slices: Vec<Range<usize>>,
    mel_slices: Vec<Range<usize>>,
    speech_len: usize,
    peak: f32,
    warnings: Vec<String>,
}

/// Where the partial utterances of `n_samples` lie: sample ranges and mel-frame
/// ranges (Resemblyzer's `compute_partial_slices`). Always at least one.
///
/// ```
/// use voxreel::voice::encoder::partial_slices;
/// let (wav, mel) = partial_slices(45_280, 1.3, 0.75);
/// assert_eq!(mel, vec![0..160, 77..237, 154..314]);
/// assert_eq!(wav[2], 24_640..50_240);
/// ```
pub fn partial_slices(
    n_samples: usize,
    rate: f64,
    min_coverage: f64,
) -> (Vec<Range<usize>>, Vec<Range<usize>>) {
    let spf = 160usize;
    let n_frames = (n_samples + 1).div_ceil(spf);
    let frame_step = ((ENCODER_RATE as f64 / rate) / spf as f64)
        .round_ties_even()
        .clamp(1.0, PARTIAL_FRAMES as f64) as usize;
    let steps = (n_frames as i64 - PARTIAL_FRAMES as i64 + frame_step as i64 + 1).max(1) as usize;
    let mut mel: Vec<Range<usize>> = (0..steps)
        .step_by(frame_step)
        .map(|i| i..i + PARTIAL_FRAMES)
        .collect();
    let mut wav: Vec<Range<usize>> = mel.iter().map(|r| r.start * spf..r.end * spf).collect();
    let last = wav.last().cloned().unwrap_or(0..0);
    let coverage = (n_samples as f64 - last.start as f64) / (last.end - last.start) as f64;
    if coverage < min_coverage && mel.len() > 1 {
        mel.pop();
        wav.pop();
    }
    (wav, mel)
}

/// Raises the RMS level to `target_dbfs` (never lowers it), as Resemblyzer's `normalize_volume`.
pub fn normalize_volume(wav: &[f32], target_dbfs: f64) -> Vec<f32> {
    if wav.is_empty() {
        return Vec::new();
    }
    let ms = wav
        .iter()
        .map(|&x| (x as f64 * INT16_MAX).powi(2))
        .sum::<f64>()
        / wav.len() as f64;
    let wave_dbfs = 20.0 * (ms.sqrt() / INT16_MAX).log10();
    let change = target_dbfs - wave_dbfs;
    if change < 0.0 || !change.is_finite() {
        return wav.to_vec();
    }
    let g = 10f64.powf(change / 20.0);
    wav.iter().map(|&x| (x as f64 * g) as f32).collect()
}

/// Removes silences longer than about 180 ms, as Resemblyzer's `trim_long_silences`:
/// WebRTC VAD (mode 3) on 30 ms windows, a moving average over 8 windows rounded half
/// to even, dilation by 3 windows on each side, then only the kept windows.
pub fn trim_long_silences(wav: &[f32]) -> Vec<f32> {
    let n = wav.len() - wav.len() % VAD_WINDOW;
    let wav = &wav[..n];
    // float → int16 as numpy's astype(int16) does on x86: through int32, keeping the low 16 bits.
    let pcm: Vec<i16> = wav
        .iter()
        .map(|&x| ((x as f64 * INT16_MAX).round_ties_even() as i32) as i16)
        .collect();
    let mut vad = webrtc_vad::Vad::new_with_rate_and_mode(
        webrtc_vad::SampleRate::Rate16kHz,
        webrtc_vad::VadMode::VeryAggressive,
    );
    let flags: Vec<u32> = pcm
        .chunks_exact(VAD_WINDOW)
        .map(|w| vad.is_voice_segment(w).unwrap_or(false) as u32)
        .collect();
    let m = flags.len();
    // Moving average with (width-1)/2 zeros before and width/2 after; ≥ 5 of 8 rounds to 1.
    let (before, after) = ((VAD_AVERAGE_WIDTH - 1) / 2, VAD_AVERAGE_WIDTH / 2);
    let voiced: Vec<bool> = (0..m)
        .map(|i| {
            let a = i.saturating_sub(before);
            let b = (i + after + 1).min(m);
            let avg = flags[a..b].iter().sum::<u32>() as f64 / VAD_AVERAGE_WIDTH as f64;
            avg.round_ties_even() >= 1.0
        })
        .collect();
    let r = VAD_MAX_SILENCE / 2;
    let keep: Vec<bool> = (0..m)
        .map(|i| {
            voiced[i.saturating_sub(r)..(i + r + 1).min(m)]
                .iter()
                .any(|&v| v)
        })
        .collect();
    wav.chunks_exact(VAD_WINDOW)
        .zip(&keep)
        .filter(|(_, &k)| k)
        .flat_map(|(w, _)| w.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_of_short_audio_and_coverage_rule() {
        // Shorter than one partial: one slice, padded.
        let (w, m) = partial_slices(8000, 1.3, 0.75);
        assert_eq!((w.len(), m[0].clone()), (1, 0..160));
        // A last partial covering less than 75 % is dropped (62.5 % here) ...
        let (w, _) = partial_slices(160 * 77 + 160 * 100, 1.3, 0.75);
        assert_eq!(w, vec![0..25_600]);
        // ... and kept at 87.5 %.
        let (w, _) = partial_slices(160 * 77 + 160 * 140, 1.3, 0.75);
        assert_eq!(w, vec![0..25_600, 12_320..37_920]);
    }

    #[test]
    fn volume_is_raised_only() {
        let quiet = vec![0.001f32; 1000];
        let up = normalize_volume(&quiet, -30.0);
        let rms = (up.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / 1000.0).sqrt();
        assert!((20.0 * rms.log10() + 30.0).abs() < 1e-6);
        let loud = vec![0.5f32; 1000];
        assert_eq!(normalize_volume(&loud, -30.0), loud);
    }

    #[test]
    fn silence_trims_to_nothing() {
        assert!(trim_long_silences(&vec![0.0f32; 16000]).is_empty());
    }
}
