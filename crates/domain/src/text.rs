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
    // ASCII, most of every name and email read back: only its controls
    // are refused (the plain space is allowed), with no table lookup.
    if c.is_ascii() {
        return c.is_ascii_control();
    }
    match c.general_category() {
        Control | Format | LineSeparator | ParagraphSeparator | PrivateUse | Surrogate | Unassigned => true,
        SpaceSeparator => c != ' ',
        _ => matches!(c, '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' | '\u{034F}'),
    }
}

/// What a validated text value offers besides its constructor, which stays
/// the one place its rule lives: a read-only view of the text (`as_str`,
/// `AsRef<str>`, `Deref<Target = str>` — there is no `DerefMut`, so the
/// text cannot change under the rule), `Display`, comparison with plain
/// text, and serde as a plain string. Deserializing goes through `$parse`,
/// so a text the rule refuses is a serde error, never a value.
macro_rules! text_value {
    ($ty:ty, |$s:ident| $parse:expr) => {
        impl $ty {
            pub fn as_str(&self) -> &str {
                self.0.as_ref()
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::ops::Deref for $ty {
            type Target = str;

            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<String> for $ty {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other.as_str()
            }
        }

        impl $crate::__serde::Serialize for $ty {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let $s = <std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                $parse.map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}
pub(crate) use text_value;

/// A trimmed, non-empty, single-line text of bounded length without control,
/// format or invisible characters (S8). `max` is in characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShortText(String);

impl ShortText {
    /// The widest bound any field uses.
    pub const MAX_CHARS: usize = 200;

    pub fn parse(field: impl Into<Cow<'static, str>>, input: &str, max: usize) -> Result<Self, Invalid> {
        let s = input.trim();
        Self::check(field.into(), s, max)?;
        Ok(Self(s.to_owned()))
    }

    /// [`ShortText::parse`] of an owned text (a row read back): the same
    /// rule, keeping the text's buffer when there is nothing to trim.
    pub fn parse_owned(field: impl Into<Cow<'static, str>>, input: String, max: usize) -> Result<Self, Invalid> {
        if input.trim().len() != input.len() {
            return Self::parse(field, &input, max);
        }
        Self::check(field.into(), &input, max)?;
        Ok(Self(input))
    }

    /// The rule, over a trimmed text.
    fn check(field: Cow<'static, str>, s: &str, max: usize) -> Result<(), Invalid> {
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
        Ok(())
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

// A `ShortText`'s bound is the caller's: read back, the text is checked
// against the widest one (`ShortText::MAX_CHARS`).
text_value!(ShortText, |s| ShortText::parse("text", &s, ShortText::MAX_CHARS));

/// A `ShortText` with a bound of its own: the type, its `parse` and
/// `parse_owned` at that bound, and its text value (read back under
/// `field`).
macro_rules! bounded_text {
    ($(#[$m:meta])* $name:ident, $max:expr, $field:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(ShortText);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &'static str, input: &str) -> Result<Self, Invalid> {
                ShortText::parse(field, input, Self::MAX_CHARS).map(Self)
            }

            /// `parse` of an owned text (a row read back).
            pub fn parse_owned(field: &'static str, input: String) -> Result<Self, Invalid> {
                ShortText::parse_owned(field, input, Self::MAX_CHARS).map(Self)
            }

            pub fn into_string(self) -> String {
                self.0.into_string()
            }
        }

        text_value!($name, |s| $name::parse($field, &s));
    };
}

bounded_text!(
    /// A person's first or last name.
    PersonName,
    100,
    "name"
);

bounded_text!(
    /// The name of a firm, office, matter or approval route, or the company's
    /// name in the settings: one rule for all five (the `ShortText` rule, at
    /// most [`EntityName::MAX_CHARS`] characters). `field` names the input it
    /// came from in the error (`name`, `company_name`).
    EntityName,
    200,
    "name"
);

/// The lower-cased form used for case-insensitive sorting, searching and
/// uniqueness of names.
pub fn fold(s: &str) -> String {
    s.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    /// The ASCII shortcut answers what the general category does.
    #[test]
    fn ascii_is_refused_exactly_by_its_general_category() {
        use unicode_properties::{GeneralCategory::*, UnicodeGeneralCategory};
        for c in (0u8..=127).map(char::from) {
            let by_category = match c.general_category() {
                Control | Format | LineSeparator | ParagraphSeparator | PrivateUse | Surrogate | Unassigned => true,
                SpaceSeparator => c != ' ',
                _ => false,
            };
            assert_eq!(super::is_invisible_or_spoofing(c), by_category, "{:?}", c);
        }
    }

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

    #[test]
    fn names_read_as_text_and_serialize_as_plain_strings() {
        let n = PersonName::parse("first_name", " Zoë ").unwrap();
        assert_eq!(n.to_string(), "Zoë");
        assert_eq!(n, "Zoë");
        assert_eq!(format!("{n} Lee"), "Zoë Lee");
        assert_eq!(serde_json::to_string(&n).unwrap(), r#""Zoë""#);
        assert_eq!(serde_json::from_str::<PersonName>(r#""Zoë ""#).unwrap(), n);
        assert!(serde_json::from_str::<PersonName>(r#""""#).is_err());
        assert!(serde_json::from_str::<PersonName>(r#""Ann\u202e""#).is_err());
        let t = ShortText::parse("name", "Firm", 10).unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), r#""Firm""#);
        assert!(serde_json::from_str::<ShortText>(&format!("{:?}", "x".repeat(ShortText::MAX_CHARS + 1))).is_err());
    }

    /// Firm, office, matter and route names and the company name share
    /// one rule; the field in the error is the one the caller names, and
    /// the codes and messages are the `ShortText` ones the API has always
    /// answered.
    #[test]
    fn entity_names_follow_the_short_text_rule_at_200_characters() {
        assert_eq!(EntityName::MAX_CHARS, 200);
        let n = EntityName::parse("name", "  Smith & Partners LLP ").unwrap();
        assert_eq!(n.as_str(), "Smith & Partners LLP");
        assert!(EntityName::parse("name", &"é".repeat(200)).is_ok());

        let e = EntityName::parse("name", " \t ").unwrap_err();
        assert_eq!((e.field.as_ref(), e.code), ("name", "required"));
        assert_eq!(e.message, "name must not be empty");

        let e = EntityName::parse("company_name", &"é".repeat(201)).unwrap_err();
        assert_eq!((e.field.as_ref(), e.code), ("company_name", "too_long"));
        assert_eq!(e.message, "company_name has at most 200 characters");

        let e = EntityName::parse("name", "North\u{202E}South").unwrap_err();
        assert_eq!((e.field.as_ref(), e.code), ("name", "invalid_characters"));
        assert!(e.message.contains("U+202E"), "{}", e.message);
        for bad in ["Office\nB", "Office\u{200B}", "Firm\u{00A0}LLP", "\u{2066}Route"] {
            assert_eq!(EntityName::parse("name", bad).unwrap_err().code, "invalid_characters", "{bad:?}");
        }
        for good in [
            "Head Office",
            "Müller & Söhne",
            "東京オフィス",
            "Matter 2026/14 – Smith v. Jones",
            "R",
        ] {
            assert!(EntityName::parse("name", good).is_ok(), "{good:?}");
        }

        // Read back: the same rule, the buffer kept when nothing is trimmed.
        assert_eq!(EntityName::parse_owned("name", " Firm ".into()), EntityName::parse("name", "Firm"));
        assert_eq!(EntityName::parse_owned("name", String::new()).unwrap_err().code, "required");
        assert_eq!(EntityName::parse("name", "Firm").unwrap().into_string(), "Firm");
    }

    #[test]
    fn entity_names_read_as_text_and_serialize_as_plain_strings() {
        let n = EntityName::parse("name", " Head Office ").unwrap();
        assert_eq!(n.to_string(), "Head Office");
        assert_eq!(n, "Head Office");
        assert_eq!(n, String::from("Head Office"));
        assert_eq!(format!("{n}, level 2"), "Head Office, level 2");
        assert_eq!(&n[..4], "Head");
        assert_eq!(fold(&n), "head office");
        assert_eq!(serde_json::to_string(&n).unwrap(), r#""Head Office""#);
        assert_eq!(serde_json::from_str::<EntityName>(r#"" Head Office""#).unwrap(), n);
        assert!(serde_json::from_str::<EntityName>(r#""  ""#).is_err());
        assert!(serde_json::from_str::<EntityName>(&format!("{:?}", "x".repeat(201))).is_err());
        assert!(serde_json::from_str::<EntityName>(r#""A\u200bB""#).is_err());
        assert!(serde_json::from_str::<EntityName>("3").is_err());
    }

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_bounded_and_clean(s in "\\PC{0,150}", max in 1usize..120) {
            prop_assert_eq!(ShortText::parse_owned("name", s.clone(), max), ShortText::parse("name", &s, max));
            prop_assert_eq!(ShortText::parse_owned("name", format!("{s} "), max), ShortText::parse("name", &s, max));
            if let Ok(t) = ShortText::parse("name", &s, max) {
                prop_assert!(!t.as_str().is_empty());
                prop_assert_eq!(t.as_str(), t.as_str().trim());
                prop_assert!(t.as_str().chars().count() <= max);
                prop_assert!(!t.as_str().chars().any(is_invisible_or_spoofing));
            }
        }

        /// An entity name is exactly a `ShortText` of at most 200
        /// characters: the same texts accepted, the same errors otherwise.
        #[test]
        fn entity_name_is_the_short_text_rule(s in "\\PC{0,210}|[ a\\u{200b}]{0,4}|.{195,205}") {
            let as_text = ShortText::parse("name", &s, EntityName::MAX_CHARS);
            let named = EntityName::parse("name", &s);
            prop_assert_eq!(named.clone().map(EntityName::into_string), as_text.map(ShortText::into_string));
            prop_assert_eq!(EntityName::parse_owned("name", s.clone()), named);
        }
    }
}
