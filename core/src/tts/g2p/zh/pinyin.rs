//! Pinyin: pypinyin's tables (first reading of every character, readings of phrases), its
//! phrase segmentation (forward maximum matching over the phrase table, as
//! `pypinyin.seg.mmseg` with `no_non_phrases`), and one syllable → Kokoro's Mandarin symbols
//! (misaki's `pinyin_to_ipa` + tone arrows: → 1, ↗ 2, ↓ 3, ↘ 4, none for the neutral tone).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::{Error, Result};

/// One syllable: toneless letters (`ü` kept as `ü`) and tone 1–5 (5 = neutral).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    /// Letters without tone marks, e.g. `zhong`, `lü`, `er`.
    pub letters: String,
    /// 1–4, or 5 for the neutral tone.
    pub tone: u8,
}

impl Syllable {
    /// Parses a tone-marked reading (`zhōng`, `lǘ`, `ḿ`, `de`); `None` for anything else.
    pub fn parse(marked: &str) -> Option<Syllable> {
        let mut letters = String::with_capacity(marked.len());
        let mut tone = 5u8;
        for c in marked.chars() {
            let (base, t) = match c {
                'ā' => ('a', 1),
                'á' => ('a', 2),
                'ǎ' => ('a', 3),
                'à' => ('a', 4),
                'ē' => ('e', 1),
                'é' => ('e', 2),
                'ě' => ('e', 3),
                'è' => ('e', 4),
                'ī' => ('i', 1),
                'í' => ('i', 2),
                'ǐ' => ('i', 3),
                'ì' => ('i', 4),
                'ō' => ('o', 1),
                'ó' => ('o', 2),
                'ǒ' => ('o', 3),
                'ò' => ('o', 4),
                'ū' => ('u', 1),
                'ú' => ('u', 2),
                'ǔ' => ('u', 3),
                'ù' => ('u', 4),
                'ǖ' => ('ü', 1),
                'ǘ' => ('ü', 2),
                'ǚ' => ('ü', 3),
                'ǜ' => ('ü', 4),
                'ń' => ('n', 2),
                'ň' => ('n', 3),
                'ǹ' => ('n', 4),
                'ḿ' => ('m', 2),
                'ế' => ('ê', 2),
                'ề' => ('ê', 4),
                '\u{304}' => ('\0', 1),
                '\u{301}' => ('\0', 2),
                '\u{30C}' => ('\0', 3),
                '\u{300}' => ('\0', 4),
                'v' => ('ü', 0),
                c if c.is_ascii_lowercase() || c == 'ü' || c == 'ê' => (c, 0),
                _ => return None,
            };
            if base != '\0' {
                letters.push(base);
            }
            if t != 0 {
                tone = t;
            }
        }
        if letters.is_empty() {
            return None;
        }
        Some(Syllable { letters, tone })
    }

    /// The same syllable in another tone.
    pub fn with_tone(&self, tone: u8) -> Syllable {
        Syllable {
            letters: self.letters.clone(),
            tone,
        }
    }

    /// pypinyin's TONE3 form with the neutral tone as 5 and `ü` as `v` (`lv4`, `de5`).
    pub fn tone3(&self) -> String {
        format!("{}{}", self.letters.replace('ü', "v"), self.tone)
    }

    /// Kokoro's symbols for this syllable (misaki's mapping), or `None` if it is not a
    /// Mandarin syllable.
    pub fn ipa(&self) -> Option<String> {
        syllable_ipa(&self.letters, self.tone)
    }
}

fn tone_mark(tone: u8) -> &'static str {
    match tone {
        1 => "→",
        2 => "↗",
        3 => "↓",
        4 => "↘",
        _ => "",
    }
}

const INITIALS: [&str; 21] = [
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r",
    "z", "c", "s",
];

fn initial_ipa(i: &str) -> &'static str {
    match i {
        "b" => "p",
        "c" => "ʦʰ",
        "ch" => "ꭧʰ",
        "d" => "t",
        "f" => "f",
        "g" => "k",
        "h" => "x",
        "j" => "ʨ",
        "k" => "kʰ",
        "l" => "l",
        "m" => "m",
        "n" => "n",
        "p" => "pʰ",
        "q" => "ʨʰ",
        "r" => "ɻ",
        "s" => "s",
        "sh" => "ʂ",
        "t" => "tʰ",
        "x" => "ɕ",
        "z" => "ʦ",
        "zh" => "ꭧ",
        _ => "",
    }
}

