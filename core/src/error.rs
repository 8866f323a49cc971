//! The one error type of the crate.
//!
//! Every variant names the input that failed and what was expected, so a caller
//! (the CLI, a binding, the server) can show it as is. [`Error::kind`] sorts the
//! variants into the three classes the CLI maps to exit codes.

use std::path::PathBuf;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Broad class of an [`Error`], used for exit codes and HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller's input is wrong (file, script, option): exit code 2.
    BadInput,
    /// A model, font, library or program the job needs is not installed: exit code 3.
    MissingDependency,
    /// The job was cancelled through its progress handle.
    Cancelled,
    /// Anything else (I/O failure on output, encoder failure): exit code 1.
    Other,
}

/// Everything that can go wrong in voxreel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input file does not exist.
    #[error("file not found: {path}")]
    FileNotFound {
        /// The path that was asked for.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not audio in a format we decode (WAV, MP3, FLAC, OGG/Vorbis).
    #[error("{what} is not audio we can decode (WAV, MP3, FLAC, OGG/Vorbis or M4A/AAC expected): {reason}")]
    NotAudio {
        /// Names the input (usually its path).
        what: String,
        /// What the decoder said.
        reason: String,
    },
    /// The audio decoded to zero samples.
    #[error("{what} contains no audio samples")]
    EmptyAudio {
        /// Names the input.
        what: String,
    },
    /// Samples are not finite numbers (NaN or infinity).
    #[error("{what} contains {count} samples that are not finite numbers (NaN or infinity)")]
    InvalidSamples {
        /// Names the input.
        what: String,
        /// How many samples are bad.
        count: usize,
    },
    /// The recording holds no speech at all.
    #[error("{what} is silent: no speech found (peak {peak_dbfs:.1} dBFS)")]
    Silence {
        /// Names the input.
        what: String,
        /// Peak sample level in dBFS.
        peak_dbfs: f64,
    },
    /// The recording holds speech, but too little to learn a voice from.
    #[error("{what} has only {speech_s:.1} s of speech; at least {need_s:.1} s is needed")]
    AudioTooShort {
        /// Names the input.
        what: String,
        /// Seconds of detected speech.
        speech_s: f64,
        /// Seconds required.
        need_s: f64,
    },
    /// The recording is longer than the limit for this use.
    #[error("{what} is {seconds:.0} s long; the limit is {limit_s:.0} s")]
    AudioTooLong {
        /// Names the input.
        what: String,
        /// Its duration.
        seconds: f64,
        /// The limit.
        limit_s: f64,
    },
    /// Most of the recording is clipped (distorted at full scale).
    #[error("{what} is clipped over {clipped_percent:.0}% of its speech; record at a lower level")]
    Clipped {
        /// Names the input.
        what: String,
        /// Share of speech frames that contain clipped samples, in percent.
        clipped_percent: f64,
    },
    /// The script has no text at all.
    #[error("the script {what} is empty")]
    EmptyScript {
        /// Names the script.
        what: String,
    },
    /// The script has Markdown structure but nothing to say.
    #[error("the script {what} has nothing to narrate (only Markdown syntax such as rules or empty headings)")]
    NothingToNarrate {
        /// Names the script.
        what: String,
    },
    /// The script exceeds the size limit.
    #[error("the script {what} has {chars} characters; the limit is {limit}")]
    ScriptTooLong {
        /// Names the script.
        what: String,
        /// Its length in characters.
        chars: usize,
        /// The limit.
        limit: usize,
    },
    /// A language code we do not support.
    #[error("unsupported language {code:?}: expected one of auto, en, zh-TW, zh-CN")]
    UnsupportedLanguage {
        /// The code that was given.
        code: String,
    },
    /// A voice profile file is unreadable or of another format version.
    #[error("voice profile {what} cannot be used: {reason}")]
    InvalidProfile {
        /// Names the profile.
        what: String,
        /// Why.
        reason: String,
    },
    /// An image could not be used.
    #[error("image {path}: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A video clip (scene media) could not be used.
    #[error("video clip {path}: {reason}")]
    Video {
        /// The video file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A request option has a value outside its range.
    #[error("invalid {name}: {reason}")]
    InvalidArgument {
        /// The option.
        name: String,
        /// Why the value is refused.
        reason: String,
    },
    /// A system library, program or font the job needs is missing.
    #[error("{what} is not available; install it with: {install}")]
    MissingDependency {
        /// What is missing.
        what: String,
        /// The command that installs it.
        install: String,
    },
    /// A speech engine failed.
    #[error("speech synthesis with {engine} failed: {reason}")]
    Synthesis {
        /// The engine.
        engine: String,
        /// What went wrong.
        reason: String,
    },
    /// Encoding or muxing the video failed.
    #[error("encoding failed while {stage}: {reason}")]
    Encode {
        /// What the encoder was doing.
        stage: String,
        /// What went wrong.
        reason: String,
    },
    /// Two things made by different models (or model versions) cannot be used together.
    #[error(
        "made with model {found:?}, but {expected:?} is needed; re-create it with this voxreel"
    )]
    ModelMismatch {
        /// The model this library (or the other operand) uses.
        expected: String,
        /// The model the input was made with.
        found: String,
    },
    /// A neural model failed to load or run.
    #[error("model {model} failed: {reason}")]
    Model {
        /// The model id.
        model: String,
        /// What went wrong.
        reason: String,
    },
    /// The caller cancelled the job.
    #[error("cancelled")]
    Cancelled,
    /// A text has nothing that can be read aloud (empty, or only punctuation, symbols or emoji).
    #[error("nothing to speak in {text:?}: no words, only punctuation, symbols or emoji")]
    NothingToSpeak {
        /// The text (its first 60 characters).
        text: String,
    },
    /// An installed model or data file (lexicon, vocabulary) is malformed.
    #[error("model file {path} is malformed ({reason}); install it again")]
    InvalidModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A Kokoro voice (style table) has the wrong shape; voices are f32 `[510, 256]`.
    #[error("voice {voice} has shape {found}, expected f32 [510, 256]")]
    VoiceShape {
        /// The voice name.
        voice: String,
        /// What was found (dtype and shape, or size in bytes).
        found: String,
    },
    /// A speaker (stock voice name) that the engine does not have.
    #[error("unknown speaker {speaker:?}; installed voices: {known} (see `voxreel voices`)")]
    UnknownSpeaker {
        /// The name that was asked for.
        speaker: String,
        /// The installed names, comma-separated.
        known: String,
    },
    /// A speech engine that cannot speak the requested language.
    #[error("the {engine} engine cannot speak {language}: {reason}")]
    EngineLanguage {
        /// The engine.
        engine: String,
        /// The language tag (`zh-TW`).
        language: String,
        /// What to do instead.
        reason: String,
    },
    /// A phoneme sequence is empty or longer than the model takes in one call.
    #[error("{count} phoneme tokens; the model takes 1 to {max} per call")]
    TooManyTokens {
        /// Tokens given.
        count: usize,
        /// Most tokens per call.
        max: usize,
    },
    /// A voice reference that does not sound like speech (music, tones, noise).
    #[error("{what} does not sound like speech ({reason}); record someone speaking")]
    NotSpeech {
        /// The input.
        what: String,
        /// What the analysis found.
        reason: String,
    },
    /// A voice reference in which more than one person speaks.
    #[error("{what} holds more than one voice (two groups of its 1.6 s pieces, cosine {similarity:.2} between them, {share_percent:.0}% in the smaller); give a recording of one speaker")]
    MultipleSpeakers {
        /// The input.
        what: String,
        /// Cosine between the two groups' mean embeddings.
        similarity: f64,
        /// Share of the pieces in the smaller group, percent.
        share_percent: f64,
    },
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::FileNotFound { .. }
            | Error::NotAudio { .. }
            | Error::EmptyAudio { .. }
            | Error::InvalidSamples { .. }
            | Error::Silence { .. }
            | Error::AudioTooShort { .. }
            | Error::AudioTooLong { .. }
            | Error::Clipped { .. }
            | Error::EmptyScript { .. }
            | Error::NothingToNarrate { .. }
            | Error::ScriptTooLong { .. }
            | Error::UnsupportedLanguage { .. }
            | Error::Image { .. }
            | Error::Video { .. }
            | Error::InvalidProfile { .. }
            | Error::InvalidArgument { .. }
            | Error::ModelMismatch { .. }
            | Error::NothingToSpeak { .. }
            | Error::VoiceShape { .. }
            | Error::TooManyTokens { .. }
            | Error::UnknownSpeaker { .. }
            | Error::EngineLanguage { .. }
            | Error::NotSpeech { .. }
            | Error::MultipleSpeakers { .. } => ErrorKind::BadInput,
            Error::MissingDependency { .. } | Error::InvalidModelFile { .. } => {
                ErrorKind::MissingDependency
            }
            Error::Cancelled => ErrorKind::Cancelled,
            Error::Io { .. }
            | Error::Synthesis { .. }
            | Error::Encode { .. }
            | Error::Model { .. } => ErrorKind::Other,
        }
    }

    /// A short stable identifier of the variant (`"audio_too_short"`), for JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::FileNotFound { .. } => "file_not_found",
            Error::Io { .. } => "io",
            Error::NotAudio { .. } => "not_audio",
            Error::EmptyAudio { .. } => "empty_audio",
            Error::InvalidSamples { .. } => "invalid_samples",
            Error::Silence { .. } => "silence",
            Error::AudioTooShort { .. } => "audio_too_short",
            Error::AudioTooLong { .. } => "audio_too_long",
            Error::Clipped { .. } => "clipped",
            Error::EmptyScript { .. } => "empty_script",
            Error::NothingToNarrate { .. } => "nothing_to_narrate",
            Error::ScriptTooLong { .. } => "script_too_long",
            Error::UnsupportedLanguage { .. } => "unsupported_language",
            Error::Image { .. } => "image",
            Error::Video { .. } => "video",
            Error::InvalidProfile { .. } => "invalid_profile",
            Error::InvalidArgument { .. } => "invalid_argument",
            Error::MissingDependency { .. } => "missing_dependency",
            Error::Synthesis { .. } => "synthesis",
            Error::Encode { .. } => "encode",
            Error::ModelMismatch { .. } => "model_mismatch",
            Error::Model { .. } => "model",
            Error::Cancelled => "cancelled",
            Error::NothingToSpeak { .. } => "nothing_to_speak",
            Error::InvalidModelFile { .. } => "invalid_model_file",
            Error::VoiceShape { .. } => "voice_shape",
            Error::TooManyTokens { .. } => "too_many_tokens",
            Error::UnknownSpeaker { .. } => "unknown_speaker",
            Error::EngineLanguage { .. } => "engine_language",
            Error::NotSpeech { .. } => "not_speech",
            Error::MultipleSpeakers { .. } => "multiple_speakers",
        }
    }

    /// Wraps an I/O error with the path it concerns; a missing file becomes [`Error::FileNotFound`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::FileNotFound { path }
        } else {
            Error::Io { path, source }
        }
    }
}
