//! The main job, end to end: [`Studio::render`] turns a voice recording and a
//! script into an MP4 with burned-in captions and SRT/VTT sidecars.
//!
//! Output is atomic: everything is written to hidden temporary files in the
//! destination folder and renamed into place only when the whole render
//! succeeded; a failed or cancelled render leaves no output behind.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::audio::{self, loudness, Audio};
use crate::lang::{Language, LanguageChoice};
use crate::media::{Mp4Writer, VideoSpec};
use crate::plan::{build_cues, CaptionLayout, Cue, FrameSpec, Timeline, TimelineScene};
use crate::progress::{check, Progress};
use crate::render::fonts::FontSet;
use crate::render::{caption_max_line_width, CaptionStyle, FrameRenderer};
use crate::script::Script;
use crate::subtitles::{to_srt, to_vtt};
use crate::tts::narrate::{narrate, Narration};
use crate::tts::Synthesizer;
use crate::voice::{VoiceEncoder, VoiceProfile};
use crate::{Error, Result};

/// Integrated loudness of the final soundtrack (LUFS), the level short-video platforms play at.
pub const TARGET_LUFS: f64 = -14.0;
/// Ceiling for the soundtrack's true peak before AAC encoding (dBTP); leaves room for codec overshoot under −1 dBTP.
pub const TRUE_PEAK_CEILING_DBTP: f64 = -2.0;
/// How much louder EBU R128 measures a mono signal played on both stereo channels (10·log10 2).
pub const DUAL_MONO_GAIN_DB: f64 = 3.0103;
/// Longest narration a render accepts, in seconds.
pub const MAX_NARRATION_S: f64 = 3600.0;
/// Image file extensions taken from an images folder.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "webp", "PNG"];

/// What to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderRequest {
    /// Reference recording (WAV/MP3/FLAC/OGG) or a saved voice profile (`.voice`, JSON).
    pub voice: PathBuf,
    /// Script file: plain text or Markdown.
    pub script: PathBuf,
    /// Output MP4 path; the SRT and VTT files go next to it.
    pub output: PathBuf,
    /// Folder of images for the scenes, taken in natural filename order.
    pub images: Option<PathBuf>,
    /// Language, or detection.
    pub language: LanguageChoice,
    /// Seed for generated visuals.
    pub seed: u64,
}

/// Wall-clock seconds spent in each stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    /// Decoding and analysing the reference.
    pub voice_s: f64,
    /// Speech synthesis.
    pub synthesis_s: f64,
    /// Loudness normalisation and resampling of the soundtrack.
    pub audio_s: f64,
    /// Script parsing, cue planning, fonts.
    pub planning_s: f64,
    /// Rendering frames: busy time of the frame worker (parallel, overlapping encoding).
    pub frames_s: f64,
    /// Encoding and muxing (colour conversion, libx264, AAC, MP4), in the calling thread.
    pub encoding_s: f64,
    /// Wall clock of the whole video stage (frames and encoding together).
    pub video_s: f64,
    /// The whole job.
    pub total_s: f64,
}

/// What a render produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderOutput {
    /// The MP4.
    pub video: PathBuf,
    /// SubRip captions.
    pub srt: PathBuf,
    /// WebVTT captions.
    pub vtt: PathBuf,
    /// Video duration in seconds.
    pub duration_s: f64,
    /// Frames encoded.
    pub frames: u64,
    /// Language used.
    pub language: Language,
    /// Speech engine used.
    pub engine: String,
    /// Scenes.
    pub scenes: usize,
    /// Caption cues.
    pub cues: Vec<Cue>,
    /// Warnings (e.g. a short reference).
    pub warnings: Vec<String>,
    /// Time per stage.
    pub timings: StageTimings,
}

/// The high-level API every facade (CLI, bindings, server) calls.
pub struct Studio {
    synth: Box<dyn Synthesizer>,
    font_dirs: Vec<PathBuf>,
    video: VideoSpec,
    frame: FrameSpec,
    style: CaptionStyle,
    device: crate::Device,
    encoder: std::sync::OnceLock<VoiceEncoder>,
}

