//! [`KokoroSynthesizer`]: the Kokoro-82M engine behind the [`Synthesizer`] trait.
//!
//! English text goes through the English front end ([`EnglishG2p`]: misaki's lexicons,
//! espeak-ng for words outside them when the `espeak` feature is on, spelling otherwise),
//! then through the model, one window of at most [`MAX_TOKENS`] tokens at a time. The
//! windows of one text are joined with a short pause ([`CHUNK_PAUSE_S`]) and their edges
//! faded over a few milliseconds, so the joins neither click nor rush.
//!
//! Word timings come from the durations the model predicts for every token: a word starts
//! when its first token starts, i.e. after the frames of the leading padding token and of
//! every token before it ([`word_timings`]).
//!
//! # Speaker
//! An explicit Kokoro voice name (`af_heart`, `am_michael`, … see `voxreel voices`) is
//! used as given. Without one, the speaker follows the [`VoiceProfile`]'s voice family
//! (its median F0 against [`crate::voice::analysis::GENDER_SPLIT_HZ`]): female →
//! [`DEFAULT_FEMALE_SPEAKER`] (`af_heart`), male → [`DEFAULT_MALE_SPEAKER`]
//! (`am_michael`); when that voice is not installed, the first installed American English
//! voice of that gender, else the first voice. This is a stock voice, not a clone of the
//! reference (cloning is later work).
//!
//! # Mandarin
//! Chinese text (`zh-TW`, `zh-CN`) goes through the Mandarin front end ([`MandarinG2p`]:
//! jieba words, pypinyin by word, tone sandhi, misaki's symbols; Latin words through the
//! English front end) when its tables are installed, and is spoken by a Mandarin voice:
//! female → [`DEFAULT_ZH_FEMALE_SPEAKER`] (`zf_xiaoxiao`), male →
//! [`DEFAULT_ZH_MALE_SPEAKER`] (`zm_yunxi`), with the same fallbacks (`zf_`/`zm_` voices).
//! Word timings are per Chinese word (jieba's words after sandhi merging).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{KokoroModel, KOKORO_MODEL_ID, MAX_TOKENS, SAMPLES_PER_FRAME, SAMPLE_RATE};
use crate::audio::Audio;
use crate::lang::Language;
use crate::tts::g2p::{zh, EnglishG2p, MandarinG2p, WordPhonemes};
use crate::tts::{Speech, Synthesizer, WordTiming};
use crate::voice::{Gender, VoiceProfile};
use crate::{Error, Result};

/// Short engine name used in reports (`"kokoro-82m (af_heart)"` with the speaker).
pub const KOKORO_ENGINE_NAME: &str = "kokoro-82m";
/// Speaker for a female voice profile.
pub const DEFAULT_FEMALE_SPEAKER: &str = "af_heart";
/// Speaker for a male voice profile.
pub const DEFAULT_MALE_SPEAKER: &str = "am_michael";
/// Mandarin speaker for a female voice profile.
pub const DEFAULT_ZH_FEMALE_SPEAKER: &str = "zf_xiaoxiao";
/// Mandarin speaker for a male voice profile.
pub const DEFAULT_ZH_MALE_SPEAKER: &str = "zm_yunxi";
/// Silence inserted between two model windows of one text, seconds.
pub const CHUNK_PAUSE_S: f64 = 0.12;
/// Length of the fade at both edges of every window, seconds.
pub const EDGE_FADE_S: f64 = 0.004;

/// Seconds per duration frame (600 samples at 24 kHz: 25 ms).
const FRAME_S: f64 = SAMPLES_PER_FRAME as f64 / SAMPLE_RATE as f64;

/// The Kokoro-82M engine: model, English front end and (optionally) a fixed speaker.
///
/// Cloning is cheap (the model and lexicons are shared).
#[derive(Debug, Clone)]
pub struct KokoroSynthesizer {
    model: Arc<KokoroModel>,
    g2p: Arc<EnglishG2p>,
    zh: Option<Arc<MandarinG2p>>,
    speaker: Option<String>,
    name: String,
    max_tokens: usize,
}

