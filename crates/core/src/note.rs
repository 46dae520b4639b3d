//! A remark for people in both languages, so a note a model makes (why a scheme has empty
//! segments, why a grading did not run) reads in the report's language whatever language the
//! run was in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Lang;

/// A remark in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(from = "NoteRepr")]
pub struct Note {
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
}

/// A note as read: both languages, or one text (summaries written before notes had two).
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
enum NoteRepr {
    Both { zh: String, en: String },
    One(String),
}

impl From<NoteRepr> for Note {
    fn from(r: NoteRepr) -> Note {
        match r {
            NoteRepr::Both { zh, en } => Note { zh, en },
            NoteRepr::One(t) => Note {
                zh: t.clone(),
                en: t,
            },
        }
    }
}

impl Note {
    /// A note from its two texts.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Note {
        Note {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The text in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }
}

/// The English text (for logs and errors).
impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_languages_or_one_text() {
        let n = Note::new("说明", "note");
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, r#"{"zh":"说明","en":"note"}"#);
        assert_eq!(serde_json::from_str::<Note>(&json).unwrap(), n);
        let old: Note = serde_json::from_str(r#""an old note""#).unwrap();
        assert_eq!(old.text(Lang::Zh), "an old note");
        assert_eq!(n.text(Lang::Zh), "说明");
        assert_eq!(n.to_string(), "note");
    }
}
