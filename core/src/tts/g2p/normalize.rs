//! Text normalisation: the input is cut into segments (words and punctuation)
//! that keep the character range of the original text they came from, and
//! numbers, dates, times, money, percentages and abbreviations are expanded
//! into the words that are read aloud.

use super::numbers::{self, cardinal, digits, inner_digits, ordinal, pluralize_last, year};

/// One piece of the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    /// Something read aloud: one or more words for the original characters `start..end`.
    Word {
        /// First character (char index) in the original text.
        start: usize,
        /// One past the last character.
        end: usize,
        /// The words to pronounce, in order.
        words: Vec<String>,
        /// Whether `words` is the original word as written (context rules and
        /// the part-of-speech guess apply), rather than an expansion.
        literal: bool,
    },
    /// A punctuation token of Kokoro's vocabulary.
    Punct {
        /// Char index in the original text.
        start: usize,
        /// One past it.
        end: usize,
        /// The phoneme symbol(s): `,` `.` `!` `?` `;` `:` `—` `…` `“` `”` `(` `)`.
        ps: String,
    },
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month_index(w: &str) -> Option<usize> {
    let w = w.trim_end_matches('.').to_lowercase();
    if let Some(i) = MONTHS.iter().position(|m| *m == w) {
        return Some(i);
    }
    let short = [
        "jan", "feb", "mar", "apr", "", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    if w == "sept" {
        return Some(8);
    }
    short.iter().position(|m| !m.is_empty() && *m == w)
}

fn is_ampm(w: &str) -> bool {
    matches!(
        w.to_lowercase().as_str(),
        "am" | "pm" | "a.m." | "p.m." | "a.m" | "p.m"
    )
}

fn ampm_letters(w: &str) -> String {
    if w.to_lowercase().starts_with('a') {
        "A.M.".into()
    } else {
        "P.M.".into()
    }
}

/// Abbreviations with a period and how they are read. `None` means: look the
/// word up as written (the lexicon has it, e.g. `Dr.`).
fn abbreviation(w: &str, next: Option<&str>, prev: Option<&str>) -> Option<Vec<&'static str>> {
    let next_cap = next.is_some_and(|n| n.starts_with(|c: char| c.is_uppercase()));
    let next_digit = next.is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()));
    let lw = w.to_lowercase();
    Some(match lw.as_str() {
        "dr." if !next_cap && prev.is_some_and(|p| p.starts_with(|c: char| c.is_uppercase())) => {
            vec!["drive"]
        }
        "dr." => vec!["doctor"],
        "mr." => vec!["mister"],
        "mrs." => vec!["Mrs."],
        "ms." => vec!["Ms."],
        "st." if next_cap => vec!["saint"],
        "st." => vec!["street"],
        "e.g." | "eg." => vec!["for", "example"],
        "i.e." | "ie." => vec!["that", "is"],
        "etc." => vec!["etc"],
        "vs." | "vs" => vec!["versus"],
        "jr." => vec!["junior"],
        "sr." => vec!["senior"],
        "prof." => vec!["professor"],
        "mt." => vec!["mount"],
        "ave." => vec!["avenue"],
        "rd." => vec!["road"],
        "no." if next_digit => vec!["number"],
        "nos." if next_digit => vec!["numbers"],
        "approx." => vec!["approximately"],
        "dept." => vec!["department"],
        "inc." => vec!["incorporated"],
        "ltd." => vec!["limited"],
        "co." => vec!["company"],
        "corp." => vec!["corporation"],
        "gov." => vec!["governor"],
        "sen." => vec!["senator"],
        "fig." => vec!["figure"],
        "min." => vec!["minutes"],
        "max." => vec!["maximum"],
        _ => return None,
    })
}

/// Whether an abbreviation's period may also end the sentence.
fn can_end_sentence(w: &str) -> bool {
    let lw = w.to_lowercase();
    matches!(
        lw.as_str(),
        "etc." | "inc." | "ltd." | "co." | "corp." | "a.m." | "p.m."
    ) || is_dotted_acronym(w)
}

