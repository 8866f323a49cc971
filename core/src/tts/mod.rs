//! Speech synthesis: the [`Synthesizer`] trait, its engines, and narration of a
//! whole script with per-unit timings.

#[cfg(feature = "espeak")]
pub mod espeak;
pub mod g2p;
pub mod kokoro;
pub mod narrate;

use serde::{Deserialize, Serialize};

use crate::audio::Audio;
use crate::lang::Language;
use crate::voice::VoiceProfile;
use crate::Result;

/// When a word of the input text is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WordTiming {
    /// First character of the word in the input text (a char index, not bytes).
    pub char_start: usize,
    /// One past its last character.
    pub char_end: usize,
    /// When the engine starts speaking it, in seconds from the start of the audio.
    pub start_s: f64,
}

/// Synthesized speech: samples and word timings.
#[derive(Debug, Clone, PartialEq)]
pub struct Speech {
    /// The audio, mono.
    pub audio: Audio,
    /// Word timings in text order (words the engine reported; some may be missing).
    pub words: Vec<WordTiming>,
}

/// A text-to-speech engine.
///
/// Implementations turn one sentence (or clause) of text into speech in a
/// voice described by a [`VoiceProfile`], reporting when each word starts.
pub trait Synthesizer: Send + Sync {
    /// A short engine name for reports (`"espeak-ng"`).
    fn name(&self) -> &str;
    /// Speaks `text` in `language` with the voice of `voice`.
    fn synthesize(&self, text: &str, language: Language, voice: &VoiceProfile) -> Result<Speech>;
}

/// Which speech engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Kokoro-82M when its files are installed for the language (Chinese also needs the
    /// Mandarin front end's tables); espeak-ng otherwise.
    #[default]
    Auto,
    /// Kokoro-82M (English and Mandarin); not installed → [`crate::Error::MissingDependency`].
    Kokoro,
    /// espeak-ng (feature `espeak`).
    Espeak,
}

impl std::str::FromStr for Engine {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Engine::Auto),
            "kokoro" => Ok(Engine::Kokoro),
            "espeak" | "espeak-ng" => Ok(Engine::Espeak),
            _ => Err(crate::Error::InvalidArgument {
                name: "engine".into(),
                reason: format!("{s:?} (auto, kokoro or espeak expected)"),
            }),
        }
    }
}
