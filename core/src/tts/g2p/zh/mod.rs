//! Mandarin text front end for the Kokoro-82M engine: Chinese text (Traditional or
//! Simplified, with numbers and Latin words) → Kokoro phoneme tokens, every word mapped back to
//! the characters it came from. No espeak-ng.
//!
//! # Pipeline
//! 1. **Numbers** ([`numbers`]): cn2an's `an2cn` rules as misaki runs them (dates, fractions,
//!    percentages, decimals, negatives, ranges), plus currency, times, ISO dates, thousands
//!    separators and digit strings (see that module).
//! 2. **Traditional → Simplified** for lookups ([`t2s`], OpenCC 1.4.2 `t2s` tables, shipped in
//!    `core/assets/opencc/`). The words keep the original characters' positions.
//! 3. **Punctuation** as misaki maps it (`，` → `, `, `。` → `. `, `「」《》` → `“ ”`, …).
//! 4. **Words**: every run of Han characters is cut by jieba (jieba-rs, the same dictionary
//!    and HMM as the jieba 0.42.1 misaki uses), each word tagged with jieba's dictionary part of
//!    speech (`X` when not in the dictionary).
//! 5. **Pinyin by word** ([`pinyin`]): pypinyin 0.55.0's phrase table and first character
//!    readings with its phrase segmentation, as misaki's `lazy_pinyin(word)`: 银行 yin2 hang2
//!    but 行走 xing2 zou3, 重要 zhong4 but 重新 chong2, 长大 zhang3 but 长度 chang2.
//! 6. **Tone sandhi** ([`sandhi`]): misaki's `ToneSandhi` (third-tone chains, 一 and 不,
//!    neutral tones), after its re-merging of jieba's words.
//! 7. **Symbols**: misaki's `pinyin_to_ipa` with tone arrows, the set Kokoro v1.0's Mandarin
//!    voices (`zf_*`, `zm_*`) were trained with; words separated by spaces.
//! 8. **Latin words** (`iPhone`, `YouTube`, `Taylor Swift`) go through the English front end
//!    ([`super::EnglishG2p`], misaki's lexicons), a space on either side, and are spoken by the
//!    same voice, as Kokoro's own pipeline does for Mandarin with an English callable.
//!
//! How this compares with misaki, and why, is in `core/tests/data/g2p_zh/README.md`.
//!
//! # Output
//! The same [`PhonemizedChunk`]s as the English front end: each Chinese word (after sandhi
//! merging) is one [`WordPhonemes`] with its char range in the *original* text, so the engine
//! times captions per Chinese word.
//!
//! # Assets
//! `zh_pinyin_chars.tsv`, `zh_pinyin_phrases.tsv` (converted from pypinyin 0.55.0, MIT) and
//! `vocab.json`, in `$VOXREEL_HOME/models/kokoro`, installed by `voxreel models fetch kokoro`
//! (`scripts/fetch-zh-frontend.sh`). jieba's dictionary is inside jieba-rs; OpenCC's tables are
//! inside this crate.

pub mod numbers;
pub mod pinyin;
pub mod sandhi;
pub mod t2s;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jieba_rs::Jieba;
use serde::Serialize;

use super::{EnglishG2p, PhonemeSource, PhonemizedChunk, Vocab, WordPhonemes, MAX_TOKENS};
use crate::{Error, Result};
use numbers::Ch;
use pinyin::{PinyinDict, Syllable};
use sandhi::ToneSandhi;

/// Character table file name.
pub const CHARS_FILE: &str = "zh_pinyin_chars.tsv";
/// Phrase table file name.
pub const PHRASES_FILE: &str = "zh_pinyin_phrases.tsv";
/// Files the Mandarin front end reads from its directory.
pub const ASSET_FILES: [&str; 3] = [CHARS_FILE, PHRASES_FILE, "vocab.json"];

pub(crate) fn read_zh_asset(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::MissingDependency {
                what: format!("the Kokoro Mandarin pinyin table {}", path.display()),
                install: format!(
                    "{} (or scripts/fetch-zh-frontend.sh)",
                    super::INSTALL_COMMAND
                ),
            }
        } else {
            Error::io(path, e)
        }
    })
}

/// Whether the Mandarin front end's files are all in `dir`.
pub fn is_installed(dir: &Path) -> bool {
    ASSET_FILES.iter().all(|f| dir.join(f).is_file())
}

