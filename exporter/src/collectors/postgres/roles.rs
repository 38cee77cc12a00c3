//! `pg_roles_connection_limit{rolname}`, postgres_exporter's `roles`
//! collector: one sample per role, -1 for no limit.

use sqlx::postgres::PgRow;

use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

const ROLES: &[Column] = &[Column::new(
    "connection_limit",
    "rolconnlimit",
    Gauge,
    "Connection limit set for the role (-1: no limit)",
)];

/// The statement, for [`read`].
pub(crate) fn queries(version: u32) -> Vec<String> {
    vec![format!(
        "SELECT rolname::text AS rolname, {} FROM pg_roles ORDER BY 1",
        columns::select_list(ROLES, version)
    )]
}

/// The families of the rows of [`queries`].
pub(crate) fn read(version: u32, sets: &[Vec<PgRow>]) -> Result<Vec<Family>, sqlx::Error> {
    let [rows] = sets else {
        return Err(columns::wrong_sets("pg_roles", 1, sets.len()));
    };
    columns::families("pg_roles", ROLES, version, &["rolname"], rows)
}
