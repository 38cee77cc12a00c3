//! Notification: from routed alerts to delivered messages, as
//! Alertmanager does it, with every notification written to SQL before it
//! is sent.
//!
//! ```text
//! route/        Alertmanager's configuration format, checked at load, and the
//!               routing tree (which receivers, how grouped)
//! dispatch.rs   AlertSink -> aggregation groups (group.rs) -> flush
//! stages.rs     inhibit (inhibit.rs) -> time intervals -> silences (silence.rs)
//!               -> dedup against the notification log (dedup.rs)
//! integration.rs render and deliver through integrations/ (one module per
//!               receiver kind: webhook, slack, email, pagerduty, opsgenie, ...)
//! tables/       outbox + log in one transaction (outbox.rs), history,
//!               silences, peers: the stage's SQL tables
//! sender.rs     claim -> deliver (http.rs, smtp.rs) -> retry (retry.rs) -> record
//! forward.rs    alerts to existing Alertmanagers, as Prometheus sends them
//! errors.rs     why building, starting or reloading failed: the receiver
//!               entry or Alertmanager and the setting at fault, no secret
//! ```
//!
//! The stages and the timing are pure functions of the instant passed in;
//! only the dispatcher and sender tasks read the clock.

pub mod alert;
pub mod api;
pub mod api_status;
pub mod cli;
pub mod config;
pub mod data;
pub mod dedup;
pub mod dispatch;
pub mod errors;
pub mod forward;
pub mod group;
pub mod http;
pub mod inhibit;
pub mod integration;
pub mod integrations;
pub mod metrics;
pub mod notifier;
pub mod oauth2;
pub mod peers;
pub mod retry;
pub mod route;
pub mod running;
pub mod sender;
pub mod silence;
pub mod silence_store;
pub mod smtp;
pub mod stages;
pub mod status;
pub mod tables;
pub mod template;
pub mod template_methods;
pub mod tls;

pub use alert::{Alert, Status};
pub use data::Data;
pub use dispatch::{DispatchOptions, Dispatcher};
pub use errors::BuildError;
pub use inhibit::{InhibitRule, Inhibited, inhibited_by};
pub use integrations::webhook::WebhookMessage;
pub use notifier::Notifier;
pub use retry::{Backoff, Decision};
