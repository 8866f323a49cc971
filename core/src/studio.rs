//! The main job, end to end: [`Studio::render`] turns a voice recording and a
//! script into an MP4 with burned-in captions and SRT/VTT sidecars.
//!
//! Output is atomic: everything is written to hidden temporary files in the
//! destination folder and renamed into place only when the whole render
//! succeeded; a failed or cancelled render leaves no output behind.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::audio::mix::{self, MusicMix};
use crate::audio::{self, loudness, Audio};
use crate::lang::{Language, LanguageChoice};
use crate::media::{Mp4Writer, VideoSpec};
use crate::plan::{
    build_cues, Aspect, CaptionLayout, Cue, FrameSpec, Preset, Timeline, TimelineScene, Transition,
};
use crate::progress::{check, Progress};
use crate::render::fonts::FontSet;
use crate::render::motion::Motion;
use crate::render::{caption_max_line_width, CaptionStyle, FrameRenderer};
use crate::script::Script;
use crate::subtitles::{to_srt, to_vtt};
use crate::tts::kokoro::synth::{self as kokoro_synth, KokoroSynthesizer};
use crate::tts::narrate::{narrate, narrate_stream, NarrateOptions, Narration, NarrationChunk};
pub use crate::tts::Engine;
use crate::tts::Synthesizer;
use crate::voice::clone::CloneOptions;
use crate::voice::{VoiceEncoder, VoiceProfile};
use crate::watermark::{self, Payload};
use crate::{Error, Result};

/// Integrated loudness of the final soundtrack (LUFS), the level short-video platforms play at.
pub const TARGET_LUFS: f64 = -14.0;
/// Ceiling for the soundtrack's true peak before AAC encoding (dBTP); leaves room for codec overshoot under −1 dBTP.
pub const TRUE_PEAK_CEILING_DBTP: f64 = -2.0;
/// Default colour of the spoken word with `highlight` on.
pub const HIGHLIGHT_YELLOW: [u8; 3] = [255, 214, 10];
/// How much louder EBU R128 measures a mono signal played on both stereo channels (10·log10 2).
pub const DUAL_MONO_GAIN_DB: f64 = 3.0103;
/// Longest narration a render accepts, in seconds.
pub const MAX_NARRATION_S: f64 = 3600.0;
/// Image file extensions taken from an images folder.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "webp", "PNG"];

/// Where captions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptionMode {
    /// No captions at all.
    None,
    /// Burned into the frames, and SRT/VTT sidecars.
    #[default]
    Burned,
    /// Only the SRT/VTT sidecars.
    Sidecar,
}

impl std::str::FromStr for CaptionMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "none" => Ok(CaptionMode::None),
            "burned" => Ok(CaptionMode::Burned),
            "sidecar" => Ok(CaptionMode::Sidecar),
            _ => Err(Error::InvalidArgument {
                name: "captions".into(),
                reason: format!("{s:?} (none, burned or sidecar expected)"),
            }),
        }
    }
}

/// How the video is composed: format, motion, transitions, music, captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Composition {
    /// Frame shape (a preset overrides it).
    pub aspect: Aspect,
    /// Platform preset: size, safe area, caption placement.
    pub preset: Option<Preset>,
    /// Frames per second: 24, 30 or 60.
    pub fps: u32,
    /// Quick low-resolution preview (half size, fastest encoder settings).
    pub draft: bool,
    /// Slow pan/zoom on scene images.
    pub motion: bool,
    /// How scenes change.
    pub transition: Transition,
    /// Background music (WAV/MP3/FLAC/OGG/M4A), looped or trimmed, ducked under narration.
    pub music: Option<PathBuf>,
    /// How the music is mixed.
    pub music_mix: MusicMix,
    /// Where captions go.
    pub captions: CaptionMode,
    /// Caption style file (JSON with any of [`CaptionStyle`]'s fields).
    pub style: Option<PathBuf>,
    /// Write a cover image `OUT.png` (the first scene with its title).
    pub cover: bool,
    /// Highlight the word being spoken, in the style's `highlight` colour (yellow if unset).
    pub highlight: bool,
}

