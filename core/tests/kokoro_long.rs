//! Long scripts with Kokoro: a 3-minute English script (and a shorter Mandarin one) narrated
//! through the streaming API ([`narrate_stream`]), checked for gaps, clicks at every join,
//! streaming (first audio long before the end) and word timings across chunks.
//!
//! Skips with a message when Kokoro (and, for Mandarin, its pinyin tables) is not installed
//! in `$VOXREEL_HOME/models/kokoro` (`voxreel models fetch kokoro`).
//!
//! Gaps: RMS in 10 ms windows below −50 dBFS on the engine's raw output (about −20 dBFS for
//! speech, so this is some 30 dB under it); the longest run must be ≤ 1 s.
//! Clicks: `voxreel::audio::continuity::join_click` at every join — each sentence's start
//! and end against the pauses around it, and every edge of an inserted run of exact zeros
//! (which also covers the windows inside a sentence longer than 510 tokens): the step
//! across the join must not exceed 3× the local 99th-percentile sample difference (±10 ms)
//! unless it is below −60 dBFS. The criterion is unit-tested in `audio/continuity.rs` on a
//! phase jump and an unfaded cut (both clicks).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use voxreel::audio::continuity::{join_click, longest_silence_s, silence_edges, JoinCheck};
use voxreel::lang::Language;
use voxreel::progress::NoProgress;
use voxreel::script::Script;
use voxreel::tts::kokoro::synth::{self as kokoro_synth, KokoroSynthesizer};
use voxreel::tts::narrate::{narrate_stream, NarrateOptions, NarrationChunk};
use voxreel::voice::VoiceProfile;
use voxreel::Device;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn profile() -> VoiceProfile {
    let a =
        voxreel::audio::decode_file(&repo().join("samples/voices/librispeech-367.flac")).unwrap();
    VoiceProfile::from_audio(&a, "sample").unwrap()
}

fn engine(language: Language) -> Option<&'static KokoroSynthesizer> {
    static E: OnceLock<Option<KokoroSynthesizer>> = OnceLock::new();
    let e = E
        .get_or_init(|| {
            let dir = kokoro_synth::default_dir();
            if !kokoro_synth::is_installed(&dir) {
                eprintln!(
                    "SKIPPED: Kokoro is not installed in {} (run `voxreel models fetch kokoro`)",
                    dir.display()
                );
                return None;
            }
            Some(KokoroSynthesizer::load(&dir, &Device::Cpu).expect("load Kokoro"))
        })
        .as_ref()?;
    if language != Language::English && !e.speaks_mandarin() {
        eprintln!("SKIPPED: the Kokoro Mandarin tables are not installed (run `voxreel models fetch kokoro`)");
        return None;
    }
    Some(e)
}

struct Run {
    audio: Vec<f32>,
    chunks: Vec<NarrationChunk>,
    /// seconds from the start until each chunk was handed over
    arrived: Vec<f64>,
    total_s: f64,
}

fn narrate_file(k: &KokoroSynthesizer, file: &str, language: Language, parallel: usize) -> Run {
    let script = Script::from_file(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/long")
            .join(file),
    )
    .unwrap();
    let t0 = Instant::now();
    let mut chunks = Vec::new();
    let mut arrived = Vec::new();
    let narration = narrate_stream(
        &script,
        language,
        k,
        &profile(),
        &NoProgress,
        &NarrateOptions { parallel },
        &mut |c| {
            arrived.push(t0.elapsed().as_secs_f64());
            chunks.push(c.clone());
            Ok(())
        },
    )
    .unwrap();
    let total_s = t0.elapsed().as_secs_f64();
    assert_eq!(narration.audio.sample_rate, 24_000);
    // The streamed chunks are the narration: in order, contiguous, the same samples.
    let mut joined = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.index, i);
        assert_eq!(c.start_sample, joined.len());
        joined.extend_from_slice(&c.samples);
    }
    assert_eq!(&narration.audio.samples[..joined.len()], &joined[..]);
    assert!(narration.audio.samples[joined.len()..]
        .iter()
        .all(|&x| x == 0.0));
    assert_eq!(narration.sentences.len(), chunks.len());
    Run {
        audio: narration.audio.samples,
        chunks,
        arrived,
        total_s,
    }
}