/// `U.S.A.`, `U.K.`: letters (one or two) separated by periods.
fn is_dotted_acronym(w: &str) -> bool {
    let inner = w.trim_end_matches('.');
    inner.contains('.')
        && inner
            .split('.')
            .all(|p| !p.is_empty() && p.chars().count() < 3 && p.chars().all(char::is_alphabetic))
}

const OPENERS: &str = "\"“‘'([{«¿¡";
const CLOSERS: &str = ".,!?;:…\"”’')]}»";

/// Kokoro's symbol for a punctuation character; `opening` for ambiguous quotes.
fn punct_symbol(c: char, opening: bool) -> Option<&'static str> {
    Some(match c {
        ',' | '、' | '，' => ",",
        '.' | '。' => ".",
        '!' | '！' => "!",
        '?' | '？' => "?",
        ';' | '；' => ";",
        ':' | '：' => ":",
        '…' => "…",
        '—' | '–' | '-' | '―' => "—",
        '“' | '«' => "“",
        '”' | '»' => "”",
        '"' | '‘' | '\'' | '’' => {
            if opening {
                "“"
            } else {
                "”"
            }
        }
        '(' | '[' | '{' => "(",
        ')' | ']' | '}' => ")",
        _ => return None,
    })
}

/// A whitespace-separated chunk of the input, split into leading punctuation,
/// a core (the word) and trailing punctuation.
#[derive(Debug, Clone)]
struct Chunk {
    lead: Vec<usize>,
    core: (usize, usize),
    trail: Vec<usize>,
}

fn split_chunk(chars: &[char], start: usize, end: usize) -> Chunk {
    let mut s = start;
    let mut lead = Vec::new();
    while s < end {
        let c = chars[s];
        let next = chars.get(s + 1).copied().filter(|_| s + 1 < end);
        let keep = (c == '\'' || c == '‘' || c == '’') && next.is_some_and(|n| n.is_ascii_digit());
        let dash_run =
            (c == '-' || c == '—' || c == '–') && !next.is_some_and(|n| n.is_ascii_digit());
        if (OPENERS.contains(c) && !keep) || dash_run {
            lead.push(s);
            s += 1;
        } else {
            break;
        }
    }
    let mut e = end;
    let mut trail = Vec::new();
    let opened_single = lead.iter().any(|&i| chars[i] == '\'' || chars[i] == '‘');
    while e > s {
        let c = chars[e - 1];
        let possessive = (c == '\'' || c == '’')
            && !opened_single
            && e >= 2
            && e - 1 > s
            && (chars[e - 2] == 's' || chars[e - 2] == 'S');
        if (CLOSERS.contains(c) && !possessive) || c == '-' || c == '—' || c == '–' {
            trail.push(e - 1);
            e -= 1;
        } else {
            break;
        }
    }
    trail.reverse();
    Chunk {
        lead,
        core: (s, e),
        trail,
    }
}

