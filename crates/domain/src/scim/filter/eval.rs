//! A filter's evaluation over a resource's JSON representation.

use super::{AttrPath, CompareOp, Filter, Literal};
use serde_json::Value;

impl Filter {
    /// Whether `resource` (a SCIM JSON representation) matches.
    pub fn matches(&self, resource: &Value, case_exact: &dyn Fn(&AttrPath) -> bool) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource, case_exact) && b.matches(resource, case_exact),
            Filter::Or(a, b) => a.matches(resource, case_exact) || b.matches(resource, case_exact),
            Filter::Not(a) => !a.matches(resource, case_exact),
            Filter::Present(path) => values(resource, path).iter().any(|v| !is_empty(v)),
            Filter::Compare(path, op, lit) => {
                let exact = case_exact(path);
                let found = values(resource, path);
                match op {
                    // `ne` holds when no value equals (an absent attribute included).
                    CompareOp::Ne => !found.iter().any(|v| compare(v, CompareOp::Eq, lit, exact)),
                    _ => found.iter().any(|v| compare(v, *op, lit, exact)),
                }
            }
            Filter::ValuePath(path, inner) => {
                let Some(attr) = attribute(resource, path) else { return false };
                let items: Vec<&Value> = match attr {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                items.into_iter().any(|item| inner.matches(item, case_exact))
            }
        }
    }

    /// The value of `attr eq "value"` when the whole filter is that (or
    /// starts with it under `and`): what an index can look up first.
    pub fn equality_on(&self, name: &str) -> Option<&str> {
        match self {
            Filter::Compare(p, CompareOp::Eq, Literal::Str(v)) if p.sub.is_none() && p.name.eq_ignore_ascii_case(name) => Some(v),
            Filter::And(a, b) => a.equality_on(name).or_else(|| b.equality_on(name)),
            _ => None,
        }
    }
}

/// The core User and Group schemas: a path qualified with them addresses a
/// top-level attribute.
pub fn is_core_schema(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(crate::scim::USER_SCHEMA) || urn.eq_ignore_ascii_case(crate::scim::GROUP_SCHEMA)
}

fn get_ci<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// The attribute `path.name` of `resource` (inside its extension object
/// when the path names an extension schema), without the sub-attribute.
fn attribute<'v>(resource: &'v Value, path: &AttrPath) -> Option<&'v Value> {
    let holder = match &path.urn {
        Some(urn) if !is_core_schema(urn) => get_ci(resource, urn)?,
        _ => resource,
    };
    get_ci(holder, &path.name)
}

/// Every value the path reaches: the sub-attribute of each element of a
/// multi-valued attribute, or `value` of complex elements when no
/// sub-attribute is named.
fn values<'v>(resource: &'v Value, path: &AttrPath) -> Vec<&'v Value> {
    let Some(attr) = attribute(resource, path) else { return Vec::new() };
    match (attr, &path.sub) {
        (Value::Array(items), Some(sub)) => items.iter().filter_map(|i| get_ci(i, sub)).collect(),
        (Value::Array(items), None) => items
            .iter()
            .filter_map(|i| if i.is_object() { get_ci(i, "value") } else { Some(i) })
            .collect(),
        (one, Some(sub)) => get_ci(one, sub).into_iter().collect(),
        (one, None) => vec![one],
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn compare(v: &Value, op: CompareOp, lit: &Literal, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (v, lit) {
        (Value::String(a), Literal::Str(b)) => {
            let (a, b) = if exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            return match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ordered(a.cmp(&b), op),
            };
        }
        (Value::Number(a), Literal::Num(b)) => match a.as_f64().and_then(|a| a.partial_cmp(b)) {
            Some(o) => o,
            None => return false,
        },
        (Value::Bool(a), Literal::Bool(b)) => {
            if a == b {
                Ordering::Equal
            } else {
                Ordering::Less
            }
        }
        (Value::Null, Literal::Null) => Ordering::Equal,
        _ => return false,
    };
    ordered(ordering, op)
}

fn ordered(o: std::cmp::Ordering, op: CompareOp) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => o == Equal,
        CompareOp::Ne => o != Equal,
        CompareOp::Gt => o == Greater,
        CompareOp::Ge => o != Less,
        CompareOp::Lt => o == Less,
        CompareOp::Le => o != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
