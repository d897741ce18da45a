//! DIR1: SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON
//! representation: `add`, `replace` and `remove`, with and without `path`,
//! in the spellings Microsoft Entra ID and Okta send (`"Replace"`, a
//! no-path `value` object whose keys are paths, `"False"` strings — the
//! latter are read by whoever validates the result, see [`super::boolean`]).
//! The caller validates the patched representation as a whole afterwards,
//! so a patch is all or nothing.

use super::filter::{is_core_schema, CompareOp, Filter, Literal, PatchPath};
use super::{ScimProblem, ScimType};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// The most operations one request may carry.
pub const MAX_OPERATIONS: usize = 1000;

fn get_ci<'v>(obj: &'v Value, key: &str) -> Option<&'v Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

/// The key of `obj` equal to `key` ignoring case, or `key` itself.
fn key_in(obj: &Map<String, Value>, key: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

fn syntax(message: impl Into<String>) -> ScimProblem {
    ScimProblem::new(ScimType::InvalidSyntax, message)
}

/// Reads a PatchOp request body.
pub fn parse(body: &Value) -> Result<Vec<PatchOp>, ScimProblem> {
    let schemas = get_ci(body, "schemas").and_then(Value::as_array);
    if !schemas.is_some_and(|s| {
        s.iter()
            .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(super::PATCH_SCHEMA)))
    }) {
        return Err(syntax(format!("a PATCH body names the schema {}", super::PATCH_SCHEMA)));
    }
    let ops = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| syntax("a PATCH body has an Operations array"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(syntax(format!("a PATCH body has 1 to {MAX_OPERATIONS} operations")));
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let kind = match get_ci(op, "op").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                Some("add") => PatchOpKind::Add,
                Some("replace") => PatchOpKind::Replace,
                Some("remove") => PatchOpKind::Remove,
                _ => return Err(syntax(format!("Operations[{i}].op must be add, replace or remove"))),
            };
            let path = match get_ci(op, "path") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => {
                    Some(PatchPath::parse(s).map_err(|e| ScimProblem::new(ScimType::InvalidPath, format!("Operations[{i}].path: {e}")))?)
                }
                Some(_) => {
                    return Err(ScimProblem::new(
                        ScimType::InvalidPath,
                        format!("Operations[{i}].path must be a string"),
                    ))
                }
            };
            let value = get_ci(op, "value").cloned();
            match (kind, &path, &value) {
                (PatchOpKind::Remove, None, _) => {
                    return Err(ScimProblem::new(
                        ScimType::NoTarget,
                        format!("Operations[{i}]: remove needs a path"),
                    ))
                }
                (PatchOpKind::Add | PatchOpKind::Replace, _, None) => {
                    return Err(syntax(format!("Operations[{i}]: {kind:?} needs a value").to_lowercase()))
                }
                (PatchOpKind::Add | PatchOpKind::Replace, None, Some(v)) if !v.is_object() => {
                    return Err(syntax(format!(
                        "Operations[{i}]: without a path, the value is an object of attributes"
                    )))
                }
                _ => {}
            }
            Ok(PatchOp { op: kind, path, value })
        })
        .collect()
}

/// Applies every operation in order to `resource`.
pub fn apply(resource: &mut Value, ops: &[PatchOp]) -> Result<(), ScimProblem> {
    for op in ops {
        match (&op.path, &op.value) {
            (Some(path), value) => apply_path(resource, op.op, path, value.as_ref())?,
            (None, Some(Value::Object(attrs))) => {
                for (key, value) in attrs {
                    if key.eq_ignore_ascii_case(super::ENTERPRISE_SCHEMA) && value.is_object() {
                        // `{"urn:…:enterprise:2.0:User": {"department": "…"}}`
                        for (sub, v) in value.as_object().into_iter().flatten() {
                            let path = PatchPath::parse(&format!("{key}:{sub}"))
                                .map_err(|e| ScimProblem::new(ScimType::InvalidPath, e.message))?;
                            apply_path(resource, op.op, &path, Some(v))?;
                        }
                        continue;
                    }
                    let path = PatchPath::parse(key).map_err(|e| ScimProblem::new(ScimType::InvalidPath, format!("{key}: {e}")))?;
                    apply_path(resource, op.op, &path, Some(value))?;
                }
            }
            _ => return Err(syntax("an operation without a path needs an object value")),
        }
    }
    Ok(())
}

/// The object that holds the path's attribute: the resource, or its
/// extension object (made when adding).
fn holder<'v>(resource: &'v mut Value, path: &PatchPath, create: bool) -> Option<&'v mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    match &path.attr.urn {
        Some(urn) if !is_core_schema(urn) => {
            let key = root.keys().find(|k| k.eq_ignore_ascii_case(urn)).cloned();
            let key = match key {
                Some(k) => k,
                None if create => {
                    // Keep the canonical spelling of the enterprise URN.
                    let canonical = if urn.eq_ignore_ascii_case(super::ENTERPRISE_SCHEMA) {
                        super::ENTERPRISE_SCHEMA
                    } else {
                        urn
                    };
                    root.insert(canonical.to_owned(), Value::Object(Map::new()));
                    canonical.to_owned()
                }
                None => return None,
            };
            root.get_mut(&key)?.as_object_mut()
        }
        _ => Some(root),
    }
}

