//! Opaque identifiers. They are UUIDv7 strings when Tracker makes them (time
//! ordered, so inserts stay local in the indexes), but callers must treat
//! them as opaque text: any string is a syntactically acceptable id and an
//! unknown one is simply "not found".

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(/// A user's id.
    UserId);
id_type!(/// A firm's id.
    FirmId);
id_type!(/// An office/region's id.
    OfficeId);
id_type!(/// A matter's id.
    MatterId);
id_type!(/// An approval route's id.
    RouteId);
