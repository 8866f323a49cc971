//! Kokoro-82M text-to-speech (StyleTTS2 + iSTFTNet, 24 kHz) in candle, our own engine.
//!
//! The network ([`KokoroNet`]) is pure candle — modules with a `Config`, a `load(vb)` and a
//! `forward`, no I/O — so it runs with random weights in tests as well as with the real
//! ones. [`KokoroModel`] adds the files: it loads the converted weights, the voices and the
//! phoneme vocabulary from a local folder (`$VOXREEL_HOME/models/kokoro`, made by
//! `voxreel models fetch kokoro` / `scripts/fetch-kokoro.sh`) and never downloads anything.
//!
//! Input is phoneme token ids (see [`Vocab`]); the text → phoneme front end lives elsewhere
//! (see [`Phonemizer`]). Output is audio plus what the model decided on the way: the
//! duration of every token in frames (40 frames per second), and the F0 and energy curves
//! (80 values per second), which a caller may edit and feed back
//! ([`KokoroModel::synthesize_tokens_with_f0`]).

pub mod albert;
pub mod decoder;
pub mod nn;
pub mod ortexact;
pub mod prosody;
pub mod qconv;
pub mod synth;
pub mod text_encoder;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

use crate::{Error, Result};

/// The phoneme vocabulary (`vocab.json`), shared with the English front end.
pub use crate::tts::g2p::Vocab;
pub use albert::{Albert, AlbertConfig};
pub use decoder::{Decoder, DecoderConfig};
pub use prosody::{ProsodyConfig, ProsodyPredictor};
pub use synth::KokoroSynthesizer;
pub use text_encoder::{TextEncoder, TextEncoderConfig};

/// Model id used in errors and reports.
pub const KOKORO_MODEL_ID: &str = "kokoro-82m-v1.0";
/// Output sample rate.
pub const SAMPLE_RATE: u32 = 24_000;
/// Audio samples per duration frame (40 frames per second).
pub const SAMPLES_PER_FRAME: usize = 600;
/// Most phoneme tokens one call takes (the voices have 510 rows; BERT has 512 positions
/// including the two pads).
pub const MAX_TOKENS: usize = 510;
/// Width of a voice's style vector (acoustic half, then prosody half).
pub const STYLE_DIM: usize = 256;
/// Weights file inside the model folder.
pub const WEIGHTS_FILE: &str = "kokoro-v1.0.safetensors";
/// Voices file inside the model folder.
pub const VOICES_FILE: &str = "voices.safetensors";
/// Vocabulary file inside the model folder.
pub const VOCAB_FILE: &str = "vocab.json";

/// Shape of the whole network. Each part has an `int8_activations` switch (on by default):
/// it simulates the dynamic uint8 quantisation that onnxruntime applies to activations in
/// the int8 export, which this engine's weights come from, so that durations, F0 and audio
/// follow onnxruntime's; [`KokoroConfig::f32_activations`] turns it off everywhere.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KokoroConfig {
    /// PL-BERT.
    pub albert: AlbertConfig,
    /// Acoustic text encoder.
    pub text_encoder: TextEncoderConfig,
    /// Prosody predictor.
    pub prosody: ProsodyConfig,
    /// Decoder and generator.
    pub decoder: DecoderConfig,
}

impl KokoroConfig {
    /// The default shape with every activation kept in f32 (no simulated quantisation).
    pub fn f32_activations() -> Self {
        let mut c = KokoroConfig::default();
        c.albert.int8_activations = false;
        c.text_encoder.int8_activations = false;
        c.prosody.int8_activations = false;
        c.decoder.int8_activations = false;
        c
    }
}

/// Replacements for what the prosody predictor decides.
#[derive(Default)]
pub struct Overrides<'a> {
    /// Frames per token (padding included, each ≥ 1) to use instead of the predicted ones
    /// (`speed` is then ignored for durations).
    pub durations: Option<&'a [u32]>,
    /// Receives the predicted F0 curve `[2 · frames]` and returns the one the decoder uses
    /// (same shape).
    pub f0_edit: Option<&'a dyn Fn(&Tensor) -> candle_core::Result<Tensor>>,
}

impl std::fmt::Debug for Overrides<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("durations", &self.durations)
            .field("f0_edit", &self.f0_edit.is_some())
            .finish()
    }
}

/// What one forward pass produces.
#[derive(Debug, Clone)]
pub struct KokoroOutput {
    /// Audio at 24 kHz, `[frames · 600]`.
    pub audio: Tensor,
    /// Frames per input token (the padding tokens at both ends included), after speed and
    /// rounding (at least 1).
    pub durations: Vec<u32>,
    /// F0 in Hz at two values per frame, `[2 · frames]` (the curve the decoder used).
    pub f0: Tensor,
    /// Energy at two values per frame, `[2 · frames]`.
    pub energy: Tensor,
}

