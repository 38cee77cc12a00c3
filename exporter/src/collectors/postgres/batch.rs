//! Many views in one round trip, planned once per connection.
//!
//! A collection reads about twenty views. Sent one by one, each costs a
//! round trip, and the scrape waits for them in sequence: on loopback that
//! was most of a collection's time. Sent together as one simple-protocol
//! message they cost one round trip, but the server then plans every
//! statement again on every scrape, and planning these catalog views
//! (0.4 to 2 ms each) costs more than running them. So a batch is one
//! statement: each view's query becomes a sub-select aggregated to JSON
//! (`json_agg`, an array of row objects keyed by column name), all of them
//! in one `json_build_array`. sqlx prepares it once per connection and
//! keeps the statement, so the server reuses its plan; the client reads one
//! text value and parses it. The statement's text depends only on the
//! server's version and the collector's settings, so a kept connection
//! sees the same few statements scrape after scrape.
//!
//! Values keep their SQL meaning: numbers are `float8` (read back exactly:
//! PostgreSQL writes the shortest text that round-trips), `NULL` is JSON
//! `null`, and `float8`'s `NaN` and infinities arrive as the strings
//! `"NaN"`, `"Infinity"`, `"-Infinity"`.

use serde_json::{Map, Value};
use sqlx::PgConnection;

/// Statements to read together; see the module documentation.
#[derive(Default, Clone)]
pub(crate) struct Batch {
    statements: Vec<String>,
}

/// Where a statement's rows will be in the [`Results`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(usize);

/// One row of a statement: its columns by name.
#[derive(Debug)]
pub(crate) struct Row(Map<String, Value>);

/// The rows of every statement of a batch, in order.
pub(crate) struct Results {
    sets: Vec<Vec<Row>>,
}

/// `json_build_array` takes at most 100 arguments (PostgreSQL's
/// `FUNC_MAX_ARGS`); a collection has about twenty statements.
const MAX_STATEMENTS: usize = 100;

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a `SELECT`. Every statement is assembled only from the
    /// `'static` column tables and SQL fragments of these modules, the
    /// server's version number and integers of the configuration; no
    /// label, name or row ever becomes part of one (which is why the text
    /// can be sent unparameterised).
    pub fn add(&mut self, sql: &str) -> Slot {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        self.statements.push(sql.to_string());
        Slot(self.statements.len() - 1)
    }

    /// The one statement that reads them all.
    fn sql(&self) -> String {
        let parts: Vec<String> = self
            .statements
            .iter()
            .map(|s| format!("(SELECT coalesce(json_agg(q), '[]') FROM ({s}) q)"))
            .collect();
        format!("SELECT json_build_array({})::text", parts.join(",\n"))
    }

    /// Runs the batch and reads every statement's rows.
    pub async fn run(self, conn: &mut PgConnection) -> Result<Results, sqlx::Error> {
        if self.statements.is_empty() {
            return Ok(Results { sets: Vec::new() });
        }
        if self.statements.len() > MAX_STATEMENTS {
            return Err(sqlx::Error::Protocol(format!(
                "{} statements in one batch, at most {MAX_STATEMENTS}",
                self.statements.len()
            )));
        }
        let text: String = sqlx::query_scalar(sqlx::AssertSqlSafe(self.sql()))
            .fetch_one(&mut *conn)
            .await?;
        let sets = parse(&text, self.statements.len())?;
        Ok(Results { sets })
    }
}

/// The result sets from the batch's JSON text, `expected` of them.
fn parse(text: &str, expected: usize) -> Result<Vec<Vec<Row>>, sqlx::Error> {
    let decode = |why: String| sqlx::Error::Decode(why.into());
    let sets: Vec<Vec<Map<String, Value>>> =
        serde_json::from_str(text).map_err(|e| decode(format!("the batch's JSON: {e}")))?;
    if sets.len() != expected {
        return Err(decode(format!(
            "{expected} statements sent, {} results received",
            sets.len()
        )));
    }
    Ok(sets
        .into_iter()
        .map(|rows| rows.into_iter().map(Row).collect())
        .collect())
}