/// A final (in pypinyin's strict spelling) → (before the tone, after the tone).
fn final_ipa(f: &str) -> Option<(&'static str, &'static str)> {
    Some(match f {
        "a" => ("a", ""),
        "ai" => ("ai", ""),
        "an" => ("a", "n"),
        "ang" => ("a", "ŋ"),
        "ao" => ("au", ""),
        "e" => ("ɤ", ""),
        "ei" => ("ei", ""),
        "en" => ("ə", "n"),
        "eng" => ("ə", "ŋ"),
        "i" => ("i", ""),
        "ia" => ("ja", ""),
        "ian" => ("jɛ", "n"),
        "iang" => ("ja", "ŋ"),
        "iao" => ("jau", ""),
        "ie" => ("je", ""),
        "in" => ("i", "n"),
        "iou" => ("jou", ""),
        "ing" => ("i", "ŋ"),
        "iong" => ("jʊ", "ŋ"),
        "ong" => ("ʊ", "ŋ"),
        "ou" => ("ou", ""),
        "u" => ("u", ""),
        "uei" => ("wei", ""),
        "ua" => ("wa", ""),
        "uai" => ("wai", ""),
        "uan" => ("wa", "n"),
        "uen" => ("wə", "n"),
        "uang" => ("wa", "ŋ"),
        "ueng" => ("wə", "ŋ"),
        "uo" | "o" => ("wo", ""),
        "ü" => ("y", ""),
        "üe" => ("ɥe", ""),
        "üan" => ("ɥɛ", "n"),
        "ün" => ("y", "n"),
        _ => return None,
    })
}

/// pypinyin's strict finals (`_FINALS`), used to decide how y-/w- spellings are restored.
const STRICT_FINALS: [&str; 35] = [
    "i", "u", "ü", "a", "ia", "ua", "o", "uo", "e", "ie", "üe", "ai", "uai", "ei", "uei", "ao",
    "iao", "ou", "iou", "an", "ian", "uan", "üan", "en", "in", "uen", "ün", "ang", "iang", "uang",
    "eng", "ing", "ueng", "ong", "iong",
];

/// pypinyin's `convert_finals` for a syllable without an initial (y-, w- spellings).
fn zero_initial_final(s: &str) -> String {
    let restored = if let Some(rest) = s.strip_prefix('y') {
        match rest.chars().next() {
            Some('u') | Some('ü') => {
                format!("ü{}", &rest[rest.chars().next().unwrap().len_utf8()..])
            }
            Some('i') => rest.to_string(),
            _ => format!("i{rest}"),
        }
    } else if let Some(rest) = s.strip_prefix('w') {
        match rest.chars().next() {
            Some('u') => rest.to_string(),
            _ => format!("u{rest}"),
        }
    } else {
        s.to_string()
    };
    if STRICT_FINALS.contains(&restored.as_str()) {
        restored
    } else if let Some(rest) = s.strip_prefix('y').or_else(|| s.strip_prefix('w')) {
        // Not a standard final after restoring (e.g. `yo`): pypinyin drops the y/w.
        rest.to_string()
    } else {
        s.to_string()
    }
}