/// The Kokoro network.
#[derive(Debug, Clone)]
pub struct KokoroNet {
    bert: Albert,
    bert_encoder: nn::QLinear,
    predictor: ProsodyPredictor,
    text_encoder: TextEncoder,
    decoder: Decoder,
    cfg: KokoroConfig,
}

impl KokoroNet {
    /// Loads the network from `vb` with hexgrad's tensor names (`bert.*`, `bert_encoder.*`,
    /// `predictor.*`, `text_encoder.*`, `decoder.*`).
    pub fn load(vb: VarBuilder, cfg: KokoroConfig) -> candle_core::Result<Self> {
        Ok(KokoroNet {
            bert: Albert::load(vb.pp("bert"), cfg.albert)?,
            bert_encoder: nn::QLinear::load(
                vb.pp("bert_encoder"),
                cfg.albert.hidden_size,
                cfg.prosody.hidden,
                cfg.albert.int8_activations,
            )?,
            predictor: ProsodyPredictor::load(vb.pp("predictor"), cfg.prosody)?,
            text_encoder: TextEncoder::load(vb.pp("text_encoder"), cfg.text_encoder)?,
            decoder: Decoder::load(vb.pp("decoder"), &cfg.decoder)?,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &KokoroConfig {
        &self.cfg
    }

    /// Token ids `[1, t]` (u32, padding included), style `[1, 256]`, speed (> 0) → output,
    /// with optional [`Overrides`] of the predicted durations and F0.
    pub fn forward(
        &self,
        ids: &Tensor,
        style: &Tensor,
        speed: f32,
        overrides: &Overrides,
    ) -> candle_core::Result<KokoroOutput> {
        let sd = self.cfg.decoder.style_dim;
        let s_ac = style.narrow(1, 0, sd)?;
        let s_pr = style.narrow(1, sd, style.dim(1)? - sd)?;
        let t = ids.dim(1)?;
        let bert = self.bert.forward(ids)?;
        let d_en = self.bert_encoder.forward(&bert)?.squeeze(0)?; // [t, 512]
        let d = self.predictor.encode(&d_en, &s_pr)?; // [t, 640]
        let durations: Vec<u32> = match overrides.durations {
            Some(d) => {
                if d.len() != t || d.contains(&0) {
                    candle_core::bail!(
                        "duration override: {} values (need {t}, each ≥ 1)",
                        d.len()
                    );
                }
                d.to_vec()
            }
            None => {
                let raw: Vec<f32> = self.predictor.durations(&d)?.to_vec1()?;
                raw.iter()
                    .map(|&x| (x / speed).round_ties_even().max(1.0) as u32)
                    .collect()
            }
        };
        let index: Vec<u32> = durations
            .iter()
            .enumerate()
            .flat_map(|(i, &n)| std::iter::repeat_n(i as u32, n as usize))
            .collect();
        let frames = index.len();
        let index = Tensor::from_vec(index, frames, ids.device())?;
        let en = d.index_select(&index, 0)?; // [frames, 640]
        let (f0, energy) = self.predictor.f0_energy(&en, &s_pr)?;
        let f0 = match overrides.f0_edit {
            Some(edit) => {
                let e = edit(&f0)?;
                if e.dims() != f0.dims() {
                    candle_core::bail!(
                        "F0 override has shape {:?}, expected {:?}",
                        e.dims(),
                        f0.dims()
                    );
                }
                e
            }
            None => f0,
        };
        let t_en = self.text_encoder.forward(ids)?; // [1, 512, t]
        let asr = t_en.index_select(&index, 2)?; // [1, 512, frames]
        debug_assert_eq!(t_en.dim(2)?, t);
        let audio = self.decoder.forward(&asr, &f0, &energy, &s_ac)?;
        Ok(KokoroOutput {
            audio,
            durations,
            f0,
            energy,
        })
    }
}

/// The stock voices: per voice a `[510, 256]` table whose row `n` is the style for an input
/// of `n` phoneme tokens.
#[derive(Debug, Clone)]
pub struct Voices {
    voices: HashMap<String, Vec<f32>>,
}

impl Voices {
    /// Reads `voices.safetensors` (one f32 tensor `[510, 256]` per voice). A tensor of any
    /// other shape is [`Error::VoiceShape`].
    pub fn from_safetensors_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu).map_err(|e| {
            Error::Model {
                model: KOKORO_MODEL_ID.into(),
                reason: format!("{}: {e}", path.display()),
            }
        })?;
        let mut voices = HashMap::new();
        for (name, t) in tensors {
            if t.dtype() != DType::F32 || t.dims() != [MAX_TOKENS, STYLE_DIM] {
                return Err(Error::VoiceShape {
                    voice: name,
                    found: format!("{:?} {:?}", t.dtype(), t.dims()),
                });
            }
            let data = t
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .map_err(model_err)?;
            voices.insert(name, data);
        }
        Ok(Voices { voices })
    }

    /// Reads a single voice in kokoro-js's raw format (`<name>.bin`: little-endian f32
    /// `[510, 1, 256]`); a file of another size is [`Error::VoiceShape`].
    pub fn insert_raw(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        if bytes.len() != MAX_TOKENS * STYLE_DIM * 4 {
            return Err(Error::VoiceShape {
                voice: name.into(),
                found: format!("{} bytes", bytes.len()),
            });
        }
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        self.voices.insert(name.into(), data);
        Ok(())
    }

    /// Voice names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.voices.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// The style vector (256 values) of `voice` for an input of `n_tokens` phoneme tokens
    /// (padding excluded; row `min(n_tokens, 509)`, kokoro-onnx's choice).
    pub fn style(&self, voice: &str, n_tokens: usize) -> Result<&[f32]> {
        let table = self
            .voices
            .get(voice)
            .ok_or_else(|| Error::InvalidArgument {
                name: "voice".into(),
                reason: format!("no Kokoro voice {voice:?}"),
            })?;
        let row = n_tokens.min(MAX_TOKENS - 1);
        Ok(&table[row * STYLE_DIM..(row + 1) * STYLE_DIM])
    }
}

/// The text front end Kokoro needs: text → phonemes (Kokoro's IPA-based symbols), in
/// pieces that each know which characters of the text they came from, so that word
/// timings can be reported. Implemented by the G2P module (`crate::tts::g2p`).
pub trait Phonemizer: Send + Sync {
    /// Splits `text` into pieces `(phonemes, char range of the source word in text)`, in
    /// order; punctuation and the spaces between words appear as their own pieces (with an
    /// empty range) so that joining all `phonemes` gives the full phoneme string.
    fn phonemize(&self, text: &str) -> Result<Vec<(String, std::ops::Range<usize>)>>;
}

/// What [`KokoroModel::synthesize_tokens`] returns, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesis {
    /// Mono samples at [`SAMPLE_RATE`].
    pub audio: Vec<f32>,
    /// Frames ([`SAMPLES_PER_FRAME`] samples each) per input token, the two padding tokens
    /// included (first and last entries).
    pub durations: Vec<u32>,
    /// F0 (Hz) used by the decoder, two values per frame; 0 or below 10 Hz means unvoiced.
    pub f0: Vec<f32>,
    /// Predicted energy, two values per frame.
    pub energy: Vec<f32>,
}

