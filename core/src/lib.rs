//! # voxreel
//!
//! Clone a voice from a short recording and turn a script into a finished,
//! narrated short video.
//!
//! The main job runs through [`studio::Studio`]: a reference recording and a
//! script in, an MP4 with burned-in captions plus SRT/VTT sidecars out.
//!
//! ```text
//! recording ─decode─▶ Audio ─analyse─▶ VoiceProfile ─┐
//! script ─parse─▶ Script ─narrate─▶ Speech (samples + word timings)
//!                                    └─plan─▶ Timeline ─render─▶ frames ─encode─▶ MP4
//! ```
//!
//! The crate is a pure library: no global state of its own, no printing, no
//! network. Progress and cancellation go through [`progress::Progress`].
#![warn(missing_docs)]

pub mod audio;
pub mod error;
pub mod lang;
pub mod media;
pub mod plan;
pub mod progress;
pub mod render;
pub mod script;
pub mod studio;
pub mod subtitles;
pub mod text;
pub mod tts;
pub mod voice;
pub mod watermark;

pub use audio::Audio;
/// The compute device for the neural models (CPU by default; CUDA/Metal with those features).
pub use candle_core::Device;
pub use error::{Error, ErrorKind, Result};
pub use progress::{CancelFlag, NoProgress, Progress};