impl Default for Composition {
    fn default() -> Self {
        Composition {
            aspect: Aspect::Vertical,
            preset: None,
            fps: 30,
            draft: false,
            motion: true,
            transition: Transition::Default,
            music: None,
            music_mix: MusicMix::default(),
            captions: CaptionMode::Burned,
            style: None,
            cover: true,
            highlight: false,
        }
    }
}

/// What to render.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderRequest {
    /// Reference recording (WAV/MP3/FLAC/OGG) or a saved voice profile (`.voice`, JSON).
    pub voice: PathBuf,
    /// Script file: plain text or Markdown.
    pub script: PathBuf,
    /// Output MP4 path; the SRT and VTT files go next to it.
    pub output: PathBuf,
    /// Folder of images and video clips for the scenes, taken in natural filename order.
    pub images: Option<PathBuf>,
    /// Language, or detection.
    pub language: LanguageChoice,
    /// Seed for generated visuals.
    pub seed: u64,
    /// Format, motion, music and captions.
    #[serde(default)]
    pub composition: Composition,
    /// Speech engine ([`Engine::Auto`] by default: Kokoro for English when installed).
    #[serde(default)]
    pub engine: Engine,
    /// Kokoro stock voice (`af_heart`, …); by default chosen from the voice profile.
    #[serde(default)]
    pub speaker: Option<String>,
}

/// Options of [`Studio::say`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SayOptions {
    /// Language, or detection.
    pub language: LanguageChoice,
    /// Speech engine.
    pub engine: Engine,
    /// Kokoro stock voice; by default chosen from the voice profile.
    pub speaker: Option<String>,
}

/// A spoken word (caption unit) of [`Studio::say`]'s output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpokenWord {
    /// The word as written.
    pub text: String,
    /// When it starts, seconds from the start of the audio.
    pub start_s: f64,
    /// When it ends (the next word's start, or the end of speech).
    pub end_s: f64,
}

/// What [`Studio::say`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SayOutput {
    /// The speech at the engine's sample rate (24 kHz for Kokoro, 22.05 kHz for espeak-ng),
    /// normalised to −14 LUFS with a true-peak ceiling.
    pub audio: Audio,
    /// The engine that spoke (`kokoro-82m (af_heart)`, `espeak-ng`).
    pub engine: String,
    /// Language used.
    pub language: Language,
    /// Every word with its time.
    pub words: Vec<SpokenWord>,
    /// The payload of the watermark the speech carries (see [`crate::watermark`]).
    pub watermark: Payload,
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
    /// SubRip captions (none with `--captions none`).
    pub srt: Option<PathBuf>,
    /// WebVTT captions.
    pub vtt: Option<PathBuf>,
    /// Cover image (PNG), if asked for.
    pub cover: Option<PathBuf>,
    /// Manifest (JSON): inputs with checksums, scenes, cues, settings.
    pub manifest: PathBuf,
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
    /// The payload of the watermark the narration carries (see [`crate::watermark`]).
    #[serde(default)]
    pub watermark: String,
}

/// The high-level API every facade (CLI, bindings, server) calls.
///
/// A studio has a fallback engine (espeak-ng, or any [`Synthesizer`] given to
/// [`Studio::new`]) and knows where Kokoro-82M would be installed; each request chooses
/// with its [`Engine`] (see [`Studio::select_engine`]). Kokoro is loaded on first use.
pub struct Studio {
    synth: Option<Box<dyn Synthesizer>>,
    kokoro_dir: PathBuf,
    kokoro: std::sync::OnceLock<KokoroSynthesizer>,
    font_dirs: Vec<PathBuf>,
    video: VideoSpec,
    style: CaptionStyle,
    device: crate::Device,
    encoder: std::sync::OnceLock<VoiceEncoder>,
}

