//! Text units: how a sentence is cut into the pieces that captions wrap and
//! that word timings attach to, and how each piece is spoken.
//!
//! English units are whitespace-separated words with their punctuation attached.
//! Chinese units are single characters, with closing punctuation glued to the
//! character before it and opening punctuation to the character after it (so no
//! line can start with `，` or end with `「`), and runs of Latin letters or
//! digits kept whole (a number is never split).

use crate::lang::{is_cjk_char, Language};

/// One unbreakable piece of a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The text exactly as written in the script (shown in captions).
    pub text: String,
    /// Whether the script has whitespace before this unit.
    pub space_before: bool,
    /// How the unit is read aloud (numbers expanded for Chinese).
    pub spoken: String,
}

impl Unit {
    /// Caption width budget used by this unit: a CJK character counts 1/20 of
    /// a line, any other character 1/42 (the subtitle line limits).
    pub fn line_share(&self) -> f32 {
        self.text.chars().map(char_line_share).sum()
    }

    /// Whether the unit ends a clause or sentence (a good place to break a cue).
    pub fn ends_clause(&self) -> bool {
        let t = self.text.trim_end_matches(|c| CLOSING_QUOTES.contains(c));
        t.ends_with(|c| CLAUSE_END.contains(c))
    }

    /// Whether the unit opens a quotation.
    pub fn opens_quote(&self) -> bool {
        self.text.starts_with(|c| OPENING_QUOTES.contains(c))
    }

    /// Whether the unit closes a quotation.
    pub fn closes_quote(&self) -> bool {
        let t = self.text.trim_end_matches(|c: char| CLAUSE_END.contains(c));
        let t = t.strip_prefix(|c| OPENING_QUOTES.contains(c)).unwrap_or(t);
        t.ends_with(|c| CLOSING_QUOTES.contains(c))
    }
}

/// Share of a caption line taken by one character (see [`Unit::line_share`]).
pub fn char_line_share(c: char) -> f32 {
    if is_cjk_char(c) || is_fullwidth_punct(c) {
        1.0 / 20.0
    } else {
        1.0 / 42.0
    }
}

/// Punctuation that may not start a line; it is attached to the unit before.
pub const CLOSING_PUNCT: &str = "，。！？、；：）」』》〉】〕”’…—,.!?;:)]}%";
/// Punctuation that may not end a line; it is attached to the unit after.
pub const OPENING_PUNCT: &str = "（「『《〈【〔“‘([{";
const CLAUSE_END: &str = "，。！？、；：,.!?;:…—";
const OPENING_QUOTES: &str = "「『“‘\"";
const CLOSING_QUOTES: &str = "」』”’\"";

fn is_fullwidth_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF60)
}