impl std::fmt::Debug for Studio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Studio")
            .field("engine", &self.synth.name())
            .field("video", &self.video)
            .finish()
    }
}

impl Studio {
    /// A studio speaking with `synth`, rendering 1080×1920 at 30 fps.
    pub fn new(synth: Box<dyn Synthesizer>) -> Self {
        Studio {
            synth,
            font_dirs: Vec::new(),
            video: VideoSpec::vertical(),
            frame: FrameSpec::vertical(),
            style: CaptionStyle::default(),
            device: crate::Device::Cpu,
            encoder: std::sync::OnceLock::new(),
        }
    }

    /// Runs the neural models on `device` (CPU by default).
    pub fn with_device(mut self, device: crate::Device) -> Self {
        self.device = device;
        self.encoder = std::sync::OnceLock::new();
        self
    }

    /// The speaker encoder, loaded on first use.
    pub fn encoder(&self) -> Result<&VoiceEncoder> {
        if let Some(e) = self.encoder.get() {
            return Ok(e);
        }
        let e = VoiceEncoder::load(&self.device)?;
        Ok(self.encoder.get_or_init(|| e))
    }

    /// A studio with the espeak-ng engine.
    #[cfg(feature = "espeak")]
    pub fn with_espeak() -> Result<Self> {
        Ok(Self::new(Box::new(
            crate::tts::espeak::EspeakSynthesizer::new()?,
        )))
    }