/// Whether the Kokoro engine's files (weights, voices, vocabulary and the English lexicons)
/// are all in `dir`.
pub fn is_installed(dir: &Path) -> bool {
    KokoroModel::is_installed(dir)
        && crate::tts::g2p::ASSET_FILES
            .iter()
            .all(|f| dir.join(f).is_file())
}

/// Whether the engine can speak `language` from `dir`: [`is_installed`], and for Chinese also
/// the Mandarin front end's tables ([`zh::is_installed`]).
pub fn is_installed_for(dir: &Path, language: Language) -> bool {
    is_installed(dir) && (language == Language::English || zh::is_installed(dir))
}

/// [`Error::MissingDependency`] for the Mandarin front end's tables in `dir`.
pub fn missing_mandarin(dir: &Path) -> Error {
    Error::MissingDependency {
        what: format!(
            "the Kokoro Mandarin front end (pinyin tables {} and {} in {})",
            zh::CHARS_FILE,
            zh::PHRASES_FILE,
            dir.display()
        ),
        install: "voxreel models fetch kokoro (or scripts/fetch-zh-frontend.sh)".into(),
    }
}

/// The folder the engine is read from by default: `$VOXREEL_HOME/models/kokoro`
/// (`VOXREEL_HOME` defaulting to `~/.cache/voxreel`).
pub fn default_dir() -> PathBuf {
    EnglishG2p::default_dir()
}

impl KokoroSynthesizer {
    /// Loads model, voices, vocabulary and lexicons from `dir` onto `device`. Any missing
    /// file is [`Error::MissingDependency`] naming `voxreel models fetch kokoro`.
    pub fn load(dir: &Path, device: &crate::Device) -> Result<Self> {
        // Check the lexicons first: they are cheap to look for, the weights slow to load.
        let g2p = Arc::new(EnglishG2p::load(dir)?);
        // The Mandarin front end when its tables are installed (Chinese is refused otherwise).
        let zh = if zh::is_installed(dir) {
            Some(Arc::new(MandarinG2p::load(dir)?.with_english(g2p.clone())))
        } else {
            None
        };
        let model = KokoroModel::load(dir, device)?;
        let mut k = Self::from_parts(Arc::new(model), g2p);
        k.zh = zh;
        Ok(k)
    }

    /// The same engine speaking Chinese through `zh`.
    pub fn with_mandarin(mut self, zh: Arc<MandarinG2p>) -> Self {
        self.zh = Some(zh);
        self
    }

    /// Whether this engine has the Mandarin front end.
    pub fn speaks_mandarin(&self) -> bool {
        self.zh.is_some()
    }

    /// An engine from an already loaded model and front end.
    pub fn from_parts(model: Arc<KokoroModel>, g2p: Arc<EnglishG2p>) -> Self {
        KokoroSynthesizer {
            model,
            g2p,
            zh: None,
            speaker: None,
            name: KOKORO_ENGINE_NAME.into(),
            max_tokens: MAX_TOKENS,
        }
    }

    /// The same engine always speaking with `speaker` (a Kokoro voice name).
    /// An unknown name is [`Error::UnknownSpeaker`].
    pub fn with_speaker(&self, speaker: &str) -> Result<Self> {
        self.check_speaker(speaker)?;
        Ok(KokoroSynthesizer {
            model: self.model.clone(),
            g2p: self.g2p.clone(),
            zh: self.zh.clone(),
            speaker: Some(speaker.to_string()),
            name: format!("{KOKORO_ENGINE_NAME} ({speaker})"),
            max_tokens: self.max_tokens,
        })
    }

    /// The same engine speaking with the clone in `profile` (its [`crate::voice::clone::KokoroClone`]:
    /// style, speed, F0 mapped to the reference) for English; Chinese, and profiles without
    /// a clone, keep the stock voice chosen by voice family. The report name says which
    /// profile: `kokoro-82m (clone 1a2b3c4d5e6f7a8b)`.
    pub fn with_clone_of(&self, profile: &VoiceProfile) -> Self {
        let label = if profile.id.is_empty() {
            profile.name.clone().unwrap_or_else(|| "profile".into())
        } else {
            profile.id.clone()
        };
        KokoroSynthesizer {
            model: self.model.clone(),
            g2p: self.g2p.clone(),
            zh: self.zh.clone(),
            speaker: None,
            name: format!("{KOKORO_ENGINE_NAME} (clone {label})"),
            max_tokens: self.max_tokens,
        }
    }