/// One word of the analysis (for tests and inspection).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZhWord {
    /// The word as looked up (Simplified; a Latin run as written).
    pub word: String,
    /// jieba's part of speech (`X` not in the dictionary, `eng` a Latin run).
    pub pos: String,
    /// Its syllables in TONE3 after sandhi (empty for a Latin run).
    pub pinyin: Vec<String>,
    /// Its phonemes.
    pub phonemes: String,
    /// Its range in the original text (chars).
    pub char_start: usize,
    /// One past its end.
    pub char_end: usize,
}

/// The front end's intermediate results for one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZhAnalysis {
    /// After number normalisation (original characters otherwise).
    pub normalized: String,
    /// The normalised text in Simplified characters.
    pub simplified: String,
    /// The words, in order.
    pub words: Vec<ZhWord>,
    /// The whole phoneme string.
    pub phonemes: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Break {
    None,
    Clause,
    Sentence,
}

#[derive(Debug, Clone)]
struct Item {
    ps: String,
    /// Source char range; words only.
    word: Option<(usize, usize, PhonemeSource)>,
    start: usize,
    end: usize,
    brk: Break,
    space: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Han,
    Latin,
    Other,
}

/// The Mandarin front end: jieba, pypinyin's tables, the vocabulary and (for Latin words) the
/// English front end.
pub struct MandarinG2p {
    jieba: Jieba,
    pinyin: PinyinDict,
    vocab: Vocab,
    english: Option<Arc<EnglishG2p>>,
}

impl std::fmt::Debug for MandarinG2p {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MandarinG2p")
            .field("english", &self.english.is_some())
            .finish_non_exhaustive()
    }
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

fn map_punctuation(t: Vec<Ch>) -> Vec<Ch> {
    let mut out = Vec::with_capacity(t.len() + 8);
    for (c, s, e) in t {
        let rep: Option<&str> = match c {
            '、' | '，' => Some(", "),
            '。' | '．' => Some(". "),
            '！' => Some("! "),
            '：' => Some(": "),
            '；' => Some("; "),
            '？' => Some("? "),
            '«' | '《' | '「' | '【' => Some(" “"),
            '»' | '》' | '」' | '】' => Some("” "),
            '（' => Some(" ("),
            '）' => Some(") "),
            _ => None,
        };
        match rep {
            Some(r) => out.extend(r.chars().map(|x| (x, s, e))),
            None => out.push((c, s, e)),
        }
    }
    let a = out
        .iter()
        .position(|c| !c.0.is_whitespace())
        .unwrap_or(out.len());
    let b = out
        .iter()
        .rposition(|c| !c.0.is_whitespace())
        .map_or(a, |i| i + 1);
    out[a..b.max(a)].to_vec()
}

/// Splits into runs: Han, Latin words (`[A-Za-z][A-Za-z'-]*` joined by spaces), other.
fn pieces(t: &[Ch]) -> Vec<(Kind, usize, usize)> {
    let word_char = |c: char| c.is_ascii_alphabetic() || c == '\'' || c == '-';
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let c = t[i].0;
        if is_han(c) {
            let j = i + t[i..].iter().take_while(|x| is_han(x.0)).count();
            out.push((Kind::Han, i, j));
            i = j;
        } else if c.is_ascii_alphabetic() {
            let mut j = i + t[i..].iter().take_while(|x| word_char(x.0)).count();
            loop {
                let sp = t[j..].iter().take_while(|x| x.0 == ' ').count();
                if sp > 0 && t.get(j + sp).is_some_and(|x| x.0.is_ascii_alphabetic()) {
                    j += sp;
                    j += t[j..].iter().take_while(|x| word_char(x.0)).count();
                } else {
                    break;
                }
            }
            out.push((Kind::Latin, i, j));
            i = j;
        } else {
            let j = i + t[i..]
                .iter()
                .take_while(|x| !is_han(x.0) && !x.0.is_ascii_alphabetic())
                .count();
            out.push((Kind::Other, i, j));
            i = j;
        }
    }
    out
}

fn span_of(t: &[Ch]) -> (usize, usize) {
    let s = t.iter().map(|c| c.1).min().unwrap_or(0);
    let e = t.iter().map(|c| c.2).max().unwrap_or(s);
    (s, e)
}