impl std::fmt::Debug for Studio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Studio")
            .field(
                "fallback",
                &self.synth.as_ref().map(|s| s.name().to_string()),
            )
            .field("kokoro_dir", &self.kokoro_dir)
            .field("video", &self.video)
            .finish()
    }
}

impl Studio {
    /// A studio with `synth` as its fallback engine (and Kokoro from
    /// [`kokoro_synth::default_dir`] when installed), rendering 1080×1920 at 30 fps.
    pub fn new(synth: Box<dyn Synthesizer>) -> Self {
        Self::with_fallback(Some(synth))
    }

    /// A studio whose engines are Kokoro and, if given, `fallback`.
    pub fn with_fallback(fallback: Option<Box<dyn Synthesizer>>) -> Self {
        Studio {
            synth: fallback,
            kokoro_dir: kokoro_synth::default_dir(),
            kokoro: std::sync::OnceLock::new(),
            font_dirs: Vec::new(),
            video: VideoSpec::vertical(),
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

    /// A studio with the espeak-ng engine as fallback (and Kokoro when installed).
    #[cfg(feature = "espeak")]
    pub fn with_espeak() -> Result<Self> {
        Ok(Self::new(Box::new(
            crate::tts::espeak::EspeakSynthesizer::new()?,
        )))
    }

    /// The usual studio: espeak-ng as fallback when built with the `espeak` feature and
    /// espeak-ng is installed, Kokoro when installed.
    pub fn auto() -> Self {
        #[cfg(feature = "espeak")]
        {
            if let Ok(e) = crate::tts::espeak::EspeakSynthesizer::new() {
                return Self::new(Box::new(e));
            }
        }
        Self::with_fallback(None)
    }

    /// Reads Kokoro from `dir` instead of `$VOXREEL_HOME/models/kokoro`.
    pub fn with_kokoro_dir(mut self, dir: PathBuf) -> Self {
        self.kokoro_dir = dir;
        self.kokoro = std::sync::OnceLock::new();
        self
    }

    /// Where Kokoro is read from.
    pub fn kokoro_dir(&self) -> &Path {
        &self.kokoro_dir
    }

    /// Whether Kokoro's files are installed in [`Studio::kokoro_dir`].
    pub fn kokoro_installed(&self) -> bool {
        kokoro_synth::is_installed(&self.kokoro_dir)
    }

    /// The Kokoro engine, loaded on first use ([`Error::MissingDependency`] naming
    /// `voxreel models fetch kokoro` when not installed).
    pub fn kokoro(&self) -> Result<&KokoroSynthesizer> {
        if let Some(k) = self.kokoro.get() {
            return Ok(k);
        }
        let k = KokoroSynthesizer::load(&self.kokoro_dir, &self.device)?;
        Ok(self.kokoro.get_or_init(|| k))
    }

    fn fallback(&self) -> Result<&dyn Synthesizer> {
        self.synth.as_deref().ok_or_else(|| Error::MissingDependency {
            what: "the espeak-ng engine (this voxreel was built without the `espeak` feature, or espeak-ng is not installed)".into(),
            install: "sudo apt-get install espeak-ng libespeak-ng-dev && cargo install --path cli --features espeak".into(),
        })
    }

    /// Chooses the engine for one job:
    /// - [`Engine::Kokoro`]: Kokoro (must be installed; Chinese also needs the Mandarin
    ///   front end's tables), speaking as `speaker` or as chosen from `voice` and the
    ///   language (see [`crate::tts::kokoro::synth`]);
    /// - [`Engine::Espeak`]: the fallback engine (`speaker` must be unset);
    /// - [`Engine::Auto`]: Kokoro when installed for `language`, else the
    ///   fallback, which ignores `speaker` (or Kokoro's error when there is no fallback).
    ///
    /// Errors: [`Error::MissingDependency`], [`Error::UnknownSpeaker`],
    /// [`Error::EngineLanguage`], [`Error::InvalidArgument`].
    pub fn select_engine(
        &self,
        engine: Engine,
        speaker: Option<&str>,
        language: Language,
        voice: &VoiceProfile,
    ) -> Result<SelectedEngine<'_>> {
        let kokoro = || -> Result<SelectedEngine<'_>> {
            // The Mandarin tables first: no need to load 325 MB of weights to refuse Chinese.
            if language != Language::English
                && kokoro_synth::is_installed(&self.kokoro_dir)
                && !crate::tts::g2p::zh::is_installed(&self.kokoro_dir)
            {
                return Err(kokoro_synth::missing_mandarin(&self.kokoro_dir));
            }
            let k = self.kokoro()?;
            if language != Language::English && !k.speaks_mandarin() {
                return Err(kokoro_synth::missing_mandarin(&self.kokoro_dir));
            }
            let name = match speaker {
                Some(s) => s.to_string(),
                None if voice.kokoro.is_some() && language == Language::English => {
                    return Ok(SelectedEngine::Kokoro(k.with_clone_of(voice)));
                }
                None => k.speaker_for_language(voice, language),
            };
            Ok(SelectedEngine::Kokoro(k.with_speaker(&name)?))
        };
        match engine {
            Engine::Kokoro => kokoro(),
            Engine::Espeak => {
                if let Some(s) = speaker {
                    return Err(Error::InvalidArgument {
                        name: "speaker".into(),
                        reason: format!("{s:?} is a Kokoro voice; espeak-ng picks its voice from the reference (drop --speaker or use --engine kokoro)"),
                    });
                }
                Ok(SelectedEngine::Fallback(self.fallback()?))
            }
            Engine::Auto => {
                if kokoro_synth::is_installed_for(&self.kokoro_dir, language) {
                    return kokoro();
                }
                match self.synth.as_deref() {
                    Some(s) => Ok(SelectedEngine::Fallback(s)),
                    None => kokoro(),
                }
            }
        }
    }
    /// Adds folders searched for fonts before the system ones.
    pub fn with_font_dirs(mut self, dirs: Vec<PathBuf>) -> Self {
        self.font_dirs = dirs;
        self
    }

