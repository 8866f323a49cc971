//! Languages: detection and the conventions that follow from them.

use serde::{Deserialize, Serialize};

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
}