    /// The same engine with model windows of at most `max_tokens` tokens (16 to
    /// [`MAX_TOKENS`], the default): shorter windows cost less memory per call and let
    /// tests exercise the joins on short texts.
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = max_tokens.clamp(16, MAX_TOKENS);
        self
    }

    /// Checks that `speaker` is an installed voice.
    pub fn check_speaker(&self, speaker: &str) -> Result<()> {
        let names = self.model.voices().names();
        if names.contains(&speaker) {
            Ok(())
        } else {
            Err(Error::UnknownSpeaker {
                speaker: speaker.into(),
                known: names.join(", "),
            })
        }
    }

    /// The fixed speaker, if any.
    pub fn speaker(&self) -> Option<&str> {
        self.speaker.as_deref()
    }

    /// The installed voice names, sorted.
    pub fn speakers(&self) -> Vec<&str> {
        self.model.voices().names()
    }

    /// The model.
    pub fn model(&self) -> &KokoroModel {
        &self.model
    }

    /// The English front end.
    pub fn g2p(&self) -> &EnglishG2p {
        &self.g2p
    }

    /// The speaker used for `profile` when none is fixed (see the module docs for the rule).
    pub fn speaker_for(&self, profile: &VoiceProfile) -> String {
        speaker_for_gender(profile.gender, &self.model.voices().names())
    }

    /// The speaker this engine uses for `profile`: the fixed one, or [`Self::speaker_for`].
    pub fn resolve_speaker(&self, profile: &VoiceProfile) -> String {
        self.speaker
            .clone()
            .unwrap_or_else(|| self.speaker_for(profile))
    }

    /// The speaker used for `profile` speaking `language` when none is fixed: an English
    /// voice for English, a Mandarin one (`zf_`/`zm_`) for Chinese.
    pub fn speaker_for_language(&self, profile: &VoiceProfile, language: Language) -> String {
        speaker_for_gender_language(profile.gender, language, &self.model.voices().names())
    }

    /// The fixed speaker, or [`Self::speaker_for_language`].
    pub fn resolve_speaker_for(&self, profile: &VoiceProfile, language: Language) -> String {
        self.speaker
            .clone()
            .unwrap_or_else(|| self.speaker_for_language(profile, language))
    }
}

/// The speaker for a voice family and language among the installed `voices` (sorted names):
/// [`speaker_for_gender`] for English; for Chinese [`DEFAULT_ZH_FEMALE_SPEAKER`] /
/// [`DEFAULT_ZH_MALE_SPEAKER`], else the first `zf_`/`zm_` voice, else any Mandarin voice,
/// else the English choice.
pub fn speaker_for_gender_language(gender: Gender, language: Language, voices: &[&str]) -> String {
    if language == Language::English {
        return speaker_for_gender(gender, voices);
    }
    let (default, prefix) = match gender {
        Gender::Female => (DEFAULT_ZH_FEMALE_SPEAKER, "zf_"),
        Gender::Male => (DEFAULT_ZH_MALE_SPEAKER, "zm_"),
    };
    if voices.contains(&default) {
        return default.into();
    }
    voices
        .iter()
        .find(|v| v.starts_with(prefix))
        .or_else(|| voices.iter().find(|v| v.starts_with('z')))
        .map(|v| v.to_string())
        .unwrap_or_else(|| speaker_for_gender(gender, voices))
}

/// The speaker for a voice family among the installed `voices` (sorted names).
pub fn speaker_for_gender(gender: Gender, voices: &[&str]) -> String {
    let (default, prefix) = match gender {
        Gender::Female => (DEFAULT_FEMALE_SPEAKER, "af_"),
        Gender::Male => (DEFAULT_MALE_SPEAKER, "am_"),
    };
    if voices.contains(&default) {
        return default.into();
    }
    voices
        .iter()
        .find(|v| v.starts_with(prefix))
        .or_else(|| voices.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| default.into())
}

