//! The misaki pronunciation lexicons (`us_gold.json`, `us_silver.json`) and the
//! lookup rules around them: capitalisation and stress, part-of-speech
//! dependent entries, possessives, and the -s / -ed / -ing suffix rules.
//!
//! This follows the behaviour of misaki 0.9.4's `Lexicon` class (Apache-2.0),
//! re-written in Rust; a small context (the next word's first sound, a guessed
//! part of speech) stands in for spaCy's tagger.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::PhonemeSource;
use crate::{Error, Result};

/// Primary stress mark.
pub(crate) const PRIMARY: char = 'ˈ';
/// Secondary stress mark.
pub(crate) const SECONDARY: char = 'ˌ';
/// Vowels of misaki's phoneme set (diphthongs are single capital letters).
pub(crate) const VOWELS: &str = "AIOQWYaiuæɑɒɔəɛɜɪʊʌᵻ";
/// Consonants of misaki's phoneme set.
pub(crate) const CONSONANTS: &str = "bdfhjklmnpstvwzðŋɡɹɾʃʒʤʧθ";
/// Punctuation that ends a phrase for the purpose of context rules.
pub(crate) const NON_QUOTE_PUNCTS: &str = ";:,.!?—…";
const US_TAUS: &str = "AIOWYiuæɑəɛɪɹʊʌ";

fn is_vowel(c: char) -> bool {
    VOWELS.contains(c)
}

/// A guessed part of speech, enough to choose between lexicon entries
/// (`read`, `record`, `close`) and for the special cases of misaki.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    /// Unknown.
    None,
    /// A noun.
    Noun,
    /// A proper noun or acronym (all capitals).
    ProperNoun,
    /// A verb, base form.
    Verb,
    /// A verb, past tense.
    VerbPast,
    /// A verb, present tense after a subject pronoun (spaCy's VBP).
    VerbPresent,
    /// A verb, past participle.
    VerbParticiple,
    /// A determiner (`a`, `the`).
    Det,
    /// A preposition.
    Prep,
    /// A personal pronoun.
    Pronoun,
}

impl Tag {
    fn key(self) -> Option<&'static str> {
        match self {
            Tag::Noun | Tag::ProperNoun => Some("NOUN"),
            Tag::Verb => Some("VERB"),
            Tag::VerbPast => Some("VBD"),
            Tag::VerbPresent => Some("VBP"),
            Tag::VerbParticiple => Some("VBN"),
            Tag::Det => Some("DT"),
            Tag::None | Tag::Prep | Tag::Pronoun => None,
        }
    }
    fn parent(self) -> Option<&'static str> {
        match self {
            Tag::VerbPast | Tag::VerbParticiple | Tag::VerbPresent | Tag::Verb => Some("VERB"),
            Tag::Noun | Tag::ProperNoun => Some("NOUN"),
            _ => self.key(),
        }
    }
}

/// What follows a word, as seen by the context rules (`the` → ði before a vowel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Ctx {
    /// Whether the next word starts with a vowel; `None` at the end of a phrase.
    pub future_vowel: Option<bool>,
    /// Whether the next word is `to`.
    pub future_to: bool,
}

impl Ctx {
    /// The context for the word before one whose phonemes are `ps`.
    pub(crate) fn before(self, ps: &str, word: &str) -> Ctx {
        let mut vowel = self.future_vowel;
        if !ps.is_empty() {
            if let Some(c) = ps
                .chars()
                .find(|&c| is_vowel(c) || CONSONANTS.contains(c) || NON_QUOTE_PUNCTS.contains(c))
            {
                vowel = if NON_QUOTE_PUNCTS.contains(c) {
                    None
                } else {
                    Some(is_vowel(c))
                };
            }
        }
        Ctx {
            future_vowel: vowel,
            future_to: word == "to" || word == "To" || word == "TO",
        }
    }
}

/// One lexicon value: a pronunciation, or pronunciations by part of speech.
#[derive(Debug, Clone)]
enum Entry {
    Plain(String),
    /// (tag, pronunciation) pairs; always has `DEFAULT`. A `None` pronunciation
    /// means "not this way" (misaki then spells the word).
    Tagged(Vec<(String, Option<String>)>),
}

