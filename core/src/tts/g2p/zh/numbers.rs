//! Numbers in Chinese text, read the Chinese way.
//!
//! The core is cn2an 0.5.24's `transform(text, "an2cn")`, which misaki runs before its
//! Mandarin G2P, ported pass for pass: ranges before a measure word (`10-20元` → 十到二十元),
//! dates (`2024年3月15日`: the year digit by digit, month and day as numbers), fractions
//! (`1/4` → 四分之一), percentages (`12.5%` → 百分之十二点五), `℃`, then every other number
//! (`-3.5` → 负三点五, `2300` → 二千三百). Before those, voxreel reads what cn2an leaves
//! garbled: full-width digits, thousands separators (`1,280`), currency (`¥1,280` →
//! 一千二百八十元, `$20` → 二十美元, `NT$350億` → 三百五十亿元, `€`, `£`, `HK$`, `US$`),
//! times (`3:30` → 三点三十分) and ISO dates (`2024-03-15` → 二零二四年三月十五日), and
//! digit strings that start with 0 or are longer than 16 digits are read digit by digit.
//!
//! Every output character carries the character range of the input it came from, so words
//! made of it can be timed against the original text.

/// A character of the normalised text and the input range (chars) it stands for.
pub type Ch = (char, usize, usize);

const MEASURE_WORDS: [&str; 32] = [
    "千克", "公斤", "厘米", "毫米", "公里", "毫升", "小时", "分钟", "斤", "克", "吨", "米", "升",
    "元", "角", "分", "个", "只", "条", "张", "块", "瓶", "杯", "份", "本", "辆", "台", "匹", "头",
    "位", "亩", "秒",
];
const MEASURE_WORDS_2: [&str; 2] = ["天", "半"];

const LOW: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
const UNITS: [&str; 16] = [
    "", "十", "百", "千", "万", "十", "百", "千", "亿", "十", "百", "千", "万", "十", "百", "千",
];

/// cn2an's `an2cn(digits, "low")` for an integer string (no sign); `None` past 16 digits.
pub fn integer_low(digits: &str) -> Option<String> {
    let trimmed = digits.trim_start_matches('0');
    let d: Vec<usize> = trimmed
        .chars()
        .map(|c| c.to_digit(10).map(|x| x as usize))
        .collect::<Option<_>>()?;
    let n = d.len();
    if n > UNITS.len() {
        return None;
    }
    let mut out = String::new();
    for (i, &x) in d.iter().enumerate() {
        let place = n - i - 1;
        if x != 0 {
            out.push(LOW[x]);
            out.push_str(UNITS[place]);
        } else {
            if place % 4 == 0 {
                out.push(LOW[0]);
                out.push_str(UNITS[place]);
            }
            if i > 0 && !out.ends_with('零') {
                out.push('零');
            }
        }
    }
    let mut out = out
        .replace("零零", "零")
        .replace("零万", "万")
        .replace("零亿", "亿")
        .replace("亿万", "亿");
    out = out.trim_matches('零').to_string();
    // ([万亿])零([一-九][千]) → \1\2
    let cs: Vec<char> = out.chars().collect();
    let mut fixed = String::with_capacity(out.len());
    let mut i = 0;
    while i < cs.len() {
        if i + 3 < cs.len()
            && (cs[i] == '万' || cs[i] == '亿')
            && cs[i + 1] == '零'
            && LOW[1..].contains(&cs[i + 2])
            && cs[i + 3] == '千'
        {
            fixed.push(cs[i]);
            i += 2;
            continue;
        }
        fixed.push(cs[i]);
        i += 1;
    }
    let mut out = fixed;
    if out.starts_with("一十") {
        out = out['一'.len_utf8()..].to_string();
    }
    if out.is_empty() {
        out.push('零');
    }
    Some(out)
}

/// cn2an's `an2cn(s, "low")` for `-?\d+(\.\d+)?`.
pub fn number_low(s: &str) -> Option<String> {
    let (sign, s) = match s.strip_prefix('-') {
        Some(r) => ("负", r),
        None => ("", s),
    };
    let (int, dec) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let mut out = String::from(sign);
    out.push_str(&integer_low(int)?);
    if let Some(dec) = dec {
        if !dec.is_empty() {
            out.push('点');
        }
        for c in dec.chars().take(16) {
            out.push(LOW[c.to_digit(10)? as usize]);
        }
    }
    Some(out)
}

fn direct(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => LOW[d as usize],
            None if c == '.' => '点',
            None => c,
        })
        .collect()
}

fn is_digit(c: Option<&Ch>) -> bool {
    c.is_some_and(|c| c.0.is_ascii_digit())
}

