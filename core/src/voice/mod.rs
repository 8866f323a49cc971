//! Voices: reference analysis, voice activity, the speaker encoder, and voice profiles.
//!
//! A [`VoiceProfile`] is what the engines need to speak like a reference: its
//! speaker embedding ([`VoiceEmbedding`], from the GE2E [`VoiceEncoder`]), its
//! analysis (pitch, rate, loudness) and likely voice family. Profiles are plain
//! JSON files (`.voice`) with a format version, so they can be saved and reused.

pub mod analysis;
pub mod encoder;
pub mod ge2e;
pub mod mel;
pub mod vad;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use analysis::{Gender, ReferenceAnalysis};
pub use encoder::{
    EmbedOptions, Utterance, VoiceEmbedding, VoiceEncoder, GE2E_MODEL_ID, SAME_SPEAKER_THRESHOLD,
};

use crate::audio::Audio;
use crate::{Error, Result};

/// Version of the `.voice` file format written by this library.
pub const PROFILE_FORMAT_VERSION: u32 = 2;
/// Largest profile file accepted, bytes.
pub const MAX_PROFILE_BYTES: u64 = 16 << 20;

/// Everything the library knows about a voice, saved as a `.voice` JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceProfile {
    /// File format version ([`PROFILE_FORMAT_VERSION`]).
    pub format_version: u32,
    /// A name for the voice, if the user gave one.
    pub name: Option<String>,
    /// The reference analysis.
    pub analysis: ReferenceAnalysis,
    /// Likely voice family, from the median F0.
    pub gender: Gender,
    /// The speaker embedding of the reference (absent in analysis-only profiles).
    #[serde(default)]
    pub embedding: Option<VoiceEmbedding>,
}

impl VoiceProfile {
    /// Enrols a reference recording: its analysis (see [`ReferenceAnalysis::of`] for the
    /// errors) and its speaker embedding.
    pub fn enroll(audio: &Audio, what: &str, encoder: &VoiceEncoder) -> Result<VoiceProfile> {
        let mut p = Self::from_audio(audio, what)?;
        let u = encoder.embed_utterance(audio, &EmbedOptions::default())?;
        p.analysis.warnings.extend(u.warnings);
        p.embedding = Some(u.embedding);
        Ok(p)
    }

    /// Analyses a reference recording into a profile without an embedding.
    /// See [`ReferenceAnalysis::of`] for errors.
    pub fn from_audio(audio: &Audio, what: &str) -> Result<VoiceProfile> {
        let analysis = ReferenceAnalysis::of(audio, what)?;
        let gender = analysis.gender();
        Ok(VoiceProfile {
            format_version: PROFILE_FORMAT_VERSION,
            name: None,
            analysis,
            gender,
            embedding: None,
        })
    }

    /// Serialises to pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serialises")
    }

    /// Parses a profile, checking its format version. `what` names it in errors.
    ///
    /// ```
    /// use voxreel::voice::VoiceProfile;
    /// let e = VoiceProfile::from_json("{\"format_version\": 99}", "x.voice").unwrap_err();
    /// assert_eq!(e.code(), "invalid_profile");
    /// ```
    pub fn from_json(text: &str, what: &str) -> Result<VoiceProfile> {
        let bad = |reason: String| Error::InvalidProfile {
            what: what.into(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        match v.get("format_version").and_then(|v| v.as_u64()) {
            Some(n) if n == PROFILE_FORMAT_VERSION as u64 => {}
            Some(n) => {
                return Err(bad(format!(
                    "format version {n}; this voxreel reads version {PROFILE_FORMAT_VERSION}"
                )))
            }
            None => return Err(bad("no format_version: not a voxreel voice profile".into())),
        }
        let p: VoiceProfile = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        if let Some(e) = &p.embedding {
            if e.model != GE2E_MODEL_ID {
                return Err(Error::ModelMismatch {
                    expected: GE2E_MODEL_ID.into(),
                    found: e.model.clone(),
                });
            }
            if e.embedding.len() != 256 || e.embedding.iter().any(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "its embedding has {} values or values that are not finite",
                    e.embedding.len()
                )));
            }
        }
        Ok(p)
    }

    /// Reads a `.voice` file.
    pub fn load_json(path: &Path) -> Result<VoiceProfile> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let what = path.display().to_string();
        if meta.len() > MAX_PROFILE_BYTES {
            return Err(Error::InvalidProfile {
                what,
                reason: format!("{} bytes is too large for a profile", meta.len()),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, &what)
    }

    /// Writes a `.voice` file atomically (a temporary file in the same folder, renamed).
    pub fn save_json(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("profile.voice");
        let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&tmp, self.to_json()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }
}

/// Whether `path` names a saved profile (`.voice` or `.json`) rather than a recording.
pub fn is_profile_path(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    ext == "voice" || ext == "json"
}

/// Loads a voice: a saved profile, or a recording (WAV/MP3/FLAC/OGG) enrolled on the spot.
pub fn load_voice(path: &Path, encoder: &VoiceEncoder) -> Result<VoiceProfile> {
    if is_profile_path(path) {
        return VoiceProfile::load_json(path);
    }
    let audio = crate::audio::decode_file(path)?;
    VoiceProfile::enroll(&audio, &path.display().to_string(), encoder)
}

/// The speaker embedding of a file: a saved profile's, or that of any non-empty
/// recording (no minimum length; short audio is padded with a warning).
pub fn embed_file(path: &Path, encoder: &VoiceEncoder, opts: &EmbedOptions) -> Result<Utterance> {
    if is_profile_path(path) {
        let p = VoiceProfile::load_json(path)?;
        let embedding = p.embedding.ok_or_else(|| Error::InvalidProfile {
            what: path.display().to_string(),
            reason: "it holds no speaker embedding".into(),
        })?;
        return Ok(Utterance {
            embedding,
            partials: Vec::new(),
            slices: Vec::new(),
            speech_s: p.analysis.speech_s,
            warnings: Vec::new(),
        });
    }
    let audio = crate::audio::decode_file(path)?;
    encoder.embed_utterance(&audio, opts)
}