    /// The fallback engine's name (`espeak-ng`), or `none`.
    pub fn engine(&self) -> &str {
        self.synth.as_ref().map_or("none", |s| s.name())
    }

    /// Enrols a reference recording: analysis and speaker embedding (errors for
    /// silence, too little speech, clipping; a warning for 2–6 s of speech).
    pub fn enroll(&self, audio: &Audio, what: &str) -> Result<VoiceProfile> {
        VoiceProfile::enroll(audio, what, self.encoder()?)
    }

    /// Loads a voice: a saved profile (`.voice` or `.json`) or a recording to enrol
    /// (analysis and embedding only; see [`Studio::clone_if_needed`] for the Kokoro clone).
    pub fn load_voice(&self, path: &Path) -> Result<VoiceProfile> {
        crate::voice::load_voice(path, self.encoder()?)
    }

    /// Enrols a recording with the Kokoro clone (needs Kokoro installed): analysis,
    /// embedding, the bad-input checks of [`VoiceProfile::enroll`], then the style search
    /// with progress (see [`crate::voice::clone`]). The style bank is cached in the Kokoro
    /// folder.
    pub fn enroll_clone(
        &self,
        audio: &Audio,
        what: &str,
        progress: &dyn Progress,
    ) -> Result<VoiceProfile> {
        let k = self.kokoro()?;
        VoiceProfile::enroll_clone(
            audio,
            what,
            self.encoder()?,
            k,
            &CloneOptions::with_bank_in(&self.kokoro_dir),
            progress,
        )
    }

    /// Whether a job speaking `language` with `engine` and `speaker` would speak through a
    /// Kokoro clone: English, Kokoro chosen (or `Auto` with Kokoro installed), no stock
    /// speaker fixed.
    pub fn speaks_with_clone(
        &self,
        engine: Engine,
        speaker: Option<&str>,
        language: Language,
    ) -> bool {
        speaker.is_none()
            && language == Language::English
            && match engine {
                Engine::Espeak => false,
                Engine::Kokoro => true,
                Engine::Auto => self.kokoro_installed(),
            }
    }

