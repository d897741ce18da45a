//! DIR1: the SCIM filter language (RFC 7644 §3.4.2.2) and attribute paths.
//!
//! A small recursive-descent parser over the whole grammar: attribute
//! expressions (`eq ne co sw ew gt ge lt le`, `pr`), `and`/`or`/`not`,
//! grouping parentheses, value paths (`emails[type eq "work"]`) and
//! schema-qualified paths (`urn:…:User:department`). Precedence is `not`,
//! then `and`, then `or`. Operators and keywords are case-insensitive, as
//! Microsoft Entra ID and Okta spell them both ways. No crate on crates.io
//! parses SCIM filters into a tree we can turn into an index lookup (the
//! one there matches in memory, over serialised collections, and was last
//! released years ago), hence this one, with property tests.
//!
//! [`Filter::matches`] evaluates a filter against a resource's JSON
//! representation; multi-valued attributes match when any value does.

use serde_json::Value;
use std::fmt;

/// An attribute path: `[urn:]name[.sub]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The schema URN, lower-cased, when the path names one.
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A literal of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare(AttrPath, CompareOp, Literal),
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `attr[filter]`: some value of the multi-valued `attr` matches.
    ValuePath(AttrPath, Box<Filter>),
}

/// A PATCH path: `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`
/// (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[…].value`).
    pub sub: Option<String>,
}

/// Why a filter or path is not valid, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The longest filter we parse; directories send short ones.
pub const MAX_FILTER_LEN: usize = 4096;
/// How deep parentheses and value paths may nest.
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
}