/// Stress adjustments of misaki's `apply_stress`: `-2` removes all stress,
/// `-1` demotes primary to secondary, `0`/`0.5`/`1` add secondary stress to an
/// unstressed word, `2` adds or promotes to primary.
pub(crate) fn apply_stress(ps: &str, stress: Option<f32>) -> String {
    let Some(s) = stress else {
        return ps.to_string();
    };
    let has_p = ps.contains(PRIMARY);
    let has_s = ps.contains(SECONDARY);
    let any_vowel = ps.chars().any(is_vowel);
    if s < -1.0 {
        ps.replace([PRIMARY, SECONDARY], "")
    } else if s == -1.0 || ((s == 0.0 || s == -0.5) && has_p) {
        ps.replace(SECONDARY, "")
            .replace(PRIMARY, &SECONDARY.to_string())
    } else if (s == 0.0 || s == 0.5 || s == 1.0) && !has_p && !has_s {
        if !any_vowel {
            return ps.to_string();
        }
        restress(&format!("{SECONDARY}{ps}"))
    } else if s >= 1.0 && !has_p && has_s {
        ps.replace(SECONDARY, &PRIMARY.to_string())
    } else if s > 1.0 && !has_p && !has_s {
        if !any_vowel {
            return ps.to_string();
        }
        restress(&format!("{PRIMARY}{ps}"))
    } else {
        ps.to_string()
    }
}

/// Moves every stress mark to just before the next vowel.
fn restress(ps: &str) -> String {
    let chars: Vec<char> = ps.chars().collect();
    let mut keyed: Vec<(f64, char)> = Vec::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == PRIMARY || c == SECONDARY {
            let j = (i..chars.len()).find(|&j| is_vowel(chars[j])).unwrap_or(i);
            keyed.push((j as f64 - 0.5, c));
        } else {
            keyed.push((i as f64, c));
        }
    }
    keyed.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    keyed.into_iter().map(|(_, c)| c).collect()
}

fn is_lower(w: &str) -> bool {
    w.to_lowercase() == w
}

fn is_upper(w: &str) -> bool {
    w.to_uppercase() == w
}

