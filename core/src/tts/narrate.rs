//! Narration of a whole script: one synthesis per sentence, pauses between
//! sentences and scenes, and the time of every caption unit.
//!
//! Synthesizing sentence by sentence pins every sentence's start to an exact
//! sample offset, so caption timing cannot drift over a long script; inside a
//! sentence the engine's word timings place each unit.

use serde::Serialize;

use super::Synthesizer;
use crate::audio::Audio;
use crate::lang::Language;
use crate::plan::TimedSentence;
use crate::progress::{check, Progress};
use crate::script::{Script, SentenceKind};
use crate::text::{units, Unit};
use crate::voice::VoiceProfile;
use crate::{Error, Result};

/// Silence before the first word, in seconds.
pub const LEAD_IN_S: f64 = 0.3;
/// Silence after the last word, in seconds.
pub const TAIL_S: f64 = 0.7;
/// Pause after a sentence.
pub const SENTENCE_PAUSE_S: f64 = 0.22;
/// Pause after a title.
pub const TITLE_PAUSE_S: f64 = 0.4;
/// Pause between scenes.
pub const SCENE_PAUSE_S: f64 = 0.7;

/// A narrated script.
#[derive(Debug, Clone)]
pub struct Narration {
    /// The whole narration, mono, at the engine's sample rate.
    pub audio: Audio,
    /// Every sentence with its units' times.
    pub sentences: Vec<TimedSentence>,
    /// Each scene's span in seconds; spans are contiguous and cover the audio.
    pub scene_spans: Vec<(f64, f64)>,
    /// Engine name.
    pub engine: String,
}

/// Per-sentence statistics (for reports).
#[derive(Debug, Clone, Serialize)]
pub struct NarrationStats {
    /// Sentences synthesized.
    pub sentences: usize,
    /// Seconds of audio.
    pub duration_s: f64,
}

/// The text sent to the engine for a sentence, and each unit's char range in it.
pub fn speech_text(
    units: &[Unit],
    kind: SentenceKind,
    language: Language,
) -> (String, Vec<(usize, usize)>) {
    let mut s = String::new();
    let mut n = 0usize;
    let mut ranges = Vec::with_capacity(units.len());
    for (i, u) in units.iter().enumerate() {
        if i > 0 && u.space_before {
            s.push(' ');
            n += 1;
        }
        let a = n;
        s.push_str(&u.spoken);
        n += u.spoken.chars().count();
        ranges.push((a, n));
    }
    // Titles and list items often lack final punctuation; the engine needs it for a falling end.
    let ends = s.trim_end().ends_with(|c: char| ".!?。！？…".contains(c));
    if !ends && kind != SentenceKind::Body {
        s.push(if language.is_cjk() { '。' } else { '.' });
    }
    (s, ranges)
}

/// First and last sample index above −46 dBFS, or None for silence.
fn voiced_bounds(samples: &[f32]) -> Option<(usize, usize)> {
    let th = 0.005f32;
    let first = samples.iter().position(|x| x.abs() > th)?;
    let last = samples.iter().rposition(|x| x.abs() > th)?;
    Some((first, last + 1))
}

/// Places each unit in time from the engine's word timings: a unit starts when
/// the first word inside its characters starts; units the engine did not
/// report are spread over the gap by their spoken length. Times are relative
/// to the sentence audio; `end` is when speech ends.
pub fn unit_times(
    ranges: &[(usize, usize)],
    units: &[Unit],
    words: &[crate::tts::WordTiming],
    end: f64,
) -> Vec<(f64, f64)> {
    let n = ranges.len();
    let mut starts: Vec<Option<f64>> = ranges
        .iter()
        .map(|&(a, b)| {
            words
                .iter()
                .filter(|w| w.char_start >= a && w.char_start < b.max(a + 1))
                .map(|w| w.start_s)
                .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))
        })
        .collect();
    // Keep only anchors that increase.
    let mut last = f64::NEG_INFINITY;
    for s in starts.iter_mut() {
        if let Some(t) = *s {
            if t < last || t > end {
                *s = None;
            } else {
                last = t;
            }
        }
    }
    if starts[0].is_none() {
        starts[0] = Some(0.0);
    }
    let weight = |i: usize| units[i].spoken.chars().count().max(1) as f64;
    let mut i = 0;
    while i < n {
        if starts[i].is_some() {
            i += 1;
            continue;
        }
        let a = i - 1;
        let mut b = i;
        while b < n && starts[b].is_none() {
            b += 1;
        }
        let (ta, tb) = (
            starts[a].unwrap(),
            if b < n { starts[b].unwrap() } else { end },
        );
        let total: f64 = (a..b).map(weight).sum();
        let mut acc = 0.0;
        for k in a..b {
            if k > a {
                starts[k] = Some(ta + (tb - ta) * acc / total);
            }
            acc += weight(k);
        }
        i = b;
    }
    (0..n)
        .map(|k| {
            let s = starts[k].unwrap();
            let e = if k + 1 < n {
                starts[k + 1].unwrap()
            } else {
                end.max(s)
            };
            (s, e.max(s))
        })
        .collect()
}