/// Kokoro with its files: network, voices and vocabulary.
#[derive(Debug, Clone)]
pub struct KokoroModel {
    net: KokoroNet,
    voices: Voices,
    vocab: Vocab,
    device: Device,
}

fn model_err(e: candle_core::Error) -> Error {
    Error::Model {
        model: KOKORO_MODEL_ID.into(),
        reason: e.to_string(),
    }
}

impl KokoroModel {
    /// Where the model is installed: `$VOXREEL_HOME/models/kokoro`, `VOXREEL_HOME`
    /// defaulting to `~/.cache/voxreel`.
    pub fn default_dir() -> PathBuf {
        // One resolution for the model and its English front end (an empty
        // VOXREEL_HOME counts as unset).
        crate::tts::g2p::EnglishG2p::default_dir()
    }

    /// Whether `dir` holds the three files of an installed model.
    pub fn is_installed(dir: &Path) -> bool {
        [WEIGHTS_FILE, VOICES_FILE, VOCAB_FILE]
            .iter()
            .all(|f| dir.join(f).is_file())
    }

    /// Loads the model from `dir` onto `device`. A missing file is
    /// [`Error::MissingDependency`] naming `voxreel models fetch kokoro`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, KokoroConfig::default())
    }

    /// [`KokoroModel::load`] with a configuration (e.g. seeded source noise).
    pub fn load_with(dir: &Path, device: &Device, cfg: KokoroConfig) -> Result<Self> {
        for f in [WEIGHTS_FILE, VOICES_FILE, VOCAB_FILE] {
            if !dir.join(f).is_file() {
                return Err(Error::MissingDependency {
                    what: format!("Kokoro model ({} not found)", dir.join(f).display()),
                    install: "voxreel models fetch kokoro".into(),
                });
            }
        }
        let read = |f: &str| std::fs::read(dir.join(f)).map_err(|e| Error::io(dir.join(f), e));
        let weights = read(WEIGHTS_FILE)?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, device)
            .map_err(model_err)?;
        let net = KokoroNet::load(vb, cfg).map_err(model_err)?;
        let voices = Voices::from_safetensors_bytes(&read(VOICES_FILE)?, &dir.join(VOICES_FILE))?;
        let vocab = Vocab::load(&dir.join(VOCAB_FILE))?;
        Ok(KokoroModel {
            net,
            voices,
            vocab,
            device: device.clone(),
        })
    }

    /// The network.
    pub fn net(&self) -> &KokoroNet {
        &self.net
    }

    /// The stock voices.
    pub fn voices(&self) -> &Voices {
        &self.voices
    }

    /// The phoneme vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Speaks phoneme token ids (without padding; at most [`MAX_TOKENS`]) in the voice
    /// given by `style` (256 values, e.g. from [`Voices::style`]) at `speed` (1 = normal).
    pub fn synthesize_tokens(&self, ids: &[u32], style: &[f32], speed: f32) -> Result<Synthesis> {
        self.run(ids, style, speed, None, None)
    }

    /// Like [`KokoroModel::synthesize_tokens`] with the frames of every token given
    /// (`ids.len() + 2` values, the padding tokens first and last, each ≥ 1) instead of
    /// predicted — e.g. to time speech to a fixed schedule.
    pub fn synthesize_tokens_with_durations(
        &self,
        ids: &[u32],
        style: &[f32],
        durations: &[u32],
    ) -> Result<Synthesis> {
        if durations.len() != ids.len() + 2 || durations.contains(&0) {
            return Err(Error::InvalidArgument {
                name: "durations".into(),
                reason: format!(
                    "{} values; need {} (one per token and the two padding tokens), each ≥ 1",
                    durations.len(),
                    ids.len() + 2
                ),
            });
        }
        self.run(ids, style, 1.0, Some(durations), None)
    }

    /// Like [`KokoroModel::synthesize_tokens`], but `f0_edit` receives the predicted F0
    /// curve (Hz, two values per frame) and returns the curve the decoder uses instead
    /// (same length), e.g. shifted to another speaker's pitch.
    pub fn synthesize_tokens_with_f0(
        &self,
        ids: &[u32],
        style: &[f32],
        speed: f32,
        f0_edit: &dyn Fn(&[f32]) -> Vec<f32>,
    ) -> Result<Synthesis> {
        self.run(ids, style, speed, None, Some(f0_edit))
    }

    fn run(
        &self,
        ids: &[u32],
        style: &[f32],
        speed: f32,
        durations: Option<&[u32]>,
        f0_edit: Option<&dyn Fn(&[f32]) -> Vec<f32>>,
    ) -> Result<Synthesis> {
        if ids.is_empty() || ids.len() > MAX_TOKENS {
            return Err(Error::TooManyTokens {
                count: ids.len(),
                max: MAX_TOKENS,
            });
        }
        if style.len() != STYLE_DIM {
            return Err(Error::InvalidArgument {
                name: "style".into(),
                reason: format!("{} values, expected {STYLE_DIM}", style.len()),
            });
        }
        if !(speed.is_finite() && speed > 0.0) {
            return Err(Error::InvalidArgument {
                name: "speed".into(),
                reason: format!("{speed} is not a positive number"),
            });
        }
        let vocab_max = self.net.config().albert.vocab_size as u32;
        if let Some(bad) = ids.iter().find(|&&i| i >= vocab_max) {
            return Err(Error::InvalidArgument {
                name: "tokens".into(),
                reason: format!("token id {bad} is outside the vocabulary (< {vocab_max})"),
            });
        }
        let mut padded = Vec::with_capacity(ids.len() + 2);
        padded.push(0);
        padded.extend_from_slice(ids);
        padded.push(0);
        let n = padded.len();
        let out = (|| -> candle_core::Result<Synthesis> {
            let ids_t = Tensor::from_vec(padded, (1, n), &self.device)?;
            let style_t = Tensor::from_slice(style, (1, STYLE_DIM), &self.device)?;
            let edit_t;
            let edit: Option<&dyn Fn(&Tensor) -> candle_core::Result<Tensor>> = match f0_edit {
                Some(f) => {
                    edit_t = move |t: &Tensor| -> candle_core::Result<Tensor> {
                        let v: Vec<f32> = t.to_vec1()?;
                        let e = f(&v);
                        let len = e.len();
                        Tensor::from_vec(e, len, t.device())
                    };
                    Some(&edit_t)
                }
                None => None,
            };
            let o = self.net.forward(
                &ids_t,
                &style_t,
                speed,
                &Overrides {
                    durations,
                    f0_edit: edit,
                },
            )?;
            Ok(Synthesis {
                audio: o.audio.to_vec1()?,
                durations: o.durations,
                f0: o.f0.to_vec1()?,
                energy: o.energy.to_vec1()?,
            })
        })()
        .map_err(model_err)?;
        Ok(out)
    }
}