fn span(chs: &[Ch]) -> (usize, usize) {
    let s = chs.iter().map(|c| c.1).min().unwrap_or(0);
    let e = chs.iter().map(|c| c.2).max().unwrap_or(s);
    (s, e)
}

fn emit(out: &mut Vec<Ch>, text: &str, src: (usize, usize)) {
    out.extend(text.chars().map(|c| (c, src.0, src.1)));
}

fn digits_at(t: &[Ch], i: usize) -> usize {
    t[i..].iter().take_while(|c| c.0.is_ascii_digit()).count()
}

fn starts_with(t: &[Ch], i: usize, s: &str) -> bool {
    let mut j = i;
    for c in s.chars() {
        if t.get(j).map(|x| x.0) != Some(c) {
            return false;
        }
        j += 1;
    }
    true
}

/// A number `-?\d+(\.\d+)?` at `i` (the sign only when `signed`): its length in chars.
fn number_at(t: &[Ch], i: usize, signed: bool) -> usize {
    let mut j = i;
    if signed && t.get(j).map(|c| c.0) == Some('-') {
        j += 1;
    }
    let d = digits_at(t, j);
    if d == 0 {
        return 0;
    }
    j += d;
    if t.get(j).map(|c| c.0) == Some('.') {
        let f = digits_at(t, j + 1);
        if f > 0 {
            j += 1 + f;
        }
    }
    j - i
}

fn text_of(t: &[Ch]) -> String {
    t.iter().map(|c| c.0).collect()
}

/// Full-width digits and signs to ASCII, thousands separators removed.
fn pre_clean(t: Vec<Ch>) -> Vec<Ch> {
    let t: Vec<Ch> = t
        .into_iter()
        .map(|(c, s, e)| {
            let c = match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '％' => '%',
                '．' if false => '.',
                _ => c,
            };
            (c, s, e)
        })
        .collect();
    // \d{1,3}(,\d{3})+ not inside a longer digit run
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        if is_digit(t.get(i)) && (i == 0 || !is_digit(t.get(i - 1))) {
            let d = digits_at(&t, i);
            let mut j = i + d;
            let mut groups = 0;
            while d <= 3
                && t.get(j).map(|c| c.0) == Some(',')
                && digits_at(&t, j + 1) == 3
                && !is_digit(t.get(j + 4))
            {
                j += 4;
                groups += 1;
            }
            if groups > 0 {
                out.extend(t[i..j].iter().filter(|c| c.0 != ','));
                i = j;
                continue;
            }
            out.extend_from_slice(&t[i..i + d]);
            i += d;
            continue;
        }
        out.push(t[i]);
        i += 1;
    }
    out
}

/// Currency, times, ISO dates (voxreel's additions).
fn pre_voxreel(t: Vec<Ch>) -> Vec<Ch> {
    let mut out: Vec<Ch> = Vec::with_capacity(t.len());
    let mut i = 0;
    const PREFIXES: [(&str, &str); 8] = [
        ("NT$", "元"),
        ("US$", "美元"),
        ("HK$", "港元"),
        ("$", "美元"),
        ("¥", "元"),
        ("￥", "元"),
        ("€", "欧元"),
        ("£", "英镑"),
    ];
    'outer: while i < t.len() {
        // Currency symbol + amount (+ 万/亿).
        for (sym, word) in PREFIXES {
            if starts_with(&t, i, sym) {
                let k = sym.chars().count();
                let n = number_at(&t, i + k, false);
                if n > 0 {
                    let mut end = i + k + n;
                    out.extend_from_slice(&t[i + k..end]);
                    if let Some(u) = t.get(end).filter(|c| "万萬亿億千百".contains(c.0)) {
                        out.push(*u);
                        end += 1;
                    }
                    emit(&mut out, word, span(&t[i..i + k]));
                    i = end;
                    continue 'outer;
                }
            }
        }
        if is_digit(t.get(i)) && (i == 0 || !is_digit(t.get(i - 1))) {
            let d = digits_at(&t, i);
            // ISO date: YYYY-MM-DD or YYYY/MM/DD.
            if d == 4 {
                let sep = t.get(i + 4).map(|c| c.0);
                if matches!(sep, Some('-' | '/' | '.')) {
                    let m = digits_at(&t, i + 5);
                    if (1..=2).contains(&m) && t.get(i + 5 + m).map(|c| c.0) == sep {
                        let dd = digits_at(&t, i + 6 + m);
                        let end = i + 6 + m + dd;
                        let month: u32 = text_of(&t[i + 5..i + 5 + m]).parse().unwrap_or(0);
                        let day: u32 = text_of(&t[i + 6 + m..end]).parse().unwrap_or(0);
                        if (1..=2).contains(&dd)
                            && (1..=12).contains(&month)
                            && (1..=31).contains(&day)
                            && !is_digit(t.get(end))
                        {
                            out.extend_from_slice(&t[i..i + 4]);
                            emit(&mut out, "年", span(&t[i + 4..i + 5]));
                            emit(&mut out, &month.to_string(), span(&t[i + 5..i + 5 + m]));
                            emit(&mut out, "月", span(&t[i + 5 + m..i + 6 + m]));
                            emit(&mut out, &day.to_string(), span(&t[i + 6 + m..end]));
                            emit(&mut out, "日", span(&t[end - 1..end]));
                            i = end;
                            continue;
                        }
                    }
                }
            }
            // Time: H:MM.
            if (1..=2).contains(&d) && t.get(i + d).map(|c| c.0) == Some(':') {
                let m = digits_at(&t, i + d + 1);
                let hour: u32 = text_of(&t[i..i + d]).parse().unwrap_or(99);
                let end = i + d + 1 + m;
                let min_s = if m == 2 {
                    text_of(&t[i + d + 1..end])
                } else {
                    String::new()
                };
                let minute: u32 = min_s.parse().unwrap_or(99);
                if m == 2 && hour <= 24 && minute < 60 {
                    out.extend_from_slice(&t[i..i + d]);
                    emit(&mut out, "点", span(&t[i + d..i + d + 1]));
                    let msrc = span(&t[i + d + 1..end]);
                    if minute > 0 {
                        if minute < 10 {
                            emit(&mut out, "零", msrc);
                        }
                        emit(&mut out, &minute.to_string(), msrc);
                        emit(&mut out, "分", msrc);
                    }
                    i = end;
                    continue;
                }
            }
            out.extend_from_slice(&t[i..i + d]);
            i += d;
            continue;
        }
        out.push(t[i]);
        i += 1;
    }
    out
}

