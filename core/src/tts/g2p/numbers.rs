//! Numbers as English words, the way misaki reads them through `num2words`
//! (no "and" inside numbers, hyphenated tens split into two words).
// `%` rather than `is_multiple_of` (Rust 1.87) for older toolchains.
#![allow(unknown_lints, clippy::manual_is_multiple_of)]

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const SCALES: [&str; 5] = ["", "thousand", "million", "billion", "trillion"];

/// The largest integer read as a cardinal; longer digit strings are read digit by digit.
pub(crate) const MAX_CARDINAL: u64 = 999_999_999_999_999;

fn below_1000(n: u64, out: &mut Vec<String>) {
    let h = n / 100;
    let r = n % 100;
    if h > 0 {
        out.push(ONES[h as usize].into());
        out.push("hundred".into());
    }
    if r >= 20 {
        out.push(TENS[(r / 10) as usize].into());
        if r % 10 != 0 {
            out.push(ONES[(r % 10) as usize].into());
        }
    } else if r > 0 || h == 0 {
        out.push(ONES[r as usize].into());
    }
}

/// `1234` → one thousand two hundred thirty four (as separate words).
pub(crate) fn cardinal(n: u64) -> Vec<String> {
    let mut out = Vec::new();
    if n == 0 {
        out.push("zero".into());
        return out;
    }
    if n > MAX_CARDINAL {
        return digits(&n.to_string());
    }
    let mut groups = Vec::new();
    let mut m = n;
    while m > 0 {
        groups.push(m % 1000);
        m /= 1000;
    }
    for (i, &g) in groups.iter().enumerate().rev() {
        if g == 0 {
            continue;
        }
        below_1000(g, &mut out);
        if i > 0 {
            out.push(SCALES[i].into());
        }
    }
    out
}

/// The ordinal form of one number word (`two` → `second`, `twenty` → `twentieth`).
fn ordinal_word(w: &str) -> String {
    match w {
        "one" => "first".into(),
        "two" => "second".into(),
        "three" => "third".into(),
        "five" => "fifth".into(),
        "eight" => "eighth".into(),
        "nine" => "ninth".into(),
        "twelve" => "twelfth".into(),
        _ if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
        _ => format!("{w}th"),
    }
}

/// `22` → twenty second.
pub(crate) fn ordinal(n: u64) -> Vec<String> {
    let mut words = cardinal(n);
    if let Some(last) = words.last_mut() {
        *last = ordinal_word(last);
    }
    words
}

/// A four-digit year as num2words reads it: `1999` → nineteen ninety nine,
/// `1905` → nineteen oh five, `1900` → nineteen hundred, `2005` → two thousand five,
/// `2010` → twenty ten.
pub(crate) fn year(n: u64) -> Vec<String> {
    let high = n / 100;
    let low = n % 100;
    if high == 0 || (high % 10 == 0 && low < 10) || high >= 100 {
        return cardinal(n);
    }
    let mut out = cardinal(high);
    if low == 0 {
        out.push("hundred".into());
    } else if low < 10 {
        out.push("oh".into());
        out.extend(cardinal(low));
    } else {
        out.extend(cardinal(low));
    }
    out
}

/// Every digit on its own: `007` → zero zero seven.
pub(crate) fn digits(s: &str) -> Vec<String> {
    s.chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| ONES[d as usize].to_string())
        .collect()
}

/// A digit run inside a word (`A380`, `mp3`): misaki reads long runs and runs with
/// a leading zero digit by digit, three digits as `3 80` (or `3 oh 5`).
pub(crate) fn inner_digits(s: &str) -> Vec<String> {
    if s.starts_with('0') || s.len() > 3 {
        return digits(s);
    }
    let n: u64 = s.parse().unwrap_or(0);
    if s.len() == 3 && !s.ends_with("00") {
        let mut out = cardinal(n / 100);
        if n % 100 < 10 {
            out.push("oh".into());
        }
        out.extend(cardinal(n % 100));
        return out;
    }
    cardinal(n)
}

/// Plural of the last word (`1990s` → nineteen nineties).
pub(crate) fn pluralize_last(words: &mut [String]) {
    if let Some(w) = words.last_mut() {
        *w = if let Some(stem) = w.strip_suffix('y') {
            format!("{stem}ies")
        } else if w.ends_with('x') || w.ends_with('s') {
            format!("{w}es")
        } else {
            format!("{w}s")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(v: Vec<String>) -> String {
        v.join(" ")
    }

    #[test]
    fn cardinals() {
        assert_eq!(j(cardinal(0)), "zero");
        assert_eq!(j(cardinal(7)), "seven");
        assert_eq!(j(cardinal(42)), "forty two");
        assert_eq!(j(cardinal(100)), "one hundred");
        assert_eq!(j(cardinal(1234)), "one thousand two hundred thirty four");
        assert_eq!(j(cardinal(1_000_005)), "one million five");
        assert_eq!(
            j(cardinal(2_500_000_019)),
            "two billion five hundred million nineteen"
        );
    }

    #[test]
    fn ordinals() {
        assert_eq!(j(ordinal(1)), "first");
        assert_eq!(j(ordinal(2)), "second");
        assert_eq!(j(ordinal(3)), "third");
        assert_eq!(j(ordinal(12)), "twelfth");
        assert_eq!(j(ordinal(20)), "twentieth");
        assert_eq!(j(ordinal(22)), "twenty second");
        assert_eq!(j(ordinal(100)), "one hundredth");
        assert_eq!(j(ordinal(31)), "thirty first");
    }

    #[test]
    fn years() {
        assert_eq!(j(year(1999)), "nineteen ninety nine");
        assert_eq!(j(year(1905)), "nineteen oh five");
        assert_eq!(j(year(1900)), "nineteen hundred");
        assert_eq!(j(year(2000)), "two thousand");
        assert_eq!(j(year(2005)), "two thousand five");
        assert_eq!(j(year(2010)), "twenty ten");
        assert_eq!(j(year(2024)), "twenty twenty four");
    }

    #[test]
    fn inner_and_plural() {
        assert_eq!(j(inner_digits("380")), "three eighty");
        assert_eq!(j(inner_digits("305")), "three oh five");
        assert_eq!(j(inner_digits("007")), "zero zero seven");
        assert_eq!(j(inner_digits("19")), "nineteen");
        let mut w = year(1990);
        pluralize_last(&mut w);
        assert_eq!(j(w), "nineteen nineties");
    }
}