/// Cuts `text` into segments; see [`Seg`].
pub(crate) fn segments(text: &str) -> Vec<Seg> {
    let chars: Vec<char> = text.chars().collect();
    // Whitespace-separated chunks.
    let mut raw: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        let s = i;
        while i < chars.len() && !chars[i].is_whitespace() {
            i += 1;
        }
        raw.push((s, i));
    }
    let mut chunks: Vec<Chunk> = raw
        .iter()
        .map(|&(s, e)| split_chunk(&chars, s, e))
        .collect();
    let core_str = |c: &Chunk| -> String { chars[c.core.0..c.core.1].iter().collect() };

    // Abbreviations and dotted acronyms take their period back from the trailing punctuation.
    // `also_end[k]`: the period also ends the sentence.
    let mut also_end = vec![false; chunks.len()];
    for k in 0..chunks.len() {
        let c = &chunks[k];
        if c.trail.first().is_none_or(|&t| chars[t] != '.') || c.core.0 == c.core.1 {
            continue;
        }
        let with_dot: String = core_str(c) + ".";
        let next = chunks.get(k + 1).map(core_str);
        let prev = if k > 0 {
            Some(core_str(&chunks[k - 1]))
        } else {
            None
        };
        let known = abbreviation(&with_dot, next.as_deref(), prev.as_deref()).is_some()
            || is_dotted_acronym(&with_dot)
            || (with_dot.to_lowercase() == "a.m." || with_dot.to_lowercase() == "p.m.");
        // The period must follow the core directly (`U.S.”` but not `U.S”.`).
        if known && c.trail[0] == c.core.1 {
            let ends = can_end_sentence(&with_dot)
                && next
                    .as_deref()
                    .is_none_or(|n| n.starts_with(|ch: char| ch.is_uppercase()) && !is_ampm(n));
            let c = &mut chunks[k];
            c.core.1 += 1;
            c.trail.remove(0);
            // Another sentence mark after it (`etc.!`) ends the sentence anyway.
            let more = c.trail.iter().any(|&t| ".!?…".contains(chars[t]));
            also_end[k] = ends && !more;
        }
    }

    let cores: Vec<String> = chunks.iter().map(core_str).collect();
    let mut out: Vec<Seg> = Vec::new();
    let mut quote_open = false;
    let push_punct = |out: &mut Vec<Seg>, idx: usize, quote_open: &mut bool, leading: bool| {
        let c = chars[idx];
        let opening = if c == '"' { !*quote_open } else { leading };
        if let Some(p) = punct_symbol(c, opening) {
            if p == "“" {
                *quote_open = true;
            } else if p == "”" {
                *quote_open = false;
            }
            // "..." → one ellipsis.
            if p == "." {
                if let Some(Seg::Punct { ps, end, .. }) = out.last_mut() {
                    if (ps == "." || ps == "…") && *end == idx {
                        *ps = "…".into();
                        *end = idx + 1;
                        return;
                    }
                }
            }
            // "--" → one dash.
            if p == "—" {
                if let Some(Seg::Punct { ps, end, .. }) = out.last_mut() {
                    if ps == "—" && *end == idx {
                        *end = idx + 1;
                        return;
                    }
                }
            }
            out.push(Seg::Punct {
                start: idx,
                end: idx + 1,
                ps: p.into(),
            });
        }
    };
    for (k, c) in chunks.iter().enumerate() {
        for &l in &c.lead {
            push_punct(&mut out, l, &mut quote_open, true);
        }
        let (s, e) = c.core;
        if s < e {
            let prev = if k > 0 {
                Some(cores[k - 1].as_str())
            } else {
                None
            };
            let next = cores.get(k + 1).map(String::as_str);
            core_segments(&chars, s, e, prev, next, &mut out);
            if also_end[k] {
                out.push(Seg::Punct {
                    start: e - 1,
                    end: e,
                    ps: ".".into(),
                });
            }
        }
        for &t in &c.trail {
            push_punct(&mut out, t, &mut quote_open, false);
        }
    }
    out
}

