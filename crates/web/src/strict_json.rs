//! Reading a JSON body the way its OpenAPI schema describes it.
//!
//! The document we serve is JSON Schema, and a client (or schemathesis)
//! reads it that way. serde's derived `Deserialize` differs in two places:
//!
//! - a struct also takes a JSON *array* of its fields in order, so
//!   `{"sessions": [30, 12]}` would be taken for `{"sessions": {…}}`; the
//!   schema says `type: object`, so an array is refused;
//! - an integer refuses `30.0`, which JSON Schema's `type: integer` takes
//!   (any number without a fractional part); it is taken here.
//!
//! [`from_value`] deserialises from a parsed [`Value`] through [`Strict`],
//! which differs from `&Value`'s own deserializer in exactly those two
//! places, at every depth. Errors carry the path of the field at fault.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Unexpected, Visitor};
use serde_json::{Error, Number, Value};

/// Deserialises `T` from `value` with JSON Schema's reading of objects and
/// integers; the error names the path, e.g. `lockout.window_minutes: …`.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, serde_path_to_error::Error<Error>> {
    serde_path_to_error::deserialize(Strict(value))
}

/// A borrowed JSON value read strictly (see the module documentation).
#[derive(Clone, Copy)]
pub struct Strict<'a>(pub &'a Value);

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (_, Some(i), _) => Unexpected::Signed(i),
            (_, _, Some(f)) => Unexpected::Float(f),
            _ => Unexpected::Other("number"),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A whole number written with a fraction part (`30.0`) as an integer;
/// `None` for anything else.
fn whole(n: &Number) -> Option<Whole> {
    if n.is_u64() || n.is_i64() {
        return None;
    }
    let f = n.as_f64()?;
    // 2^63 and 2^64 as f64 are exact; the bounds keep the casts lossless.
    if f.fract() != 0.0 || !f.is_finite() {
        None
    } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        Some(Whole::Unsigned(f as u64))
    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        Some(Whole::Signed(f as i64))
    } else {
        None
    }
}

enum Whole {
    Unsigned(u64),
    Signed(i64),
}

impl<'a> Strict<'a> {
    fn integer<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Number(n) => match whole(n) {
                Some(Whole::Unsigned(u)) => visitor.visit_u64(u),
                Some(Whole::Signed(i)) => visitor.visit_i64(i),
                None => self.deserialize_any(visitor),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn object<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }
}

impl<'de> IntoDeserializer<'de, Error> for Strict<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! integers {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.integer(visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for Strict<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => SeqDeserializer::new(items.iter().map(Strict)).deserialize_any(visitor),
            Value::Object(map) => MapDeserializer::new(map.iter().map(|(k, v)| (k.as_str(), Strict(v)))).deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.object(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.object(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            // Externally tagged data-carrying variants: none of our bodies
            // has one inside; serde_json's own reading is right for them.
            other => other.clone().deserialize_enum(name, variants, visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    integers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    }

    serde::forward_to_deserialize_any! {
        bool f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        minutes: i64,
        #[serde(default)]
        hours: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, rename_all = "snake_case")]
    enum Kind {
        Lead,
        Participant,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        kind: Option<Kind>,
        #[serde(default, deserialize_with = "crate::extract::nullable")]
        cleared: Option<Option<String>>,
    }

    fn read(v: Value) -> Result<Body, String> {
        from_value::<Body>(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn takes_what_serde_json_takes() {
        let v = json!({"name": "a", "inner": {"minutes": 5}, "list": [{"minutes": -1, "hours": 2}],
                       "kind": "participant", "cleared": null});
        assert_eq!(read(v.clone()).unwrap(), serde_json::from_value::<Body>(v).unwrap());
        let absent = read(json!({"name": "a"})).unwrap();
        assert_eq!(absent.cleared, None);
        assert_eq!(read(json!({"name": "a", "cleared": "x"})).unwrap().cleared, Some(Some("x".into())));
        assert_eq!(read(json!({"name": "a", "cleared": null})).unwrap().cleared, Some(None));
    }

    #[test]
    fn refuses_an_array_where_an_object_is_meant() {
        let e = read(json!({"name": "a", "inner": [5]})).unwrap_err();
        assert!(e.starts_with("inner: invalid type: sequence"), "{e}");
        let e = read(json!({"name": "a", "list": [[5]]})).unwrap_err();
        assert!(e.starts_with("list[0]: invalid type: sequence"), "{e}");
        let e = from_value::<Body>(&json!(["a"])).unwrap_err().to_string();
        assert!(e.contains("invalid type: sequence"), "{e}");
        // serde_json itself takes these: that is why this module exists.
        assert!(serde_json::from_value::<Body>(json!({"name": "a", "inner": [5]})).is_ok());
    }

    #[test]
    fn takes_whole_numbers_written_with_a_fraction() {
        let b = read(json!({"name": "a", "inner": {"minutes": 502.0, "hours": 3.0}})).unwrap();
        assert_eq!(
            b.inner,
            Some(Inner {
                minutes: 502,
                hours: Some(3)
            })
        );
        assert_eq!(
            read(json!({"name": "a", "inner": {"minutes": -7.0}}))
                .unwrap()
                .inner
                .unwrap()
                .minutes,
            -7
        );
    }

    #[test]
    fn refuses_fractions_and_out_of_range_integers() {
        for bad in [json!(1.5), json!(-0.25), json!(1e300), json!("5"), json!(true), json!(null)] {
            let e = read(json!({"name": "a", "inner": {"minutes": bad.clone()}})).unwrap_err();
            assert!(e.starts_with("inner.minutes: invalid"), "{bad}: {e}");
        }
        let e = read(json!({"name": "a", "inner": {"minutes": 1, "hours": 4294967296.0}})).unwrap_err();
        assert!(e.starts_with("inner.hours: invalid value"), "{e}");
        let e = read(json!({"name": "a", "inner": {"minutes": 1, "hours": -1.0}})).unwrap_err();
        assert!(e.starts_with("inner.hours: invalid value"), "{e}");
    }

    #[test]
    fn keeps_unknown_field_and_enum_errors() {
        let e = read(json!({"name": "a", "surprise": 1})).unwrap_err();
        assert!(e.contains("unknown field `surprise`"), "{e}");
        let e = read(json!({"name": "a", "kind": "owner"})).unwrap_err();
        assert!(e.starts_with("kind: unknown variant `owner`"), "{e}");
        let e = read(json!({"name": 5})).unwrap_err();
        assert!(e.starts_with("name: invalid type: integer `5`, expected a string"), "{e}");
    }

    proptest! {
        /// On bodies without arrays-for-objects or fractional integers, the
        /// strict reading and serde_json agree on every i64.
        #[test]
        fn agrees_with_serde_json_on_integers(m in any::<i64>(), h in any::<u32>()) {
            let v = json!({"name": "n", "inner": {"minutes": m, "hours": h}});
            prop_assert_eq!(read(v.clone()).unwrap(), serde_json::from_value::<Body>(v).unwrap());
        }

        #[test]
        fn whole_floats_read_as_their_integer(m in -(1i64 << 52)..(1i64 << 52)) {
            let v = json!({"name": "n", "inner": {"minutes": m as f64}});
            prop_assert_eq!(read(v).unwrap().inner.unwrap().minutes, m);
        }
    }
}