/// Word timings of one model window: `words` (token ranges into the window's tokens,
/// without padding), `durations` (frames per token *with* the two padding tokens, as the
/// model returns them), `offset_s` (where the window's audio starts in the output).
///
/// A word starts after the leading pad and every token before its first one:
/// `Σ durations[0 ..= token_start]` frames. Words without tokens (nothing pronounced)
/// get no timing.
pub fn word_timings(words: &[WordPhonemes], durations: &[u32], offset_s: f64) -> Vec<WordTiming> {
    let mut cum = Vec::with_capacity(durations.len() + 1);
    let mut acc = 0u64;
    cum.push(0u64);
    for &d in durations {
        acc += u64::from(d);
        cum.push(acc);
    }
    words
        .iter()
        .filter(|w| w.token_end > w.token_start && w.token_start + 1 < cum.len())
        .map(|w| WordTiming {
            char_start: w.char_start,
            char_end: w.char_end,
            start_s: offset_s + cum[w.token_start + 1] as f64 * FRAME_S,
        })
        .collect()
}

/// Fades the first and last `n` samples linearly.
fn fade_edges(s: &mut [f32], n: usize) {
    let n = n.min(s.len() / 2);
    let len = s.len();
    for i in 0..n {
        let g = i as f32 / n as f32;
        s[i] *= g;
        s[len - 1 - i] *= g;
    }
}

impl Synthesizer for KokoroSynthesizer {
    fn name(&self) -> &str {
        &self.name
    }

    /// Speaks English or Chinese `text` (Chinese needs the Mandarin front end: else
    /// [`Error::MissingDependency`] naming the install command); a text with no word to read
    /// is [`Error::NothingToSpeak`].
    fn synthesize(&self, text: &str, language: Language, voice: &VoiceProfile) -> Result<Speech> {
        let speaker = self.resolve_speaker_for(voice, language);
        self.check_speaker(&speaker)?;
        // A clone speaks English when no stock speaker is fixed.
        let clone = match (&self.speaker, &voice.kokoro) {
            (None, Some(c)) if language == Language::English => Some(c),
            _ => None,
        };
        let chunks = if language == Language::English {
            self.g2p.phonemize_with_limit(text, self.max_tokens)?
        } else {
            let zh = self
                .zh
                .as_ref()
                .ok_or_else(|| missing_mandarin(&default_dir()))?;
            zh.phonemize_with_limit(text, self.max_tokens)?
        };
        let sr = SAMPLE_RATE as f64;
        let pause = (CHUNK_PAUSE_S * sr).round() as usize;
        let fade = (EDGE_FADE_S * sr).round() as usize;
        let mut samples: Vec<f32> = Vec::new();
        let mut words = Vec::new();
        for chunk in &chunks {
            if chunk.tokens.is_empty() {
                continue;
            }
            let ids: Vec<u32> = chunk
                .tokens
                .iter()
                .map(|&t| u32::try_from(t).unwrap_or(u32::MAX))
                .collect();
            debug_assert!(ids.len() <= MAX_TOKENS);
            let mut syn = match clone {
                Some(c) => c.synthesize_tokens(&self.model, &ids)?,
                None => {
                    let style = self.model.voices().style(&speaker, ids.len())?;
                    self.model.synthesize_tokens(&ids, style, 1.0)?
                }
            };
            if !samples.is_empty() {
                samples.extend(std::iter::repeat_n(0.0, pause));
            }
            let offset_s = samples.len() as f64 / sr;
            words.extend(word_timings(&chunk.words, &syn.durations, offset_s));
            fade_edges(&mut syn.audio, fade);
            samples.extend_from_slice(&syn.audio);
        }
        if samples.is_empty() {
            return Err(Error::NothingToSpeak {
                text: text.chars().take(60).collect(),
            });
        }
        if samples.iter().any(|x| !x.is_finite()) {
            return Err(Error::Synthesis {
                engine: KOKORO_MODEL_ID.into(),
                reason: "the model produced samples that are not finite".into(),
            });
        }
        let mut audio = Audio::new(samples, SAMPLE_RATE);
        if let Some(c) = clone {
            audio = c.apply_channel(audio)?;
        }
        Ok(Speech { audio, words })
    }
}

