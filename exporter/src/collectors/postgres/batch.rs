//! Many views in one round trip, planned once per connection.
//!
//! A collection reads about twenty views. Sent one by one, each costs a
//! round trip, and the scrape waits for them in sequence: on loopback that
//! was most of a collection's time. Sent together as one simple-protocol
//! message they cost one round trip, but the server then plans every
//! statement again on every scrape, and planning these catalog views
//! (0.4 to 2 ms each) costs more than running them. So a batch is one
//! statement: each view's query becomes a sub-select aggregated to JSON,
//! all of them in one `json_build_array`. sqlx prepares it once per
//! connection and keeps the statement, so the server reuses its plan; the
//! client reads one text value and parses it. The statement's text depends
//! only on the server's version and the collector's settings, so a kept
//! connection sees the same few statements scrape after scrape.
//!
//! A row is a JSON array of its columns in the order the statement was
//! added with (`json_agg(json_build_array(q."a", q."b"))`), not an object
//! keyed by column name (`json_agg(q)`): the server then writes no names
//! and converts no whole rows (a sixth of the batch's execution time), and
//! the client keeps no name per row. Views that several statements read
//! (`pg_stat_activity`) can be shared: a `WITH ... AS MATERIALIZED`
//! sub-select at the top of the statement, read once per run.
//!
//! Values keep their SQL meaning: numbers are `float8` (read back exactly:
//! PostgreSQL writes the shortest text that round-trips), `NULL` is JSON
//! `null`, and `float8`'s `NaN` and infinities arrive as the strings
//! `"NaN"`, `"Infinity"`, `"-Infinity"`. Decoding borrows the strings from
//! the answer's text (a copy only for those with escapes).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};
use sqlx::PgConnection;

/// Statements to read together; see the module documentation.
#[derive(Default, Clone)]
pub(crate) struct Batch {
    /// Sub-selects the statements may read by name, in the order shared.
    shared: Vec<(&'static str, String)>,
    statements: Vec<Statement>,
}

#[derive(Clone)]
struct Statement {
    sql: String,
    /// Its columns' names, in the order each row lists them.
    columns: Vec<&'static str>,
}

/// Where a statement's rows will be in the [`Results`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(usize);

/// What the server answered to a batch: the text to decode, and each
/// statement's column names.
pub(crate) struct Answer {
    text: String,
    columns: Vec<Vec<&'static str>>,
}

/// The rows of every statement of a batch, in order, borrowed from its
/// [`Answer`].
pub(crate) struct Results<'a> {
    sets: Vec<Vec<Row<'a>>>,
}

/// One row of a statement: its values, read by column name.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    columns: &'a [&'static str],
    cells: Vec<Cell<'a>>,
}

/// One value of a row.
#[derive(Debug, PartialEq)]
enum Cell<'a> {
    Null,
    Bool(bool),
    Number(f64),
    Text(Cow<'a, str>),
}