/// Narrates every sentence of `script` with `synth`.
pub fn narrate(
    script: &Script,
    language: Language,
    synth: &dyn Synthesizer,
    voice: &VoiceProfile,
    progress: &dyn Progress,
) -> Result<Narration> {
    let total: usize = script.scenes.iter().map(|s| s.sentences.len()).sum();
    progress.stage("synthesis", total as u64);
    let mut rate = 0u32;
    let mut samples: Vec<f32> = Vec::new();
    let mut sentences = Vec::with_capacity(total);
    let mut scene_starts = Vec::with_capacity(script.scenes.len());
    let mut pending_pause = LEAD_IN_S;
    for scene in &script.scenes {
        let mut scene_start: Option<f64> = None;
        for sentence in &scene.sentences {
            check(progress)?;
            let us = units(&sentence.text, language);
            if us.is_empty() {
                progress.advance(1);
                continue;
            }
            let (text, ranges) = speech_text(&us, sentence.kind, language);
            let speech = synth.synthesize(&text, language, voice)?;
            if rate == 0 {
                rate = speech.audio.sample_rate;
            } else if speech.audio.sample_rate != rate {
                return Err(Error::Synthesis {
                    engine: synth.name().into(),
                    reason: "sample rate changed between sentences".into(),
                });
            }
            let sr = rate as f64;
            let Some((a, b)) = voiced_bounds(&speech.audio.samples) else {
                return Err(Error::Synthesis {
                    engine: synth.name().into(),
                    reason: format!("no audio for {:?}", sentence.text),
                });
            };
            // Keep 20 ms before the onset and 40 ms after the end.
            let a = a.saturating_sub((0.02 * sr) as usize);
            let b = (b + (0.04 * sr) as usize).min(speech.audio.samples.len());
            let pause = (pending_pause * sr).round() as usize;
            samples.extend(std::iter::repeat_n(0.0, pause));
            if scene_start.is_none() {
                // The scene starts halfway through the pause before its first sentence.
                scene_start = Some((samples.len() - pause / 2) as f64 / sr);
            }
            let offset = samples.len() as f64 / sr;
            let trim = a as f64 / sr;
            samples.extend_from_slice(&speech.audio.samples[a..b]);
            let words: Vec<_> = speech
                .words
                .iter()
                .map(|w| crate::tts::WordTiming {
                    start_s: (w.start_s - trim).max(0.0),
                    ..*w
                })
                .collect();
            let end = (b - a) as f64 / sr - 0.04;
            let times = unit_times(&ranges, &us, &words, end)
                .into_iter()
                .map(|(s, e)| (s + offset, e + offset))
                .collect();
            sentences.push(TimedSentence {
                scene: scene.index,
                units: us,
                times,
            });
            pending_pause = if sentence.kind == SentenceKind::Title {
                TITLE_PAUSE_S
            } else {
                SENTENCE_PAUSE_S
            };
            progress.advance(1);
        }
        scene_starts.push(scene_start.unwrap_or(samples.len() as f64 / rate.max(1) as f64));
        pending_pause = SCENE_PAUSE_S;
    }
    if rate == 0 {
        return Err(Error::NothingToNarrate {
            what: "script".into(),
        });
    }
    samples.extend(std::iter::repeat_n(0.0, (TAIL_S * rate as f64) as usize));
    let total_s = samples.len() as f64 / rate as f64;
    let mut scene_spans = Vec::with_capacity(scene_starts.len());
    for (i, &s) in scene_starts.iter().enumerate() {
        let start = if i == 0 { 0.0 } else { s };
        let end = scene_starts.get(i + 1).copied().unwrap_or(total_s);
        scene_spans.push((start, end.max(start)));
    }
    Ok(Narration {
        audio: Audio::new(samples, rate),
        sentences,
        scene_spans,
        engine: synth.name().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tts::WordTiming;

    #[test]
    fn unit_times_interpolate_and_stay_ordered() {
        let us = units("我們今天很好", Language::ChineseTraditional);
        let (text, ranges) = speech_text(&us, SentenceKind::Body, Language::ChineseTraditional);
        assert_eq!(text, "我們今天很好");
        // The engine reports two words: 我們 at 0.1 s and 很好 at 1.0 s.
        let words = [
            WordTiming {
                char_start: 0,
                char_end: 2,
                start_s: 0.1,
            },
            WordTiming {
                char_start: 4,
                char_end: 6,
                start_s: 1.0,
            },
        ];
        let t = unit_times(&ranges, &us, &words, 1.5);
        assert_eq!(t.len(), 6);
        assert!((t[0].0 - 0.1).abs() < 1e-9);
        assert!((t[4].0 - 1.0).abs() < 1e-9);
        assert!(t[1].0 > t[0].0 && t[2].0 > t[1].0 && t[3].0 > t[2].0 && t[3].0 < 1.0);
        assert!((t[5].1 - 1.5).abs() < 1e-9);
        for w in t.windows(2) {
            assert!((w[0].1 - w[1].0).abs() < 1e-9);
        }
    }
}