fn capitalize(w: &str) -> String {
    let mut cs = w.chars();
    match cs.next() {
        Some(f) => f
            .to_uppercase()
            .chain(cs.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn is_alpha(w: &str) -> bool {
    !w.is_empty() && w.chars().all(char::is_alphabetic)
}

/// Characters of lexicon keys: apostrophe, hyphen, ASCII letters.
fn lexicon_char(c: char) -> bool {
    c == '\'' || c == '-' || c.is_ascii_alphabetic()
}

fn symbol_word(w: &str) -> Option<&'static str> {
    match w {
        "%" => Some("percent"),
        "&" => Some("and"),
        "+" => Some("plus"),
        "@" => Some("at"),
        _ => None,
    }
}

/// The gold and silver dictionaries.
#[derive(Debug)]
pub(crate) struct Lexicon {
    gold: HashMap<String, Entry>,
    silver: HashMap<String, Entry>,
}

/// A pronunciation and where it came from.
pub(crate) type Found = (String, PhonemeSource);

impl Lexicon {
    /// Reads `us_gold.json` and `us_silver.json` from `dir`.
    pub(crate) fn load(dir: &Path) -> Result<Lexicon> {
        let gold = read_dict(&dir.join("us_gold.json"))?;
        let silver = read_dict(&dir.join("us_silver.json"))?;
        Ok(Lexicon { gold, silver })
    }

    /// A lexicon from JSON text (for tests).
    #[cfg(test)]
    pub(crate) fn from_json(gold: &str, silver: &str) -> Lexicon {
        let p = Path::new("test");
        Lexicon {
            gold: parse_dict(gold, p).unwrap(),
            silver: parse_dict(silver, p).unwrap(),
        }
    }

    /// Number of entries (gold, silver), grown forms included.
    pub(crate) fn len(&self) -> (usize, usize) {
        (self.gold.len(), self.silver.len())
    }

    fn gold_plain(&self, w: &str) -> Option<&str> {
        match self.gold.get(w) {
            Some(Entry::Plain(s)) => Some(s),
            Some(Entry::Tagged(v)) => v
                .iter()
                .find(|(k, _)| k == "DEFAULT")
                .and_then(|(_, p)| p.as_deref()),
            None => None,
        }
    }

    /// Spells a word letter by letter (`USA` → jˌuˌɛsˈA).
    pub(crate) fn spell(&self, word: &str) -> Option<String> {
        let mut ps = String::new();
        let mut any = false;
        for c in word.chars().filter(|c| c.is_alphabetic()) {
            let up: String = c.to_uppercase().collect();
            ps.push_str(self.gold_plain(&up)?);
            any = true;
        }
        if !any {
            return None;
        }
        let ps = apply_stress(&ps, Some(0.0));
        Some(match ps.rfind(SECONDARY) {
            Some(i) => format!("{}{PRIMARY}{}", &ps[..i], &ps[i + SECONDARY.len_utf8()..]),
            None => ps,
        })
    }

    fn is_known(&self, word: &str) -> bool {
        if self.gold.contains_key(word)
            || symbol_word(word).is_some()
            || self.silver.contains_key(word)
        {
            return true;
        }
        if !is_alpha(word) || !word.chars().all(lexicon_char) {
            return false;
        }
        if word.chars().count() == 1 {
            return true;
        }
        if is_upper(word) && self.gold.contains_key(&word.to_lowercase()) {
            return true;
        }
        let rest: String = word.chars().skip(1).collect();
        is_upper(&rest)
    }

    /// Plain lookup: gold, then silver, then spelling; applies `stress`.
    pub(crate) fn lookup(
        &self,
        word: &str,
        tag: Tag,
        stress: Option<f32>,
        ctx: Option<Ctx>,
    ) -> Option<Found> {
        let mut word = word.to_string();
        let mut is_nnp = false;
        if is_upper(&word) && !self.gold.contains_key(&word) {
            word = word.to_lowercase();
            is_nnp = tag == Tag::ProperNoun;
        }
        let mut found: Option<(&Entry, PhonemeSource)> =
            self.gold.get(&word).map(|e| (e, PhonemeSource::Gold));
        if found.is_none() && !is_nnp {
            found = self.silver.get(&word).map(|e| (e, PhonemeSource::Silver));
        }
        let ps: Option<(String, PhonemeSource)> = match found {
            None => None,
            Some((Entry::Plain(s), src)) => Some((s.clone(), src)),
            Some((Entry::Tagged(v), src)) => {
                let get = |k: &str| v.iter().find(|(t, _)| t == k).map(|(_, p)| p.clone());
                let chosen: Option<String> =
                    if ctx.is_some_and(|c| c.future_vowel.is_none()) && get("None").is_some() {
                        get("None").flatten()
                    } else {
                        let key = match tag.key() {
                            Some(k) if get(k).is_some() => Some(k),
                            _ => tag.parent(),
                        };
                        match key.and_then(get) {
                            Some(v) => v,
                            None => get("DEFAULT").flatten(),
                        }
                    };
                chosen.map(|p| (p, src))
            }
        };
        match ps {
            Some((p, _)) if is_nnp && !p.contains(PRIMARY) => self
                .spell(word.as_str())
                .map(|s| (s, PhonemeSource::Spelled)),
            Some((p, src)) => Some((apply_stress(&p, stress), src)),
            None => self
                .spell(word.as_str())
                .map(|s| (s, PhonemeSource::Spelled)),
        }
    }

    fn suffix_s(stem: &str) -> String {
        match stem.chars().last() {
            Some(c) if "ptkfθ".contains(c) => format!("{stem}s"),
            Some(c) if "szʃʒʧʤ".contains(c) => format!("{stem}ᵻz"),
            _ => format!("{stem}z"),
        }
    }

    fn stem_s(&self, word: &str, tag: Tag, stress: Option<f32>, ctx: Option<Ctx>) -> Option<Found> {
        let n = word.chars().count();
        if n < 3 || !word.ends_with('s') {
            return None;
        }
        let cut = |k: usize| -> String { word.chars().take(n - k).collect() };
        let stem = if !word.ends_with("ss") && self.is_known(&cut(1)) {
            cut(1)
        } else if (word.ends_with("'s")
            || (n > 4 && word.ends_with("es") && !word.ends_with("ies")))
            && self.is_known(&cut(2))
        {
            cut(2)
        } else if n > 4 && word.ends_with("ies") && self.is_known(&format!("{}y", cut(3))) {
            format!("{}y", cut(3))
        } else {
            return None;
        };
        let (ps, src) = self.lookup(&stem, tag, stress, ctx)?;
        Some((Self::suffix_s(&ps), src))
    }

    fn suffix_ed(stem: &str) -> String {
        let cs: Vec<char> = stem.chars().collect();
        match cs.last() {
            Some(&c) if "pkfθʃsʧ".contains(c) => format!("{stem}t"),
            Some('d') => format!("{stem}ᵻd"),
            Some(&c) if c != 't' => format!("{stem}d"),
            _ if cs.len() < 2 => format!("{stem}ɪd"),
            _ if US_TAUS.contains(cs[cs.len() - 2]) => {
                let s: String = cs[..cs.len() - 1].iter().collect();
                format!("{s}ɾᵻd")
            }
            _ => format!("{stem}ᵻd"),
        }
    }

    fn stem_ed(
        &self,
        word: &str,
        tag: Tag,
        stress: Option<f32>,
        ctx: Option<Ctx>,
    ) -> Option<Found> {
        let n = word.chars().count();
        if n < 4 || !word.ends_with('d') {
            return None;
        }
        let cut = |k: usize| -> String { word.chars().take(n - k).collect() };
        let stem = if !word.ends_with("dd") && self.is_known(&cut(1)) {
            cut(1)
        } else if n > 4 && word.ends_with("ed") && !word.ends_with("eed") && self.is_known(&cut(2))
        {
            cut(2)
        } else {
            return None;
        };
        let (ps, src) = self.lookup(&stem, tag, stress, ctx)?;
        Some((Self::suffix_ed(&ps), src))
    }

    fn suffix_ing(stem: &str) -> String {
        let cs: Vec<char> = stem.chars().collect();
        if cs.len() > 1 && cs[cs.len() - 1] == 't' && US_TAUS.contains(cs[cs.len() - 2]) {
            let s: String = cs[..cs.len() - 1].iter().collect();
            return format!("{s}ɾɪŋ");
        }
        format!("{stem}ɪŋ")
    }

    fn stem_ing(
        &self,
        word: &str,
        tag: Tag,
        stress: Option<f32>,
        ctx: Option<Ctx>,
    ) -> Option<Found> {
        let n = word.chars().count();
        if n < 5 || !word.ends_with("ing") {
            return None;
        }
        let cut = |k: usize| -> String { word.chars().take(n - k).collect() };
        let doubled = {
            let cs: Vec<char> = word.chars().collect();
            word.ends_with("cking")
                || (n > 5 && cs[n - 4] == cs[n - 5] && "bcdgklmnprstvxz".contains(cs[n - 4]))
        };
        let stem = if n > 5 && self.is_known(&cut(3)) {
            cut(3)
        } else if self.is_known(&format!("{}e", cut(3))) {
            format!("{}e", cut(3))
        } else if n > 5 && doubled && self.is_known(&cut(4)) {
            cut(4)
        } else {
            return None;
        };
        let (ps, src) = self.lookup(&stem, tag, stress, ctx)?;
        Some((Self::suffix_ing(&ps), src))
    }

    fn special_case(&self, word: &str, tag: Tag, stress: Option<f32>, ctx: Ctx) -> Option<Found> {
        let g = PhonemeSource::Gold;
        if let Some(w) = symbol_word(word) {
            return self.lookup(w, Tag::None, None, Some(ctx));
        }
        let inner = word.trim_matches('.');
        if inner.contains('.') {
            let letters: String = word.chars().filter(|&c| c != '.').collect();
            if is_alpha(&letters) && word.split('.').all(|p| p.chars().count() < 3) {
                return self.spell(word).map(|s| (s, PhonemeSource::Spelled));
            }
        }
        match word {
            "a" | "A" => Some((
                if tag == Tag::Det {
                    "ɐ".into()
                } else {
                    "ˈA".into()
                },
                g,
            )),
            "am" | "Am" | "AM" => {
                if matches!(tag, Tag::Noun | Tag::ProperNoun) {
                    self.spell(word).map(|s| (s, PhonemeSource::Spelled))
                } else if ctx.future_vowel.is_none()
                    || word != "am"
                    || stress.is_some_and(|s| s > 0.0)
                {
                    Some((self.gold_plain("am")?.to_string(), g))
                } else {
                    Some(("ɐm".into(), g))
                }
            }
            "an" | "An" | "AN" => {
                if word == "AN" && matches!(tag, Tag::Noun | Tag::ProperNoun) {
                    self.spell(word).map(|s| (s, PhonemeSource::Spelled))
                } else {
                    Some(("ɐn".into(), g))
                }
            }
            "I" if tag == Tag::Pronoun => Some((format!("{SECONDARY}I"), g)),
            "to" | "To" | "TO" => Some((
                match ctx.future_vowel {
                    None => self.gold_plain("to")?.to_string(),
                    Some(false) => "tə".into(),
                    Some(true) => "tʊ".into(),
                },
                g,
            )),
            "in" | "In" | "IN" if !(word == "IN" && tag == Tag::ProperNoun) => {
                let s = if ctx.future_vowel.is_none() || tag != Tag::Prep {
                    "ˈ"
                } else {
                    ""
                };
                Some((format!("{s}ɪn"), g))
            }
            "the" | "The" | "THE" => Some((
                if ctx.future_vowel == Some(true) {
                    "ði"
                } else {
                    "ðə"
                }
                .into(),
                g,
            )),
            "vs" | "vs." | "Vs." if tag == Tag::Prep => {
                self.lookup("versus", Tag::None, None, Some(ctx))
            }
            "used" | "Used" | "USED" => {
                let key = if matches!(tag, Tag::VerbPast) && ctx.future_to {
                    "VBD"
                } else {
                    "DEFAULT"
                };
                match self.gold.get("used") {
                    Some(Entry::Tagged(v)) => v
                        .iter()
                        .find(|(k, _)| k == key)
                        .and_then(|(_, p)| p.clone())
                        .map(|p| (p, g)),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// misaki's `get_word`: special cases, case folding, lookup, possessives, suffix rules.
    fn get_word(&self, word: &str, tag: Tag, stress: Option<f32>, ctx: Ctx) -> Option<Found> {
        if let Some(f) = self.special_case(word, tag, stress, ctx) {
            return Some(f);
        }
        let wl = word.to_lowercase();
        let n = word.chars().count();
        let rest: String = word.chars().skip(1).collect();
        let mut word = word.to_string();
        if n > 1
            && is_alpha(&word.replace('\'', ""))
            && word != wl
            && (tag != Tag::ProperNoun || n > 7)
            && !self.gold.contains_key(&word)
            && !self.silver.contains_key(&word)
            && (is_upper(&word) || is_lower(&rest))
            && (self.gold.contains_key(&wl)
                || self.silver.contains_key(&wl)
                || self.stem_s(&wl, tag, stress, Some(ctx)).is_some()
                || self.stem_ed(&wl, tag, stress, Some(ctx)).is_some()
                || self.stem_ing(&wl, tag, stress, Some(ctx)).is_some())
        {
            word = wl;
        }
        if self.is_known(&word) {
            return self.lookup(&word, tag, stress, Some(ctx));
        }
        if let Some(stem) = word.strip_suffix("s'") {
            let poss = format!("{stem}'s");
            if self.is_known(&poss) {
                return self.lookup(&poss, tag, stress, Some(ctx));
            }
        }
        if let Some(stem) = word.strip_suffix('\'') {
            if self.is_known(stem) {
                return self.lookup(stem, tag, stress, Some(ctx));
            }
        }
        if let Some(f) = self.stem_s(&word, tag, stress, Some(ctx)) {
            return Some(f);
        }
        if let Some(f) = self.stem_ed(&word, tag, stress, Some(ctx)) {
            return Some(f);
        }
        self.stem_ing(&word, tag, Some(stress.unwrap_or(0.5)), Some(ctx))
    }

    /// Pronounces one word (no digits) as misaki's `Lexicon.__call__` does:
    /// stress from capitalisation, then [`Self::get_word`]. `None` when the
    /// word is not in the lexicons and no rule derives it.
    pub(crate) fn word(&self, word: &str, tag: Tag, ctx: Ctx) -> Option<Found> {
        let word = word.replace(['‘', '’'], "'");
        let stress = if is_lower(&word) {
            None
        } else if is_upper(&word) {
            Some(2.0)
        } else {
            Some(0.5)
        };
        self.get_word(&word, tag, stress, ctx)
    }
}

fn read_dict(path: &Path) -> Result<HashMap<String, Entry>> {
    let text = super::read_asset(path)?;
    parse_dict(&text, path)
}

fn parse_dict(text: &str, path: &Path) -> Result<HashMap<String, Entry>> {
    let bad = |reason: String| Error::InvalidModelFile {
        path: path.to_path_buf(),
        reason,
    };
    let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Value::Object(map) = v else {
        return Err(bad("expected a JSON object of word → pronunciation".into()));
    };
    let mut d: HashMap<String, Entry> = HashMap::with_capacity(map.len() * 2);
    for (k, v) in map {
        let e = match v {
            Value::String(s) => Entry::Plain(s),
            Value::Object(o) => {
                let mut pairs = Vec::with_capacity(o.len());
                for (t, p) in o {
                    match p {
                        Value::String(s) => pairs.push((t, Some(s))),
                        Value::Null => pairs.push((t, None)),
                        _ => {
                            return Err(bad(format!(
                                "entry {k:?}: tag {t:?} is not a string or null"
                            )))
                        }
                    }
                }
                if !pairs.iter().any(|(t, _)| t == "DEFAULT") {
                    return Err(bad(format!("entry {k:?} has tags but no DEFAULT")));
                }
                Entry::Tagged(pairs)
            }
            _ => return Err(bad(format!("entry {k:?} is not a string or an object"))),
        };
        d.insert(k, e);
    }
    // misaki's grow_dictionary: lower-case keys also answer capitalised, and
    // capitalised keys also answer lower-case (existing keys win).
    let mut extra: Vec<(String, Entry)> = Vec::new();
    for (k, v) in &d {
        if k.chars().count() < 2 {
            continue;
        }
        if is_lower(k) {
            let c = capitalize(k);
            if &c != k {
                extra.push((c, v.clone()));
            }
        } else if *k == capitalize(k) {
            extra.push((k.to_lowercase(), v.clone()));
        }
    }
    for (k, v) in extra {
        d.entry(k).or_insert(v);
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stress_rules() {
        assert_eq!(apply_stress("ɪt", Some(0.5)), "ˌɪt");
        assert_eq!(apply_stress("ɪt", Some(2.0)), "ˈɪt");
        assert_eq!(apply_stress("həlˈO", Some(-1.0)), "həlˌO");
        assert_eq!(apply_stress("nˌIntˈin", Some(-2.0)), "nIntin");
        assert_eq!(apply_stress("ðˌæt", Some(2.0)), "ðˈæt");
        assert_eq!(apply_stress("bt", Some(2.0)), "bt");
        // The mark goes before the first vowel, not before the onset.
        assert_eq!(apply_stress("stɹit", Some(2.0)), "stɹˈit");
    }

    fn lex() -> Lexicon {
        Lexicon::from_json(
            r#"{"I":"ˈI","T":"tˈi","cat":"kˈæt","dog":"dˈɔɡ","wait":"wˈAt","bus":"bˈʌs","A":"ˈA","B":"bˈi","C":"sˈi",
               "read":{"DEFAULT":"ɹˈid","VBD":"ɹˈɛd","VBN":"ɹˈɛd"},"hello":"həlˈO","to":"tu",
               "used":{"DEFAULT":"jˈuzd","VBD":"jˈust"},"by":{"DEFAULT":"bI","None":"bˈI"},"am":"æm",
               "it":"ɪt","percent":"pəɹsˈɛnt"}"#,
            r#"{"run":"ɹˈʌn"}"#,
        )
    }

    #[test]
    fn lookups_and_suffixes() {
        let l = lex();
        let c = Ctx::default();
        let w = |s: &str| l.word(s, Tag::None, c).map(|f| f.0);
        assert_eq!(w("cat").unwrap(), "kˈæt");
        assert_eq!(w("Cat").unwrap(), "kˈæt");
        assert_eq!(w("cats").unwrap(), "kˈæts");
        assert_eq!(w("dogs").unwrap(), "dˈɔɡz");
        assert_eq!(w("buses").unwrap(), "bˈʌsᵻz");
        assert_eq!(w("cat's").unwrap(), "kˈæts");
        assert_eq!(w("waited").unwrap(), "wˈAɾᵻd");
        assert_eq!(w("waiting").unwrap(), "wˈAɾɪŋ");
        assert_eq!(w("running").unwrap(), "ɹˈʌnɪŋ");
        assert_eq!(w("run").unwrap(), "ɹˈʌn");
        assert_eq!(
            l.word("run", Tag::None, c).unwrap().1,
            PhonemeSource::Silver
        );
        assert_eq!(w("ABC").unwrap(), "ˌAbˌisˈi");
        assert_eq!(l.word("IT", Tag::ProperNoun, c).unwrap().0, "ˌItˈi");
        assert!(w("zzyzx").is_none());
        assert_eq!(w("%").unwrap(), "pəɹsˈɛnt");
    }

    #[test]
    fn tags_and_context() {
        let l = lex();
        let c = Ctx {
            future_vowel: Some(false),
            future_to: false,
        };
        assert_eq!(l.word("read", Tag::None, c).unwrap().0, "ɹˈid");
        assert_eq!(l.word("read", Tag::VerbParticiple, c).unwrap().0, "ɹˈɛd");
        assert_eq!(l.word("read", Tag::VerbPast, c).unwrap().0, "ɹˈɛd");
        assert_eq!(l.word("by", Tag::None, c).unwrap().0, "bI");
        assert_eq!(l.word("by", Tag::None, Ctx::default()).unwrap().0, "bˈI");
        assert_eq!(l.word("the", Tag::Det, c).unwrap().0, "ðə");
        let v = Ctx {
            future_vowel: Some(true),
            future_to: false,
        };
        assert_eq!(l.word("the", Tag::Det, v).unwrap().0, "ði");
        assert_eq!(l.word("to", Tag::None, v).unwrap().0, "tʊ");
        assert_eq!(l.word("to", Tag::None, c).unwrap().0, "tə");
        assert_eq!(l.word("to", Tag::None, Ctx::default()).unwrap().0, "tu");
        assert_eq!(l.word("a", Tag::Det, c).unwrap().0, "ɐ");
        assert_eq!(l.word("I", Tag::Pronoun, c).unwrap().0, "ˌI");
        let to = Ctx {
            future_vowel: Some(false),
            future_to: true,
        };
        assert_eq!(l.word("used", Tag::VerbPast, to).unwrap().0, "jˈust");
        assert_eq!(l.word("It", Tag::Pronoun, c).unwrap().0, "ˌɪt");
    }

    #[test]
    fn context_from_next_word() {
        let c = Ctx::default().before("ˈæpəl", "apple");
        assert_eq!(c.future_vowel, Some(true));
        let c = Ctx::default().before("kˈæt", "cat");
        assert_eq!(c.future_vowel, Some(false));
        let c = c.before(",", ",");
        assert_eq!(c.future_vowel, None);
        assert!(Ctx::default().before("tu", "to").future_to);
    }
}