/// `json_build_array` takes at most 100 arguments (PostgreSQL's
/// `FUNC_MAX_ARGS`), so a batch has at most 100 statements (a collection
/// has about twenty) and a statement at most 100 columns (the widest has
/// about thirty).
const MAX_ARGUMENTS: usize = 100;

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a `SELECT` whose columns are named `columns` (its aliases, in
    /// any order: each row lists them in this one). Every statement is
    /// assembled only from the `'static` column tables and SQL fragments
    /// of these modules, the server's version number and integers of the
    /// configuration; no label, name or row ever becomes part of one
    /// (which is why the text can be sent unparameterised).
    pub fn add(&mut self, sql: &str, columns: impl IntoIterator<Item = &'static str>) -> Slot {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        self.statements.push(Statement {
            sql: sql.to_string(),
            columns: columns.into_iter().collect(),
        });
        Slot(self.statements.len() - 1)
    }

    /// Makes `sql` readable as the table `name` by the statements of the
    /// batch, computed once per run however many read it; sharing the same
    /// name again keeps the first. Like the statements, `sql` is built
    /// from this module's constants only.
    pub fn share(&mut self, name: &'static str, sql: &str) {
        if !self.shared.iter().any(|(n, _)| *n == name) {
            self.shared.push((name, sql.trim().to_string()));
        }
    }

    /// The one statement that reads them all (written into one string: it
    /// is built on every scrape, and sqlx finds its prepared statement by
    /// this text).
    fn sql(&self) -> String {
        let mut sql = String::new();
        for (i, (name, shared)) in self.shared.iter().enumerate() {
            sql.push_str(if i == 0 { "WITH " } else { ",\n" });
            for part in [*name, " AS MATERIALIZED (", shared, ")"] {
                sql.push_str(part);
            }
        }
        if !self.shared.is_empty() {
            sql.push('\n');
        }
        sql.push_str("SELECT json_build_array(");
        for (i, statement) in self.statements.iter().enumerate() {
            if i > 0 {
                sql.push_str(",\n");
            }
            sql.push_str("(SELECT coalesce(json_agg(json_build_array(");
            for (j, column) in statement.columns.iter().enumerate() {
                for part in [if j > 0 { ", q.\"" } else { "q.\"" }, column, "\""] {
                    sql.push_str(part);
                }
            }
            for part in [")), '[]') FROM (", &statement.sql, ") q)"] {
                sql.push_str(part);
            }
        }
        sql.push_str(")::text");
        sql
    }

    /// Why the batch cannot be sent, if it cannot.
    fn check(&self) -> Result<(), sqlx::Error> {
        let invalid = |why: String| Err(sqlx::Error::Protocol(why));
        if self.statements.len() > MAX_ARGUMENTS {
            return invalid(format!(
                "{} statements in one batch, at most {MAX_ARGUMENTS}",
                self.statements.len()
            ));
        }
        for statement in &self.statements {
            if statement.columns.is_empty() || statement.columns.len() > MAX_ARGUMENTS {
                return invalid(format!(
                    "{} columns in a batched statement, 1 to {MAX_ARGUMENTS} allowed: {}",
                    statement.columns.len(),
                    statement.sql
                ));
            }
            if let Some(bad) = statement.columns.iter().find(|c| c.contains('"')) {
                return invalid(format!("column name {bad:?} in a batched statement"));
            }
        }
        Ok(())
    }

    /// Runs the batch; [`Answer::results`] reads every statement's rows.
    pub async fn run(self, conn: &mut PgConnection) -> Result<Answer, sqlx::Error> {
        let text = if self.statements.is_empty() {
            "[]".to_string()
        } else {
            self.check()?;
            sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql()))
                .fetch_one(&mut *conn)
                .await?
        };
        let columns = self.statements.into_iter().map(|s| s.columns).collect();
        Ok(Answer { text, columns })
    }
}

impl Answer {
    /// The rows of every statement.
    pub fn results(&self) -> Result<Results<'_>, sqlx::Error> {
        Ok(Results {
            sets: parse(&self.text, &self.columns)?,
        })
    }
}

/// The result sets from the batch's JSON text, one per entry of `columns`,
/// each row as wide as its statement's columns.
fn parse<'a>(
    text: &'a str,
    columns: &'a [Vec<&'static str>],
) -> Result<Vec<Vec<Row<'a>>>, sqlx::Error> {
    let decode = |why: String| sqlx::Error::Decode(why.into());
    let sets: Vec<Vec<Vec<Cell<'a>>>> =
        serde_json::from_str(text).map_err(|e| decode(format!("the batch's JSON: {e}")))?;
    if sets.len() != columns.len() {
        return Err(decode(format!(
            "{} statements sent, {} results received",
            columns.len(),
            sets.len()
        )));
    }
    sets.into_iter()
        .zip(columns)
        .enumerate()
        .map(|(i, (rows, columns))| {
            rows.into_iter()
                .map(|cells| {
                    if cells.len() == columns.len() {
                        Ok(Row { columns, cells })
                    } else {
                        Err(decode(format!(
                            "statement {i}: a row of {} values for {} columns",
                            cells.len(),
                            columns.len()
                        )))
                    }
                })
                .collect()
        })
        .collect()
}

