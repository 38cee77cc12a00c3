//! vigil-exporter: PostgreSQL, Redis, HAProxy and application-health metrics
//! on one `/metrics`, under the names of the community exporters.

pub mod collectors;
pub mod metrics;
