//! The recursive-descent parser of filters and PATCH paths.

use super::{AttrPath, CompareOp, Filter, FilterError, Literal, PatchPath, MAX_FILTER_LEN};
use std::fmt;

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
