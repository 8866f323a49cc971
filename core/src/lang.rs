//! Languages: detection and the conventions that follow from them.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A script's language and, for Chinese, its character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    /// English.
    #[serde(rename = "en")]
    English,
    /// Mandarin written in Traditional characters (Taiwan).
    #[serde(rename = "zh-TW")]
    ChineseTraditional,
    /// Mandarin written in Simplified characters (mainland China).
    #[serde(rename = "zh-CN")]
    ChineseSimplified,
}

impl Language {
    /// Whether captions are wrapped per character (CJK rules).
    pub fn is_cjk(self) -> bool {
        !matches!(self, Language::English)
    }

    /// The BCP 47 tag: `en`, `zh-TW` or `zh-CN`.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::ChineseTraditional => "zh-TW",
            Language::ChineseSimplified => "zh-CN",
        }
    }

    /// Detects the language of a text: Chinese when Han characters outnumber
    /// Latin words, then Traditional or Simplified by characters that exist in
    /// only one of the two sets (Traditional when undecided, for Taiwanese creators).
    ///
    /// ```
    /// use voxreel::lang::Language;
    /// assert_eq!(Language::detect("Hello there, world."), Language::English);
    /// assert_eq!(Language::detect("我們今天來說說這個問題。"), Language::ChineseTraditional);
    /// assert_eq!(Language::detect("我们今天来说说这个问题。"), Language::ChineseSimplified);
    /// ```
    pub fn detect(text: &str) -> Language {
        let mut han = 0usize;
        let mut latin_words = 0usize;
        let mut in_word = false;
        let (mut trad, mut simp) = (0usize, 0usize);
        for c in text.chars() {
            if is_han(c) {
                han += 1;
                if TRADITIONAL_ONLY.contains(c) {
                    trad += 1;
                } else if SIMPLIFIED_ONLY.contains(c) {
                    simp += 1;
                }
            }
            let latin = c.is_ascii_alphabetic();
            if latin && !in_word {
                latin_words += 1;
            }
            in_word = latin;
        }
        // A Chinese sentence of n characters holds roughly n/1.5 words.
        if han == 0 || (han as f64 / 1.5) < latin_words as f64 {
            Language::English
        } else if simp > trad {
            Language::ChineseSimplified
        } else {
            Language::ChineseTraditional
        }
    }
}

/// What the caller asked for: a fixed language or detection per script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum LanguageChoice {
    /// Detect from the script ([`Language::detect`]).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// Use this language.
    #[serde(untagged)]
    Fixed(Language),
}

impl LanguageChoice {
    /// Resolves the choice for a script text.
    pub fn resolve(self, text: &str) -> Language {
        match self {
            LanguageChoice::Auto => Language::detect(text),
            LanguageChoice::Fixed(l) => l,
        }
    }
}

impl std::str::FromStr for LanguageChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(LanguageChoice::Auto),
            "en" | "en-us" | "en-gb" | "english" => Ok(LanguageChoice::Fixed(Language::English)),
            "zh-tw" | "zh-hant" | "zh-hk" => {
                Ok(LanguageChoice::Fixed(Language::ChineseTraditional))
            }
            "zh-cn" | "zh-hans" | "zh-sg" => Ok(LanguageChoice::Fixed(Language::ChineseSimplified)),
            _ => Err(Error::UnsupportedLanguage {
                code: s.to_string(),
            }),
        }
    }
}

/// Whether `c` is a CJK ideograph (Han character).
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3007)
}

/// Whether `c` is a CJK character that captions treat as one unit (Han, kana, full-width forms).
pub fn is_cjk_char(c: char) -> bool {
    is_han(c) || matches!(c as u32, 0x3040..=0x30FF | 0x31F0..=0x31FF | 0xAC00..=0xD7AF)
}

/// Common characters written only in Traditional Chinese (their Simplified forms differ).
const TRADITIONAL_ONLY: &str = "這們個來時會說為國學對過後發還麼樣點開關經長現種機動實當體間問見頭聽讀寫話語車東電視腦網頁萬與無從門員買賣錢臺灣愛氣樂應讓認識覺變觀歡題業產廣場術備歷區華陽風飛馬魚鳥龍書畫準確須樹燈據戰戲擊歲歸雖雙難離雞顏顯類飯館驗髮鬥麗黃齊齒齡龜壓夠夢奪婦寶層屬師帶幫幹庫張彈從態慣戶擁擇擔據數斷時書會樓標權橫歐滅漢潔濟獨環畢發盡監確稱穩窮節範築簡糧紀約紅純紙級細終組結給統絲經綠維網緊線練縣總績繼續罷聲聯職處號蘭衛補裝複視覺親計訂認討訓記設許評詞試詩話該詳誠誤說課誰調談請論諸證識譯議護讀變讓豐負貝貨質購費貿資賽趕趙躍軍軟較載輕輪辦農遠適遞選還邊鄉酒醫針鐘鐵銀錄鏡長門閉開間關陣陳險隨際隱雜電靜韓頂項順須預領頻顧風飛餘養館首驚體鬧";
/// Common characters written only in Simplified Chinese.
const SIMPLIFIED_ONLY: &str = "这们个来时会说为国学对过后发还么样点开关经长现种机动实当体间问见头听读写话语车东电视脑网页万与无从门员买卖钱湾爱气乐应让认识觉变观欢题业产广场术备历区华阳风飞马鱼鸟龙书画准确须树灯据战戏击岁归虽双难离鸡颜显类饭馆验发斗丽黄齐齿龄龟压够梦夺妇宝层属师带帮库张弹态惯户拥择担数断楼标权横欧灭汉洁济独环毕尽监称稳穷节范筑简粮纪约红纯纸级细终组结给统丝绿维紧线练县总绩继续罢声联职处号兰卫补装复亲计订讨训记设许评词试诗该详诚误课谁调谈请论诸证译议护丰负贝货质购费贸资赛赶赵跃军软较载轻轮办农远适递选边乡医针钟铁银录镜闭陈险随际隐杂静韩顶项顺预领频顾养惊闹";
