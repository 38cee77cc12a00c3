//! Notification: the pure stages between a routed group of alerts and a
//! receiver — inhibition, the data templates and payloads are built from,
//! and the retry decision — kept free of I/O and of clock reads so each
//! is tested by value.

pub mod alert;
pub mod data;
pub mod dedup;
pub mod email;
pub mod group;
pub mod http;
pub mod inhibit;
pub mod retry;
pub mod silence;
pub mod slack;
pub mod stages;
pub mod webhook;

pub use alert::{Alert, Status};
pub use data::Data;
pub use inhibit::{InhibitRule, Inhibited, inhibited_by};
pub use retry::{Backoff, Decision};
pub use webhook::WebhookMessage;