    /// Adds folders searched for fonts before the system ones.
    pub fn with_font_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.font_dirs = dirs;
        self
    }

    /// The speech engine's name.
    pub fn engine(&self) -> &str {
        self.synth.name()
    }

    /// Enrols a reference recording: analysis and speaker embedding (errors for
    /// silence, too little speech, clipping; a warning for 2–6 s of speech).
    pub fn enroll(&self, audio: &Audio, what: &str) -> Result<VoiceProfile> {
        VoiceProfile::enroll(audio, what, self.encoder()?)
    }

    /// Loads a voice: a saved profile (`.voice` or `.json`) or a recording to enrol.
    pub fn load_voice(&self, path: &Path) -> Result<VoiceProfile> {
        crate::voice::load_voice(path, self.encoder()?)
    }

    /// Speaks `text` (plain text or Markdown) in `voice`: 48 kHz mono at −14 LUFS.
    pub fn say(
        &self,
        text: &str,
        language: LanguageChoice,
        voice: &VoiceProfile,
        progress: &dyn Progress,
    ) -> Result<Audio> {
        let script = Script::parse(text, "text", None)?;
        let lang = language.resolve(&script.plain_text());
        let narration = narrate(&script, lang, self.synth.as_ref(), voice, progress)?;
        finish_audio(&narration.audio, TARGET_LUFS)
    }

    /// Runs the main job. See the module docs for the output guarantees.
    pub fn render(&self, req: &RenderRequest, progress: &dyn Progress) -> Result<RenderOutput> {
        let t0 = Instant::now();
        let mut timings = StageTimings::default();
        let out_paths = OutputPaths::new(&req.output)?;

        // Inputs first: every bad-input error comes before any slow work.
        let t = Instant::now();
        progress.stage("voice", 0);
        let voice = self.load_voice(&req.voice)?;
        let mut warnings = voice.analysis.warnings.clone();
        for w in &warnings {
            progress.warn(w);
        }
        timings.voice_s = t.elapsed().as_secs_f64();

        let t = Instant::now();
        let script = Script::from_file(&req.script)?;
        let lang = req.language.resolve(&script.plain_text());
        let folder_images = match &req.images {
            Some(dir) => list_images(dir)?,
            None => Vec::new(),
        };
        let fonts = FontSet::for_language_in(lang, &self.font_dirs)?;
        timings.planning_s = t.elapsed().as_secs_f64();
        check(progress)?;

        let t = Instant::now();
        let narration: Narration = narrate(&script, lang, self.synth.as_ref(), &voice, progress)?;
        timings.synthesis_s = t.elapsed().as_secs_f64();
        if narration.audio.duration_s() > MAX_NARRATION_S {
            return Err(Error::AudioTooLong {
                what: "narration".into(),
                seconds: narration.audio.duration_s(),
                limit_s: MAX_NARRATION_S,
            });
        }
        check(progress)?;

        let t = Instant::now();
        let layout = CaptionLayout {
            font_px: self.style.font_px,
            max_line_width: caption_max_line_width(&self.frame, &self.style),
            max_lines: 2,
        };
        let cues = build_cues(&narration.sentences, &layout, &fonts);
        let scenes: Vec<TimelineScene> = script
            .scenes
            .iter()
            .zip(&narration.scene_spans)
            .map(|(sc, &(start_s, end_s))| TimelineScene {
                index: sc.index,
                start_s,
                end_s,
                title: sc.title.clone(),
                image: sc
                    .image
                    .clone()
                    .or_else(|| folder_images.get(sc.index).cloned()),
            })
            .collect();
        if folder_images.len() > scenes.len() {
            warnings.push(format!(
                "{} images given for {} scenes; the extra images are unused",
                folder_images.len(),
                scenes.len()
            ));
        }
        let mut timeline = Timeline {
            frame: self.frame,
            duration_s: narration.audio.duration_s(),
            scenes,
            cues,
            seed: req.seed,
        };
        let frames = timeline.frame_count();
        let duration_s = frames as f64 / self.frame.fps as f64;
        timeline.duration_s = duration_s;
        if let Some(last) = timeline.scenes.last_mut() {
            last.end_s = duration_s;
        }
        timings.planning_s += t.elapsed().as_secs_f64();

        let t = Instant::now();
        // The MP4 carries the mono soundtrack on both stereo channels, which EBU R128
        // measures 3.01 dB louder than the mono signal: aim the mono mix that much lower.
        let mut soundtrack = finish_audio(&narration.audio, TARGET_LUFS - DUAL_MONO_GAIN_DB)?;
        soundtrack
            .samples
            .resize((duration_s * 48_000.0).round() as usize, 0.0);
        timings.audio_s = t.elapsed().as_secs_f64();
        check(progress)?;

        // Video: frames rendered in parallel, streamed in order into the encoder.
        let t = Instant::now();
        let renderer = FrameRenderer::new(&timeline, &fonts, &self.style)?;
        let title = script
            .scenes
            .iter()
            .find_map(|s| s.title.clone())
            .unwrap_or_default();
        let metadata = vec![
            ("title".to_string(), title),
            (
                "comment".to_string(),
                format!(
                    "Narration is a synthetic voice ({}), made with voxreel",
                    narration.engine
                ),
            ),
            ("language".to_string(), lang.tag().to_string()),
        ];
        let mut writer =
            Mp4Writer::create(&out_paths.tmp_video, &self.video, &soundtrack, &metadata)?;
        let mut encode_s = 0.0f64;
        progress.stage("frames", frames);
        let render_busy_s = renderer.render_all(progress, &mut |rgb: &[u8]| {
            let te = Instant::now();
            let r = writer.write_frame(rgb);
            encode_s += te.elapsed().as_secs_f64();
            r
        })?;
        let te = Instant::now();
        let stats = writer.finish()?;
        encode_s += te.elapsed().as_secs_f64();
        // Rendering runs on a worker while the encoder works: the two overlap.
        timings.encoding_s = encode_s;
        timings.frames_s = render_busy_s;
        timings.video_s = t.elapsed().as_secs_f64();

        std::fs::write(&out_paths.tmp_srt, to_srt(&timeline.cues))
            .map_err(|e| Error::io(&out_paths.tmp_srt, e))?;
        std::fs::write(&out_paths.tmp_vtt, to_vtt(&timeline.cues))
            .map_err(|e| Error::io(&out_paths.tmp_vtt, e))?;
        check(progress)?;
        out_paths.commit()?;
        timings.total_s = t0.elapsed().as_secs_f64();
        Ok(RenderOutput {
            video: out_paths.video.clone(),
            srt: out_paths.srt.clone(),
            vtt: out_paths.vtt.clone(),
            duration_s: stats.duration_s,
            frames: stats.frames,
            language: lang,
            engine: narration.engine,
            scenes: timeline.scenes.len(),
            cues: timeline.cues,
            warnings,
            timings,
        })
    }
}

