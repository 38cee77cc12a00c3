//! template0's size (and that of any template that refuses connections) is
//! measured once per connection, then kept while its `pg_database` row
//! stays the same (`exporter/src/collectors/postgres/frozen_sizes.rs`).

use libtest_mimic::Failed;

use super::opt_in::{database_with_statements, statement_calls};
use super::support::{Env, value};

/// A template of the trial's own, made like template0, keeps its size
/// between scrapes (pg_stat_statements counts the statement that measures
/// it, in a database of the trial's own); let in, written to and closed
/// again between two scrapes, it is measured again, and every scrape shows
/// what `pg_database_size` says.
pub(crate) fn template_sizes_are_kept_while_the_row_stays(env: &Env) -> Result<(), Failed> {
    let dsn = database_with_statements(env, "frozensizedb")?;
    let sql = |db: &str, q: &str| env.primary().query_db(db, q).map_err(|e| e.to_string());
    sql("postgres", "CREATE DATABASE frozen_tpl")?;
    sql(
        "postgres",
        "ALTER DATABASE frozen_tpl IS_TEMPLATE true ALLOW_CONNECTIONS false",
    )?;
    let collector = super::support::collector(&dsn, false);
    let measured = || {
        statement_calls(
            env,
            "frozensizedb",
            "%pg_database_size(oid)::float8 FROM pg_database%",
        )
    };
    let check = |when: &str| -> Result<f64, Failed> {
        let fams = env.collect(&collector).map_err(|e| e.to_string())?;
        for db in ["frozen_tpl", "template0"] {
            let actual: f64 = sql("postgres", &format!("SELECT pg_database_size('{db}')"))?
                .trim()
                .parse()?;
            let shown = value(&fams, "pg_database_size_bytes", &[("datname", db)]);
            assert_eq!(shown, actual, "{db} {when}");
        }
        Ok(value(
            &fams,
            "pg_database_size_bytes",
            &[("datname", "frozen_tpl")],
        ))
    };
    let before = check("at the first scrape")?;
    for scrape in 2..=3 {
        check(&format!("at scrape {scrape}"))?;
    }
    assert_eq!(
        measured()?,
        "1",
        "template0 and frozen_tpl measured together, once in 3 scrapes"
    );

    sql(
        "postgres",
        "ALTER DATABASE frozen_tpl ALLOW_CONNECTIONS true",
    )?;
    sql(
        "frozen_tpl",
        "CREATE TABLE filler AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 4000) g",
    )?;
    sql(
        "postgres",
        "ALTER DATABASE frozen_tpl ALLOW_CONNECTIONS false",
    )?;
    let after = check("after a table was written into it")?;
    assert!(after > before + 1e6, "grew from {before} to {after}");
    check("at the scrape after that")?;
    assert_eq!(measured()?, "2", "measured again once, after the change");

    sql("postgres", "ALTER DATABASE frozen_tpl IS_TEMPLATE false")?;
    sql("postgres", "DROP DATABASE frozen_tpl")?;
    Ok(())
}