/// Splits a core at dashes, slashes and ellipses inside it and reads each part.
fn core_segments(
    chars: &[char],
    s: usize,
    e: usize,
    prev: Option<&str>,
    next: Option<&str>,
    out: &mut Vec<Seg>,
) {
    let text: String = chars[s..e].iter().collect();
    let slash_date = is_slash_date(&text);
    let mut part_start = s;
    let mut i = s;
    let mut parts: Vec<(usize, usize, Option<&'static str>)> = Vec::new(); // (start, end, punct after)
    while i < e {
        let c = chars[i];
        let dash = c == '—' || c == '–' || (c == '-' && i + 1 < e && chars[i + 1] == '-');
        let ell = c == '…' || (c == '.' && i + 2 < e && chars[i + 1] == '.' && chars[i + 2] == '.');
        let slash = c == '/' && !slash_date;
        if dash || ell || slash {
            parts.push((
                part_start,
                i,
                if dash {
                    Some("—")
                } else if ell {
                    Some("…")
                } else {
                    None
                },
            ));
            let mut j = i + 1;
            while j < e && (chars[j] == '-' || chars[j] == '.' || chars[j] == '—') && (dash || ell)
            {
                j += 1;
            }
            i = j;
            part_start = j;
        } else {
            i += 1;
        }
    }
    parts.push((part_start, e, None));
    let n = parts.len();
    for (pi, &(ps, pe, punct)) in parts.iter().enumerate() {
        if ps < pe {
            let p: String = chars[ps..pe].iter().collect();
            let pprev = if pi == 0 { prev } else { None };
            let pnext = if pi + 1 == n { next } else { None };
            if let Some((words, literal)) = read_part(&p, pprev, pnext) {
                if !words.is_empty() {
                    out.push(Seg::Word {
                        start: ps,
                        end: pe,
                        words,
                        literal,
                    });
                }
            }
        }
        if let Some(p) = punct {
            out.push(Seg::Punct {
                start: pe,
                end: pe + 1,
                ps: p.into(),
            });
        }
    }
}

fn is_slash_date(t: &str) -> bool {
    let p: Vec<&str> = t.split('/').collect();
    (p.len() == 2 || p.len() == 3)
        && p.iter()
            .all(|x| !x.is_empty() && x.len() <= 4 && x.chars().all(|c| c.is_ascii_digit()))
        && p[0].len() <= 2
        && p[1].len() <= 2
}

fn strip_outer_quotes(p: &str) -> &str {
    p.trim_matches(|c: char| "\"“”«»()[]{}".contains(c))
}

/// Reads one word-like part: `(words, literal)`, or `None` when nothing is read.
fn read_part(p: &str, prev: Option<&str>, next: Option<&str>) -> Option<(Vec<String>, bool)> {
    let p = strip_outer_quotes(p);
    if p.is_empty() {
        return None;
    }
    if let Some(exp) = abbreviation(p, next, prev) {
        if p.ends_with('.') || p.eq_ignore_ascii_case("vs") {
            return Some((exp.into_iter().map(String::from).collect(), false));
        }
    }
    let prev_numeric = prev.is_some_and(|w| {
        w.chars().next().is_some_and(|c| c.is_ascii_digit())
            || w.ends_with(|c: char| c.is_ascii_digit())
    });
    if is_ampm(p) && prev_numeric {
        return Some((vec![ampm_letters(p)], false));
    }
    if p.chars().any(|c| c.is_ascii_digit()) {
        let ctx = NumCtx {
            day: prev.is_some_and(|w| month_index(w).is_some())
                || next.is_some_and(|w| month_index(w.trim_end_matches(',')).is_some()),
            ampm_next: next.is_some_and(is_ampm),
        };
        if let Some(w) = read_number(p, ctx) {
            return Some((w, false));
        }
        // Hyphenated mixes (`2nd-best`, `COVID-19`): each part on its own.
        if p.contains('-') && !p.starts_with('-') {
            let mut w = Vec::new();
            for part in p.split('-').filter(|x| !x.is_empty()) {
                match read_number(part, NumCtx::default()) {
                    Some(n) => w.extend(n),
                    None if part.chars().any(|c| c.is_ascii_digit()) => w.extend(read_mixed(part)),
                    None => w.push(part.to_string()),
                }
            }
            return Some((w, false));
        }
        return Some((read_mixed(p), false));
    }
    if p.chars().any(char::is_alphabetic) {
        return Some((vec![p.to_string()], true));
    }
    // Symbols on their own.
    let w = match p {
        "&" => "and",
        "+" => "plus",
        "@" => "at",
        "%" => "percent",
        "=" => "equals",
        "#" => "number",
        _ => return None,
    };
    Some((vec![w.to_string()], false))
}

#[derive(Debug, Clone, Copy, Default)]
struct NumCtx {
    /// A month name is next to the number: a day of the month is read as an ordinal.
    day: bool,
    /// `am`/`pm` follows: a full hour is not read as "o'clock".
    ampm_next: bool,
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// `1,234` (properly grouped) or plain digits → the integer digits.
fn integer_digits(s: &str) -> Option<String> {
    if all_digits(s) {
        return Some(s.to_string());
    }
    let groups: Vec<&str> = s.split(',').collect();
    if groups.len() > 1
        && !groups[0].is_empty()
        && groups[0].len() <= 3
        && all_digits(groups[0])
        && groups[1..].iter().all(|g| g.len() == 3 && all_digits(g))
    {
        return Some(groups.concat());
    }
    None
}

fn int_words(d: &str) -> Vec<String> {
    match d.parse::<u64>() {
        Ok(n) if n <= numbers::MAX_CARDINAL => cardinal(n),
        _ => digits(d),
    }
}

/// A plain number (no sign, unit or suffix): integer, grouped integer or decimal.
fn plain_number(s: &str, ctx: NumCtx, as_year: bool) -> Option<Vec<String>> {
    if let Some((int, frac)) = s.split_once('.') {
        if !all_digits(frac) {
            return None;
        }
        let mut w = if int.is_empty() {
            Vec::new()
        } else {
            int_words(&integer_digits(int)?)
        };
        w.push("point".into());
        w.extend(digits(frac));
        return Some(w);
    }
    let grouped = s.contains(',');
    let d = integer_digits(s)?;
    if d.len() > 1 && d.starts_with('0') {
        return Some(digits(&d));
    }
    let n: u64 = match d.parse() {
        Ok(n) => n,
        Err(_) => return Some(digits(&d)),
    };
    if ctx.day && !grouped && d.len() <= 2 && (1..=31).contains(&n) {
        return Some(ordinal(n));
    }
    if as_year && !grouped && d.len() == 4 {
        return Some(year(n));
    }
    Some(int_words(&d))
}

fn currency_units(sym: char) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
    // (unit, units, subunit, subunits)
    Some(match sym {
        '$' => ("dollar", "dollars", "cent", "cents"),
        '€' => ("euro", "euros", "cent", "cents"),
        '£' => ("pound", "pounds", "penny", "pence"),
        '¥' => ("yen", "yen", "sen", "sen"),
        '₹' => ("rupee", "rupees", "paisa", "paise"),
        _ => return None,
    })
}

fn money(sym: char, amount: &str) -> Option<Vec<String>> {
    let (unit, units, sub, subs) = currency_units(sym)?;
    let (int, frac) = match amount.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (amount, None),
    };
    let int_d = if int.is_empty() {
        "0".to_string()
    } else {
        integer_digits(int)?
    };
    let n: u64 = int_d.parse().ok()?;
    let mut w = Vec::new();
    match frac {
        Some(f) if all_digits(f) && f.len() <= 2 => {
            let cents: u64 = if f.len() == 1 {
                f.parse::<u64>().ok()? * 10
            } else {
                f.parse().ok()?
            };
            if n > 0 || cents == 0 {
                w.extend(int_words(&int_d));
                w.push(if n == 1 { unit } else { units }.into());
            }
            if cents > 0 {
                if n > 0 {
                    w.push("and".into());
                }
                w.extend(cardinal(cents));
                w.push(if cents == 1 { sub } else { subs }.into());
            }
        }
        Some(f) => {
            w.extend(plain_number(
                &format!("{int_d}.{f}"),
                NumCtx::default(),
                false,
            )?);
            w.push(units.into());
        }
        None => {
            w.extend(int_words(&int_d));
            w.push(if n == 1 { unit } else { units }.into());
        }
    }
    Some(w)
}