    /// Adds the Kokoro clone to `voice`, enrolled on the fly from the recording at `path`,
    /// when the job would speak with a clone ([`Studio::speaks_with_clone`]) and `voice`
    /// has none (a saved profile without a clone keeps its stock voice). Returns whether
    /// it cloned.
    pub fn clone_if_needed(
        &self,
        voice: &mut VoiceProfile,
        path: &Path,
        engine: Engine,
        speaker: Option<&str>,
        language: Language,
        progress: &dyn Progress,
    ) -> Result<bool> {
        if voice.kokoro.is_some()
            || crate::voice::is_profile_path(path)
            || !self.speaks_with_clone(engine, speaker, language)
        {
            return Ok(false);
        }
        let audio = audio::decode_file(path)?;
        let k = self.kokoro()?;
        voice.kokoro = Some(crate::voice::clone::clone_kokoro(
            k,
            self.encoder()?,
            &audio,
            &voice.analysis,
            &CloneOptions::with_bank_in(&self.kokoro_dir),
            progress,
        )?);
        Ok(true)
    }

    /// Speaks `text` (plain text or Markdown) in `voice` with the engine chosen by
    /// `options` (see [`Studio::select_engine`]): mono at the engine's sample rate,
    /// −14 LUFS, with every word's time.
    pub fn say(
        &self,
        text: &str,
        options: &SayOptions,
        voice: &VoiceProfile,
        progress: &dyn Progress,
    ) -> Result<SayOutput> {
        self.say_stream(text, options, voice, progress, &mut |_| Ok(()))
    }

