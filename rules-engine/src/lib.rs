//! vigil: scrape targets into an embedded time-series store, evaluate PromQL
//! over it, and (in later stages) alert, route and report on SLAs.

pub mod alert;
pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod model;
pub mod notify;
pub mod parse;
pub mod promql;
pub mod remote_write;
pub mod rules;
pub mod scrape;
pub mod server;
pub mod sla;
pub mod store;
