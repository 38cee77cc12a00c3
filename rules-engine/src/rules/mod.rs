//! Rule files and their evaluation.
//!
//! ```text
//! file.rs      YAML -> RuleFile (plain data, unknown keys rejected)
//! yaml.rs      YAML and durations as promtool reads them (first document,
//!              merge keys, zero durations)
//! locate.rs    line:column of groups and rules for error messages
//! validate.rs  promtool's checks -> RuleError list
//! query.rs     the seams: RuleQuery (engine or remote API), AlertSink
//! recording.rs / alerting.rs   one rule's evaluation
//! group.rs     rules in order at a timestamp passed in; output appended
//! schedule.rs  when a group evaluates; manager.rs: one task per group
//! runtime.rs   the running set of a vigil, replaced as a whole on reload
//! log_sink.rs  the default AlertSink: a log line per notification
//! remote.rs    RuleQuery over a Prometheus-compatible /api/v1/query
//! api_json.rs  /api/v1/rules and /api/v1/alerts bodies
//! external_url.rs  --web.external-url and each alert's generatorURL
//! ```

pub mod alerting;
pub mod api_json;
pub mod cli;
pub mod datasource;
pub mod external_url;
pub mod file;
pub mod group;
pub mod lint;
pub mod locate;
pub mod log_sink;
pub mod manager;
pub mod query;
pub mod recording;
pub mod remote;
pub mod runtime;
pub mod schedule;
pub mod state_store;
pub mod unittest;
pub mod validate;
pub mod yaml;

#[cfg(test)]
mod group_tests;

pub use file::{GroupDef, RuleDef, RuleFile};
pub use group::{EvalDeps, Group, Health, Rule};
pub use query::{AlertSink, EngineQuery, OutgoingAlert, RuleQuery, RuleSample};
pub use validate::{RuleError, check_file, check_text};