fn time(s: &str, ctx: NumCtx) -> Option<Vec<String>> {
    let (body, ampm) = {
        let lower = s.to_lowercase();
        let mut b = s;
        let mut a = None;
        for suf in ["a.m.", "p.m.", "am", "pm"] {
            if lower.ends_with(suf) {
                b = &s[..s.len() - suf.len()];
                a = Some(ampm_letters(suf));
                break;
            }
        }
        (b, a)
    };
    let parts: Vec<&str> = body.split(':').collect();
    if !(parts.len() == 2 || parts.len() == 3)
        || !parts.iter().all(|p| all_digits(p))
        || parts[0].len() > 2
        || parts[1..].iter().any(|p| p.len() != 2)
    {
        return None;
    }
    let h: u64 = parts[0].parse().ok()?;
    let m: u64 = parts[1].parse().ok()?;
    if h > 24 || m > 59 {
        return None;
    }
    let mut w = cardinal(h);
    if m == 0 {
        if ampm.is_none() && !ctx.ampm_next {
            w.push("o'clock".into());
        }
    } else if m < 10 {
        w.push("oh".into());
        w.extend(cardinal(m));
    } else {
        w.extend(cardinal(m));
    }
    if parts.len() == 3 {
        let sec: u64 = parts[2].parse().ok()?;
        if sec > 0 {
            w.push("and".into());
            w.extend(cardinal(sec));
            w.push(if sec == 1 { "second" } else { "seconds" }.into());
        }
    }
    if let Some(a) = ampm {
        w.push(a);
    }
    Some(w)
}

