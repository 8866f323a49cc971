//! Voices: reference analysis (speech activity, F0, rate, loudness) and profiles.

pub mod analysis;
pub mod vad;