impl MandarinG2p {
    /// Loads the pinyin tables and the vocabulary from `dir` (see the module docs); a missing
    /// file is [`Error::MissingDependency`] naming `voxreel models fetch kokoro`.
    pub fn load(dir: &Path) -> Result<MandarinG2p> {
        for f in ASSET_FILES {
            let p = dir.join(f);
            if !p.is_file() {
                return Err(if f == "vocab.json" {
                    super::missing_asset(&p)
                } else {
                    read_zh_asset(&p)
                        .err()
                        .unwrap_or_else(|| super::missing_asset(&p))
                });
            }
        }
        let vocab = Vocab::load(&dir.join("vocab.json"))?;
        let pinyin = PinyinDict::load(dir)?;
        Ok(MandarinG2p {
            jieba: Jieba::new(),
            pinyin,
            vocab,
            english: None,
        })
    }

    /// The default folder, `$VOXREEL_HOME/models/kokoro`.
    pub fn default_dir() -> PathBuf {
        EnglishG2p::default_dir()
    }

    /// Reads Latin words with `english` (without it they are left unpronounced).
    pub fn with_english(mut self, english: Arc<EnglishG2p>) -> MandarinG2p {
        self.english = Some(english);
        self
    }

    /// The phoneme vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// A word's syllables before sandhi (`lazy_pinyin(word)`).
    pub fn word_pinyin(&self, word: &str) -> Vec<Option<Syllable>> {
        let w: Vec<char> = word.chars().collect();
        self.pinyin.word(&w)
    }

    fn tones(&self, w: &[char]) -> Vec<u8> {
        self.pinyin
            .word(w)
            .into_iter()
            .map(|s| s.map_or(0, |s| s.tone))
            .collect()
    }

    /// Han run → (word chars, pos, syllables after sandhi) in order.
    fn han_words(&self, run: &[char]) -> Vec<(Vec<char>, String, Vec<Option<Syllable>>)> {
        let text: String = run.iter().collect();
        let seg: Vec<sandhi::Seg> = self
            .jieba
            .tag(&text, true)
            .into_iter()
            .map(|t| {
                let pos = if self.jieba.has_word(t.word) {
                    t.tag.to_string()
                } else {
                    "X".to_string()
                };
                (t.word.chars().collect(), pos)
            })
            .collect();
        let sandhi = ToneSandhi::new(&self.jieba);
        let seg = sandhi.pre_merge(seg, &|w: &[char]| self.tones(w));
        seg.into_iter()
            .map(|(w, pos)| {
                let syl = self.pinyin.word(&w);
                let mut tones: Vec<u8> = syl
                    .iter()
                    .map(|s| s.as_ref().map_or(0, |s| s.tone))
                    .collect();
                sandhi.modified_tone(&w, &pos, &mut tones);
                let syl = syl
                    .into_iter()
                    .zip(tones)
                    .map(|(s, t)| s.map(|s| s.with_tone(t)))
                    .collect();
                (w, pos, syl)
            })
            .collect()
    }