fn merge(target: &mut Value, value: &Value) {
    match (target, value) {
        (Value::Object(t), Value::Object(v)) => {
            for (k, v) in v {
                let key = key_in(t, k);
                t.insert(key, v.clone());
            }
        }
        (t, v) => *t = v.clone(),
    }
}

fn apply_path(resource: &mut Value, op: PatchOpKind, path: &PatchPath, value: Option<&Value>) -> Result<(), ScimProblem> {
    let create = op != PatchOpKind::Remove;
    let Some(obj) = holder(resource, path, create) else { return Ok(()) };
    let key = key_in(obj, &path.attr.name);
    match (&path.filter, &path.attr.sub) {
        (None, None) => match op {
            PatchOpKind::Remove => match (obj.get_mut(&key), value) {
                // Entra ID removes group members as `{"op": "Remove", "path":
                // "members", "value": [{"value": "<id>"}]}`: only those go.
                (Some(Value::Array(items)), Some(Value::Array(gone))) => {
                    items.retain(|i| !gone.iter().any(|g| same_element(i, g)));
                }
                _ => {
                    obj.remove(&key);
                }
            },
            PatchOpKind::Add => {
                let v = value.cloned().unwrap_or(Value::Null);
                match (obj.get_mut(&key), v) {
                    (Some(Value::Array(items)), Value::Array(new)) => {
                        for n in new {
                            if !items.contains(&n) {
                                items.push(n);
                            }
                        }
                    }
                    (Some(Value::Array(items)), n) => {
                        if !items.contains(&n) {
                            items.push(n);
                        }
                    }
                    (Some(existing @ Value::Object(_)), n @ Value::Object(_)) => merge(existing, &n),
                    (_, n) => {
                        obj.insert(key, n);
                    }
                }
            }
            PatchOpKind::Replace => {
                let v = value.cloned().unwrap_or(Value::Null);
                match obj.get_mut(&key) {
                    Some(existing @ Value::Object(_)) if v.is_object() => merge(existing, &v),
                    _ => {
                        obj.insert(key, v);
                    }
                }
            }
        },
        (None, Some(sub)) => {
            if op == PatchOpKind::Remove {
                if let Some(Value::Object(inner)) = obj.get_mut(&key) {
                    let sk = key_in(inner, sub);
                    inner.remove(&sk);
                }
                return Ok(());
            }
            let entry = obj.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                let sk = key_in(inner, sub);
                inner.insert(sk, value.cloned().unwrap_or(Value::Null));
            }
        }
        (Some(filter), _) => {
            let sub = path.sub.as_deref();
            let entry = obj.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                let one = entry.take();
                *entry = Value::Array(if one.is_null() { Vec::new() } else { vec![one] });
            }
            let Value::Array(items) = entry else { return Ok(()) };
            if op == PatchOpKind::Remove {
                match sub {
                    None => items.retain(|item| !filter.matches(item, &|_| false)),
                    Some(sub) => {
                        for item in items.iter_mut().filter(|i| filter.matches(i, &|_| false)) {
                            if let Value::Object(o) = item {
                                let sk = key_in(o, sub);
                                o.remove(&sk);
                            }
                        }
                    }
                }
                return Ok(());
            }
            let v = value.cloned().unwrap_or(Value::Null);
            let mut hit = false;
            for item in items.iter_mut().filter(|i| filter.matches(i, &|_| false)) {
                hit = true;
                match sub {
                    Some(sub) => {
                        if let Value::Object(o) = item {
                            let sk = key_in(o, sub);
                            o.insert(sk, v.clone());
                        }
                    }
                    None => merge(item, &v),
                }
            }
            if !hit {
                // Entra ID replaces `emails[type eq "work"].value` on users
                // who have no work address yet: the filter's equalities
                // describe the value to add.
                let Some(mut new) = element_from(filter) else {
                    return Err(ScimProblem::new(
                        ScimType::NoTarget,
                        format!("no value matches the filter {filter}"),
                    ));
                };
                match sub {
                    Some(sub) => {
                        new.insert(sub.to_owned(), v);
                    }
                    None => {
                        if let Value::Object(extra) = v {
                            new.extend(extra);
                        }
                    }
                }
                items.push(Value::Object(new));
            }
        }
    }
    Ok(())
}

/// Whether `item` of a multi-valued attribute is the one `gone` names:
/// equal `value`s when both have one, else equal as a whole.
fn same_element(item: &Value, gone: &Value) -> bool {
    match (get_ci(item, "value"), get_ci(gone, "value")) {
        (Some(a), Some(b)) => a == b,
        _ => item == gone,
    }
}