/// What a stock voice's name says about it: `af_heart` → American English, female.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VoiceInfo {
    /// The voice name.
    pub name: String,
    /// Language tag from the first letter (`en-US`, `en-GB`, `zh`, `ja`, `es`, `fr`, `hi`,
    /// `it`, `pt-BR`; `unknown` otherwise).
    pub language: &'static str,
    /// Language name in English (`American English`).
    pub language_name: &'static str,
    /// `female`, `male` or `unknown`, from the second letter.
    pub gender: &'static str,
}

impl VoiceInfo {
    /// Reads the language and gender from a Kokoro voice name (`<lang><f|m>_<name>`).
    pub fn from_name(name: &str) -> VoiceInfo {
        let mut c = name.chars();
        let (l, g) = (c.next(), c.next());
        let (language, language_name) = match l {
            Some('a') => ("en-US", "American English"),
            Some('b') => ("en-GB", "British English"),
            Some('z') => ("zh", "Mandarin Chinese"),
            Some('j') => ("ja", "Japanese"),
            Some('e') => ("es", "Spanish"),
            Some('f') => ("fr", "French"),
            Some('h') => ("hi", "Hindi"),
            Some('i') => ("it", "Italian"),
            Some('p') => ("pt-BR", "Brazilian Portuguese"),
            _ => ("unknown", "unknown"),
        };
        let gender = match g {
            Some('f') => "female",
            Some('m') => "male",
            _ => "unknown",
        };
        VoiceInfo {
            name: name.into(),
            language,
            language_name,
            gender,
        }
    }

    /// Whether this engine (English front end) can speak with it well.
    pub fn is_english(&self) -> bool {
        self.language.starts_with("en")
    }
}

