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
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
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
