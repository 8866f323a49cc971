//! Voices: reference analysis, voice activity, the speaker encoder, and voice profiles.
//!
//! A [`VoiceProfile`] is what the engines need to speak like a reference: its
//! speaker embedding ([`VoiceEmbedding`], from the GE2E [`VoiceEncoder`]), its
//! analysis (pitch, rate, loudness) and likely voice family. Profiles are plain
//! JSON files (`.voice`) with a format version and a checksum, so they can be saved and
//! reused, and a damaged or edited file is refused rather than misread.
//!
//! Enrolment ([`VoiceProfile::enroll`]) refuses references that are not one person
//! speaking: under [`analysis::MIN_SPEECH_S`] of speech, clipped, music or tones
//! ([`Error::NotSpeech`]), or two voices ([`Error::MultipleSpeakers`]). With the Kokoro engine
//! the profile also holds the clone's conditioning ([`clone::KokoroClone`]).

pub mod analysis;
pub mod clone;
pub mod encoder;
pub mod ge2e;
pub mod mel;
pub mod vad;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use analysis::{Gender, ReferenceAnalysis};
pub use encoder::{
    EmbedOptions, Utterance, VoiceEmbedding, VoiceEncoder, GE2E_MODEL_ID, SAME_SPEAKER_THRESHOLD,
};

use crate::audio::Audio;
use crate::{Error, Result};

/// Version of the `.voice` file format written by this library.
pub const PROFILE_FORMAT_VERSION: u32 = 3;
/// Largest profile file accepted, bytes.
pub const MAX_PROFILE_BYTES: u64 = 16 << 20;

/// Everything the library knows about a voice, saved as a `.voice` JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoiceProfile {
    /// File format version ([`PROFILE_FORMAT_VERSION`]).
    pub format_version: u32,
    /// A name for the voice, if the user gave one.
    pub name: Option<String>,
    /// The reference analysis.
    pub analysis: ReferenceAnalysis,
    /// Likely voice family, from the median F0.
    pub gender: Gender,
    /// The speaker embedding of the reference (absent in analysis-only profiles).
    #[serde(default)]
    pub embedding: Option<VoiceEmbedding>,
    /// A stable identifier of this profile (16 hex digits, from its embedding and creation).
    #[serde(default)]
    pub id: String,
    /// When the profile was made (UTC, RFC 3339), if known.
    #[serde(default)]
    pub created: Option<String>,
    /// The speaker's consent, as the enrolling user recorded it.
    #[serde(default)]
    pub consent: Option<Consent>,
    /// The Kokoro conditioning of the clone (absent when enrolled without the engine).
    #[serde(default)]
    pub kokoro: Option<clone::KokoroClone>,
    /// SHA-256 (hex) of the profile's JSON with this field empty; checked on load.
    #[serde(default)]
    pub checksum: String,
}

/// A consent record stored in a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    /// The statement as given (“who, when, for what”).
    pub statement: String,
    /// When it was recorded (UTC, RFC 3339).
    pub recorded_at: String,
}

/// The current time as RFC 3339 UTC (`2025-01-02T03:04:05Z`).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Least share of 1.6 s pieces in the smaller group for a reference to count as two voices.
pub const TWO_SPEAKER_MIN_SHARE: f64 = 0.2;
/// Cosine between the two groups' mean embeddings under which they are two voices.
pub const TWO_SPEAKER_MAX_COSINE: f64 = 0.75;

/// Splits partial embeddings into two groups (2-means on the unit sphere, seeded with the
/// two least similar partials); returns (cosine between the groups' means, share of the
/// smaller group), or `None` with under 4 partials.
pub fn two_groups(partials: &[Vec<f32>]) -> Option<(f64, f64)> {
    let n = partials.len();
    if n < 4 {
        return None;
    }
    let (mut a, mut b, mut worst) = (0, 1, f32::INFINITY);
    for i in 0..n {
        for j in i + 1..n {
            let c = encoder::cosine(&partials[i], &partials[j]);
            if c < worst {
                (a, b, worst) = (i, j, c);
            }
        }
    }
    let mut ca = partials[a].clone();
    let mut cb = partials[b].clone();
    let mut assign = vec![false; n];
    for _ in 0..20 {
        for (i, p) in partials.iter().enumerate() {
            assign[i] = encoder::cosine(p, &cb) > encoder::cosine(p, &ca);
        }
        let mean = |flag: bool| -> Vec<f32> {
            let mut m = vec![0.0f32; partials[0].len()];
            for (p, _) in partials.iter().zip(&assign).filter(|(_, &f)| f == flag) {
                for (x, y) in m.iter_mut().zip(p) {
                    *x += y;
                }
            }
            m
        };
        let (na, nb) = (mean(false), mean(true));
        if na.iter().all(|&v| v == 0.0) || nb.iter().all(|&v| v == 0.0) {
            break;
        }
        (ca, cb) = (na, nb);
    }
    let nb = assign.iter().filter(|&&f| f).count();
    let small = nb.min(n - nb) as f64 / n as f64;
    Some((encoder::cosine(&ca, &cb) as f64, small))
}