fn date(month: u64, day: u64, yr: Option<&str>) -> Option<Vec<String>> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut w = vec![capitalize_month(month as usize - 1)];
    w.extend(ordinal(day));
    if let Some(y) = yr {
        let mut n: u64 = y.parse().ok()?;
        if y.len() == 2 {
            n += if n < 50 { 2000 } else { 1900 };
        }
        w.extend(year(n));
    }
    Some(w)
}

fn capitalize_month(i: usize) -> String {
    let m = MONTHS[i];
    let mut c = m.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Reads a part that contains digits; `None` when no number pattern fits.
fn read_number(p: &str, ctx: NumCtx) -> Option<Vec<String>> {
    let p = p.trim_start_matches(['\'', '‘', '’']);
    let first = p.chars().next()?;
    // Money.
    if currency_units(first).is_some() {
        let rest = &p[first.len_utf8()..];
        return money(first, rest);
    }
    // Sign.
    if first == '-' || first == '−' || first == '+' {
        let rest = &p[first.len_utf8()..];
        if rest.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            let mut w = vec![if first == '+' { "plus" } else { "minus" }.to_string()];
            w.extend(read_number(rest, NumCtx::default())?);
            return Some(w);
        }
    }
    // Percent.
    if let Some(rest) = p.strip_suffix('%') {
        let mut w = read_number(rest, NumCtx::default())?;
        w.push("percent".into());
        return Some(w);
    }
    // Time.
    if p.contains(':') {
        return time(p, ctx);
    }
    // Dates: 2024-03-15, 3/15/2024, 3/15.
    let dash: Vec<&str> = p.split('-').collect();
    if dash.len() == 3
        && dash[0].len() == 4
        && dash[1].len() == 2
        && dash[2].len() == 2
        && dash.iter().all(|x| all_digits(x))
    {
        return date(dash[1].parse().ok()?, dash[2].parse().ok()?, Some(dash[0]));
    }
    if is_slash_date(p) {
        let s: Vec<&str> = p.split('/').collect();
        let (a, b): (u64, u64) = (s[0].parse().ok()?, s[1].parse().ok()?);
        let y = s.get(2).copied().filter(|y| y.len() == 2 || y.len() == 4);
        if s.len() == 3 && y.is_none() {
            return None;
        }
        // US order; day first when the first number cannot be a month.
        return if a > 12 { date(b, a, y) } else { date(a, b, y) };
    }
    // Ranges: 10-20, 1990-1995.
    if dash.len() == 2
        && !dash[0].is_empty()
        && !dash[1].is_empty()
        && dash.iter().all(|x| integer_digits(x).is_some())
    {
        let mut w = read_number(dash[0], NumCtx::default())?;
        w.push("to".into());
        w.extend(read_number(dash[1], NumCtx::default())?);
        return Some(w);
    }
    // Ordinals: 1st, 22nd, 3rd, 4th.
    let lower = p.to_lowercase();
    for suf in ["st", "nd", "rd", "th"] {
        if let Some(num) = lower.strip_suffix(suf) {
            if let Some(d) = integer_digits(num) {
                return Some(match d.parse::<u64>() {
                    Ok(n) if n <= numbers::MAX_CARDINAL => ordinal(n),
                    _ => digits(&d),
                });
            }
        }
    }
    // Decades and plurals: 1990s, 90s, 1990's.
    for suf in ["'s", "’s", "s"] {
        if let Some(num) = p.strip_suffix(suf) {
            if all_digits(num) {
                let mut w = plain_number(num, NumCtx::default(), true)?;
                pluralize_last(&mut w);
                return Some(w);
            }
        }
    }
    plain_number(p, ctx, true)
}