    /// Text → items (and the analysis for inspection).
    fn items(&self, text: &str) -> Result<(Vec<Item>, ZhAnalysis)> {
        let norm = numbers::normalize(text);
        let orig: Vec<char> = norm.iter().map(|c| c.0).collect();
        let simp = t2s::to_simplified(&orig);
        let simp_ch: Vec<Ch> = norm
            .iter()
            .zip(&simp)
            .map(|(&(_, s, e), &c)| (c, s, e))
            .collect();
        let t = map_punctuation(simp_ch);
        let mut items: Vec<Item> = Vec::new();
        let mut words = Vec::new();
        let mut prev: Option<Kind> = None;
        for (kind, a, b) in pieces(&t) {
            let run = &t[a..b];
            if matches!(
                (prev, kind),
                (Some(Kind::Han), Kind::Latin) | (Some(Kind::Latin), Kind::Han)
            ) {
                let (s, _) = span_of(run);
                items.push(Item {
                    ps: " ".into(),
                    word: None,
                    start: s,
                    end: s,
                    brk: Break::None,
                    space: true,
                });
            }
            prev = Some(kind);
            match kind {
                Kind::Han => {
                    let chars: Vec<char> = run.iter().map(|c| c.0).collect();
                    let mut k = 0;
                    for (n, (w, pos, syl)) in self.han_words(&chars).into_iter().enumerate() {
                        let (s, e) = span_of(&run[k..k + w.len()]);
                        k += w.len();
                        if n > 0 {
                            items.push(Item {
                                ps: " ".into(),
                                word: None,
                                start: s,
                                end: s,
                                brk: Break::None,
                                space: true,
                            });
                        }
                        let ps: String = syl.iter().flatten().filter_map(Syllable::ipa).collect();
                        let src = if syl.iter().all(Option::is_some) {
                            PhonemeSource::Gold
                        } else {
                            PhonemeSource::Unpronounced
                        };
                        words.push(ZhWord {
                            word: w.iter().collect(),
                            pos,
                            pinyin: syl.iter().flatten().map(Syllable::tone3).collect(),
                            phonemes: ps.clone(),
                            char_start: s,
                            char_end: e,
                        });
                        items.push(Item {
                            ps,
                            word: Some((s, e, src)),
                            start: s,
                            end: e,
                            brk: Break::None,
                            space: false,
                        });
                    }
                }
                Kind::Latin => {
                    let latin: String = run.iter().map(|c| c.0).collect();
                    let (s, e) = span_of(run);
                    let mut sub = Vec::new();
                    if let Some(en) = &self.english {
                        let chunks = match en.phonemize(&latin) {
                            Ok(c) => c,
                            Err(Error::NothingToSpeak { .. }) => Vec::new(),
                            Err(err) => return Err(err),
                        };
                        for c in chunks {
                            for w in &c.words {
                                let ws = span_of(
                                    &run[w.char_start.min(run.len())..w.char_end.min(run.len())],
                                );
                                sub.push((w.phonemes.clone(), ws, w.source));
                            }
                        }
                    }
                    if sub.is_empty() {
                        items.push(Item {
                            ps: String::new(),
                            word: Some((s, e, PhonemeSource::Unpronounced)),
                            start: s,
                            end: e,
                            brk: Break::None,
                            space: false,
                        });
                    }
                    let mut all = Vec::new();
                    for (n, (ps, (ws, we), src)) in sub.into_iter().enumerate() {
                        if n > 0 {
                            items.push(Item {
                                ps: " ".into(),
                                word: None,
                                start: ws,
                                end: ws,
                                brk: Break::None,
                                space: true,
                            });
                        }
                        all.push(ps.clone());
                        items.push(Item {
                            ps,
                            word: Some((ws, we, src)),
                            start: ws,
                            end: we,
                            brk: Break::None,
                            space: false,
                        });
                    }
                    words.push(ZhWord {
                        word: latin,
                        pos: "eng".into(),
                        pinyin: Vec::new(),
                        phonemes: all.join(" "),
                        char_start: s,
                        char_end: e,
                    });
                }
                Kind::Other => {
                    for &(c, s, e) in run {
                        let brk = match c {
                            '.' | '!' | '?' | '…' => Break::Sentence,
                            ',' | ';' | ':' | '—' => Break::Clause,
                            _ => Break::None,
                        };
                        items.push(Item {
                            ps: c.to_string(),
                            word: None,
                            start: s,
                            end: e,
                            brk,
                            space: c == ' ',
                        });
                    }
                }
            }
        }
        let phonemes: String = items.iter().map(|i| i.ps.as_str()).collect();
        let analysis = ZhAnalysis {
            normalized: orig.iter().collect(),
            simplified: simp.iter().collect(),
            words,
            phonemes,
        };
        Ok((items, analysis))
    }

    /// The intermediate results for `text` (normalised and Simplified text, words with
    /// part of speech and pinyin after sandhi, the phoneme string).
    pub fn analyze(&self, text: &str) -> Result<ZhAnalysis> {
        Ok(self.items(text)?.1)
    }

    /// The whole text as one phoneme string (no window limit).
    pub fn phonemes(&self, text: &str) -> Result<String> {
        Ok(self.items(text)?.1.phonemes)
    }

    /// Text → chunks of at most [`MAX_TOKENS`] tokens with word alignment. A text with nothing
    /// to read is [`Error::NothingToSpeak`].
    pub fn phonemize(&self, text: &str) -> Result<Vec<PhonemizedChunk>> {
        self.phonemize_with_limit(text, MAX_TOKENS)
    }

