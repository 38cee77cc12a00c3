//! Routing: Alertmanager's configuration format, checked once at load, and
//! the routing tree that decides which receivers an alert reaches and how
//! its notifications are grouped.

pub mod cli;
pub mod config;
pub mod global_check;
pub mod http_check;
pub mod http_config;
pub mod load;
pub mod locate;
pub mod masked;
pub mod matchers;
pub mod receivers;
pub mod template_check;
pub mod template_syntax;
pub mod time_intervals;
pub mod tree;
pub mod url_check;
pub mod yaml_bools;
pub mod zones;

pub use config::AlertmanagerConfig;
pub use load::{Loaded, load_file, parse_str};
pub use tree::{Grouping, Route, RouteOpts};