    /// [`Studio::say`], handing every sentence to `on_chunk` as soon as it is synthesized
    /// (in order; see [`narrate_stream`]): the chunks are the engine's raw output, before the
    /// loudness normalisation of the returned audio, which needs the whole text. An error from
    /// `on_chunk` stops the job and is returned.
    pub fn say_stream(
        &self,
        text: &str,
        options: &SayOptions,
        voice: &VoiceProfile,
        progress: &dyn Progress,
        on_chunk: &mut dyn FnMut(&NarrationChunk) -> Result<()>,
    ) -> Result<SayOutput> {
        let script = Script::parse(text, "text", None)?;
        let lang = options.language.resolve(&script.plain_text());
        let synth = self.select_engine(options.engine, options.speaker.as_deref(), lang, voice)?;
        let narration = narrate_stream(
            &script,
            lang,
            synth.synthesizer(),
            voice,
            progress,
            &NarrateOptions::default(),
            on_chunk,
        )?;
        // Every clip of synthetic speech carries the watermark (the streamed chunks are the
        // engine's raw output; the returned audio is the marked, normalised whole).
        let payload = Payload::for_voice_now(voice);
        let marked = watermark::embed_audio(&narration.audio, &payload)?;
        let audio = loudness::normalize(&marked, TARGET_LUFS, TRUE_PEAK_CEILING_DBTP)?;
        let words = narration
            .sentences
            .iter()
            .flat_map(|s| {
                s.units.iter().zip(&s.times).map(|(u, &(a, b))| SpokenWord {
                    text: u.text.clone(),
                    start_s: a,
                    end_s: b,
                })
            })
            .collect();
        Ok(SayOutput {
            audio,
            engine: narration.engine,
            language: lang,
            words,
            watermark: payload,
        })
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
        let mut voice = voice;
        if self.clone_if_needed(
            &mut voice,
            &req.voice,
            req.engine,
            req.speaker.as_deref(),
            lang,
            progress,
        )? {
            timings.voice_s += t.elapsed().as_secs_f64();
        }
        let t = Instant::now();
        let synth = self.select_engine(req.engine, req.speaker.as_deref(), lang, &voice)?;
        let mut narration: Narration =
            narrate(&script, lang, synth.synthesizer(), &voice, progress)?;
        // Every clip of synthetic speech carries the watermark.
        let payload = Payload::for_voice_now(&voice);
        narration.audio = watermark::embed_audio(&narration.audio, &payload)?;
        timings.synthesis_s = t.elapsed().as_secs_f64();
        if narration.audio.duration_s() > MAX_NARRATION_S {
            return Err(Error::AudioTooLong {
                what: "narration".into(),
                seconds: narration.audio.duration_s(),
                limit_s: MAX_NARRATION_S,
            });
        }
        check(progress)?;

        let comp = &req.composition;
        if ![24, 30, 60].contains(&comp.fps) {
            return Err(Error::InvalidArgument {
                name: "fps".into(),
                reason: format!("{} (24, 30 or 60 expected)", comp.fps),
            });
        }
        let frame = FrameSpec::for_format(comp.aspect, comp.preset, comp.fps, comp.draft);
        let mut video_spec = VideoSpec {
            width: frame.width,
            height: frame.height,
            fps: frame.fps,
            ..self.video.clone()
        };
        if comp.draft {
            video_spec.preset = "ultrafast".into();
            video_spec.crf = 28;
        }
        let mut base_style = match &comp.style {
            Some(p) => CaptionStyle::load_json(p)?,
            None => self.style.clone(),
        };
        if comp.highlight && base_style.highlight.is_none() {
            base_style.highlight = Some(HIGHLIGHT_YELLOW);
        }
        let style = base_style.scaled(frame.scale());
        let music = match &comp.music {
            Some(p) => Some(audio::decode_file(p)?),
            None => None,
        };

        let t = Instant::now();
        let layout = CaptionLayout {
            font_px: style.font_px,
            max_line_width: caption_max_line_width(&frame, &style),
            max_lines: 2,
        };
        let cues = build_cues(&narration.sentences, &layout, &fonts);
        let scenes: Vec<TimelineScene> = script
            .scenes
            .iter()
            .zip(&narration.scene_spans)
            .map(|(sc, &(start_s, end_s))| {
                let image = sc
                    .image
                    .clone()
                    .or_else(|| folder_images.get(sc.index).cloned());
                // Pan/zoom moves still images; video clips play as they are.
                let still = image
                    .as_deref()
                    .is_some_and(|p| !crate::media::is_video_path(p));
                let motion = (comp.motion && still).then(|| Motion::for_scene(req.seed, sc.index));
                let transition = if sc.index == 0 {
                    Transition::Cut
                } else {
                    comp.transition
                };
                TimelineScene {
                    index: sc.index,
                    start_s,
                    end_s,
                    title: sc.title.clone(),
                    image,
                    motion,
                    transition,
                }
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
            frame,
            duration_s: narration.audio.duration_s(),
            scenes,
            cues,
            seed: req.seed,
            burn_captions: comp.captions == CaptionMode::Burned,
        };
        let frames = timeline.frame_count();
        let duration_s = frames as f64 / frame.fps as f64;
        timeline.duration_s = duration_s;
        if let Some(last) = timeline.scenes.last_mut() {
            last.end_s = duration_s;
        }
        timings.planning_s += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let soundtrack = soundtrack(
            &narration.audio,
            music.as_ref(),
            &comp.music_mix,
            duration_s,
        )?;
        drop(music); // the bed is mixed in: memory goes to the frames from here on
        timings.audio_s = t.elapsed().as_secs_f64();
        check(progress)?;

        // Video: frames rendered in parallel, streamed in order into the encoder.
        let t = Instant::now();
        let renderer = FrameRenderer::new(&timeline, &fonts, &base_style)?;
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
                    "Narration is a synthetic voice ({}), made with voxreel; watermark {payload}",
                    narration.engine
                ),
            ),
            ("language".to_string(), lang.tag().to_string()),
        ];
        let mut writer =
            Mp4Writer::create(&out_paths.tmp_video, &video_spec, soundtrack, &metadata)?;
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

        let sidecars = comp.captions != CaptionMode::None;
        if sidecars {
            std::fs::write(&out_paths.tmp_srt, to_srt(&timeline.cues))
                .map_err(|e| Error::io(&out_paths.tmp_srt, e))?;
            std::fs::write(&out_paths.tmp_vtt, to_vtt(&timeline.cues))
                .map_err(|e| Error::io(&out_paths.tmp_vtt, e))?;
        }
        if comp.cover {
            let rgb = renderer.cover()?;
            image::save_buffer_with_format(
                &out_paths.tmp_cover,
                &rgb,
                frame.width,
                frame.height,
                image::ExtendedColorType::Rgb8,
                image::ImageFormat::Png,
            )
            .map_err(|e| Error::Io {
                path: out_paths.cover.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        let manifest = Manifest::build(
            req,
            &timeline,
            &narration.engine,
            lang,
            &voice,
            stats.duration_s,
            &out_paths.tmp_video,
        )?;
        std::fs::write(
            &out_paths.tmp_manifest,
            serde_json::to_string_pretty(&manifest).expect("a manifest always serialises"),
        )
        .map_err(|e| Error::io(&out_paths.tmp_manifest, e))?;
        check(progress)?;
        out_paths.commit(sidecars, comp.cover)?;
        timings.total_s = t0.elapsed().as_secs_f64();
        Ok(RenderOutput {
            video: out_paths.video.clone(),
            srt: sidecars.then(|| out_paths.srt.clone()),
            vtt: sidecars.then(|| out_paths.vtt.clone()),
            cover: comp.cover.then(|| out_paths.cover.clone()),
            manifest: out_paths.manifest.clone(),
            duration_s: stats.duration_s,
            frames: stats.frames,
            language: lang,
            engine: narration.engine,
            scenes: timeline.scenes.len(),
            cues: timeline.cues,
            warnings,
            timings,
            watermark: payload.to_string(),
        })
    }
}

/// The engine [`Studio::select_engine`] chose for a job.
pub enum SelectedEngine<'a> {
    /// Kokoro with its speaker fixed.
    Kokoro(KokoroSynthesizer),
    /// The studio's fallback engine (espeak-ng).
    Fallback(&'a dyn Synthesizer),
}

impl SelectedEngine<'_> {
    /// The engine as a [`Synthesizer`].
    pub fn synthesizer(&self) -> &dyn Synthesizer {
        match self {
            SelectedEngine::Kokoro(k) => k,
            SelectedEngine::Fallback(s) => *s,
        }
    }

    /// Its name for reports (`kokoro-82m (af_heart)`, `espeak-ng`).
    pub fn name(&self) -> &str {
        self.synthesizer().name()
    }
}

