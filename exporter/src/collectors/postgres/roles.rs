//! `pg_roles_connection_limit{rolname}`, postgres_exporter's `roles`
//! collector: one sample per role, -1 for no limit.

use sqlx::PgConnection;

use super::columns::{self, Column};
use crate::metrics::{Family, MetricType::*};

const ROLES: &[Column] = &[Column::new(
    "connection_limit",
    "rolconnlimit",
    Gauge,
    "Connection limit set for the role (-1: no limit)",
)];

pub(crate) async fn collect(
    conn: &mut PgConnection,
    version: u32,
) -> Result<Vec<Family>, sqlx::Error> {
    let sql = format!(
        "SELECT rolname::text AS rolname, {} FROM pg_roles ORDER BY 1",
        columns::select_list(ROLES, version)
    );
    let rows = sqlx::query(columns::audited(sql))
        .fetch_all(&mut *conn)
        .await?;
    columns::families("pg_roles", ROLES, version, &["rolname"], &rows)
}