    /// Like [`MandarinG2p::phonemize`] with another window size (16 to [`MAX_TOKENS`]).
    pub fn phonemize_with_limit(
        &self,
        text: &str,
        max_tokens: usize,
    ) -> Result<Vec<PhonemizedChunk>> {
        if !(16..=MAX_TOKENS).contains(&max_tokens) {
            return Err(Error::InvalidArgument {
                name: "max_tokens".into(),
                reason: format!("{max_tokens} (16 to {MAX_TOKENS} expected)"),
            });
        }
        let (items, _) = self.items(text)?;
        let ntok: Vec<usize> = items
            .iter()
            .map(|i| self.vocab.encode(&i.ps).0.len())
            .collect();
        let has_word = items
            .iter()
            .zip(&ntok)
            .any(|(i, &n)| i.word.is_some() && n > 0);
        if !has_word {
            return Err(Error::NothingToSpeak {
                text: text.chars().take(60).collect(),
            });
        }
        let mut chunks = Vec::new();
        let mut start = 0;
        while start < items.len() {
            while start < items.len() && items[start].space {
                start += 1;
            }
            if start >= items.len() {
                break;
            }
            let (mut tok, mut end) = (0usize, start);
            let (mut sent, mut clause, mut any) = (None, None, None);
            while end < items.len() && tok + ntok[end] <= max_tokens {
                tok += ntok[end];
                end += 1;
                let it = &items[end - 1];
                match it.brk {
                    Break::Sentence => sent = Some(end),
                    Break::Clause => clause = Some(end),
                    Break::None => {}
                }
                if it.space {
                    any = Some(end);
                }
            }
            let cut = if end == items.len() {
                end
            } else {
                sent.or(clause).or(any).unwrap_or(end.max(start + 1))
            };
            chunks.push(self.build_chunk(&items[start..cut], max_tokens));
            start = cut;
        }
        Ok(chunks)
    }

    fn build_chunk(&self, items: &[Item], max_tokens: usize) -> PhonemizedChunk {
        let mut end = items.len();
        while end > 0 && items[end - 1].space {
            end -= 1;
        }
        let items = &items[..end];
        let mut phonemes = String::new();
        let mut tokens = Vec::new();
        let mut dropped = Vec::new();
        let mut words: Vec<WordPhonemes> = Vec::new();
        for it in items {
            let (ids, unk) = self.vocab.encode(&it.ps);
            let room = max_tokens.saturating_sub(tokens.len());
            let t0 = tokens.len();
            tokens.extend(ids.into_iter().take(room));
            dropped.extend(unk);
            phonemes.push_str(&it.ps);
            if let Some((s, e, src)) = it.word {
                // Words made from one source stretch (e.g. the digits of one number) are one word.
                if let Some(last) = words.last_mut().filter(|w| s < w.char_end) {
                    last.char_end = last.char_end.max(e);
                    last.token_end = tokens.len();
                    last.phonemes.push(' ');
                    last.phonemes.push_str(&it.ps);
                    continue;
                }
                words.push(WordPhonemes {
                    char_start: s,
                    char_end: e,
                    token_start: t0,
                    token_end: tokens.len(),
                    phonemes: it.ps.clone(),
                    source: src,
                });
            }
        }
        let char_start = items.iter().map(|i| i.start).min().unwrap_or(0);
        let char_end = items.iter().map(|i| i.end).max().unwrap_or(char_start);
        PhonemizedChunk {
            phonemes,
            tokens,
            words,
            char_start,
            char_end,
            dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(s: &str) -> Vec<Ch> {
        s.chars().enumerate().map(|(i, c)| (c, i, i + 1)).collect()
    }

    #[test]
    fn punctuation_is_mapped_as_misaki_does() {
        let t: String = map_punctuation(ch("「你好」，世界。"))
            .iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(t, "“你好” , 世界.");
    }

    #[test]
    fn runs_split_han_latin_other() {
        let t = ch("用iPhone 和 Taylor Swift拍");
        let p: Vec<Kind> = pieces(&t).iter().map(|p| p.0).collect();
        assert_eq!(
            p,
            [
                Kind::Han,
                Kind::Latin,
                Kind::Other,
                Kind::Han,
                Kind::Other,
                Kind::Latin,
                Kind::Han
            ]
        );
        let latin: Vec<String> = pieces(&t)
            .iter()
            .filter(|p| p.0 == Kind::Latin)
            .map(|p| t[p.1..p.2].iter().map(|c| c.0).collect())
            .collect();
        assert_eq!(latin, ["iPhone", "Taylor Swift"]);
    }
}