/// The stock voices installed in `dir` (read from `voices.safetensors`'s header only,
/// without loading the model), sorted by name. Not installed → [`Error::MissingDependency`].
pub fn installed_voices(dir: &Path) -> Result<Vec<VoiceInfo>> {
    let path = dir.join(super::VOICES_FILE);
    if !path.is_file() {
        return Err(Error::MissingDependency {
            what: format!("Kokoro voices ({} not found)", path.display()),
            install: "voxreel models fetch kokoro".into(),
        });
    }
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let bad = |reason: String| Error::InvalidModelFile {
        path: path.clone(),
        reason,
    };
    if bytes.len() < 8 {
        return Err(bad("too short".into()));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = bytes
        .get(8..8usize.saturating_add(n))
        .ok_or_else(|| bad("header longer than the file".into()))?;
    let v: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| bad(format!("header: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("header is not an object".into()))?;
    let mut names: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "__metadata__")
        .collect();
    names.sort_unstable();
    Ok(names.into_iter().map(VoiceInfo::from_name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tts::g2p::PhonemeSource;

    fn w(char_start: usize, char_end: usize, token_start: usize, token_end: usize) -> WordPhonemes {
        WordPhonemes {
            char_start,
            char_end,
            token_start,
            token_end,
            phonemes: String::new(),
            source: PhonemeSource::Gold,
        }
    }

    #[test]
    fn word_starts_follow_the_leading_pad_and_earlier_tokens() {
        // "hi yo": tokens h a ɪ ␠ j o (6), padded → 8 durations.
        let words = [w(0, 2, 0, 3), w(3, 5, 4, 6)];
        let durations = [4, 2, 3, 1, 2, 2, 3, 5];
        let t = word_timings(&words, &durations, 0.0);
        assert_eq!(t.len(), 2);
        // First word: after the pad (4 frames) = 0.1 s.
        assert!((t[0].start_s - 4.0 * 0.025).abs() < 1e-12);
        assert_eq!((t[0].char_start, t[0].char_end), (0, 2));
        // Second word: pad 4 + h 2 + a 3 + ɪ 1 + space 2 = 12 frames.
        assert!((t[1].start_s - 12.0 * 0.025).abs() < 1e-12);
        assert_eq!((t[1].char_start, t[1].char_end), (3, 5));
    }

    #[test]
    fn offset_is_added_and_empty_words_are_skipped() {
        let words = [w(0, 1, 0, 1), w(2, 3, 1, 1), w(4, 6, 1, 2)];
        let durations = [2, 4, 6, 2];
        let t = word_timings(&words, &durations, 1.5);
        assert_eq!(t.len(), 2);
        assert!((t[0].start_s - (1.5 + 0.05)).abs() < 1e-12);
        assert!((t[1].start_s - (1.5 + 0.15)).abs() < 1e-12);
        assert_eq!(t[1].char_start, 4);
        // Times increase with the tokens.
        assert!(t.windows(2).all(|p| p[0].start_s < p[1].start_s));
    }

    #[test]
    fn out_of_range_token_indices_do_not_panic() {
        let words = [w(0, 1, 5, 9)];
        assert!(word_timings(&words, &[1, 1, 1], 0.0).is_empty());
    }

    #[test]
    fn speaker_follows_gender_and_installed_voices() {
        let all = [
            "af_bella",
            "af_heart",
            "am_adam",
            "am_michael",
            "zf_xiaobei",
        ];
        assert_eq!(speaker_for_gender(Gender::Female, &all), "af_heart");
        assert_eq!(speaker_for_gender(Gender::Male, &all), "am_michael");
        let few = ["af_bella", "am_adam", "bf_emma"];
        assert_eq!(speaker_for_gender(Gender::Female, &few), "af_bella");
        assert_eq!(speaker_for_gender(Gender::Male, &few), "am_adam");
        assert_eq!(
            speaker_for_gender(Gender::Male, &["zf_xiaobei"]),
            "zf_xiaobei"
        );
    }

    #[test]
    fn mandarin_speaker_follows_gender_and_installed_voices() {
        let all = [
            "af_heart",
            "am_michael",
            "zf_xiaobei",
            "zf_xiaoxiao",
            "zm_yunjian",
            "zm_yunxi",
        ];
        let zh = Language::ChineseTraditional;
        assert_eq!(
            speaker_for_gender_language(Gender::Female, zh, &all),
            "zf_xiaoxiao"
        );
        assert_eq!(
            speaker_for_gender_language(Gender::Male, zh, &all),
            "zm_yunxi"
        );
        assert_eq!(
            speaker_for_gender_language(Gender::Male, Language::English, &all),
            "am_michael"
        );
        let few = ["af_heart", "zf_xiaobei", "zm_yunjian"];
        assert_eq!(
            speaker_for_gender_language(Gender::Female, zh, &few),
            "zf_xiaobei"
        );
        assert_eq!(
            speaker_for_gender_language(Gender::Male, zh, &few),
            "zm_yunjian"
        );
        assert_eq!(
            speaker_for_gender_language(Gender::Male, zh, &["zf_xiaobei"]),
            "zf_xiaobei"
        );
        assert_eq!(
            speaker_for_gender_language(Gender::Male, zh, &["af_heart"]),
            "af_heart"
        );
    }

    #[test]
    fn voice_names_give_language_and_gender() {
        let v = VoiceInfo::from_name("af_heart");
        assert_eq!((v.language, v.gender), ("en-US", "female"));
        let v = VoiceInfo::from_name("am_michael");
        assert_eq!((v.language, v.gender), ("en-US", "male"));
        let v = VoiceInfo::from_name("zf_xiaobei");
        assert_eq!((v.language, v.gender), ("zh", "female"));
        assert!(!v.is_english());
        assert_eq!(VoiceInfo::from_name("bm_george").language, "en-GB");
        assert_eq!(VoiceInfo::from_name("x").gender, "unknown");
    }

    #[test]
    fn fades_reach_zero_at_the_edges() {
        let mut s = vec![1.0f32; 100];
        fade_edges(&mut s, 10);
        assert_eq!(s[0], 0.0);
        assert_eq!(s[99], 0.0);
        assert_eq!(s[50], 1.0);
    }
}
