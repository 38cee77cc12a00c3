//! SLA reports: calendar-month availability, maintenance exclusions, exact
//! credit math, incidents, failovers, and the report in several formats.
//!
//! Everything here is pure except [`run`], the evaluation task: the ledger
//! is read through [`ledger::LedgerStore`] and the time ("now", the month)
//! is always passed in; `run`'s loop is the one place that reads the clock.
//!
//! ```text
//! observations -> ledger intervals --+
//! config: maintenance windows -------+--> availability + credit + incidents
//! config: failover objective --------+    + failovers (time without a writable primary)
//! period (month in a time zone) -----+        -> report -> render (table, md, json, csv, html)
//! ```

pub mod availability;
pub mod backfill;
pub mod config;
pub mod credit;
pub mod evaluate;
pub mod exact;
pub mod failovers;
pub mod incidents;
pub mod ledger;
pub mod ledger_sql;
pub mod locate;
pub mod maintenance;
pub mod metrics;
pub mod period;
pub mod render;
pub mod report;
pub mod run;
pub mod span;
pub mod validate;