/// Resamples narration to 48 kHz and normalises it to `lufs` with the true-peak ceiling.
fn finish_audio(narration: &Audio, lufs: f64) -> Result<Audio> {
    let a = audio::resample(narration, 48_000)?;
    loudness::normalize(&a, lufs, TRUE_PEAK_CEILING_DBTP)
}

/// Image files of a folder in natural filename order (`2.png` before `10.png`).
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        })
        .collect();
    files.sort_by(|a, b| {
        natural_cmp(
            &a.file_name().unwrap_or_default().to_string_lossy(),
            &b.file_name().unwrap_or_default().to_string_lossy(),
        )
    });
    Ok(files)
}

/// Compares strings with digit runs as numbers: `img2` < `img10`.
///
/// ```
/// use voxreel::studio::natural_cmp;
/// let mut v = vec!["10.png", "2.png", "1.png", "b.png", "a10.png", "a9.png"];
/// v.sort_by(|a, b| natural_cmp(a, b));
/// assert_eq!(v, ["1.png", "2.png", "10.png", "a9.png", "a10.png", "b.png"]);
/// ```
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let mut n1 = String::new();
                while let Some(c) = x.peek().copied().filter(char::is_ascii_digit) {
                    n1.push(c);
                    x.next();
                }
                let mut n2 = String::new();
                while let Some(d) = y.peek().copied().filter(char::is_ascii_digit) {
                    n2.push(d);
                    y.next();
                }
                let (t1, t2) = (n1.trim_start_matches('0'), n2.trim_start_matches('0'));
                let o = t1.len().cmp(&t2.len()).then_with(|| t1.cmp(t2));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(c), Some(d)) => {
                let o = c.to_lowercase().cmp(d.to_lowercase());
                if o != Ordering::Equal {
                    return o;
                }
                x.next();
                y.next();
            }
        }
    }
}

/// Final and temporary paths of one render; temporaries are removed on drop unless committed.
struct OutputPaths {
    video: PathBuf,
    srt: PathBuf,
    vtt: PathBuf,
    tmp_video: PathBuf,
    tmp_srt: PathBuf,
    tmp_vtt: PathBuf,
    committed: std::cell::Cell<bool>,
}

impl OutputPaths {
    fn new(output: &Path) -> Result<Self> {
        let name =
            output
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::InvalidArgument {
                    name: "output".into(),
                    reason: format!("{} is not a file name", output.display()),
                })?;
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(Error::InvalidArgument {
                name: "output".into(),
                reason: format!("folder {} does not exist", dir.display()),
            });
        }
        let video = dir.join(name);
        let tag = format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let stem = output.file_stem().and_then(|s| s.to_str()).unwrap_or(name);
        let tmp = |n: &str| dir.join(format!(".{n}.{tag}.partial"));
        Ok(OutputPaths {
            srt: dir.join(format!("{stem}.srt")),
            vtt: dir.join(format!("{stem}.vtt")),
            tmp_video: tmp(name),
            tmp_srt: tmp(&format!("{stem}.srt")),
            tmp_vtt: tmp(&format!("{stem}.vtt")),
            video,
            committed: std::cell::Cell::new(false),
        })
    }

    fn commit(&self) -> Result<()> {
        for (from, to) in [
            (&self.tmp_srt, &self.srt),
            (&self.tmp_vtt, &self.vtt),
            (&self.tmp_video, &self.video),
        ] {
            std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
        }
        self.committed.set(true);
        Ok(())
    }
}

impl Drop for OutputPaths {
    fn drop(&mut self) {
        if !self.committed.get() {
            for p in [&self.tmp_video, &self.tmp_srt, &self.tmp_vtt] {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}