/// misaki's `pinyin_to_ipa` (first variant) with its tone arrows, for toneless `letters`.
pub fn syllable_ipa(letters: &str, tone: u8) -> Option<String> {
    let t = tone_mark(tone);
    // Interjections and syllabic consonants.
    match letters {
        "io" => return Some(format!("jɔ{t}")),
        "ê" => return Some(format!("ɛ{t}")),
        "er" => return Some(format!("ɚ{t}")),
        "o" => return Some(format!("ɔ{t}")),
        "hm" => return Some(format!("hm{t}")),
        "hng" => return Some(format!("hŋ{t}")),
        "m" => return Some(format!("m{t}")),
        "n" => return Some(format!("n{t}")),
        "ng" => return Some(format!("ŋ{t}")),
        _ => {}
    }
    let initial = INITIALS.iter().find(|i| letters.starts_with(**i)).copied();
    let rest = &letters[initial.map_or(0, str::len)..];
    let fin = match initial {
        None => zero_initial_final(rest),
        Some(i) => {
            let mut f = rest.to_string();
            if matches!(i, "j" | "q" | "x") && f.starts_with('u') {
                f = format!("ü{}", &f[1..]);
            }
            match f.as_str() {
                "iu" => "iou".into(),
                "ui" => "uei".into(),
                "un" => "uen".into(),
                _ => f,
            }
        }
    };
    let mut out = String::new();
    if let Some(i) = initial {
        out.push_str(initial_ipa(i));
    }
    if fin == "i" && matches!(initial, Some("zh" | "ch" | "sh" | "r" | "z" | "c" | "s")) {
        out.push('ɨ');
        out.push_str(t);
        return Some(out);
    }
    let (a, b) = final_ipa(&fin)?;
    out.push_str(a);
    out.push_str(t);
    out.push_str(b);
    Some(out)
}

/// pypinyin's tables, as converted by `scripts/fetch-zh-frontend.sh`.
#[derive(Debug)]
pub struct PinyinDict {
    chars: HashMap<char, Syllable>,
    phrases: HashMap<String, Vec<Syllable>>,
    prefixes: HashSet<String>,
}

/// First line of the converted tables.
pub const TABLE_FORMAT: &str = "# voxreel-zh-pinyin 1";

impl PinyinDict {
    /// Reads `zh_pinyin_chars.tsv` and `zh_pinyin_phrases.tsv` from `dir`.
    pub fn load(dir: &Path) -> Result<PinyinDict> {
        let cpath = dir.join(super::CHARS_FILE);
        let ppath = dir.join(super::PHRASES_FILE);
        let ctext = super::read_zh_asset(&cpath)?;
        let ptext = super::read_zh_asset(&ppath)?;
        PinyinDict::from_tables(&ctext, &ptext).map_err(|(which, reason)| Error::InvalidModelFile {
            path: if which == 0 { cpath } else { ppath },
            reason,
        })
    }

    /// Parses the two tables (errors say which: 0 characters, 1 phrases).
    pub fn from_tables(
        chars_tsv: &str,
        phrases_tsv: &str,
    ) -> std::result::Result<PinyinDict, (u8, String)> {
        let mut chars = HashMap::with_capacity(42_000);
        let mut lines = chars_tsv.lines();
        if lines.next() != Some(TABLE_FORMAT) {
            return Err((0, format!("first line is not {TABLE_FORMAT:?}")));
        }
        for (n, line) in lines.enumerate() {
            let bad = || (0u8, format!("line {}: {line:?}", n + 2));
            let (c, py) = line.split_once('\t').ok_or_else(bad)?;
            let mut cs = c.chars();
            let (Some(c), None) = (cs.next(), cs.next()) else {
                return Err(bad());
            };
            // Readings pypinyin has but misaki cannot speak are kept out.
            if let Some(s) = Syllable::parse(py) {
                chars.insert(c, s);
            }
        }
        let mut phrases = HashMap::with_capacity(48_000);
        let mut prefixes = HashSet::with_capacity(150_000);
        let mut lines = phrases_tsv.lines();
        if lines.next() != Some(TABLE_FORMAT) {
            return Err((1, format!("first line is not {TABLE_FORMAT:?}")));
        }
        for (n, line) in lines.enumerate() {
            let bad = || (1u8, format!("line {}: {line:?}", n + 2));
            let (w, pys) = line.split_once('\t').ok_or_else(bad)?;
            let syl: Option<Vec<Syllable>> = pys.split(' ').map(Syllable::parse).collect();
            let syl = syl.ok_or_else(bad)?;
            if syl.len() != w.chars().count() {
                return Err(bad());
            }
            let mut p = String::new();
            for c in w.chars() {
                p.push(c);
                prefixes.insert(p.clone());
            }
            phrases.insert(w.to_string(), syl);
        }
        if chars.is_empty() || phrases.is_empty() {
            return Err((0, "empty table".into()));
        }
        Ok(PinyinDict {
            chars,
            phrases,
            prefixes,
        })
    }

