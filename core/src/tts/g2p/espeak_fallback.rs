//! Out-of-lexicon words through espeak-ng (feature `espeak`).
//!
//! Placeholder, filled in below.

/// misaki phonemes for `word` from espeak-ng, or `None`.
pub(crate) fn phonemes(_word: &str) -> Option<String> {
    None
}