/// Cuts a sentence into units for `lang`.
///
/// ```
/// use voxreel::{lang::Language, text::units};
/// let u = units("我有3.5個「蘋果」。", Language::ChineseTraditional);
/// let shown: Vec<&str> = u.iter().map(|u| u.text.as_str()).collect();
/// assert_eq!(shown, ["我", "有", "3.5", "個", "「蘋", "果」。"]);
/// assert_eq!(u[2].spoken, "三點五");
/// let e = units("It costs $5, really.", Language::English);
/// assert_eq!(e.len(), 4);
/// ```
pub fn units(sentence: &str, lang: Language) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    for (ci, chunk) in sentence.split_whitespace().enumerate() {
        if !lang.is_cjk() || !chunk.chars().any(is_cjk_char) {
            out.push(Unit {
                text: chunk.to_string(),
                space_before: ci > 0,
                spoken: String::new(),
            });
            continue;
        }
        let mut first_in_chunk = true;
        let mut pending_open = String::new();
        let mut run = String::new(); // a Latin/digit run
        let flush_run =
            |run: &mut String, out: &mut Vec<Unit>, pending: &mut String, first: &mut bool| {
                if !run.is_empty() {
                    let text = std::mem::take(pending) + run;
                    out.push(Unit {
                        text,
                        space_before: ci > 0 && *first,
                        spoken: String::new(),
                    });
                    *first = false;
                    run.clear();
                }
            };
        let chars: Vec<char> = chunk.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let next = chars.get(i + 1).copied();
            let prev = if i > 0 { Some(chars[i - 1]) } else { None };
            let latin = |c: char| c.is_alphanumeric() && !is_cjk_char(c);
            let digit_before = prev.is_some_and(|p| p.is_ascii_digit());
            let joins_run = !run.is_empty()
                && (((c == '.' || c == ',' || c == ':')
                    && digit_before
                    && next.is_some_and(|n| n.is_ascii_digit()))
                    || (c == '%' && digit_before)
                    || (matches!(c, '\'' | '-' | '&' | '/' | '+' | '@')
                        && next.is_some_and(latin)));
            let quotes_before = out
                .iter()
                .map(|u| u.text.matches('"').count())
                .sum::<usize>()
                + pending_open.matches('"').count()
                + run.matches('"').count();
            let opens = OPENING_PUNCT.contains(c) || (c == '"' && quotes_before % 2 == 0);
            if latin(c) || joins_run {
                run.push(c);
            } else if is_cjk_char(c) {
                flush_run(&mut run, &mut out, &mut pending_open, &mut first_in_chunk);
                let text = std::mem::take(&mut pending_open) + &c.to_string();
                out.push(Unit {
                    text,
                    space_before: ci > 0 && first_in_chunk,
                    spoken: String::new(),
                });
                first_in_chunk = false;
            } else if opens {
                flush_run(&mut run, &mut out, &mut pending_open, &mut first_in_chunk);
                pending_open.push(c);
            } else {
                // Closing or other punctuation: glue to what came before.
                flush_run(&mut run, &mut out, &mut pending_open, &mut first_in_chunk);
                if !pending_open.is_empty() {
                    pending_open.push(c);
                } else if let Some(last) = out.last_mut() {
                    last.text.push(c);
                } else {
                    out.push(Unit {
                        text: c.to_string(),
                        space_before: false,
                        spoken: String::new(),
                    });
                    first_in_chunk = false;
                }
            }
        }
        flush_run(&mut run, &mut out, &mut pending_open, &mut first_in_chunk);
        if !pending_open.is_empty() {
            match out.last_mut() {
                Some(last) if !first_in_chunk => last.text.push_str(&pending_open),
                _ => out.push(Unit {
                    text: pending_open,
                    space_before: ci > 0,
                    spoken: String::new(),
                }),
            }
        }
    }
    let texts: Vec<String> = out.iter().map(|u| u.text.clone()).collect();
    for (i, u) in out.iter_mut().enumerate() {
        let next = texts.get(i + 1).map(String::as_str);
        u.spoken = spoken_form(&u.text, next, lang);
    }
    out
}

/// How a unit is read: for Chinese, Arabic numbers become Chinese numerals
/// (years digit by digit, `%` as 百分之…); everything else is read as written.
fn spoken_form(text: &str, next: Option<&str>, lang: Language) -> String {
    if !lang.is_cjk() {
        return text.to_string();
    }
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (chars[i] == ',' && i + 1 < chars.len() && chars[i + 1].is_ascii_digit()))
            {
                i += 1;
            }
            let int_part: String = chars[start..i]
                .iter()
                .filter(|c| c.is_ascii_digit())
                .collect();
            let mut frac = String::new();
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    frac.push(chars[i]);
                    i += 1;
                }
            }
            let percent = i < chars.len() && chars[i] == '%';
            if percent {
                i += 1;
            }
            let is_year = frac.is_empty()
                && !percent
                && i == chars.len()
                && int_part.len() == 4
                && next.is_some_and(|n| n.starts_with('年'));
            let mut reading = if is_year
                || int_part.len() > 12
                || (int_part.len() > 1 && int_part.starts_with('0'))
            {
                int_part.chars().map(digit_zh).collect::<String>()
            } else {
                integer_zh(int_part.parse::<u64>().unwrap_or(0))
            };
            if !frac.is_empty() {
                reading.push(if lang == Language::ChineseSimplified {
                    '点'
                } else {
                    '點'
                });
                reading.extend(frac.chars().map(digit_zh));
            }
            if percent {
                reading = format!("百分之{reading}");
            }
            out.push_str(&reading);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn digit_zh(d: char) -> char {
    ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'][(d as u8 - b'0') as usize]
}