    /// The first reading of a character.
    pub fn char_reading(&self, c: char) -> Option<&Syllable> {
        self.chars.get(&c)
    }

    /// pypinyin's `mmseg` cut of `text` (all Han characters) into phrase pieces, as
    /// char ranges.
    pub fn mmseg(&self, text: &[char]) -> Vec<(usize, usize)> {
        let n = text.len();
        let mut out = Vec::new();
        let mut remain = 0usize;
        let mut buf = String::new();
        while remain < n {
            let mut last_valid: Option<usize> = None;
            let mut whole = true;
            buf.clear();
            for idx in remain..n {
                buf.push(text[idx]);
                if self.prefixes.contains(&buf) {
                    if self.phrases.contains_key(&buf) {
                        last_valid = Some(idx + 1);
                    }
                } else {
                    whole = false;
                    match last_valid {
                        Some(e) => {
                            out.push((remain, e));
                            remain = e;
                        }
                        None => {
                            out.push((remain, remain + 1));
                            remain += 1;
                        }
                    }
                    break;
                }
            }
            if whole {
                match last_valid {
                    Some(e) => {
                        out.push((remain, e));
                        remain = e;
                    }
                    None => {
                        out.extend((remain..n).map(|i| (i, i + 1)));
                        remain = n;
                    }
                }
            }
        }
        out
    }

    /// `lazy_pinyin(word)`: one syllable per character (`None` where pypinyin has no reading).
    pub fn word(&self, word: &[char]) -> Vec<Option<Syllable>> {
        let mut out = Vec::with_capacity(word.len());
        for (s, e) in self.mmseg(word) {
            let piece: String = word[s..e].iter().collect();
            if let Some(p) = self.phrases.get(&piece) {
                out.extend(p.iter().cloned().map(Some));
            } else {
                out.extend(word[s..e].iter().map(|c| self.chars.get(c).cloned()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipa(m: &str) -> String {
        Syllable::parse(m).unwrap().ipa().unwrap()
    }

    #[test]
    fn syllables_follow_misaki() {
        assert_eq!(ipa("zhōng"), "ꭧʊ→ŋ");
        assert_eq!(ipa("nǐ"), "ni↓");
        assert_eq!(ipa("hǎo"), "xau↓");
        assert_eq!(ipa("shì"), "ʂɨ↘");
        assert_eq!(ipa("zì"), "ʦɨ↘");
        assert_eq!(ipa("lǜ"), "ly↘");
        assert_eq!(ipa("jué"), "ʨɥe↗");
        assert_eq!(ipa("yuán"), "ɥɛ↗n");
        assert_eq!(ipa("wěi"), "wei↓");
        assert_eq!(ipa("guì"), "kwei↘");
        assert_eq!(ipa("liù"), "ljou↘");
        assert_eq!(ipa("lùn"), "lwə↘n");
        assert_eq!(ipa("de"), "tɤ");
        assert_eq!(ipa("èr"), "ɚ↘");
        assert_eq!(ipa("ḿ"), "m↗");
        assert_eq!(Syllable::parse("lǜ").unwrap().tone3(), "lv4");
        assert!(Syllable::parse("x1").is_none());
    }

    #[test]
    fn mmseg_prefers_the_longest_phrase_and_splits_the_rest() {
        let chars = "# voxreel-zh-pinyin 1\n银\tyín\n行\txíng\n走\tzǒu\n";
        let phrases = "# voxreel-zh-pinyin 1\n银行\tyín háng\n行走\txíng zǒu\n";
        let d = PinyinDict::from_tables(chars, phrases).unwrap();
        let w: Vec<char> = "银行走".chars().collect();
        assert_eq!(d.mmseg(&w), vec![(0, 2), (2, 3)]);
        let py: Vec<String> = d.word(&w).into_iter().map(|s| s.unwrap().tone3()).collect();
        assert_eq!(py, ["yin2", "hang2", "zou3"]);
        let w: Vec<char> = "行走".chars().collect();
        let py: Vec<String> = d.word(&w).into_iter().map(|s| s.unwrap().tone3()).collect();
        assert_eq!(py, ["xing2", "zou3"]);
        assert!(PinyinDict::from_tables("x", phrases).is_err());
    }
}
