//! Narration of a whole script: one synthesis per sentence, pauses between
//! sentences and scenes, and the time of every caption unit.
//!
//! Synthesizing sentence by sentence pins every sentence's start to an exact
//! sample offset, so caption timing cannot drift over a long script; inside a
//! sentence the engine's word timings place each unit.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use super::{Speech, Synthesizer};
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

/// Length of the raised-cosine fade at both edges of every sentence's audio, seconds. The
/// sentence is cut 20 ms before its onset and 40 ms after its end, where the signal is quiet
/// but not zero; the fade makes every join with the surrounding silence start and end at 0.
pub const JOIN_FADE_S: f64 = 0.005;

/// How [`narrate_stream`] schedules the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NarrateOptions {
    /// Sentences synthesized at the same time (each on its own thread; 1 = one after the
    /// other, while the calling thread assembles and hands over the previous one). The
    /// first sentence is always synthesized alone, so that the first audio is ready as soon
    /// as possible; the others join in after it. The default is 1: Kokoro's decoder already
    /// spreads each sentence over the cores with rayon, and on the shared 2-core machine
    /// measured in `docs/performance.md` two sentences at a time were 7–12 % slower than one.
    pub parallel: usize,
}

impl Default for NarrateOptions {
    fn default() -> Self {
        NarrateOptions { parallel: 1 }
    }
}

/// One sentence of a narration, handed to [`narrate_stream`]'s callback as soon as it and
/// every sentence before it are synthesized.
#[derive(Debug, Clone)]
pub struct NarrationChunk {
    /// Position among the chunks, from 0.
    pub index: usize,
    /// The pause before the sentence, then the sentence (its edges faded to 0), at
    /// `sample_rate`. Appending the chunks in order (and [`TAIL_S`] of silence) gives
    /// [`Narration::audio`].
    pub samples: Vec<f32>,
    /// Sample rate of `samples`.
    pub sample_rate: u32,
    /// Where `samples` starts in the whole narration (samples).
    pub start_sample: usize,
    /// Where the sentence's audio starts in the whole narration (after the pause).
    pub speech_start_sample: usize,
    /// The sentence with its units' times (seconds from the start of the narration).
    pub sentence: TimedSentence,
}

/// Narrates every sentence of `script` with `synth`.
pub fn narrate(
    script: &Script,
    language: Language,
    synth: &dyn Synthesizer,
    voice: &VoiceProfile,
    progress: &dyn Progress,
) -> Result<Narration> {
    narrate_stream(
        script,
        language,
        synth,
        voice,
        progress,
        &NarrateOptions::default(),
        &mut |_| Ok(()),
    )
}

/// A sentence to synthesize.
struct Job {
    scene: usize,
    kind: SentenceKind,
    source: String,
    units: Vec<Unit>,
    text: String,
    ranges: Vec<(usize, usize)>,
}

