//! `pg_roles_connection_limit{rolname}`, postgres_exporter's `roles`
//! collector: one sample per role, -1 for no limit.

use super::batch::{Batch, Results, Slot};
use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

const ROLES: &[Column] = &[Column::new(
    "connection_limit",
    "rolconnlimit",
    Gauge,
    "Connection limit set for the role (-1: no limit)",
)];

/// Adds the statement to `batch`; its rows decode with [`decode`].
pub(crate) fn plan(batch: &mut Batch, version: u32) -> Slot {
    let sql = format!(
        "SELECT rolname::text AS rolname, {} FROM pg_roles ORDER BY 1",
        columns::select_list(ROLES, version)
    );
    batch.add(&sql, columns::names(&["rolname"], &[ROLES], version))
}

pub(crate) fn decode(
    results: &Results,
    slot: Slot,
    version: u32,
) -> Result<Vec<Family>, sqlx::Error> {
    columns::families("pg_roles", ROLES, version, &["rolname"], results.rows(slot))
}
