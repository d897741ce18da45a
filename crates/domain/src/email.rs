//! A user's email address, which is also their sign-in id (SPEC §1).

use crate::Invalid;

/// A syntactically valid email address, as typed (trimmed), with a
/// case-insensitive identity: two addresses that differ only in case are the
/// same sign-in id.
///
/// We accept the dot-atom form of RFC 5321 (what real corporate and law-firm
/// addresses use, apostrophes included: `o'brien@firm.example`) and refuse
/// quoted local parts, IP-literal domains and anything with spaces or
/// control characters: those are typos far more often than real addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

const LOCAL_SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        Self::check(s)?;
        Ok(Self(s.to_owned()))
    }

    /// [`Email::parse`] of an owned text (a row read back): the same rule,
    /// keeping the text's buffer when there is nothing to trim.
    pub fn parse_owned(input: String) -> Result<Self, Invalid> {
        if input.trim().len() != input.len() {
            return Self::parse(&input);
        }
        Self::check(&input)?;
        Ok(Self(input))
    }

    /// The rule, over a trimmed text.
    fn check(s: &str) -> Result<(), Invalid> {
        let bad = |msg: &str| {
            Err(Invalid::new(
                "email",
                "invalid_email",
                format!("'{}' is not a valid email address: {msg}", truncate(s)),
            ))
        };
        if s.is_empty() {
            return Err(Invalid::new("email", "required", "an email address is required"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(Invalid::new(
                "email",
                "too_long",
                format!("an email address has at most {} characters", Self::MAX_LEN),
            ));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return bad("it has no '@'");
        };
        if domain.contains('@') {
            return bad("it has more than one '@'");
        }
        if local.is_empty() || local.len() > 64 {
            return bad("the part before '@' must have 1 to 64 characters");
        }
        if !local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || LOCAL_SPECIALS.contains(c))
        {
            return bad("the part before '@' has a character that is not allowed");
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return bad("dots in the part before '@' must separate characters");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 {
            return bad("the domain needs a dot, as in firm.example");
        }
        for label in &labels {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return bad("the domain is not a valid host name");
            }
        }
        if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
            return bad("the domain is not a valid host name");
        }
        Ok(())
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// The case-folded form that identifies the sign-in id (what the
    /// store keeps as `email_norm` and looks addresses up by).
    pub fn normalized(&self) -> String {
        Self::normalize(&self.0)
    }

    /// [`Email::normalized`] of a text not parsed (yet): an address as a
    /// person typed it, trimmed and case-folded, to look an account up by.
    /// A text that is no address gives a key no stored address has.
    pub fn normalize(text: &str) -> String {
        text.trim().to_ascii_lowercase()
    }

    /// Whether `other` — another address, or one as a person typed it,
    /// surrounding spaces included — is this sign-in id: the same address
    /// up to case.
    pub fn is_same_address(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.trim())
    }
}

// The address as the user typed it (`as_str`, `Display`, serde).
crate::text::text_value!(Email, |s| Email::parse(&s));

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses_and_apostrophes() {
        for ok in [
            "a@b.co",
            "Jane.Lawyer@Firm.example",
            "o'brien@firm.example",
            "x+tag@sub.dept.example",
            "a_b-c@x-y.example",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "plain",
            "@firm.example",
            "a@",
            "a@b",
            "a@@b.co",
            "a@b@c.co",
            "a b@c.co",
            ".a@b.co",
            "a.@b.co",
            "a..b@c.co",
            "a@-b.co",
            "a@b-.co",
            "a@b..co",
            "a@1.2.3.4",
            "\"q\"@b.co",
            "a@b.co\n",
            "a\u{0}@b.co",
        ] {
            let trimmed_ok = bad == "a@b.co\n";
            assert_eq!(Email::parse(bad).is_ok(), trimmed_ok, "{bad:?}");
        }
        let long = format!("{}@firm.example", "a".repeat(65));
        assert!(Email::parse(&long).is_err());
        let very_long = format!("a@{}.example", "b.".repeat(130));
        assert_eq!(Email::parse(&very_long).unwrap_err().code, "too_long");
    }

    #[test]
    fn identity_is_case_insensitive_but_display_keeps_case() {
        let e = Email::parse("  Jane.DOE@Firm.Example ").unwrap();
        assert_eq!(e.as_str(), "Jane.DOE@Firm.Example");
        assert_eq!(e.normalized(), "jane.doe@firm.example");
        assert!(e.is_same_address(" jane.doe@FIRM.example"));
        assert!(e.is_same_address(&Email::parse("jane.doe@firm.example").unwrap()));
        assert!(!e.is_same_address("jane.do@firm.example"));
        // A typed text folds to the key of the address it would parse to.
        assert_eq!(Email::normalize("  Jane.DOE@Firm.Example "), e.normalized());
        assert_eq!(Email::normalize("ÄNN@Firm.Example"), "Änn@firm.example", "only ASCII is folded");
        assert_eq!(Email::normalize(" not an address "), "not an address");
    }

    #[test]
    fn reads_as_text_and_serializes_as_a_plain_string() {
        let e = Email::parse(" Ann.Lee@Firm.example ").unwrap();
        assert_eq!(e.to_string(), "Ann.Lee@Firm.example");
        assert_eq!(e, "Ann.Lee@Firm.example");
        assert_eq!(AsRef::<str>::as_ref(&e), "Ann.Lee@Firm.example");
        assert_eq!(serde_json::to_string(&e).unwrap(), r#""Ann.Lee@Firm.example""#);
        // Deserializing is parsing: trimmed, and refused when the rule refuses.
        let back: Email = serde_json::from_str(r#"" Ann.Lee@Firm.example""#).unwrap();
        assert_eq!(back, e);
        let err = serde_json::from_str::<Email>(r#""ann""#).unwrap_err();
        assert!(err.to_string().contains("'ann' is not a valid email address"), "{err}");
        assert!(serde_json::from_str::<Email>("7").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_valid_ones_round_trip(s in "\\PC{0,300}") {
            prop_assert_eq!(Email::parse_owned(s.clone()), Email::parse(&s));
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e.clone());
                prop_assert!(e.as_str().len() <= Email::MAX_LEN);
                prop_assert!(!e.as_str().contains(char::is_whitespace));
                prop_assert_eq!(Email::normalize(&s), e.normalized());
                prop_assert!(e.is_same_address(&e.normalized()));
            }
        }

        #[test]
        fn generated_valid_addresses_are_accepted(local in "[a-z0-9'+_-]{1,20}(\\.[a-z0-9]{1,5})?", domain in "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\\.[a-z]{2,6}") {
            let s = format!("{local}@{domain}");
            prop_assert!(Email::parse(&s).is_ok(), "{}", s);
        }
    }
}
