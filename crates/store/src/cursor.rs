//! P1's keyset pages: the opaque `next` cursor of the user list.
//!
//! A cursor is the sort key and id of the last row of a page; the next page
//! starts strictly after it, as an index range, so page 1,000 costs what
//! page 1 costs. On the wire it is base64url (no padding) of a small JSON
//! array `[sort, descending, key…, id]`; clients treat it as opaque.

use crate::users::SortKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// One value of a sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyValue {
    Text(String),
    Int(i64),
}

/// Where a page of the user list starts: after the row with this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort: SortKey,
    pub descending: bool,
    /// The sort key's values, then the row's id unless the key is unique
    /// (email).
    pub key: Vec<KeyValue>,
}

/// A cursor that is not one of ours, or was made for another sort.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCursor;

fn tag(sort: SortKey) -> &'static str {
    match sort {
        SortKey::Name => "n",
        SortKey::Email => "e",
        SortKey::LastSignIn => "s",
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        let mut parts = vec![json!(tag(self.sort)), json!(self.descending)];
        parts.extend(self.key.iter().map(|k| match k {
            KeyValue::Text(s) => json!(s),
            KeyValue::Int(i) => json!(i),
        }));
        URL_SAFE_NO_PAD.encode(Value::Array(parts).to_string())
    }

    /// Reads a cursor made by [`Cursor::encode`] for this sort and order.
    pub fn decode(s: &str, sort: SortKey, descending: bool) -> Result<Self, BadCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| BadCursor)?;
        let Ok(Value::Array(parts)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(BadCursor);
        };
        if parts.first().and_then(Value::as_str) != Some(tag(sort)) || parts.get(1).and_then(Value::as_bool) != Some(descending) {
            return Err(BadCursor);
        }
        let text = |v: &Value| v.as_str().map(|s| KeyValue::Text(s.to_owned()));
        let key: Option<Vec<KeyValue>> = match (sort, &parts[2..]) {
            (SortKey::Name, [last, first, id]) => [text(last), text(first), text(id)].into_iter().collect(),
            (SortKey::Email, [email]) => [text(email)].into_iter().collect(),
            (SortKey::LastSignIn, [at, id]) => [at.as_i64().map(KeyValue::Int), text(id)].into_iter().collect(),
            _ => None,
        };
        Ok(Self {
            sort,
            descending,
            key: key.ok_or(BadCursor)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_for_its_own_sort_and_order() {
        let c = Cursor {
            sort: SortKey::LastSignIn,
            descending: true,
            key: vec![KeyValue::Int(-1), KeyValue::Text("u_1".into())],
        };
        let s = c.encode();
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{s}");
        assert_eq!(Cursor::decode(&s, SortKey::LastSignIn, true), Ok(c));
        assert_eq!(Cursor::decode(&s, SortKey::LastSignIn, false), Err(BadCursor));
        assert_eq!(Cursor::decode(&s, SortKey::Name, true), Err(BadCursor));
        assert_eq!(Cursor::decode("not a cursor", SortKey::Name, false), Err(BadCursor));
        let forged = URL_SAFE_NO_PAD.encode(r#"["n",false,1,"x","y"]"#);
        assert_eq!(Cursor::decode(&forged, SortKey::Name, false), Err(BadCursor));
    }
}