fn check_long_run(run: &Run, min_audio_s: f64, label: &str) {
    let sr = 24_000u32;
    let audio_s = run.audio.len() as f64 / sr as f64;
    let gap = longest_silence_s(&run.audio, sr, -50.0);
    // Joins: each sentence's start and end, and every edge of an inserted pause.
    let mut joins: Vec<usize> = Vec::new();
    for c in &run.chunks {
        joins.push(c.speech_start_sample);
        joins.push(c.start_sample + c.samples.len());
    }
    joins.extend(silence_edges(&run.audio, sr as usize / 100));
    joins.sort_unstable();
    joins.dedup();
    let checks: Vec<JoinCheck> = joins
        .iter()
        .map(|&j| join_click(&run.audio, sr, j))
        .collect();
    let worst = checks
        .iter()
        .copied()
        .max_by(|a, b| (a.step / a.local.max(1e-9)).total_cmp(&(b.step / b.local.max(1e-9))))
        .unwrap();
    let max_step = checks.iter().map(|c| c.step).fold(0.0, f64::max);
    eprintln!(
        "{label}: {audio_s:.1} s of audio in {:.1} s (real-time factor {:.3}), {} chunks, first audio after {:.2} s; \
         longest gap {gap:.2} s; {} joins checked, largest step {max_step:.2e}, worst step/local {:.3} at sample {}",
        run.total_s,
        run.total_s / audio_s,
        run.chunks.len(),
        run.arrived[0],
        checks.len(),
        worst.step / worst.local.max(1e-9),
        worst.index,
    );
    assert!(audio_s >= min_audio_s, "only {audio_s:.1} s of audio");
    assert!(gap <= 1.0, "a gap of {gap:.2} s");
    let clicks: Vec<&JoinCheck> = checks.iter().filter(|c| c.click).collect();
    assert!(clicks.is_empty(), "clicks at joins: {clicks:?}");
    // Streaming: the first sentence was there long before the last one was synthesized.
    assert!(run.chunks.len() >= 10);
    assert!(
        run.arrived[0] < 0.25 * run.total_s,
        "first audio after {:.1} s of {:.1} s",
        run.arrived[0],
        run.total_s
    );
    assert!(run.arrived.windows(2).all(|w| w[0] <= w[1]));
    // Word timings across chunks: in order over the whole narration, every unit inside its
    // own chunk's sentence audio, and each sentence's first unit on speech (not silence).
    let mut last = 0.0f64;
    for c in &run.chunks {
        let a = c.speech_start_sample as f64 / sr as f64;
        let b = (c.start_sample + c.samples.len()) as f64 / sr as f64;
        for &(s, e) in &c.sentence.times {
            assert!(
                s >= last - 1e-9,
                "unit at {s:.3} s before the previous one at {last:.3} s"
            );
            assert!(
                s >= a - 1e-9 && e <= b + 1e-9 && s <= e,
                "unit {s:.3}–{e:.3} s outside its chunk {a:.3}–{b:.3} s"
            );
            last = s;
        }
        let first = c.sentence.times[0].0;
        let from = (first * sr as f64) as usize;
        let w = &run.audio[from..(from + sr as usize / 5).min(run.audio.len())];
        let rms = (w.iter().map(|&x| (x * x) as f64).sum::<f64>() / w.len() as f64).sqrt();
        assert!(
            20.0 * rms.log10() > -40.0,
            "no speech in the 200 ms after the first word of chunk {} at {first:.2} s ({:.1} dBFS)",
            c.index,
            20.0 * rms.log10()
        );
    }
}

/// The test: a 3-minute script (`tests/data/long/three-minutes.md`, 555 words in
/// 4 scenes, one sentence per chunk) with no gap longer than 1 s and no click at any join;
/// the default schedule (one sentence at a time).
#[test]
fn three_minute_script_streams_without_gaps_or_clicks() {
    let Some(k) = engine(Language::English) else {
        return;
    };
    let k = k.with_speaker("af_heart").unwrap();
    let run = narrate_file(&k, "three-minutes.md", Language::English, 1);
    check_long_run(&run, 150.0, "English 3-minute script");
}

/// The same checks on a shorter Mandarin text (Traditional, one paragraph Simplified), with
/// two sentences synthesized at a time (the chunks must still arrive in order).
#[test]
fn mandarin_long_text_streams_without_gaps_or_clicks() {
    let Some(k) = engine(Language::ChineseTraditional) else {
        return;
    };
    let k = k.with_speaker("zf_xiaoxiao").unwrap();
    let run = narrate_file(&k, "zh-long.md", Language::ChineseTraditional, 2);
    check_long_run(&run, 40.0, "Mandarin text");
}

/// A sentence longer than the model's window (here windows of 40 tokens) is split inside
/// the engine; those joins (pauses of exact zeros) must not click either, and the words
/// keep their order.
#[test]
fn windows_inside_one_sentence_join_without_clicks() {
    let Some(k) = engine(Language::English) else {
        return;
    };
    let k = k.with_speaker("af_heart").unwrap().with_max_tokens(40);
    use voxreel::tts::Synthesizer;
    let text = "When the engineers finally arrived with their cables, their batteries and the small grey box, \
                Margaret showed them the lamp room, the clockwork, the great lens and the logbook, \
                and then she went down to the garden to pick the last of the strawberries.";
    let s = k.synthesize(text, Language::English, &profile()).unwrap();
    let edges = silence_edges(&s.audio.samples, 240);
    assert!(
        edges.len() >= 4,
        "expected several windows, got edges {edges:?}"
    );
    for &j in &edges {
        let c = join_click(&s.audio.samples, 24_000, j);
        assert!(!c.click, "{c:?}");
    }
    assert!(s.words.windows(2).all(|w| w[0].start_s < w[1].start_s));
}