/// Reads a non-negative integer in Chinese (`10` → 十, `2024` → 二千零二十四, `100000` → 十万).
pub fn integer_zh(n: u64) -> String {
    if n == 0 {
        return "零".into();
    }
    fn below_10000(n: u64, out: &mut String, leading: bool) {
        let digits = [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10];
        let units = ["千", "百", "十", ""];
        let mut zero_pending = false;
        let mut started = false;
        for (k, &d) in digits.iter().enumerate() {
            if d == 0 {
                if started || !leading {
                    zero_pending = true;
                }
                continue;
            }
            if zero_pending && (started || !leading) {
                out.push('零');
            }
            zero_pending = false;
            // 十 rather than 一十 at the very start of the number.
            if !(k == 2 && d == 1 && !started && leading) {
                out.push(digit_zh((b'0' + d as u8) as char));
            }
            out.push_str(units[k]);
            started = true;
        }
    }
    let groups = [
        (n / 100_000_000) % 10_000,
        (n / 10_000) % 10_000,
        n % 10_000,
    ];
    let names = ["億", "萬", ""];
    let mut out = String::new();
    let mut started = false;
    for (g, &v) in groups.iter().enumerate() {
        if v == 0 {
            continue;
        }
        below_10000(v, &mut out, !started);
        out.push_str(names[g]);
        started = true;
    }
    if n >= 1_000_000_000_000 {
        return n.to_string().chars().map(digit_zh).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(s: &str, l: Language) -> Vec<String> {
        units(s, l).into_iter().map(|u| u.text).collect()
    }

    #[test]
    fn chinese_numbers() {
        assert_eq!(integer_zh(10), "十");
        assert_eq!(integer_zh(15), "十五");
        assert_eq!(integer_zh(105), "一百零五");
        assert_eq!(integer_zh(2024), "二千零二十四");
        assert_eq!(integer_zh(30000), "三萬");
        assert_eq!(integer_zh(120_000_010), "一億二千萬零一十");
    }

    #[test]
    fn chinese_units_keep_numbers_and_punctuation() {
        assert_eq!(
            shown("今天是2024年，很好！", Language::ChineseTraditional),
            ["今", "天", "是", "2024", "年，", "很", "好！"]
        );
        let u = units("今天是2024年", Language::ChineseTraditional);
        assert_eq!(u[3].spoken, "二零二四");
        let u = units("成長了50%。", Language::ChineseTraditional);
        assert_eq!(u[3].text, "50%。");
        assert_eq!(u[3].spoken, "百分之五十。");
        assert_eq!(
            shown("我用 iPhone 15 拍的", Language::ChineseTraditional),
            ["我", "用", "iPhone", "15", "拍", "的"]
        );
        assert_eq!(
            shown("他說：「你好。」", Language::ChineseTraditional),
            ["他", "說：", "「你", "好。」"]
        );
    }

    #[test]
    fn english_units_are_words() {
        assert_eq!(
            shown("He said \"go now,\" then left.", Language::English),
            ["He", "said", "\"go", "now,\"", "then", "left."]
        );
        assert!(units("now,\"", Language::English)[0].ends_clause());
        assert!(units("\"go", Language::English)[0].opens_quote());
        assert!(units("now,\"", Language::English)[0].closes_quote());
    }
}