impl std::fmt::Debug for SelectedEngine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SelectedEngine({})", self.name())
    }
}

/// The soundtrack at 48 kHz, `duration_s` long: the narration (and the music bed under
/// it, ducked), at −14 LUFS as played on two channels, true peak under the ceiling.
fn soundtrack(
    narration: &Audio,
    music: Option<&Audio>,
    mix: &MusicMix,
    duration_s: f64,
) -> Result<Audio> {
    let rate = crate::media::AUDIO_RATE;
    let mut voice = audio::resample(narration, rate)?;
    voice
        .samples
        .resize((duration_s * rate as f64).round() as usize, 0.0);
    // Narration at the target first, so the music level is relative to it.
    let target = TARGET_LUFS - DUAL_MONO_GAIN_DB;
    let mut mixed = loudness::normalize(&voice, target, TRUE_PEAK_CEILING_DBTP)?;
    if let Some(m) = music {
        let relative = MusicMix {
            music_lufs: mix.music_lufs - DUAL_MONO_GAIN_DB,
            ..*mix
        };
        let bed = mix::music_bed(m, &mixed, &relative)?;
        for (v, b) in mixed.samples.iter_mut().zip(bed) {
            *v += b;
        }
        mixed = loudness::normalize(&mixed, target, TRUE_PEAK_CEILING_DBTP)?;
    }
    Ok(mixed)
}

