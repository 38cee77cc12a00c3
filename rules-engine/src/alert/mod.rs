//! The rule side of alerts: the state machine each alert instance follows
//! and the templates that fill in its labels and annotations.

pub mod humanize;
pub mod state;
pub mod template;
mod template_print;
mod template_printf;
mod template_vars;

#[cfg(test)]
mod template_tests;

pub use state::{Alert, AlertState, Hold, Keep};
