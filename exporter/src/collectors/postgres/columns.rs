//! Statistics views as tables of columns: each numeric column becomes one
//! metric family, each text column a label.
//!
//! Most of what postgres_exporter reports is "one family per column of a
//! view, one sample per row". Describing the columns as data lets one
//! function build the `SELECT` for the server's version (a column missing
//! from an older server is simply left out) and turn the rows into families,
//! instead of one hand-written decoder per view.
//!
//! Every value is cast to `float8` in SQL (counters are `bigint`, LSN
//! differences `numeric`, times `timestamptz` turned into epoch seconds), so
//! the decoder reads only `Option<f64>`; SQL `NULL` becomes `NaN`, as
//! postgres_exporter writes it.

use super::batch::Row;

use crate::metrics::{Family, Label, MetricType};

/// One numeric column of a view.
pub(crate) struct Column {
    /// The family's name after the view's prefix (`xact_commit` in
    /// `pg_stat_database_xact_commit`); also the column alias in the query.
    pub name: &'static str,
    /// The SQL expression; cast to `float8` by [`select_list`].
    pub sql: &'static str,
    pub kind: MetricType,
    pub help: &'static str,
    /// The first `server_version_num` that has this column.
    pub since: u32,
}

impl Column {
    pub const fn new(
        name: &'static str,
        sql: &'static str,
        kind: MetricType,
        help: &'static str,
    ) -> Column {
        Column {
            name,
            sql,
            kind,
            help,
            since: 0,
        }
    }

    /// The same column, present only from `version` on.
    pub const fn since(mut self, version: u32) -> Column {
        self.since = version;
        self
    }
}

/// The columns a server of `version` has.
pub(crate) fn available(columns: &[Column], version: u32) -> impl Iterator<Item = &Column> {
    columns.iter().filter(move |c| version >= c.since)
}

/// `(<sql>)::float8 AS "<name>", ...` for the columns `version` has
/// (written into one string: statements are built on every scrape).
pub(crate) fn select_list(columns: &[Column], version: u32) -> String {
    let mut list = String::new();
    for (i, c) in available(columns, version).enumerate() {
        let comma = if i > 0 { ", " } else { "" };
        for part in [comma, "(", c.sql, ")::float8 AS \"", c.name, "\""] {
            list.push_str(part);
        }
    }
    list
}

/// The names of a statement's columns for [`Batch::add`]: `labels`, then
/// the columns of each of `tables` that `version` has (those
/// [`select_list`] selects).
///
/// [`Batch::add`]: super::batch::Batch::add
pub(crate) fn names(
    labels: &[&'static str],
    tables: &[&[Column]],
    version: u32,
) -> Vec<&'static str> {
    let mut names = labels.to_vec();
    for table in tables {
        names.extend(available(table, version).map(|c| c.name));
    }
    names
}

/// Turns rows into one family per available column, named
/// `<prefix>_<column>`, each row a sample labelled by `label_names` (text
/// columns of the same names; `NULL` becomes `""`).
pub(crate) fn families<'a>(
    prefix: &str,
    columns: &[Column],
    version: u32,
    label_names: &[&'static str],
    rows: impl IntoIterator<Item = impl std::borrow::Borrow<Row<'a>>>,
) -> Result<Vec<Family>, sqlx::Error> {
    let mut out: Vec<Family> = available(columns, version)
        .map(|c| Family::new(format!("{prefix}_{}", c.name), c.help, c.kind))
        .collect();
    let Some((last, others)) = out.split_last_mut() else {
        return Ok(out);
    };
    let last_column = available(columns, version).last().map_or("", |c| c.name);
    for row in rows {
        let row = row.borrow();
        let labels = text_labels(row, label_names)?;
        for (family, column) in others.iter_mut().zip(available(columns, version)) {
            family.push(labels.clone(), float(row, column.name)?);
        }
        // Each sample owns its labels: the last one takes the row's.
        last.push(labels, float(row, last_column)?);
    }
    Ok(out)
}

/// Reads the named text columns as labels of the same names (`NULL` is
/// `""`).
pub(crate) fn text_labels(row: &Row, names: &[&'static str]) -> Result<Vec<Label>, sqlx::Error> {
    names
        .iter()
        .map(|name| Ok(((*name).into(), row.text(name)?.unwrap_or_default().into())))
        .collect()
}

/// Reads a `float8` column; `NULL` is `NaN`.
pub(crate) fn float(row: &Row, name: &str) -> Result<f64, sqlx::Error> {
    row.float(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[
        Column::new("a", "x", MetricType::Counter, "A"),
        Column::new("b", "y + 1", MetricType::Gauge, "B").since(140000),
    ];

    #[test]
    fn newer_columns_are_left_out_on_older_servers() {
        assert_eq!(select_list(COLUMNS, 130000), r#"(x)::float8 AS "a""#);
        assert_eq!(
            select_list(COLUMNS, 140000),
            r#"(x)::float8 AS "a", (y + 1)::float8 AS "b""#
        );
    }

    #[test]
    fn families_follow_the_available_columns() {
        let fams = families("pg_t", COLUMNS, 130000, &[], &[] as &[Row]).unwrap();
        let names: Vec<_> = fams.iter().map(|f| &*f.name).collect();
        assert_eq!(names, ["pg_t_a"]);
        assert_eq!(fams[0].kind, MetricType::Counter);
    }

    #[test]
    fn names_list_the_labels_then_the_selected_columns() {
        assert_eq!(names(&["l"], &[COLUMNS, COLUMNS], 130000), ["l", "a", "a"]);
        assert_eq!(names(&[], &[COLUMNS], 140000), ["a", "b"]);
    }
}
