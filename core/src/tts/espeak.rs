//! The espeak-ng engine (GPL-3.0 C library, behind the `espeak` feature).
//!
//! espeak-ng keeps its state in C globals, so every call goes through one
//! process-wide lock owned by this module; the library itself adds no other
//! global state. Voice, pitch and rate come from the [`VoiceProfile`]: the
//! variant by likely gender, the pitch parameter so the base pitch lands near
//! the speaker's median F0, the rate from the speaker's syllable rate.

use std::ffi::{c_int, c_short, c_void, CStr, CString};
use std::sync::Mutex;

use espeakng_sys as sys;

use super::{Speech, Synthesizer, WordTiming};
use crate::audio::Audio;
use crate::lang::Language;
use crate::voice::{Gender, VoiceProfile};
use crate::{Error, Result};

/// The one lock around espeak-ng's global state; holds its sample rate once initialised.
static ESPEAK: Mutex<Option<u32>> = Mutex::new(None);

/// espeak-ng parameters for one voice.
#[derive(Debug, Clone, PartialEq)]
pub struct EspeakVoice {
    /// espeak voice name with variant, e.g. `en-us+f3` or `cmn-latn-pinyin`.
    pub name: String,
    /// Speaking rate in words per minute (80–450).
    pub rate_wpm: u32,
    /// Base pitch, 0–99.
    pub pitch: u32,
    /// Pitch range, 0–99.
    pub range: u32,
}

impl EspeakVoice {
    /// Chooses espeak parameters that resemble a speaker.
    ///
    /// The espeak voice for Mandarin is `cmn-latn-pinyin`: Debian's plain `cmn`
    /// reads digits and some characters with English phonemes.
    pub fn for_profile(profile: &VoiceProfile, language: Language) -> EspeakVoice {
        let a = &profile.analysis;
        let female = profile.gender == Gender::Female;
        let base = match language {
            Language::English => "en-us",
            Language::ChineseTraditional | Language::ChineseSimplified => "cmn-latn-pinyin",
        };
        let name = if female {
            format!("{base}+f2")
        } else {
            base.to_string()
        };
        // Calibrated on espeak-ng 1.51 (docs/engines.md): measured median F0 of
        // the default voice ≈ 0.82·p + 76 Hz (male), 1.63·p + 149 Hz (female variant f2).
        let f0 = a.f0_median_hz.clamp(60.0, 400.0);
        let pitch = if female {
            (f0 - 149.0) / 1.63
        } else {
            (f0 - 76.0) / 0.82
        };
        // Wider F0 spread → wider espeak range (default 50 ≈ 2.5 semitones of spread).
        let range = (a.f0_spread_semitones * 20.0).clamp(25.0, 90.0);
        // espeak at 175 wpm speaks about 4.3 English syllables per second.
        let sps = if a.speaking_rate_syllables_per_s.is_finite()
            && a.speaking_rate_syllables_per_s > 0.5
        {
            a.speaking_rate_syllables_per_s
        } else {
            4.3
        };
        let mut wpm = sps / 4.3 * 175.0;
        if language.is_cjk() {
            wpm *= 0.85; // espeak's Mandarin runs fast at the same setting.
        }
        EspeakVoice {
            name,
            rate_wpm: wpm.clamp(120.0, 260.0).round() as u32,
            pitch: pitch.clamp(0.0, 99.0).round() as u32,
            range: range.round() as u32,
        }
    }
}

/// Speech synthesis with espeak-ng.
#[derive(Debug, Default, Clone, Copy)]
pub struct EspeakSynthesizer;

impl EspeakSynthesizer {
    /// Checks that espeak-ng and its data are installed.
    pub fn new() -> Result<Self> {
        with_espeak(|_| Ok(()))?;
        Ok(EspeakSynthesizer)
    }

    /// Synthesizes with explicit espeak parameters.
    pub fn synthesize_with(&self, text: &str, voice: &EspeakVoice) -> Result<Speech> {
        with_espeak(|rate| synth_locked(text, voice, rate))
    }

    /// The phonemes espeak-ng produces for `text` with `voice` (espeak mnemonics;
    /// a language switch shows as `(en)`), for checking the front end.
    pub fn phonemes(&self, text: &str, voice_name: &str) -> Result<String> {
        with_espeak(|_| {
            set_voice(voice_name)?;
            let c = CString::new(text.replace('\0', " ")).map_err(|e| synth_err(e.to_string()))?;
            let mut ptr = c.as_ptr() as *const c_void;
            let mut out = String::new();
            // SAFETY: espeak reads the NUL-terminated string and advances `ptr`
            // clause by clause, setting it to NULL at the end; the lock is held.
            unsafe {
                while !ptr.is_null() {
                    let p = sys::espeak_TextToPhonemes(&mut ptr, sys::espeakCHARS_UTF8 as c_int, 0);
                    if p.is_null() {
                        break;
                    }
                    out.push_str(&CStr::from_ptr(p).to_string_lossy());
                    out.push(' ');
                }
            }
            Ok(out.trim().to_string())
        })
    }
}

impl Synthesizer for EspeakSynthesizer {
    fn name(&self) -> &str {
        "espeak-ng"
    }

    fn synthesize(&self, text: &str, language: Language, voice: &VoiceProfile) -> Result<Speech> {
        self.synthesize_with(text, &EspeakVoice::for_profile(voice, language))
    }
}

fn synth_err(reason: impl Into<String>) -> Error {
    Error::Synthesis {
        engine: "espeak-ng".into(),
        reason: reason.into(),
    }
}

