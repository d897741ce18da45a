//! Stored codes: enums whose values live in text columns (a message's
//! status, a lock's reason, …). Each is declared once with
//! [`stored_enum!`](crate::stored_enum), which gives it the stored text
//! (`as_str`, `Display`, `Serialize`) and the one way back (`parse`,
//! `FromStr`, `TryFrom<String>`, `Deserialize`), all spelling the same
//! codes. A code that names no variant is an [`UnknownCode`]; the store
//! reports it as corrupt data, never as a panic.

use std::fmt::Debug;

/// A stored text that names no variant of the enum it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not a known {what}")]
pub struct UnknownCode {
    /// What the value should have been ("mail status", "lock reason", …).
    pub what: &'static str,
    pub value: String,
}

impl UnknownCode {
    pub fn new(what: &'static str, value: &str) -> Self {
        Self {
            what,
            value: value.chars().take(60).collect(),
        }
    }
}

/// What every stored code offers; implemented by [`stored_enum!`](crate::stored_enum).
pub trait StoredCode: Copy + Eq + Debug + Sized + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// What a value of this type is, for messages.
    const WHAT: &'static str;
    fn as_str(self) -> &'static str;
    fn parse(s: &str) -> Result<Self, UnknownCode>;
}

/// Declares a stored code: an enum of unit variants, each with its text.
///
/// ```
/// domain::stored_enum! {
///     /// A colour.
///     pub enum Colour("colour") {
///         Red => "red",
///         Dark => "dark_blue",
///     }
/// }
/// assert_eq!(Colour::parse("dark_blue"), Ok(Colour::Dark));
/// assert_eq!(Colour::Red.to_string(), "red");
/// ```
#[macro_export]
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $ty:ident($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $ty {
            $($(#[$vmeta])* $variant),+
        }

        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }

            /// The variant a stored text names.
            pub fn parse(s: &str) -> ::std::result::Result<Self, $crate::code::UnknownCode> {
                match s {
                    $($text => Ok($ty::$variant),)+
                    _ => Err($crate::code::UnknownCode::new($what, s)),
                }
            }
        }

        impl $crate::code::StoredCode for $ty {
            const ALL: &'static [Self] = $ty::ALL;
            const WHAT: &'static str = $what;
            fn as_str(self) -> &'static str {
                $ty::as_str(self)
            }
            fn parse(s: &str) -> ::std::result::Result<Self, $crate::code::UnknownCode> {
                $ty::parse(s)
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::code::UnknownCode;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $ty::parse(s)
            }
        }

        impl ::std::convert::TryFrom<String> for $ty {
            type Error = $crate::code::UnknownCode;
            fn try_from(s: String) -> ::std::result::Result<Self, Self::Error> {
                $ty::parse(&s)
            }
        }

        impl $crate::__serde::Serialize for $ty {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                $ty::parse(&s).map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}

/// Checks that every variant of `T` goes to its text and back through
/// `parse`, `FromStr`, `TryFrom<String>`, `Display` and serde, that the
/// texts are distinct, and that an unknown text is refused. For the unit
/// tests of each stored code.
#[doc(hidden)]
pub fn assert_round_trips<T>()
where
    T: StoredCode
        + std::fmt::Display
        + std::str::FromStr<Err = UnknownCode>
        + TryFrom<String, Error = UnknownCode>
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let mut seen = std::collections::HashSet::new();
    for &v in T::ALL {
        let text = v.as_str();
        assert!(seen.insert(text), "{} {text:?} is spelled twice", T::WHAT);
        assert_eq!(T::parse(text), Ok(v), "{text}");
        assert_eq!(text.parse::<T>(), Ok(v), "{text}");
        assert_eq!(T::try_from(text.to_owned()), Ok(v), "{text}");
        assert_eq!(v.to_string(), text);
        let json = serde_json::to_string(&v).expect("serializes");
        assert_eq!(json, serde_json::to_string(text).expect("a string"));
        assert_eq!(serde_json::from_str::<T>(&json).expect("deserializes"), v);
    }
    for bad in ["", "unknown", "Queued ", "QUEUED"] {
        if T::ALL.iter().any(|v| v.as_str() == bad) {
            continue;
        }
        assert_eq!(T::parse(bad), Err(UnknownCode::new(T::WHAT, bad)));
        assert!(serde_json::from_str::<T>(&serde_json::to_string(bad).expect("a string")).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::stored_enum! {
        /// For the macro's own test.
        enum Sample("sample") {
            One => "one",
            TwoWords => "two_words",
        }
    }

    #[test]
    fn sample_round_trips_and_refuses_unknown_text() {
        assert_round_trips::<Sample>();
        assert_eq!(Sample::ALL, &[Sample::One, Sample::TwoWords]);
        let e = Sample::parse("three").unwrap_err();
        assert_eq!(e.to_string(), "'three' is not a known sample");
    }
}