/// The render manifest: enough to reproduce and audit a render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// voxreel version.
    pub voxreel: String,
    /// The request as given.
    pub request: RenderRequest,
    /// SHA-256 of every input file, by path.
    pub inputs: Vec<(PathBuf, String)>,
    /// Speech engine.
    pub engine: String,
    /// Language used.
    pub language: Language,
    /// Voice: profile name and embedding model, if any.
    pub voice: serde_json::Value,
    /// The timeline: frame, scenes (media, motion, transitions), cues with times.
    pub timeline: Timeline,
    /// Video duration, seconds.
    pub duration_s: f64,
    /// SHA-256 of the MP4.
    pub video_sha256: String,
}

impl Manifest {
    fn build(
        req: &RenderRequest,
        tl: &Timeline,
        engine: &str,
        lang: Language,
        voice: &VoiceProfile,
        duration_s: f64,
        video: &Path,
    ) -> Result<Manifest> {
        let mut files: Vec<PathBuf> = vec![req.voice.clone(), req.script.clone()];
        files.extend(tl.scenes.iter().filter_map(|s| s.image.clone()));
        files.extend(req.composition.music.clone());
        files.extend(req.composition.style.clone());
        let inputs = files
            .into_iter()
            .map(|p| Ok((p.clone(), sha256_file(&p)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Manifest {
            voxreel: env!("CARGO_PKG_VERSION").into(),
            request: req.clone(),
            inputs,
            engine: engine.into(),
            language: lang,
            voice: serde_json::json!({"name": voice.name, "id": voice.id, "model": voice.embedding.as_ref().map(|e| e.model.clone()), "f0_median_hz": voice.analysis.f0_median_hz, "clone": voice.kokoro.as_ref().map(|k| serde_json::json!({"model": k.model, "method": k.method, "base_voice": k.base_voice}))}),
            timeline: tl.clone(),
            duration_s,
            video_sha256: sha256_file(video)?,
        })
    }
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Image and video files (scene media) of a folder in natural filename order
/// (`2.png` before `10.png`).
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
                || crate::media::is_video_path(p)
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
    cover: PathBuf,
    manifest: PathBuf,
    tmp_video: PathBuf,
    tmp_srt: PathBuf,
    tmp_vtt: PathBuf,
    tmp_cover: PathBuf,
    tmp_manifest: PathBuf,
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
            cover: dir.join(format!("{stem}.png")),
            manifest: dir.join(format!("{stem}.json")),
            tmp_video: tmp(name),
            tmp_srt: tmp(&format!("{stem}.srt")),
            tmp_vtt: tmp(&format!("{stem}.vtt")),
            tmp_cover: tmp(&format!("{stem}.png")),
            tmp_manifest: tmp(&format!("{stem}.json")),
            video,
            committed: std::cell::Cell::new(false),
        })
    }

    /// Renames the temporaries into place, the video last.
    fn commit(&self, sidecars: bool, cover: bool) -> Result<()> {
        let mut moves = Vec::new();
        if sidecars {
            moves.extend([(&self.tmp_srt, &self.srt), (&self.tmp_vtt, &self.vtt)]);
        }
        if cover {
            moves.push((&self.tmp_cover, &self.cover));
        }
        moves.extend([
            (&self.tmp_manifest, &self.manifest),
            (&self.tmp_video, &self.video),
        ]);
        for (from, to) in moves {
            std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
        }
        self.committed.set(true);
        Ok(())
    }
}

impl Drop for OutputPaths {
    fn drop(&mut self) {
        if !self.committed.get() {
            for p in [
                &self.tmp_video,
                &self.tmp_srt,
                &self.tmp_vtt,
                &self.tmp_cover,
                &self.tmp_manifest,
            ] {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}