impl Results {
    /// The rows of the statement at `slot`.
    pub fn rows(&self, slot: Slot) -> &[Row] {
        self.sets.get(slot.0).map_or(&[], Vec::as_slice)
    }

    /// The first row of the statement at `slot`: statements that always
    /// return exactly one row (aggregates without `GROUP BY`).
    pub fn one(&self, slot: Slot) -> Result<&Row, sqlx::Error> {
        self.rows(slot).first().ok_or(sqlx::Error::RowNotFound)
    }
}

impl Row {
    fn get(&self, name: &str) -> Result<&Value, sqlx::Error> {
        self.0
            .get(name)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_string()))
    }

    /// A text column; `NULL` is `None`.
    pub fn text(&self, name: &str) -> Result<Option<String>, sqlx::Error> {
        match self.get(name)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            other => Err(mismatch(name, "text", other)),
        }
    }

    /// A `float8` column; `NULL` is `NaN`, as postgres_exporter writes it.
    pub fn float(&self, name: &str) -> Result<f64, sqlx::Error> {
        match self.get(name)? {
            Value::Null => Ok(f64::NAN),
            Value::Number(n) => n
                .as_f64()
                .ok_or_else(|| mismatch(name, "float8", &Value::Number(n.clone()))),
            Value::String(s) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(mismatch(name, "float8", &Value::String(s.clone()))),
            },
            other => Err(mismatch(name, "float8", other)),
        }
    }

    /// A `float8` column that may be `NULL`.
    pub fn optional_float(&self, name: &str) -> Result<Option<f64>, sqlx::Error> {
        match self.get(name)? {
            Value::Null => Ok(None),
            _ => self.float(name).map(Some),
        }
    }

    /// A `bool` column; `NULL` is false.
    pub fn flag(&self, name: &str) -> Result<bool, sqlx::Error> {
        match self.get(name)? {
            Value::Null => Ok(false),
            Value::Bool(b) => Ok(*b),
            other => Err(mismatch(name, "bool", other)),
        }
    }
}

fn mismatch(name: &str, want: &str, got: &Value) -> sqlx::Error {
    sqlx::Error::Decode(format!("column {name:?}: expected {want}, got {got}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_become_one_json_select() {
        let mut b = Batch::new();
        let roles = b.add("SELECT 1 AS a ;\n");
        let other = b.add("SELECT 2 AS b");
        assert_eq!((roles, other), (Slot(0), Slot(1)));
        assert_eq!(
            b.sql(),
            "SELECT json_build_array((SELECT coalesce(json_agg(q), '[]') FROM (SELECT 1 AS a) q),\n\
             (SELECT coalesce(json_agg(q), '[]') FROM (SELECT 2 AS b) q))::text"
        );
    }

    #[test]
    fn values_keep_their_sql_meaning() {
        let sets = parse(
            r#"[[{"a": 1.5, "n": null, "t": "x", "b": true, "nan": "NaN", "inf": "-Infinity", "big": 1.8446744073709552e19}], []]"#,
            2,
        )
        .unwrap();
        let row = &sets[0][0];
        assert_eq!(row.float("a").unwrap(), 1.5);
        assert!(row.float("n").unwrap().is_nan());
        assert_eq!(row.optional_float("n").unwrap(), None);
        assert!(row.float("nan").unwrap().is_nan());
        assert_eq!(row.float("inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(row.float("big").unwrap(), 18446744073709551615.0);
        assert_eq!(row.text("t").unwrap().as_deref(), Some("x"));
        assert_eq!(row.text("n").unwrap(), None);
        assert!(row.flag("b").unwrap());
        assert!(row.float("t").is_err());
        assert!(matches!(
            row.float("missing"),
            Err(sqlx::Error::ColumnNotFound(_))
        ));
        assert!(sets[1].is_empty());
    }

    #[test]
    fn a_short_answer_is_an_error_not_a_panic() {
        assert!(parse("[[]]", 2).is_err());
        assert!(parse("not json", 1).is_err());
        assert!(parse("[[1]]", 1).is_err());
    }
}