impl<'de> Deserialize<'de> for Cell<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellVisitor;
        impl<'de> Visitor<'de> for CellVisitor {
            type Value = Cell<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null, a boolean, a number or a string")
            }
            fn visit_unit<E>(self) -> Result<Cell<'de>, E> {
                Ok(Cell::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell<'de>, E> {
                Ok(Cell::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell<'de>, E> {
                Ok(Cell::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Cell<'de>, E> {
                Ok(Cell::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell<'de>, E> {
                Ok(Cell::Number(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cell<'de>, E> {
                Ok(Cell::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cell<'de>, E> {
                Ok(Cell::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Cell<'de>, E> {
                Ok(Cell::Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_any(CellVisitor)
    }
}

impl fmt::Display for Cell<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Null => f.write_str("null"),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Number(n) => write!(f, "{n}"),
            Cell::Text(s) => write!(f, "{s:?}"),
        }
    }
}

impl<'a> Results<'a> {
    /// The rows of the statement at `slot`.
    pub fn rows(&self, slot: Slot) -> &[Row<'a>] {
        self.sets.get(slot.0).map_or(&[], Vec::as_slice)
    }

    /// The first row of the statement at `slot`: statements that always
    /// return exactly one row (aggregates without `GROUP BY`).
    pub fn one(&self, slot: Slot) -> Result<&Row<'a>, sqlx::Error> {
        self.rows(slot).first().ok_or(sqlx::Error::RowNotFound)
    }
}

impl Row<'_> {
    fn get(&self, name: &str) -> Result<&Cell<'_>, sqlx::Error> {
        self.columns
            .iter()
            .position(|c| *c == name)
            .and_then(|i| self.cells.get(i))
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_string()))
    }

    /// A text column; `NULL` is `None`.
    pub fn text(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        match self.get(name)? {
            Cell::Null => Ok(None),
            Cell::Text(s) => Ok(Some(s.to_string())),
            Cell::Number(n) => Ok(Some(n.to_string())),
            Cell::Bool(b) => Ok(Some(b.to_string())),
        }
    }

    /// A text column as the answer holds it (no copy); `NULL` is `None`.
    pub fn str(&self, name: &str) -> Result<Option<&str>, sqlx::Error> {
        match self.get(name)? {
            Cell::Null => Ok(None),
            Cell::Text(s) => Ok(Some(s)),
            other => Err(mismatch(name, "text", other)),
        }
    }

    /// A `float8` column; `NULL` is `NaN`, as postgres_exporter writes it.
    pub fn float(&self, name: &str) -> Result<f64, sqlx::Error> {
        match self.get(name)? {
            Cell::Null => Ok(f64::NAN),
            Cell::Number(n) => Ok(*n),
            Cell::Text(s) => match s.as_ref() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(mismatch(name, "float8", &Cell::Text(s.clone()))),
            },
            other => Err(mismatch(name, "float8", other)),
        }
    }

    /// A `float8` column that may be `NULL`.
    pub fn optional_float(&self, name: &str) -> Result<Option<f64>, sqlx::Error> {
        match self.get(name)? {
            Cell::Null => Ok(None),
            _ => self.float(name).map(Some),
        }
    }

    /// A `bool` column; `NULL` is false.
    pub fn flag(&self, name: &str) -> Result<bool, sqlx::Error> {
        match self.get(name)? {
            Cell::Null => Ok(false),
            Cell::Bool(b) => Ok(*b),
            other => Err(mismatch(name, "bool", other)),
        }
    }
}

