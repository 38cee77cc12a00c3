//! One SQL text for both backends: statements are written with
//! PostgreSQL's `$N` parameters, and for SQLite each `$` becomes `?`
//! (SQLite's `?N` is the same positional parameter), so the notify tables'
//! queries are not written twice.

/// Runs `$body` with `$pool` bound to the backend's pool, `$sql` turning a
/// statement into the backend's spelling, and `$begin` the statement that
/// opens a write transaction (SQLite's `BEGIN IMMEDIATE` takes the write
/// lock up front, so a read-then-write transaction never fails to upgrade).
macro_rules! on_db {
    ($db:expr, |$pool:ident, $sql:ident, $begin:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => {
                let $sql = |s: &'static str| sqlx::AssertSqlSafe(s.replace('$', "?"));
                let $begin = "BEGIN IMMEDIATE";
                $body
            }
            $crate::db::Db::Postgres($pool) => {
                let $sql = |s: &'static str| sqlx::AssertSqlSafe(s.to_string());
                let $begin = "BEGIN";
                $body
            }
        }
    };
}

pub(crate) use on_db;
