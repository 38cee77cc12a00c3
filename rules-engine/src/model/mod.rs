//! The data model shared by every stage: label sets, matchers, samples.

pub mod labels;
pub mod matcher;
pub mod sample;
pub mod units;

pub use labels::{Label, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