/// The element a filter of equalities (`type eq "work"`, joined by `and`)
/// describes, or `None` for any other filter.
fn element_from(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(p, CompareOp::Eq, lit) if p.urn.is_none() && p.sub.is_none() => {
            let v = match lit {
                Literal::Str(s) => Value::String(s.clone()),
                Literal::Bool(b) => Value::Bool(*b),
                Literal::Num(n) => serde_json::Number::from_f64(*n).map(Value::Number)?,
                Literal::Null => return None,
            };
            let mut m = Map::new();
            m.insert(p.name.clone(), v);
            Some(m)
        }
        Filter::And(a, b) => {
            let mut m = element_from(a)?;
            m.extend(element_from(b)?);
            Some(m)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [super::super::USER_SCHEMA],
            "userName": "bjensen@example.com",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]
        })
    }

    fn patch(body: Value) -> Value {
        let mut u = user();
        apply(&mut u, &parse(&body).unwrap()).unwrap();
        u
    }

    fn body(ops: Value) -> Value {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
    }

    #[test]
    fn entra_capitalised_ops_with_paths_and_string_booleans() {
        let u = patch(body(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Replace", "path": "name.givenName", "value": "Babs"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Legal"},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "babs@example.com"}
        ])));
        assert_eq!(u["active"], json!("False"));
        assert_eq!(u["name"]["givenName"], json!("Babs"));
        assert_eq!(u["name"]["familyName"], json!("Jensen"));
        assert_eq!(u[super::super::ENTERPRISE_SCHEMA]["department"], json!("Legal"));
        assert_eq!(u["emails"][0]["value"], json!("babs@example.com"));
        assert_eq!(u["emails"][0]["primary"], json!(true));
    }

    #[test]
    fn okta_replace_without_path() {
        let u = patch(body(
            json!([{"op": "replace", "value": {"active": false, "name": {"familyName": "Smith"}}}]),
        ));
        assert_eq!(u["active"], json!(false));
        assert_eq!(u["name"], json!({"givenName": "Barbara", "familyName": "Smith"}));
        let u = patch(body(
            json!([{"op": "add", "value": {"name.givenName": "B", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tax"}}}]),
        ));
        assert_eq!(u["name"]["givenName"], json!("B"));
        assert_eq!(u[super::super::ENTERPRISE_SCHEMA]["department"], json!("Tax"));
    }

    #[test]
    fn multi_valued_add_and_filtered_remove() {
        let u = patch(body(json!([
            {"op": "add", "path": "emails", "value": [{"value": "b@home.org", "type": "home"}]},
            {"op": "remove", "path": "emails[type eq \"work\"]"}
        ])));
        assert_eq!(u["emails"], json!([{"value": "b@home.org", "type": "home"}]));
        let mut g = json!({"displayName": "Legal", "members": [{"value": "1"}, {"value": "2"}]});
        let ops = parse(&body(json!([
            {"op": "Remove", "path": "members[value eq \"1\"]"},
            {"op": "Add", "path": "members", "value": [{"value": "3"}, {"value": "2"}]}
        ])))
        .unwrap();
        apply(&mut g, &ops).unwrap();
        assert_eq!(g["members"], json!([{"value": "2"}, {"value": "3"}]));
        // Entra ID's removal names the members in the value; the rest stay.
        let ops = parse(&body(json!([
            {"op": "Remove", "path": "members", "value": [{"value": "3"}]}
        ])))
        .unwrap();
        apply(&mut g, &ops).unwrap();
        assert_eq!(g["members"], json!([{"value": "2"}]));
        // Without a value, remove takes the whole attribute (RFC 7644 §3.5.2.2).
        let ops = parse(&body(json!([{"op": "remove", "path": "members"}]))).unwrap();
        apply(&mut g, &ops).unwrap();
        assert_eq!(g.get("members"), None);
    }

    #[test]
    fn bad_bodies_are_refused_with_their_scim_type() {
        let t = |b: Value| parse(&b).unwrap_err().scim_type;
        assert_eq!(t(json!({"Operations": []})), ScimType::InvalidSyntax);
        assert_eq!(t(body(json!([]))), ScimType::InvalidSyntax);
        assert_eq!(t(body(json!([{"op": "move", "path": "a"}]))), ScimType::InvalidSyntax);
        assert_eq!(t(body(json!([{"op": "remove"}]))), ScimType::NoTarget);
        assert_eq!(t(body(json!([{"op": "add", "path": "a"}]))), ScimType::InvalidSyntax);
        assert_eq!(t(body(json!([{"op": "add", "value": "x"}]))), ScimType::InvalidSyntax);
        assert_eq!(
            t(body(json!([{"op": "add", "path": "emails[type", "value": "x"}]))),
            ScimType::InvalidPath
        );
        let mut u = user();
        let ops = parse(&body(
            json!([{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "home"}]),
        ))
        .unwrap();
        assert_eq!(apply(&mut u, &ops).unwrap_err().scim_type, ScimType::NoTarget);
    }
}