/// Narrates every sentence of `script` with `synth`, streaming: `on_chunk` receives each
/// sentence (with the pause before it) in order as soon as it is ready, so the first audio
/// is there long before the last sentence is synthesized. `options.parallel` sentences are
/// synthesized at once. An error from `on_chunk` stops the narration and is returned.
pub fn narrate_stream(
    script: &Script,
    language: Language,
    synth: &dyn Synthesizer,
    voice: &VoiceProfile,
    progress: &dyn Progress,
    options: &NarrateOptions,
    on_chunk: &mut dyn FnMut(&NarrationChunk) -> Result<()>,
) -> Result<Narration> {
    let total: usize = script.scenes.iter().map(|s| s.sentences.len()).sum();
    progress.stage("synthesis", total as u64);
    // Everything but the engine first (cheap), so that the workers only synthesize.
    let mut jobs: Vec<Job> = Vec::with_capacity(total);
    for (si, scene) in script.scenes.iter().enumerate() {
        for sentence in &scene.sentences {
            let us = units(&sentence.text, language);
            if us.is_empty() {
                progress.advance(1);
                continue;
            }
            let (text, ranges) = speech_text(&us, sentence.kind, language);
            jobs.push(Job {
                scene: si,
                kind: sentence.kind,
                source: sentence.text.clone(),
                units: us,
                text,
                ranges,
            });
        }
    }
    let workers = options.parallel.clamp(1, 8).min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let first_done = AtomicBool::new(false);
    let mut asm = Assembler::new(synth.name());
    let result = std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::channel::<(usize, Result<Speech>)>();
        for w in 0..workers {
            let tx = tx.clone();
            let (next, stop, jobs, first_done) = (&next, &stop, &jobs, &first_done);
            scope.spawn(move || {
                // The first sentence has the machine to itself, so that the first audio
                // comes as soon as it can; the other workers join in once it is done.
                while w > 0 && !first_done.load(Ordering::SeqCst) {
                    if stop.load(Ordering::SeqCst) || progress.is_cancelled() {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                loop {
                    if stop.load(Ordering::SeqCst) || progress.is_cancelled() {
                        break;
                    }
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(job) = jobs.get(i) else { break };
                    let r = synth.synthesize(&job.text, language, voice);
                    let failed = r.is_err();
                    if i == 0 {
                        first_done.store(true, Ordering::SeqCst);
                    }
                    if failed {
                        stop.store(true, Ordering::SeqCst);
                    }
                    if tx.send((i, r)).is_err() || failed {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut ready: BTreeMap<usize, Speech> = BTreeMap::new();
        let mut emitted = 0usize;
        let run = (|| -> Result<()> {
            while emitted < jobs.len() {
                check(progress)?;
                let Ok((i, r)) = rx.recv() else {
                    // every worker stopped: cancelled (an error would have been received)
                    check(progress)?;
                    return Err(Error::Cancelled);
                };
                ready.insert(i, r?);
                while let Some(speech) = ready.remove(&emitted) {
                    let chunk = asm.push(&jobs[emitted], &script.scenes, speech)?;
                    on_chunk(&chunk)?;
                    progress.advance(1);
                    emitted += 1;
                }
            }
            Ok(())
        })();
        if run.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        run
    });
    result?;
    asm.finish(script.scenes.len())
}

/// Appends sentences in order: pauses, trimming, fades, unit times, scene starts.
struct Assembler {
    engine: String,
    rate: u32,
    samples: Vec<f32>,
    sentences: Vec<TimedSentence>,
    /// start of each scene (seconds), by scene index; None until known
    scene_starts: Vec<Option<f64>>,
    pending_pause: f64,
    last_scene: Option<usize>,
    chunks: usize,
}

impl Assembler {
    fn new(engine: &str) -> Self {
        Assembler {
            engine: engine.to_string(),
            rate: 0,
            samples: Vec::new(),
            sentences: Vec::new(),
            scene_starts: Vec::new(),
            pending_pause: LEAD_IN_S,
            last_scene: None,
            chunks: 0,
        }
    }

    fn push(
        &mut self,
        job: &Job,
        scenes: &[crate::script::Scene],
        speech: Speech,
    ) -> Result<NarrationChunk> {
        if self.rate == 0 {
            self.rate = speech.audio.sample_rate;
        } else if speech.audio.sample_rate != self.rate {
            return Err(Error::Synthesis {
                engine: self.engine.clone(),
                reason: "sample rate changed between sentences".into(),
            });
        }
        if self.last_scene.is_some_and(|s| s != job.scene) {
            self.pending_pause = SCENE_PAUSE_S;
        }
        let sr = self.rate as f64;
        if self.scene_starts.len() <= job.scene {
            self.scene_starts
                .resize(scenes.len().max(job.scene + 1), None);
        }
        // Scenes with nothing to speak before this one start where the narration is now.
        let here = self.samples.len() as f64 / sr;
        for s in self.last_scene.map_or(0, |l| l + 1)..job.scene {
            self.scene_starts[s].get_or_insert(here);
        }
        let Some((a, b)) = voiced_bounds(&speech.audio.samples) else {
            return Err(Error::Synthesis {
                engine: self.engine.clone(),
                reason: format!("no audio for {:?}", job.source),
            });
        };
        // Keep 20 ms before the onset and 40 ms after the end.
        let a = a.saturating_sub((0.02 * sr) as usize);
        let b = (b + (0.04 * sr) as usize).min(speech.audio.samples.len());
        let start_sample = self.samples.len();
        let pause = (self.pending_pause * sr).round() as usize;
        self.samples.extend(std::iter::repeat_n(0.0, pause));
        if self.scene_starts[job.scene].is_none() {
            // The scene starts halfway through the pause before its first sentence.
            self.scene_starts[job.scene] = Some((self.samples.len() - pause / 2) as f64 / sr);
        }
        let speech_start_sample = self.samples.len();
        let offset = speech_start_sample as f64 / sr;
        let trim = a as f64 / sr;
        let mut piece = speech.audio.samples[a..b].to_vec();
        fade_edges_cosine(&mut piece, (JOIN_FADE_S * sr).round() as usize);
        self.samples.extend_from_slice(&piece);
        let words: Vec<_> = speech
            .words
            .iter()
            .map(|w| crate::tts::WordTiming {
                start_s: (w.start_s - trim).max(0.0),
                ..*w
            })
            .collect();
        let end = (b - a) as f64 / sr - 0.04;
        let times = unit_times(&job.ranges, &job.units, &words, end)
            .into_iter()
            .map(|(s, e)| (s + offset, e + offset))
            .collect();
        let sentence = TimedSentence {
            scene: scenes.get(job.scene).map_or(job.scene, |s| s.index),
            units: job.units.clone(),
            times,
        };
        self.sentences.push(sentence.clone());
        self.pending_pause = if job.kind == SentenceKind::Title {
            TITLE_PAUSE_S
        } else {
            SENTENCE_PAUSE_S
        };
        self.last_scene = Some(job.scene);
        let chunk = NarrationChunk {
            index: self.chunks,
            samples: self.samples[start_sample..].to_vec(),
            sample_rate: self.rate,
            start_sample,
            speech_start_sample,
            sentence,
        };
        self.chunks += 1;
        Ok(chunk)
    }

    fn finish(mut self, n_scenes: usize) -> Result<Narration> {
        if self.rate == 0 {
            return Err(Error::NothingToNarrate {
                what: "script".into(),
            });
        }
        let rate = self.rate as f64;
        // Scenes after the last spoken one start where the speech ends.
        let here = self.samples.len() as f64 / rate;
        self.scene_starts.resize(n_scenes, None);
        let starts: Vec<f64> = self
            .scene_starts
            .iter()
            .map(|s| s.unwrap_or(here))
            .collect();
        self.samples
            .extend(std::iter::repeat_n(0.0, (TAIL_S * rate) as usize));
        let total_s = self.samples.len() as f64 / rate;
        let mut scene_spans = Vec::with_capacity(n_scenes);
        for (i, &s) in starts.iter().enumerate() {
            let start = if i == 0 { 0.0 } else { s };
            let end = starts.get(i + 1).copied().unwrap_or(total_s);
            scene_spans.push((start, end.max(start)));
        }
        Ok(Narration {
            audio: Audio::new(self.samples, self.rate),
            sentences: self.sentences,
            scene_spans,
            engine: self.engine,
        })
    }
}

/// Fades the first and last `n` samples with a raised cosine (0 at the very edges).
fn fade_edges_cosine(s: &mut [f32], n: usize) {
    let n = n.min(s.len() / 2);
    let len = s.len();
    for i in 0..n {
        let g = 0.5 - 0.5 * (std::f64::consts::PI * i as f64 / n as f64).cos();
        s[i] *= g as f32;
        s[len - 1 - i] *= g as f32;
    }
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
