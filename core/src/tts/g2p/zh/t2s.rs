//! Traditional → Simplified characters for lookups, with OpenCC 1.4.2's `t2s` tables
//! (Apache-2.0, `core/assets/opencc/`): compatibility ideographs normalised, then at every
//! position the longest phrase of `TSPhrases`, else the character in `TSCharactersExt`, else in
//! `TSCharacters` (the first dictionary of the group that matches wins, as OpenCC's
//! short-circuit group does), first candidate. Only mappings that keep the number of
//! characters are used, so the output lines up with the input character for character.

use std::collections::HashMap;
use std::sync::OnceLock;

const COMPAT: &str = include_str!("../../../../assets/opencc/CJK_Compatibility_Ideographs.txt");
const PHRASES: &str = include_str!("../../../../assets/opencc/TSPhrases.txt");
const CHARS_EXT: &str = include_str!("../../../../assets/opencc/TSCharactersExt.txt");
const CHARS: &str = include_str!("../../../../assets/opencc/TSCharacters.txt");

struct Tables {
    compat: HashMap<char, char>,
    phrases: HashMap<Vec<char>, Vec<char>>,
    max_phrase: usize,
    chars_ext: HashMap<char, char>,
    chars: HashMap<char, char>,
}

fn entries(text: &'static str) -> impl Iterator<Item = (Vec<char>, Vec<char>)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.split_once('\t')?;
            let first = v.split(' ').next()?;
            Some((k.chars().collect(), first.chars().collect()))
        })
}

fn char_map(text: &'static str) -> HashMap<char, char> {
    entries(text)
        .filter(|(k, v)| k.len() == 1 && v.len() == 1)
        .map(|(k, v)| (k[0], v[0]))
        .collect()
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let phrases: HashMap<Vec<char>, Vec<char>> = entries(PHRASES)
            .filter(|(k, v)| k.len() == v.len())
            .collect();
        let max_phrase = phrases.keys().map(Vec::len).max().unwrap_or(1);
        Tables {
            compat: char_map(COMPAT),
            phrases,
            max_phrase,
            chars_ext: char_map(CHARS_EXT),
            chars: char_map(CHARS),
        }
    })
}

/// `text` in Simplified characters, one output character per input character.
pub fn to_simplified(text: &[char]) -> Vec<char> {
    let t = tables();
    let norm: Vec<char> = text.iter().map(|c| *t.compat.get(c).unwrap_or(c)).collect();
    let mut out = Vec::with_capacity(norm.len());
    let mut i = 0;
    while i < norm.len() {
        let mut done = false;
        let longest = t.max_phrase.min(norm.len() - i);
        for len in (2..=longest).rev() {
            if let Some(v) = t.phrases.get(&norm[i..i + len]) {
                out.extend_from_slice(v);
                i += len;
                done = true;
                break;
            }
        }
        if done {
            continue;
        }
        let c = norm[i];
        out.push(
            t.phrases
                .get(&norm[i..i + 1])
                .map(|v| v[0])
                .or_else(|| t.chars_ext.get(&c).copied())
                .or_else(|| t.chars.get(&c).copied())
                .unwrap_or(c),
        );
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        to_simplified(&x.chars().collect::<Vec<_>>())
            .into_iter()
            .collect()
    }

    #[test]
    fn traditional_becomes_simplified() {
        assert_eq!(s("我們去銀行。"), "我们去银行。");
        assert_eq!(s("臺灣的電腦"), "台湾的电脑");
        assert_eq!(s("简体不变 abc 123"), "简体不变 abc 123");
    }
}