fn mismatch(name: &str, want: &str, got: &Cell) -> sqlx::Error {
    sqlx::Error::Decode(format!("column {name:?}: expected {want}, got {got}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_become_one_json_select_of_positional_rows() {
        let mut b = Batch::new();
        let roles = b.add("SELECT 1 AS a ;\n", ["a"]);
        let other = b.add("SELECT 2 AS b, 'x' AS c", ["c", "b"]);
        assert_eq!((roles, other), (Slot(0), Slot(1)));
        assert_eq!(
            b.sql(),
            "SELECT json_build_array(\
             (SELECT coalesce(json_agg(json_build_array(q.\"a\")), '[]') FROM (SELECT 1 AS a) q),\n\
             (SELECT coalesce(json_agg(json_build_array(q.\"c\", q.\"b\")), '[]') FROM (SELECT 2 AS b, 'x' AS c) q))::text"
        );
    }

    #[test]
    fn shared_sub_selects_come_first_once() {
        let mut b = Batch::new();
        b.share("a", "SELECT 1 AS x");
        b.share("a", "SELECT 2 AS x");
        b.share("b", " SELECT 3 AS y ");
        b.add("SELECT x FROM a", ["x"]);
        assert_eq!(
            b.sql(),
            "WITH a AS MATERIALIZED (SELECT 1 AS x),\nb AS MATERIALIZED (SELECT 3 AS y)\n\
             SELECT json_build_array(\
             (SELECT coalesce(json_agg(json_build_array(q.\"x\")), '[]') FROM (SELECT x FROM a) q))::text"
        );
    }

    #[test]
    fn batches_json_build_array_cannot_take_are_refused() {
        let mut b = Batch::new();
        b.add("SELECT 1 AS a", ["a"]);
        assert!(b.check().is_ok());
        let mut none = b.clone();
        none.add("SELECT", []);
        assert!(none.check().is_err());
        let mut quoted = b.clone();
        quoted.add("SELECT 1 AS \"a\"\"b\"", ["a\"b"]);
        assert!(quoted.check().is_err());
        let mut many = b.clone();
        for _ in 0..MAX_ARGUMENTS {
            many.add("SELECT 1 AS a", ["a"]);
        }
        assert!(many.check().is_err());
    }

    #[test]
    fn values_keep_their_sql_meaning() {
        let columns = vec![
            vec!["a", "n", "t", "b", "nan", "inf", "big", "esc"],
            vec!["x"],
        ];
        let text = r#"[[[1.5, null, "x", true, "NaN", "-Infinity", 1.8446744073709552e19, "a\"b\n"]], []]"#;
        let sets = parse(text, &columns).unwrap();
        let row = &sets[0][0];
        assert_eq!(row.float("a").unwrap(), 1.5);
        assert!(row.float("n").unwrap().is_nan());
        assert_eq!(row.optional_float("n").unwrap(), None);
        assert_eq!(row.optional_float("a").unwrap(), Some(1.5));
        assert!(row.float("nan").unwrap().is_nan());
        assert_eq!(row.float("inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(row.float("big").unwrap(), 18446744073709551615.0);
        assert_eq!(row.text("t").unwrap().as_deref(), Some("x"));
        assert_eq!(row.text("esc").unwrap().as_deref(), Some("a\"b\n"));
        assert_eq!(row.str("t").unwrap(), Some("x"));
        assert_eq!(row.str("n").unwrap(), None);
        assert!(row.str("a").is_err());
        assert_eq!(row.text("n").unwrap(), None);
        assert!(row.flag("b").unwrap());
        assert!(!row.flag("n").unwrap());
        assert!(row.float("t").is_err());
        assert!(row.flag("a").is_err());
        assert!(matches!(
            row.float("missing"),
            Err(sqlx::Error::ColumnNotFound(_))
        ));
        assert!(sets[1].is_empty());
    }

    #[test]
    fn a_short_or_odd_answer_is_an_error_not_a_panic() {
        let one = vec![vec!["a"]];
        let two = vec![vec!["a"], vec!["b"]];
        assert!(parse("[[]]", &two).is_err());
        assert!(parse("not json", &one).is_err());
        // A row that is not an array, or of another width.
        assert!(parse("[[1]]", &one).is_err());
        assert!(parse("[[[1, 2]]]", &one).is_err());
        assert!(parse("[[[]]]", &one).is_err());
        // A value that is neither null, a boolean, a number nor a string.
        assert!(parse("[[[[1]]]]", &one).is_err());
        assert!(parse(r#"[[[{"a": 1}]]]"#, &one).is_err());
        assert!(parse("[[[1]]]", &one).is_ok());
    }
}