fn err<T>(pos: usize, what: impl fmt::Display) -> Result<T, FilterError> {
    Err(FilterError {
        message: format!("{what} at character {}", pos + 1),
    })
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        while self.rest().starts_with([' ', '\t']) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// A keyword (`and`, `not`, an operator) followed by a space or `(`.
    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.get(..word.len()).is_some_and(|w| w.eq_ignore_ascii_case(word)) {
            let after = &rest[word.len()..];
            if after.is_empty() || after.starts_with([' ', '(', ')', ']']) {
                self.pos += word.len();
                return true;
            }
        }
        false
    }

    fn filter(&mut self) -> Result<Filter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(self.pos, "the filter nests too deeply");
        }
        let mut left = self.and_expr()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if save != self.pos && self.keyword("or") {
                self.require_space()?;
                let right = self.and_expr()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                break;
            }
        }
        self.depth -= 1;
        Ok(left)
    }

    fn require_space(&mut self) -> Result<(), FilterError> {
        let start = self.pos;
        self.skip_ws();
        if start == self.pos && !self.rest().starts_with('(') {
            return err(self.pos, "expected a space");
        }
        Ok(())
    }

    fn and_expr(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        loop {
            let save = self.pos;
            self.skip_ws();
            if save != self.pos && self.keyword("and") {
                self.require_space()?;
                let right = self.unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                self.pos = save;
                break;
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        self.skip_ws();
        if self.keyword("not") {
            self.skip_ws();
            if !self.eat('(') {
                return err(self.pos, "expected '(' after not");
            }
            let inner = self.filter()?;
            self.skip_ws();
            if !self.eat(')') {
                return err(self.pos, "expected ')'");
            }
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.eat('(') {
            let inner = self.filter()?;
            self.skip_ws();
            if !self.eat(')') {
                return err(self.pos, "expected ')'");
            }
            return Ok(inner);
        }
        let path = self.attr_path()?;
        if self.eat('[') {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return err(self.pos, "the filter nests too deeply");
            }
            let inner = self.filter()?;
            self.depth -= 1;
            self.skip_ws();
            if !self.eat(']') {
                return err(self.pos, "expected ']'");
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        if !self.rest().starts_with(' ') {
            return err(self.pos, "expected an operator after the attribute");
        }
        self.skip_ws();
        if self.keyword("pr") {
            return Ok(Filter::Present(path));
        }
        let op = self.compare_op()?;
        if !self.rest().starts_with(' ') {
            return err(self.pos, "expected a space and a value after the operator");
        }
        self.skip_ws();
        let at = self.pos;
        let value = self.literal()?;
        if matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le) && matches!(value, Literal::Bool(_) | Literal::Null)
        {
            return err(at, "gt, ge, lt and le compare strings, numbers and dates, not true, false or null");
        }
        if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) && !matches!(value, Literal::Str(_)) {
            return err(at, "co, sw and ew take a string");
        }
        Ok(Filter::Compare(path, op, value))
    }

    fn compare_op(&mut self) -> Result<CompareOp, FilterError> {
        for (word, op) in [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ] {
            let rest = self.rest();
            if rest.get(..2).is_some_and(|w| w.eq_ignore_ascii_case(word)) {
                self.pos += 2;
                return Ok(op);
            }
        }
        err(self.pos, "expected one of eq ne co sw ew gt ge lt le pr")
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let rest = self.rest();
        if rest.starts_with('"') {
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => {
                        let text = &rest[..=i];
                        let s: String = serde_json::from_str(text).or_else(|_| err(self.pos, "not a valid JSON string"))?;
                        self.pos += i + 1;
                        return Ok(Literal::Str(s));
                    }
                    _ => i += 1,
                }
            }
            return err(self.pos, "unterminated string");
        }
        for (word, lit) in [
            ("true", Literal::Bool(true)),
            ("false", Literal::Bool(false)),
            ("null", Literal::Null),
        ] {
            if self.keyword(word) {
                return Ok(lit);
            }
        }
        let end = rest.find([' ', ')', ']']).unwrap_or(rest.len());
        let word = &rest[..end];
        match word.parse::<f64>() {
            Ok(n) if n.is_finite() && word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) => {
                self.pos += end;
                Ok(Literal::Num(n))
            }
            _ => err(self.pos, "expected a value: a \"string\", a number, true, false or null"),
        }
    }

    /// `[URI ":"] ATTRNAME ["." subAttr]`; a URN contains dots and colons,
    /// so the name is what follows its last colon.
    fn attr_path(&mut self) -> Result<AttrPath, FilterError> {
        let start = self.pos;
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '.' | '_' | '-' | '$')))
            .unwrap_or(rest.len());
        if end == 0 {
            return err(start, "expected an attribute name");
        }
        let word = &rest[..end];
        self.pos += end;
        parse_attr_path(word).or_else(|m| err(start, m))
    }
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn parse_attr_path(word: &str) -> Result<AttrPath, String> {
    let (urn, local) = if word.len() > 4 && word[..4].eq_ignore_ascii_case("urn:") {
        match word.rfind(':') {
            Some(i) => (Some(word[..i].to_ascii_lowercase()), &word[i + 1..]),
            None => return Err("not a schema URN".into()),
        }
    } else {
        (None, word)
    };
    let (name, sub) = match local.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (local, None),
    };
    if !valid_name(name) || sub.is_some_and(|s| !valid_name(s)) {
        return Err(format!("'{word}' is not an attribute path"));
    }
    Ok(AttrPath {
        urn,
        name: name.to_owned(),
        sub: sub.map(str::to_owned),
    })
}