fn with_espeak<T>(f: impl FnOnce(u32) -> Result<T>) -> Result<T> {
    let mut guard = ESPEAK.lock().unwrap_or_else(|p| p.into_inner());
    let rate = match *guard {
        Some(r) => r,
        None => {
            // SAFETY: initialisation with a NULL data path (the system default)
            // and DONT_EXIT so a missing data folder returns an error instead of exiting.
            let r = unsafe {
                sys::espeak_Initialize(
                    sys::espeak_AUDIO_OUTPUT_AUDIO_OUTPUT_SYNCHRONOUS,
                    0,
                    std::ptr::null(),
                    sys::espeakINITIALIZE_DONT_EXIT as c_int,
                )
            };
            if r <= 0 {
                return Err(Error::MissingDependency {
                    what: "espeak-ng and its voice data".into(),
                    install: "apt-get install espeak-ng".into(),
                });
            }
            // SAFETY: the callback is a plain function valid for the whole program.
            unsafe { sys::espeak_SetSynthCallback(Some(synth_callback)) };
            *guard = Some(r as u32);
            r as u32
        }
    };
    f(rate)
}

fn set_voice(name: &str) -> Result<()> {
    let c = CString::new(name).map_err(|e| synth_err(e.to_string()))?;
    // SAFETY: a valid C string; the lock is held by the caller.
    let r = unsafe { sys::espeak_SetVoiceByName(c.as_ptr()) };
    if r != sys::espeak_ERROR_EE_OK {
        return Err(Error::MissingDependency {
            what: format!("espeak-ng voice {name:?}"),
            install: "apt-get install espeak-ng-data".into(),
        });
    }
    Ok(())
}

/// Collects what the callback receives during one synthesis.
struct Collector {
    samples: Vec<i16>,
    /// (1-based character position, length in characters, audio position in ms)
    words: Vec<(i32, i32, i32)>,
    /// Refuse runaway output (more than 10 minutes for one call).
    limit: usize,
    overflow: bool,
}

unsafe extern "C" fn synth_callback(
    wav: *mut c_short,
    n: c_int,
    events: *mut sys::espeak_EVENT,
) -> c_int {
    if events.is_null() {
        return 0;
    }
    // SAFETY: espeak passes the user_data pointer we gave espeak_Synth in every
    // event; it points to a Collector alive for the duration of that call.
    let collector = unsafe { (*events).user_data as *mut Collector };
    if collector.is_null() {
        return 0;
    }
    let c = unsafe { &mut *collector };
    if !wav.is_null() && n > 0 {
        // SAFETY: espeak hands `n` valid samples.
        let s = unsafe { std::slice::from_raw_parts(wav, n as usize) };
        c.samples.extend_from_slice(s);
        if c.samples.len() > c.limit {
            c.overflow = true;
            return 1;
        }
    }
    let mut e = events;
    // SAFETY: the event list ends with espeakEVENT_LIST_TERMINATED.
    unsafe {
        while (*e).type_ != sys::espeak_EVENT_TYPE_espeakEVENT_LIST_TERMINATED {
            if (*e).type_ == sys::espeak_EVENT_TYPE_espeakEVENT_WORD {
                c.words
                    .push(((*e).text_position, (*e).length, (*e).audio_position));
            }
            e = e.add(1);
        }
    }
    0
}

fn synth_locked(text: &str, voice: &EspeakVoice, rate: u32) -> Result<Speech> {
    set_voice(&voice.name)?;
    // SAFETY: plain integer parameters; the lock is held.
    unsafe {
        sys::espeak_SetParameter(
            sys::espeak_PARAMETER_espeakRATE,
            voice.rate_wpm.clamp(80, 450) as c_int,
            0,
        );
        sys::espeak_SetParameter(
            sys::espeak_PARAMETER_espeakPITCH,
            voice.pitch.min(99) as c_int,
            0,
        );
        sys::espeak_SetParameter(
            sys::espeak_PARAMETER_espeakRANGE,
            voice.range.min(99) as c_int,
            0,
        );
    }
    let clean: String = text
        .chars()
        .map(|c| if c == '\0' || c.is_control() { ' ' } else { c })
        .collect();
    let c = CString::new(clean).map_err(|e| synth_err(e.to_string()))?;
    let mut collector = Collector {
        samples: Vec::new(),
        words: Vec::new(),
        limit: rate as usize * 600,
        overflow: false,
    };
    // SAFETY: the text is NUL-terminated UTF-8 of the given size; `collector`
    // outlives the synchronous call, which invokes the callback before returning.
    let r = unsafe {
        sys::espeak_Synth(
            c.as_ptr() as *const c_void,
            c.as_bytes_with_nul().len(),
            0,
            sys::espeak_POSITION_TYPE_POS_CHARACTER,
            0,
            sys::espeakCHARS_UTF8,
            std::ptr::null_mut(),
            &mut collector as *mut Collector as *mut c_void,
        )
    };
    if r != sys::espeak_ERROR_EE_OK {
        return Err(synth_err(format!("espeak_Synth returned {r}")));
    }
    if collector.overflow {
        return Err(synth_err("output longer than 10 minutes for one sentence"));
    }
    let samples: Vec<f32> = collector
        .samples
        .iter()
        .map(|&s| s as f32 / 32768.0)
        .collect();
    let nchars = text.chars().count();
    let mut words: Vec<WordTiming> = collector
        .words
        .iter()
        .filter(|(pos, _, _)| *pos >= 1)
        .map(|&(pos, len, ms)| {
            let start = (pos as usize - 1).min(nchars);
            WordTiming {
                char_start: start,
                char_end: (start + len.max(1) as usize).min(nchars),
                start_s: ms as f64 / 1000.0,
            }
        })
        .collect();
    words.sort_by(|a, b| a.char_start.cmp(&b.char_start));
    Ok(Speech {
        audio: Audio::new(samples, rate),
        words,
    })
}
