//! S3: the password policy, checked on every path that sets a password.

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Never below [`PasswordPolicy::FLOOR`].
    pub min_length: i64,
    /// How many of the four classes (lower, upper, digit, symbol) must appear.
    pub min_classes: i64,
    /// How many earlier passwords may not be reused.
    pub history: i64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            min_classes: 3,
            history: 5,
        }
    }
}

impl PasswordPolicy {
    pub const FLOOR: i64 = 8;
    /// Longer than any passphrase a person types; bounds the hashing work.
    pub const MAX_LENGTH: usize = 256;

    /// Checks the settings themselves (S3: the minimum never below 8).
    pub fn validate(&self) -> Result<(), Invalid> {
        if !(Self::FLOOR..=128).contains(&self.min_length) {
            return Err(Invalid::new(
                "password_policy.min_length",
                "out_of_range",
                "the minimum password length must be between 8 and 128",
            ));
        }
        if !(1..=4).contains(&self.min_classes) {
            return Err(Invalid::new(
                "password_policy.min_classes",
                "out_of_range",
                "the number of required character classes must be between 1 and 4",
            ));
        }
        if !(0..=24).contains(&self.history) {
            return Err(Invalid::new(
                "password_policy.history",
                "out_of_range",
                "the number of remembered passwords must be between 0 and 24",
            ));
        }
        Ok(())
    }

    /// S3: length and character classes. Reuse is checked by the caller
    /// against stored hashes.
    pub fn check(&self, password: &str) -> Result<(), Invalid> {
        let len = password.chars().count() as i64;
        if len < self.min_length {
            return Err(Invalid::new(
                "password",
                "password_too_short",
                format!("the password must have at least {} characters", self.min_length),
            ));
        }
        if password.len() > Self::MAX_LENGTH {
            return Err(Invalid::new(
                "password",
                "password_too_long",
                format!("the password must have at most {} bytes", Self::MAX_LENGTH),
            ));
        }
        let classes = character_classes(password);
        if classes < self.min_classes {
            return Err(Invalid::new(
                "password",
                "password_too_simple",
                format!(
                    "the password must mix at least {} of: lower-case letters, upper-case letters, digits, symbols (it has {classes})",
                    self.min_classes
                ),
            ));
        }
        Ok(())
    }

    /// A sentence for the set-password page.
    pub fn describe(&self) -> String {
        format!(
            "At least {} characters, mixing at least {} of: lower-case letters, upper-case letters, digits, symbols. None of your last {} passwords.",
            self.min_length, self.min_classes, self.history
        )
    }
}

/// How many of the four classes appear in `s`.
pub fn character_classes(s: &str) -> i64 {
    let lower = s.chars().any(char::is_lowercase);
    let upper = s.chars().any(char::is_uppercase);
    let digit = s.chars().any(|c| c.is_ascii_digit());
    let symbol = s.chars().any(|c| !c.is_alphanumeric());
    [lower, upper, digit, symbol].into_iter().filter(|b| *b).count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_policy() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("short1A!").unwrap_err().code, "password_too_short");
        assert_eq!(p.check("alllowercaseletters").unwrap_err().code, "password_too_simple");
        assert!(p.check("Correct horse 9").is_ok());
        assert_eq!(p.check(&"Aa1!".repeat(70)).unwrap_err().code, "password_too_long");
    }

    #[test]
    fn settings_floor() {
        assert!(PasswordPolicy {
            min_length: 7,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(PasswordPolicy {
            min_length: 8,
            ..Default::default()
        }
        .validate()
        .is_ok());
        assert!(PasswordPolicy {
            min_classes: 5,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(PasswordPolicy {
            min_classes: 0,
            ..Default::default()
        }
        .validate()
        .is_err());
    }

    proptest! {
        #[test]
        fn accepted_passwords_meet_every_requirement(pw in "\\PC{0,40}", min_length in 8i64..20, min_classes in 1i64..=4) {
            let p = PasswordPolicy { min_length, min_classes, history: 5 };
            match p.check(&pw) {
                Ok(()) => {
                    prop_assert!(pw.chars().count() as i64 >= min_length);
                    prop_assert!(character_classes(&pw) >= min_classes);
                }
                Err(e) => prop_assert!(e.code.starts_with("password_")),
            }
        }
    }
}
