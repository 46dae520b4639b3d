//! The language of the labels, grade names and texts in outputs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// Language of labels, grade names and texts in outputs: 中文 (the default) or English. One
/// type for every crate, so that a setting goes from the config to each model unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 简体中文.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `"zh"` or `"en"`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The text in this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The language of a locale string such as `zh_CN.UTF-8`, `en_US`, `C`: Chinese for `zh*`,
    /// English otherwise (a `C` locale is no sign of a Chinese reader).
    pub fn from_locale(locale: &str) -> Lang {
        // zh_CN, zh_TW, zh_HK…: Chinese; any other locale (C, POSIX, en_*, de_*…): English
        if locale.trim().to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

impl FromStr for Lang {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Lang, CoreError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "zh" | "cn" | "zh-cn" | "zh_cn" | "chinese" | "中文" => Ok(Lang::Zh),
            "en" | "en-us" | "en_us" | "english" => Ok(Lang::En),
            other => Err(CoreError::UnknownLang(other.to_string())),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_locales() {
        assert_eq!("中文".parse::<Lang>(), Ok(Lang::Zh));
        assert_eq!(" EN ".parse::<Lang>(), Ok(Lang::En));
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(Lang::from_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
        assert_eq!(Lang::from_locale("C.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("zh_CN.UTF-8"), Lang::Zh);
        assert_eq!(Lang::from_locale("zh_TW"), Lang::Zh);
        assert_eq!(Lang::from_locale("de_DE.UTF-8"), Lang::En);
        assert_eq!(Lang::En.to_string(), "en");
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!(Lang::En.pick("未知", "unknown"), "unknown");
    }
}