impl Filter {
    /// Parses a whole filter; anything left over is an error.
    pub fn parse(s: &str) -> Result<Filter, FilterError> {
        if s.len() > MAX_FILTER_LEN {
            return err(0, format!("the filter is longer than {MAX_FILTER_LEN} characters"));
        }
        let mut p = Parser { s, pos: 0, depth: 0 };
        let f = p.filter()?;
        p.skip_ws();
        if p.pos != s.len() {
            return err(p.pos, "unexpected text");
        }
        Ok(f)
    }

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

impl PatchPath {
    pub fn parse(s: &str) -> Result<PatchPath, FilterError> {
        let s = s.trim();
        if s.len() > MAX_FILTER_LEN {
            return err(0, "the path is too long");
        }
        let mut p = Parser { s, pos: 0, depth: 0 };
        let attr = p.attr_path()?;
        let mut filter = None;
        let mut sub = None;
        if p.eat('[') {
            filter = Some(p.filter()?);
            p.skip_ws();
            if !p.eat(']') {
                return err(p.pos, "expected ']'");
            }
            if p.eat('.') {
                let rest = p.rest();
                if !valid_name(rest) {
                    return err(p.pos, "expected a sub-attribute name");
                }
                sub = Some(rest.to_owned());
                p.pos = s.len();
            }
        }
        if p.pos != s.len() {
            return err(p.pos, "unexpected text in the path");
        }
        if filter.is_some() && attr.sub.is_some() {
            return err(0, "a value filter follows the attribute, not its sub-attribute");
        }
        Ok(PatchPath { attr, filter, sub })
    }
}

/// The core User and Group schemas: a path qualified with them addresses a
/// top-level attribute.
pub fn is_core_schema(urn: &str) -> bool {
    urn.eq_ignore_ascii_case(super::USER_SCHEMA) || urn.eq_ignore_ascii_case(super::GROUP_SCHEMA)
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

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Filter {
    /// The canonical text of the filter, fully parenthesised; parsing it
    /// gives the same tree (a property test holds us to it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare(p, op, lit) => {
                let op = match op {
                    CompareOp::Eq => "eq",
                    CompareOp::Ne => "ne",
                    CompareOp::Co => "co",
                    CompareOp::Sw => "sw",
                    CompareOp::Ew => "ew",
                    CompareOp::Gt => "gt",
                    CompareOp::Ge => "ge",
                    CompareOp::Lt => "lt",
                    CompareOp::Le => "le",
                };
                write!(f, "{p} {op} ")?;
                match lit {
                    Literal::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
                    Literal::Num(n) => write!(f, "{n}"),
                    Literal::Bool(b) => write!(f, "{b}"),
                    Literal::Null => f.write_str("null"),
                }
            }
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::And(a, b) => write!(f, "({a} and {b})"),
            Filter::Or(a, b) => write!(f, "({a} or {b})"),
            Filter::Not(a) => write!(f, "not ({a})"),
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn p(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn path(name: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    #[test]
    fn rfc_7644_examples_parse() {
        // RFC 7644 §3.4.2.2, every example filter.
        for f in [
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            p(f);
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = p(r#"a eq "1" or b eq "2" and c eq "3""#);
        assert!(matches!(f, Filter::Or(_, ref r) if matches!(**r, Filter::And(..))), "{f:?}");
        let f = p(r#"a eq "1" and b eq "2" or c eq "3""#);
        assert!(matches!(f, Filter::Or(ref l, _) if matches!(**l, Filter::And(..))), "{f:?}");
    }

    #[test]
    fn keywords_are_case_insensitive_and_urns_split_at_the_last_colon() {
        let f = p(r#"userName EQ "x" AND Active Eq True"#);
        assert_eq!(f.equality_on("username"), Some("x"));
        let f = p(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Legal""#);
        match f {
            Filter::Compare(a, CompareOp::Eq, Literal::Str(v)) => {
                assert_eq!(a.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"));
                assert_eq!(a.name, "department");
                assert_eq!(v, "Legal");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_filters_are_refused_with_a_position() {
        for f in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName eq bjensen"#,
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"emails[type eq "work""#,
            r#"active gt true"#,
            r#"userName co 3"#,
            r#"userName eq "unterminated"#,
            r#"userName eq "a" extra"#,
            r#"not userName eq "a""#,
            r#"1abc eq "a""#,
        ] {
            let e = Filter::parse(f).expect_err(f);
            assert!(e.message.contains("character"), "{f}: {e}");
        }
        let deep = format!("{}a pr{}", "(".repeat(100), ")".repeat(100));
        assert!(Filter::parse(&deep).is_err());
    }

    #[test]
    fn matching_follows_rfc_semantics() {
        let user = json!({
            "userName": "BJensen@Example.com",
            "externalId": "AbC",
            "active": true,
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@home.org", "type": "home"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Legal"},
            "meta": {"lastModified": "2026-01-02T03:04:05Z"}
        });
        let exact = |a: &AttrPath| a.name.eq_ignore_ascii_case("externalId");
        let yes = |f: &str| assert!(p(f).matches(&user, &exact), "{f} should match");
        let no = |f: &str| assert!(!p(f).matches(&user, &exact), "{f} should not match");
        yes(r#"userName eq "bjensen@example.com""#);
        no(r#"externalId eq "abc""#);
        yes(r#"externalId eq "AbC""#);
        yes(r#"name.familyName co "ens""#);
        yes(r#"userName sw "bj""#);
        yes(r#"userName ew ".COM""#);
        yes(r#"emails co "home.org""#);
        yes(r#"emails[type eq "work" and value co "@example.com"]"#);
        no(r#"emails[type eq "home" and value co "@example.com"]"#);
        yes(r#"emails.type eq "home""#);
        yes("active eq true");
        no("active eq false");
        yes(r#"not (active eq false)"#);
        yes("title pr or name pr");
        no("title pr");
        yes(r#"title ne "x""#);
        yes(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#);
        no(r#"meta.lastModified lt "2026-01-01T00:00:00Z""#);
        yes(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "legal""#);
        yes(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#);
    }

    #[test]
    fn patch_paths() {
        let pp = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(pp.attr, path("emails"));
        assert_eq!(pp.sub.as_deref(), Some("value"));
        assert!(pp.filter.is_some());
        let pp = PatchPath::parse("name.givenName").unwrap();
        assert_eq!(pp.attr.sub.as_deref(), Some("givenName"));
        let pp = PatchPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department").unwrap();
        assert_eq!(pp.attr.name, "department");
        let pp = PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
        assert_eq!(pp.attr, path("members"));
        for bad in [
            "",
            "emails[",
            "emails[type eq \"w\"]x",
            "a b",
            "emails[type eq \"w\"].",
            "name.given.x",
        ] {
            assert!(PatchPath::parse(bad).is_err(), "{bad}");
        }
    }

    fn arb_path() -> impl Strategy<Value = AttrPath> {
        (
            prop::option::of(Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user".to_owned())),
            "[a-zA-Z][a-zA-Z0-9_]{0,8}".prop_filter("not a keyword", |n| !n.eq_ignore_ascii_case("not")),
            prop::option::of("[a-zA-Z][a-zA-Z0-9]{0,6}"),
        )
            .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
    }

    fn arb_literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            any::<String>().prop_map(Literal::Str),
            (-1.0e9f64..1.0e9).prop_map(|n| Literal::Num((n * 100.0).round() / 100.0)),
            any::<bool>().prop_map(Literal::Bool),
            Just(Literal::Null),
        ]
    }

    fn arb_filter() -> impl Strategy<Value = Filter> {
        let ops = prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Ne)];
        let leaf = prop_oneof![
            (arb_path(), ops, arb_literal()).prop_map(|(p, o, l)| Filter::Compare(p, o, l)),
            (arb_path(), any::<String>()).prop_map(|(p, s)| Filter::Compare(p, CompareOp::Co, Literal::Str(s))),
            (arb_path(), -1000i64..1000).prop_map(|(p, n)| Filter::Compare(p, CompareOp::Gt, Literal::Num(n as f64))),
            arb_path().prop_map(Filter::Present),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                inner.clone().prop_map(|a| Filter::Not(Box::new(a))),
                (
                    arb_path().prop_map(|mut p| {
                        p.sub = None;
                        p
                    }),
                    inner
                )
                    .prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
            ]
        })
    }

    proptest! {
        #[test]
        fn printing_and_parsing_round_trips(f in arb_filter()) {
            let text = f.to_string();
            let back = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(back, f);
        }

        #[test]
        fn any_input_parses_or_fails_cleanly(s in "\\PC{0,80}") {
            let _ = Filter::parse(&s);
            let _ = PatchPath::parse(&s);
        }

        #[test]
        fn a_filter_and_its_negation_never_both_match(f in arb_filter(), given in "[a-z]{0,5}") {
            let user = json!({"userName": given, "active": true, "emails": [{"value": "a@b.c", "type": "work"}]});
            let not = Filter::Not(Box::new(f.clone()));
            prop_assert_ne!(f.matches(&user, &|_| false), not.matches(&user, &|_| false));
        }
    }
}