impl VoiceProfile {
    /// Enrols a reference recording: its analysis (see [`ReferenceAnalysis::of`] for the
    /// errors) and its speaker embedding.
    ///
    /// Also refuses music or tones ([`Error::NotSpeech`], see
    /// [`ReferenceAnalysis::speech_check`]; also a loud recording in which the voice
    /// detector finds no speech at all) and two voices ([`Error::MultipleSpeakers`]:
    /// the partial embeddings split into two groups whose means have a cosine under
    /// [`TWO_SPEAKER_MAX_COSINE`], the smaller holding at least [`TWO_SPEAKER_MIN_SHARE`]).
    pub fn enroll(audio: &Audio, what: &str, encoder: &VoiceEncoder) -> Result<VoiceProfile> {
        let mut p = match Self::from_audio(audio, what) {
            // Loud sound in which the detector finds no speech (no pauses, no syllable
            // rhythm): a steady sound such as music, not silence.
            Err(Error::Silence { peak_dbfs, .. }) if peak_dbfs > -40.0 => {
                return Err(Error::NotSpeech {
                    what: what.into(),
                    reason: format!(
                        "a steady sound at {peak_dbfs:.0} dBFS peak with none of speech's pauses and level changes"
                    ),
                })
            }
            r => r?,
        };
        if let Some(reason) = p.analysis.speech_check() {
            return Err(Error::NotSpeech {
                what: what.into(),
                reason,
            });
        }
        let u = encoder.embed_utterance(audio, &EmbedOptions::default())?;
        if let Some((similarity, share)) = two_groups(&u.partials) {
            if similarity < TWO_SPEAKER_MAX_COSINE && share >= TWO_SPEAKER_MIN_SHARE {
                return Err(Error::MultipleSpeakers {
                    what: what.into(),
                    similarity,
                    share_percent: share * 100.0,
                });
            }
        }
        p.analysis.warnings.extend(u.warnings);
        p.id = sha256_hex(
            &u.embedding
                .embedding
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .chain(now_rfc3339().into_bytes())
                .collect::<Vec<u8>>(),
        )[..16]
            .to_string();
        p.embedding = Some(u.embedding);
        Ok(p)
    }

    /// [`VoiceProfile::enroll`], then the Kokoro clone ([`clone::clone_kokoro`]) with
    /// progress, and the consent record if given.
    pub fn enroll_clone(
        audio: &Audio,
        what: &str,
        encoder: &VoiceEncoder,
        kokoro: &crate::tts::kokoro::KokoroSynthesizer,
        options: &clone::CloneOptions,
        progress: &dyn crate::progress::Progress,
    ) -> Result<VoiceProfile> {
        let mut p = Self::enroll(audio, what, encoder)?;
        p.kokoro = Some(clone::clone_kokoro(
            kokoro,
            encoder,
            audio,
            &p.analysis,
            options,
            progress,
        )?);
        Ok(p)
    }

    /// Records the speaker's consent (`statement`: who, when, for what) now.
    pub fn set_consent(&mut self, statement: &str) {
        self.consent = Some(Consent {
            statement: statement.into(),
            recorded_at: now_rfc3339(),
        });
    }

    /// Analyses a reference recording into a profile without an embedding.
    /// See [`ReferenceAnalysis::of`] for errors.
    pub fn from_audio(audio: &Audio, what: &str) -> Result<VoiceProfile> {
        let analysis = ReferenceAnalysis::of(audio, what)?;
        let gender = analysis.gender();
        Ok(VoiceProfile {
            format_version: PROFILE_FORMAT_VERSION,
            name: None,
            analysis,
            gender,
            embedding: None,
            id: String::new(),
            created: Some(now_rfc3339()),
            consent: None,
            kokoro: None,
            checksum: String::new(),
        })
    }

    /// The checksum of this profile: SHA-256 of its compact JSON with `checksum` empty.
    pub fn compute_checksum(&self) -> String {
        let mut c = self.clone();
        c.checksum = String::new();
        sha256_hex(
            serde_json::to_string(&c)
                .expect("a profile always serialises")
                .as_bytes(),
        )
    }

