//! vigil-exporter: PostgreSQL, Redis, HAProxy and application-health metrics
//! on one `/metrics`, under the names of the community exporters.
//!
//! The flow of one scrape: [`http`] receives it, [`registry`] runs every
//! configured collector ([`collectors`]) concurrently under its deadline and
//! adds `*_up` and self-metrics, [`encode`] writes the text. [`config`] is the
//! one place that turns the configuration file into collectors.

pub mod collectors;
pub mod config;
pub mod encode;
pub mod http;
pub mod metrics;
pub mod registry;
pub mod trimmer;

pub use http::{Exporter, router, serve};
