//! Voices: reference analysis, voice activity, and voice profiles.
//!
//! A [`VoiceProfile`] is what the engines need to speak like a reference: its
//! analysis (pitch, rate, loudness) and likely voice family. Profiles are plain
//! JSON files (`.voice`) with a format version, so they can be saved and reused.

pub mod analysis;
pub mod vad;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use analysis::{Gender, ReferenceAnalysis};

use crate::audio::Audio;
use crate::{Error, Result};

/// Version of the `.voice` file format written by this library.
pub const PROFILE_FORMAT_VERSION: u32 = 1;
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
}

impl VoiceProfile {
    /// Analyses a reference recording into a profile. See [`ReferenceAnalysis::of`] for errors.
    pub fn from_audio(audio: &Audio, what: &str) -> Result<VoiceProfile> {
        let analysis = ReferenceAnalysis::of(audio, what)?;
        let gender = analysis.gender();
        Ok(VoiceProfile {
            format_version: PROFILE_FORMAT_VERSION,
            name: None,
            analysis,
            gender,
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
        serde_json::from_value(v).map_err(|e| bad(e.to_string()))
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

    /// Writes a `.voice` file.
    pub fn save_json(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_json()).map_err(|e| Error::io(path, e))
    }
}
