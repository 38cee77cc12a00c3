//! Routing: Alertmanager's configuration format, checked once at load, and
//! the routing tree that decides which receivers an alert reaches and how
//! its notifications are grouped.

pub mod cli;
pub mod config;
pub mod load;
pub mod masked;
pub mod matchers;
pub mod receivers;
pub mod time_intervals;
pub mod tree;

pub use config::AlertmanagerConfig;
pub use load::{Loaded, load_file, parse_str};
pub use tree::{Grouping, Route, RouteOpts};
