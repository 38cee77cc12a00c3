//! Many statements in one round trip.
//!
//! A collection reads about twenty views. Sent one by one, each costs a
//! round trip to the server and back, and the scrape waits for them in
//! sequence: on loopback that was most of a collection's time, far more
//! than the server's work. A batch sends them all as one simple-protocol
//! query (statements separated by `;`), which the server runs in order and
//! answers in one stream: one result set per statement, each ended by its
//! `CommandComplete`. The scrape's transaction (`BEGIN`, `SET LOCAL`,
//! `COMMIT`) rides in the same message.
//!
//! The simple protocol answers in text, which sqlx decodes as well as the
//! binary form for the types read here (`float8`, `text`, `bool`, `int4`).
//! When a statement fails, the server skips the rest of the message: the
//! error names the statement by what it reads, from the number of results
//! that came before it.

use futures::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::{Either, PgConnection};

/// Statements to send together; see the module documentation.
#[derive(Default, Clone)]
pub(crate) struct Batch {
    sql: String,
    /// What each statement reads, in order, for error messages.
    what: Vec<&'static str>,
}

/// Where a statement's rows will be in the [`Results`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot(usize);

/// A batch that failed: what the failing statement reads, and why.
#[derive(Debug)]
pub(crate) struct BatchError {
    pub what: &'static str,
    pub error: sqlx::Error,
}

/// The rows of every statement of a batch, in order.
pub(crate) struct Results {
    sets: Vec<Vec<PgRow>>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a statement; `what` names it in errors ("reading pg_roles").
    /// Every statement is assembled only from the `'static` column tables
    /// and SQL fragments of these modules, the server's version number and
    /// integers of the configuration; no label, name or row ever becomes
    /// part of one (which is why the text can be sent unparameterised).
    pub fn add(&mut self, what: &'static str, sql: &str) -> Slot {
        let sql = sql.trim().trim_end_matches(';').trim_end();
        debug_assert!(!sql.is_empty(), "an empty statement has no result");
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        self.what.push(what);
        Slot(self.what.len() - 1)
    }

    /// Sends the batch and reads every statement's rows.
    pub async fn run(self, conn: &mut PgConnection) -> Result<Results, BatchError> {
        let expected = self.what.len();
        let mut sets: Vec<Vec<PgRow>> = Vec::with_capacity(expected);
        let mut current: Vec<PgRow> = Vec::new();
        let outcome: Result<(), sqlx::Error> = async {
            let mut stream = sqlx::raw_sql(sqlx::AssertSqlSafe(self.sql)).fetch_many(conn);
            while let Some(item) = stream.try_next().await? {
                match item {
                    Either::Left(_done) => sets.push(std::mem::take(&mut current)),
                    Either::Right(row) => current.push(row),
                }
            }
            Ok(())
        }
        .await;
        let what = |i: usize| self.what.get(i).copied().unwrap_or("reading the results");
        if let Err(error) = outcome {
            return Err(BatchError {
                what: what(sets.len()),
                error,
            });
        }
        if sets.len() != expected {
            return Err(BatchError {
                what: what(sets.len().min(expected.saturating_sub(1))),
                error: sqlx::Error::Protocol(format!(
                    "{expected} statements sent, {} results received",
                    sets.len()
                )),
            });
        }
        Ok(Results { sets })
    }
}

impl Results {
    /// The rows of the statement at `slot`.
    pub fn rows(&self, slot: Slot) -> &[PgRow] {
        self.sets.get(slot.0).map_or(&[], Vec::as_slice)
    }

    /// The first row of the statement at `slot`: statements that always
    /// return exactly one row (aggregates without `GROUP BY`).
    pub fn one(&self, slot: Slot) -> Result<&PgRow, sqlx::Error> {
        self.rows(slot).first().ok_or(sqlx::Error::RowNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_joined_and_named_in_order() {
        let mut b = Batch::new();
        let begin = b.add("beginning", "BEGIN");
        let roles = b.add("reading pg_roles", "SELECT 1 ;\n");
        assert_eq!((begin, roles), (Slot(0), Slot(1)));
        assert_eq!(b.sql, "BEGIN;\nSELECT 1");
        assert_eq!(b.what, ["beginning", "reading pg_roles"]);
    }
}