    /// Serialises to pretty JSON, with its checksum.
    pub fn to_json(&self) -> String {
        let mut c = self.clone();
        c.checksum = self.compute_checksum();
        serde_json::to_string_pretty(&c).expect("a profile always serialises")
    }

    /// Parses a profile, checking its format version. `what` names it in errors.
    ///
    /// ```
    /// use voxreel::voice::VoiceProfile;
    /// let e = VoiceProfile::from_json("{\"format_version\": 99}", "x.voice").unwrap_err();
    /// assert_eq!(e.code(), "invalid_profile");
    /// ```
    pub fn from_json(text: &str, what: &str) -> Result<VoiceProfile> {
        let bad = |reason: String| Error::InvalidProfile {
            what: what.into(),
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        match v.get("format_version").and_then(|v| v.as_u64()) {
            Some(n) if n == PROFILE_FORMAT_VERSION as u64 => {}
            Some(n) => {
                return Err(bad(format!(
                    "format version {n}; this voxreel reads version {PROFILE_FORMAT_VERSION}"
                )))
            }
            None => return Err(bad("no format_version: not a voxreel voice profile".into())),
        }
        let mut p: VoiceProfile = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        // Another model first (the clearer message), then integrity.
        if let Some(e) = &p.embedding {
            if e.model != GE2E_MODEL_ID {
                return Err(Error::ModelMismatch {
                    expected: GE2E_MODEL_ID.into(),
                    found: e.model.clone(),
                });
            }
        }
        if let Some(k) = &p.kokoro {
            if k.model != crate::tts::kokoro::KOKORO_MODEL_ID {
                return Err(Error::ModelMismatch {
                    expected: crate::tts::kokoro::KOKORO_MODEL_ID.into(),
                    found: k.model.clone(),
                });
            }
        }
        if p.checksum != p.compute_checksum() {
            return Err(bad(
                "corrupted or edited: its checksum does not match its contents (enrol again)"
                    .into(),
            ));
        }
        p.checksum = String::new();
        if let Some(k) = &p.kokoro {
            k.validate(what)?;
        }
        if let Some(e) = &p.embedding {
            if e.model != GE2E_MODEL_ID {
                return Err(Error::ModelMismatch {
                    expected: GE2E_MODEL_ID.into(),
                    found: e.model.clone(),
                });
            }
            if e.embedding.len() != 256 || e.embedding.iter().any(|v| !v.is_finite()) {
                return Err(bad(format!(
                    "its embedding has {} values or values that are not finite",
                    e.embedding.len()
                )));
            }
        }
        Ok(p)
    }

    /// Reads a `.voice` file.
    pub fn load_json(path: &Path) -> Result<VoiceProfile> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let what = path.display().to_string();
        if meta.len() > MAX_PROFILE_BYTES {
            return Err(Error::InvalidProfile {
                what,
                reason: format!("{} bytes is too large for a profile", meta.len()),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, &what)
    }

    /// Writes a `.voice` file atomically (a temporary file in the same folder, renamed).
    pub fn save_json(&self, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("profile.voice");
        let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
        std::fs::write(&tmp, self.to_json()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }
}

/// Whether `path` names a saved profile (`.voice` or `.json`) rather than a recording.
pub fn is_profile_path(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    ext == "voice" || ext == "json"
}

/// Loads a voice: a saved profile, or a recording (WAV/MP3/FLAC/OGG) enrolled on the spot.
pub fn load_voice(path: &Path, encoder: &VoiceEncoder) -> Result<VoiceProfile> {
    if is_profile_path(path) {
        return VoiceProfile::load_json(path);
    }
    let audio = crate::audio::decode_file(path)?;
    VoiceProfile::enroll(&audio, &path.display().to_string(), encoder)
}

/// The speaker embedding of a file: a saved profile's, or that of any non-empty
/// recording (no minimum length; short audio is padded with a warning).
pub fn embed_file(path: &Path, encoder: &VoiceEncoder, opts: &EmbedOptions) -> Result<Utterance> {
    if is_profile_path(path) {
        let p = VoiceProfile::load_json(path)?;
        let embedding = p.embedding.ok_or_else(|| Error::InvalidProfile {
            what: path.display().to_string(),
            reason: "it holds no speaker embedding".into(),
        })?;
        return Ok(Utterance {
            embedding,
            partials: Vec::new(),
            slices: Vec::new(),
            speech_s: p.analysis.speech_s,
            warnings: Vec::new(),
        });
    }
    let audio = crate::audio::decode_file(path)?;
    encoder.embed_utterance(&audio, opts)
}
