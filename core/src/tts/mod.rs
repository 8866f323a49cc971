//! Speech synthesis: the [`Synthesizer`] trait and its engines.
