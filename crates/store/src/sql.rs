//! A small builder for statements whose shape depends on the request (the
//! user list's filters). Placeholders are `$1, $2, …`, which both SQLite and
//! PostgreSQL understand, so the text is shared and only the binding is
//! compiled per dialect.

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
    /// Where each placeholder this builder wrote sits in `text`.
    marks: Vec<std::ops::Range<usize>>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// A fixed text (a named statement's) with its arguments, `$1` first.
    pub fn fixed(text: &str, args: Vec<Arg>) -> Self {
        Self {
            text: text.to_owned(),
            args,
            marks: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        let start = self.text.len();
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self.marks.push(start..self.text.len());
        self
    }

    /// The text to run on `dialect`. On SQLite, a statement this builder
    /// wrote alone (each placeholder once, in order) gets anonymous `?`s:
    /// sqlx looks up the name of every numbered parameter, and SQLite finds
    /// a name by walking the list of them, so a multi-row INSERT with
    /// thousands of `$N`s cost time in the square of their number (73% of a
    /// 10,000-row CSV import; issue 16). A text with any other `$` keeps
    /// its numbers.
    pub fn text_for(&self, dialect: crate::Dialect) -> std::borrow::Cow<'_, str> {
        if dialect != crate::Dialect::Sqlite || self.marks.is_empty() || self.text.matches('$').count() != self.marks.len() {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        let mut out = String::with_capacity(self.text.len());
        let mut at = 0;
        for m in &self.marks {
            out.push_str(&self.text[at..m.start]);
            out.push('?');
            at = m.end;
        }
        out.push_str(&self.text[at..]);
        std::borrow::Cow::Owned(out)
    }

    pub fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    pub fn opt_text(&mut self, s: Option<String>) -> &mut Self {
        self.bind(Arg::OptText(s))
    }

    pub fn int(&mut self, i: i64) -> &mut Self {
        self.bind(Arg::Int(i))
    }

    pub fn opt_int(&mut self, i: Option<i64>) -> &mut Self {
        self.bind(Arg::OptInt(i))
    }
}

/// Binds every argument of a [`Sql`] to a sqlx query of either dialect.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for a in $args {
            q = match a {
                $crate::sql::Arg::Text(s) => q.bind(s),
                $crate::sql::Arg::OptText(s) => q.bind(s),
                $crate::sql::Arg::Int(i) => q.bind(i),
                $crate::sql::Arg::OptInt(i) => q.bind(i),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

/// Appends `{column} IN ($n, …)` for `values`, which must not be empty.
pub(crate) fn push_in_list<'a>(sql: &mut Sql, column: &str, values: impl IntoIterator<Item = &'a str>) {
    sql.push(column).push(" IN (");
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text(v);
    }
    sql.push(")");
}

/// The exclusive upper bound of every string that starts with `prefix`
/// (byte-wise order, which both dialects use for the `_norm` columns), so
/// that prefix search is an index range.
pub(crate) fn prefix_upper(prefix: &str) -> String {
    let mut s = prefix.to_owned();
    s.push(char::MAX);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dialect;

    #[test]
    fn sqlite_gets_anonymous_placeholders_only_for_the_builders_own() {
        let mut sql = Sql::new("INSERT INTO t (a, b) VALUES (");
        sql.text("x")
            .push(", ")
            .int(2)
            .push("), (")
            .opt_int(None)
            .push(", ")
            .text("$3 in a value");
        sql.push(")");
        assert_eq!(sql.text_for(Dialect::Sqlite), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)");
        assert_eq!(sql.text_for(Dialect::Postgres), "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        // A `$N` written by hand around the builder's: the numbers stay.
        let mut by_hand = Sql::new("SELECT 1 WHERE a = ");
        by_hand.int(1).push(" AND b = $1");
        assert_eq!(by_hand.text_for(Dialect::Sqlite), "SELECT 1 WHERE a = $1 AND b = $1");
        assert_eq!(Sql::new("SELECT 1").text_for(Dialect::Sqlite), "SELECT 1");
    }
}
