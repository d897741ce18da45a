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
//!
//! `parse` holds the parser, `eval` the evaluation; the types and their
//! canonical text are here.

use std::fmt;

mod eval;
mod parse;

pub use eval::is_core_schema;

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
mod tests;
