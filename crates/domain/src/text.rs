//! Validated free-text values: names of people, firms, offices, matters.

use crate::Invalid;
use std::borrow::Cow;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// S8: characters that change how text around them is shown, or show as
/// nothing: controls, format characters (bidi overrides such as U+202E,
/// zero-width spaces and joiners, U+2066 isolates), line and paragraph
/// separators, private-use and unassigned code points, spaces other than
/// the plain one, and the fillers that render blank. A name holding one can
/// pose as another in a list, an audit entry or an email greeting.
pub fn is_invisible_or_spoofing(c: char) -> bool {
    use GeneralCategory::*;
    match c.general_category() {
        Control | Format | LineSeparator | ParagraphSeparator | PrivateUse | Surrogate | Unassigned => true,
        SpaceSeparator => c != ' ',
        _ => matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' | '\u{034F}'),
    }
}

/// A trimmed, non-empty, single-line text of bounded length without control,
/// format or invisible characters (S8). `max` is in characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortText(String);

impl ShortText {
    pub fn parse(field: impl Into<Cow<'static, str>>, input: &str, max: usize) -> Result<Self, Invalid> {
        let field = field.into();
        let s = input.trim();
        if s.is_empty() {
            return Err(Invalid::new(field.clone(), "required", format!("{field} must not be empty")));
        }
        if s.chars().count() > max {
            return Err(Invalid::new(
                field.clone(),
                "too_long",
                format!("{field} has at most {max} characters"),
            ));
        }
        if let Some(c) = s.chars().find(|&c| is_invisible_or_spoofing(c)) {
            return Err(Invalid::new(
                field.clone(),
                "invalid_characters",
                format!(
                    "{field} must be a single line of visible characters (U+{:04X} is a control, format or invisible character)",
                    c as u32
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A person's first or last name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(ShortText);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &'static str, input: &str) -> Result<Self, Invalid> {
        ShortText::parse(field, input, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

/// The lower-cased form used for case-insensitive sorting, searching and
/// uniqueness of names.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_bounds() {
        assert_eq!(PersonName::parse("first_name", "  Ann ").unwrap().as_str(), "Ann");
        assert_eq!(PersonName::parse("first_name", "   ").unwrap_err().code, "required");
        assert_eq!(PersonName::parse("first_name", &"é".repeat(101)).unwrap_err().code, "too_long");
        assert!(PersonName::parse("first_name", &"é".repeat(100)).is_ok());
        assert_eq!(PersonName::parse("last_name", "a\nb").unwrap_err().code, "invalid_characters");
        assert_eq!(PersonName::parse("last_name", "O'Neil").unwrap().as_str(), "O'Neil");
    }

    /// S8: bidi overrides, isolates, zero-width and other invisible
    /// characters would let one name pose as another.
    #[test]
    fn invisible_and_bidi_characters_are_refused() {
        for bad in [
            "Ann\u{202E}eM",  // right-to-left override
            "Ann\u{200B}",    // zero-width space
            "\u{2066}Ann",    // left-to-right isolate
            "An\u{200D}n",    // zero-width joiner
            "An\u{FEFF}n",    // byte order mark
            "An\u{00AD}n",    // soft hyphen
            "Ann\u{2028}Lee", // line separator
            "Ann\u{00A0}Lee", // no-break space
            "Ann\u{3164}",    // Hangul filler
            "Ann\u{E000}",    // private use
            "Ann\u{061C}",    // Arabic letter mark
        ] {
            let e = PersonName::parse("first_name", bad).unwrap_err();
            assert_eq!(e.code, "invalid_characters", "{bad:?}");
        }
        // Real names in any script, with combining marks and apostrophes, pass.
        for good in [
            "José",
            "Jose\u{301}",
            "Zoë O'Brien-Smith",
            "李小龍",
            "Ngũgĩ wa Thiong'o",
            "Αλέξανδρος",
            "محمد",
            "Dvořák",
        ] {
            assert!(PersonName::parse("first_name", good).is_ok(), "{good:?}");
        }
    }

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_bounded_and_clean(s in "\\PC{0,150}", max in 1usize..120) {
            if let Ok(t) = ShortText::parse("name", &s, max) {
                prop_assert!(!t.as_str().is_empty());
                prop_assert_eq!(t.as_str(), t.as_str().trim());
                prop_assert!(t.as_str().chars().count() <= max);
                prop_assert!(!t.as_str().chars().any(is_invisible_or_spoofing));
            }
        }
    }
}