fn measure_word_at(t: &[Ch], i: usize) -> bool {
    MEASURE_WORDS
        .iter()
        .chain(MEASURE_WORDS_2.iter())
        .any(|w| starts_with(t, i, w))
}

/// One cn2an pass: at every position `matcher` may claim `n` chars and say what they read as.
fn pass<F>(t: Vec<Ch>, mut matcher: F) -> Vec<Ch>
where
    F: FnMut(&[Ch], usize) -> Option<(usize, Vec<(String, (usize, usize))>)>,
{
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        if let Some((n, pieces)) = matcher(&t, i) {
            if n > 0 {
                for (text, src) in pieces {
                    emit(&mut out, &text, src);
                }
                i += n;
                continue;
            }
        }
        out.push(t[i]);
        i += 1;
    }
    out
}

/// Normalises the numbers of `text` (see the module docs); each output char with its source
/// char range.
pub fn normalize(text: &str) -> Vec<Ch> {
    let t: Vec<Ch> = text
        .chars()
        .enumerate()
        .map(|(i, c)| (c, i, i + 1))
        .collect();
    let t = pre_clean(t);
    let t = pre_voxreel(t);
    // Long digit strings and strings with a leading zero: digit by digit.
    let t = pass(t, |t, i| {
        if !is_digit(t.get(i)) || (i > 0 && (is_digit(t.get(i - 1)) || t[i - 1].0 == '.')) {
            return None;
        }
        let d = digits_at(t, i);
        let s = text_of(&t[i..i + d]);
        let frac_or_dec = matches!(
            t.get(i + d).map(|c| c.0),
            Some('.' | '/' | '年' | '月' | '日' | '号' | '点' | '分')
        );
        if d > 16 || (d >= 2 && s.starts_with('0') && !frac_or_dec) {
            Some((d, vec![(direct(&s), span(&t[i..i + d]))]))
        } else {
            None
        }
    });
    // Range before a measure word: \d+(\.\d+)?-\d+(\.\d+)?
    let t = pass(t, |t, i| {
        if i > 0 && is_digit(t.get(i - 1)) {
            return None;
        }
        let a = number_at(t, i, false);
        if a == 0 || t.get(i + a).map(|c| c.0) != Some('-') {
            return None;
        }
        let b = number_at(t, i + a + 1, false);
        if b == 0 || !measure_word_at(t, i + a + 1 + b) {
            return None;
        }
        let x = number_low(&text_of(&t[i..i + a]))?;
        let y = number_low(&text_of(&t[i + a + 1..i + a + 1 + b]))?;
        Some((
            a + 1 + b,
            vec![
                (x, span(&t[i..i + a])),
                ("到".into(), span(&t[i + a..i + a + 1])),
                (y, span(&t[i + a + 1..i + a + 1 + b])),
            ],
        ))
    });
    // Date: (\d{2,4}年)?(\d{1,2}月)?(\d{1,2}日)?
    let t = pass(t, |t, i| {
        let mut j = i;
        let mut pieces = Vec::new();
        let d = digits_at(t, j);
        if (2..=4).contains(&d) && t.get(j + d).map(|c| c.0) == Some('年') {
            pieces.push((direct(&text_of(&t[j..j + d])), span(&t[j..j + d])));
            pieces.push(("年".to_string(), span(&t[j + d..j + d + 1])));
            j += d + 1;
        }
        for unit in ['月', '日'] {
            let d = digits_at(t, j);
            if (1..=2).contains(&d) && t.get(j + d).map(|c| c.0) == Some(unit) {
                pieces.push((number_low(&text_of(&t[j..j + d]))?, span(&t[j..j + d])));
                pieces.push((unit.to_string(), span(&t[j + d..j + d + 1])));
                j += d + 1;
            }
        }
        (j > i).then_some((j - i, pieces))
    });
    // Fraction: \d+/\d+
    let t = pass(t, |t, i| {
        let a = digits_at(t, i);
        if a == 0 || t.get(i + a).map(|c| c.0) != Some('/') {
            return None;
        }
        let b = digits_at(t, i + a + 1);
        if b == 0 {
            return None;
        }
        let num = number_low(&text_of(&t[i..i + a]))?;
        let den = number_low(&text_of(&t[i + a + 1..i + a + 1 + b]))?;
        Some((
            a + 1 + b,
            vec![
                (den, span(&t[i + a + 1..i + a + 1 + b])),
                ("分之".into(), span(&t[i + a..i + a + 1])),
                (num, span(&t[i..i + a])),
            ],
        ))
    });
    // Percent: -?(\d+\.)?\d+%
    let t = pass(t, |t, i| {
        let n = number_at(t, i, true);
        if n == 0 || t.get(i + n).map(|c| c.0) != Some('%') {
            return None;
        }
        let x = number_low(&text_of(&t[i..i + n]))?;
        Some((
            n + 1,
            vec![
                ("百分之".into(), span(&t[i + n..i + n + 1])),
                (x, span(&t[i..i + n])),
            ],
        ))
    });
    // Celsius: \d+℃
    let t = pass(t, |t, i| {
        let d = digits_at(t, i);
        if d == 0 || t.get(i + d).map(|c| c.0) != Some('℃') {
            return None;
        }
        let x = number_low(&text_of(&t[i..i + d]))?;
        Some((
            d + 1,
            vec![
                (x, span(&t[i..i + d])),
                ("摄氏度".into(), span(&t[i + d..i + d + 1])),
            ],
        ))
    });
    // Any other number: -?(\d+\.)?\d+
    pass(t, |t, i| {
        let n = number_at(t, i, true);
        if n == 0 {
            return None;
        }
        let x = number_low(&text_of(&t[i..i + n]))?;
        Some((n, vec![(x, span(&t[i..i + n]))]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).into_iter().map(|c| c.0).collect()
    }

    #[test]
    fn integers_as_cn2an() {
        for (a, b) in [
            ("0", "零"),
            ("10", "十"),
            ("15", "十五"),
            ("115", "一百一十五"),
            ("2024", "二千零二十四"),
            ("2300", "二千三百"),
            ("10000", "一万"),
            ("10086", "一万零八十六"),
            ("100000000", "一亿"),
            ("120003000", "一亿二千万三千"),
            ("3500000", "三百五十万"),
        ] {
            assert_eq!(integer_low(a).as_deref(), Some(b), "{a}");
        }
    }

    #[test]
    fn dates_percentages_and_money() {
        assert_eq!(n("今天是2024年3月15日。"), "今天是二零二四年三月十五日。");
        assert_eq!(n("增长了12.5%"), "增长了百分之十二点五");
        assert_eq!(n("¥1,280"), "一千二百八十元");
        assert_eq!(n("$20"), "二十美元");
        assert_eq!(n("NT$350億"), "三百五十億元");
        assert_eq!(n("下午3:30"), "下午三点三十分");
        assert_eq!(n("10:05"), "十点零五分");
        assert_eq!(n("2024-03-15"), "二零二四年三月十五日");
        assert_eq!(n("1/4"), "四分之一");
        assert_eq!(n("-3.5度"), "负三点五度");
        assert_eq!(n("10-20元"), "十到二十元");
        assert_eq!(n("0912345678"), "零九一二三四五六七八");
        assert_eq!(n("３０℃"), "三十摄氏度");
    }

    #[test]
    fn spans_point_at_the_source() {
        let t = normalize("¥12元");
        // 十二 ← "12" (1..3), 元 ← "¥" (0..1), then the literal 元 (3..4).
        assert_eq!(t[0], ('十', 1, 3));
        assert_eq!(t[2], ('元', 0, 1));
        assert_eq!(t[3], ('元', 3, 4));
    }
}