/// Letters and digits mixed (`A380`, `mp3`, `10am`, `COVID-19`): letter runs
/// are words, digit runs numbers.
fn read_mixed(p: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    let mut run_digit = false;
    let mut head = true;
    let flush = |run: &mut String, digit: bool, head: &mut bool, out: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        if digit {
            if *head {
                out.extend(int_words(run));
            } else {
                out.extend(inner_digits(run));
            }
        } else if is_ampm(run) && !out.is_empty() {
            out.push(ampm_letters(run));
        } else {
            out.push(run.clone());
        }
        *head = false;
        run.clear();
    };
    for c in p.chars() {
        let d = c.is_ascii_digit();
        if c.is_alphabetic() || d || c == '\'' {
            if !run.is_empty() && d != run_digit {
                flush(&mut run, run_digit, &mut head, &mut out);
            }
            run_digit = d;
            run.push(c);
        } else {
            flush(&mut run, run_digit, &mut head, &mut out);
            if let Some(w) = match c {
                '&' => Some("and"),
                '+' => Some("plus"),
                '%' => Some("percent"),
                '@' => Some("at"),
                _ => None,
            } {
                out.push(w.into());
            }
        }
    }
    flush(&mut run, run_digit, &mut head, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spoken words of every word segment, with its original text.
    fn spoken(text: &str) -> Vec<(String, String)> {
        let chars: Vec<char> = text.chars().collect();
        segments(text)
            .into_iter()
            .filter_map(|s| match s {
                Seg::Word {
                    start, end, words, ..
                } => Some((chars[start..end].iter().collect(), words.join(" "))),
                _ => None,
            })
            .collect()
    }

    fn said(text: &str) -> String {
        spoken(text)
            .into_iter()
            .map(|(_, w)| w)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn puncts(text: &str) -> String {
        segments(text)
            .into_iter()
            .filter_map(|s| match s {
                Seg::Punct { ps, .. } => Some(ps),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn cardinals_decimals_negative() {
        assert_eq!(said("42"), "forty two");
        assert_eq!(said("1,234"), "one thousand two hundred thirty four");
        assert_eq!(
            said("1,234,567"),
            "one million two hundred thirty four thousand five hundred sixty seven"
        );
        assert_eq!(said("3.14"), "three point one four");
        assert_eq!(said("0.5"), "zero point five");
        assert_eq!(said(".5"), "point five");
        assert_eq!(said("-7"), "minus seven");
        assert_eq!(said("−2.5"), "minus two point five");
        assert_eq!(said("007"), "zero zero seven");
        assert_eq!(said("12345678901234567890"), "one two three four five six seven eight nine zero one two three four five six seven eight nine zero");
    }

    #[test]
    fn ordinals_years_decades() {
        assert_eq!(said("1st"), "first");
        assert_eq!(said("22nd"), "twenty second");
        assert_eq!(said("3rd"), "third");
        assert_eq!(said("101st"), "one hundred first");
        assert_eq!(said("1999"), "nineteen ninety nine");
        assert_eq!(said("2024"), "twenty twenty four");
        assert_eq!(said("2000"), "two thousand");
        assert_eq!(said("1990s"), "nineteen nineties");
        assert_eq!(said("'90s"), "nineties");
    }

    #[test]
    fn dates_and_times() {
        assert_eq!(said("March 5, 2024"), "March | fifth | twenty twenty four");
        assert_eq!(said("5 March"), "fifth | March");
        assert_eq!(said("2024-03-15"), "March fifteenth twenty twenty four");
        assert_eq!(said("3/15/2024"), "March fifteenth twenty twenty four");
        assert_eq!(said("15/3/99"), "March fifteenth nineteen ninety nine");
        assert_eq!(said("3:30 pm"), "three thirty | P.M.");
        assert_eq!(said("3:30pm"), "three thirty P.M.");
        assert_eq!(said("at 3:00"), "at | three o'clock");
        assert_eq!(said("3:00 p.m."), "three | P.M.");
        assert_eq!(said("9:05"), "nine oh five");
        assert_eq!(said("10am"), "ten A.M.");
        assert_eq!(said("2nd-best"), "second best");
        assert_eq!(said("COVID-19"), "COVID nineteen");
    }

    #[test]
    fn money_and_percent() {
        assert_eq!(said("$4.50"), "four dollars and fifty cents");
        assert_eq!(said("$1"), "one dollar");
        assert_eq!(said("$0.99"), "ninety nine cents");
        assert_eq!(said("€20"), "twenty euros");
        assert_eq!(said("£3"), "three pounds");
        assert_eq!(said("£3.01"), "three pounds and one penny");
        assert_eq!(said("$1,000,000"), "one million dollars");
        assert_eq!(said("50%"), "fifty percent");
        assert_eq!(said("12.5%"), "twelve point five percent");
        assert_eq!(said("10-20"), "ten to twenty");
    }

    #[test]
    fn abbreviations() {
        assert_eq!(said("Dr. Smith"), "doctor | Smith");
        assert_eq!(said("Mr. and Mrs. Jones"), "mister | and | Mrs. | Jones");
        assert_eq!(said("St. Louis"), "saint | Louis");
        assert_eq!(said("Main St. is long"), "Main | street | is | long");
        assert_eq!(said("e.g. this"), "for example | this");
        assert_eq!(said("cats, dogs, etc."), "cats | dogs | etc");
        assert_eq!(puncts("cats, dogs, etc."), ",,.");
        assert_eq!(puncts("Dr. Who"), "");
        assert_eq!(said("the U.S.A. is"), "the | U.S.A. | is");
        assert_eq!(puncts("I live in the U.S.A."), ".");
    }

    #[test]
    fn punctuation() {
        assert_eq!(puncts("Hello, world!"), ",!");
        assert_eq!(puncts("Wait... what?"), "…?");
        assert_eq!(puncts("He said \"hi\" (twice)."), "“”().");
        assert_eq!(puncts("yes—no"), "—");
        assert_eq!(puncts("yes -- no"), "—");
        assert_eq!(said("and/or"), "and | or");
        assert_eq!(said("dogs' bowls"), "dogs' | bowls");
        assert_eq!(said("'quoted'"), "quoted");
        assert_eq!(puncts("'quoted'"), "“”");
        assert_eq!(said("well-known"), "well-known");
        assert_eq!(said("🙂 ### ***"), "");
        assert_eq!(said("# 5"), "number | five");
    }

    #[test]
    fn char_ranges_are_original() {
        let t = "On 3/15/2024, Dr. Lee paid $4.50 (50%).";
        let chars: Vec<char> = t.chars().collect();
        let segs = segments(t);
        let mut last = 0;
        for s in &segs {
            let (a, b) = match s {
                Seg::Word { start, end, .. } | Seg::Punct { start, end, .. } => (*start, *end),
            };
            assert!(a >= last && b > a && b <= chars.len(), "{s:?}");
            last = b;
        }
        let words: Vec<String> = spoken(t).into_iter().map(|(o, _)| o).collect();
        assert_eq!(
            words,
            ["On", "3/15/2024", "Dr.", "Lee", "paid", "$4.50", "50%"]
        );
    }
}
