//! Validated free-text values: names of people, firms, offices, matters.

use crate::Invalid;
use std::borrow::Cow;

/// A trimmed, non-empty, single-line text of bounded length without control
/// characters. `max` is in characters, not bytes.
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
        if s.chars().any(char::is_control) {
            return Err(Invalid::new(
                field.clone(),
                "invalid_characters",
                format!("{field} must be a single line without control characters"),
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

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_bounded_and_clean(s in "\\PC{0,150}", max in 1usize..120) {
            if let Ok(t) = ShortText::parse("name", &s, max) {
                prop_assert!(!t.as_str().is_empty());
                prop_assert_eq!(t.as_str(), t.as_str().trim());
                prop_assert!(t.as_str().chars().count() <= max);
                prop_assert!(!t.as_str().chars().any(char::is_control));
            }
        }
    }
}
