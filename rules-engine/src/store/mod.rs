//! The embedded time-series store, split into the two seams its users need:
//! scraping and rules append through [`Appender`]; PromQL and the API read
//! through [`Querier`].
//!
//! [`Head`] implements both in memory (share it as `Arc<Head>`):
//!
//! ```text
//! scrape loop ─ SeriesCache (raw text -> SeriesRef) ─ append_batch ─┐
//! rules ─────────────────────────────────────────────── append ─────┤
//!                                                                   v
//!   Head: shards (fingerprint/id/handle -> MemSeries) ── postings index
//!         MemSeries: packed labels + chunks (dod time, XOR or decimal values)
//!                                                                   │
//! PromQL / API ─────────────────── select, series, label_* ─────────┘
//! ```
//!
//! Cheapest way in for a scrape: keep a [`SeriesCache`] per target, resolve
//! each parsed sample's raw series text through it (building labels only on
//! a miss), and hand the whole scrape to [`Appender::append_batch`].

mod batch;
mod bits;
pub mod block;
pub mod cache;
mod cardinality;
pub mod chunk;
mod head;
mod index;
pub mod packed;
mod prefetch;
mod select;
pub mod series;
mod shard;
mod stats;
pub mod storage;
#[cfg(test)]
mod tests;
pub mod wal;

pub use cache::{CacheSlot, SeriesCache};
pub use cardinality::{Cardinality, Count};
pub use head::{Head, HeadOptions};
pub use packed::PackedLabels;
pub use series::{MemSeries, SeriesMemory};
pub use stats::HeadStats;

use std::borrow::Cow;
use std::ops::ControlFlow;

use crate::model::{Labels, Matcher, Sample};

/// Why a sample was not stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// Prometheus rejects samples older than the series' newest one.
    #[error("out of order sample")]
    OutOfOrder,
    /// A different value at the same timestamp as the newest sample.
    #[error("duplicate sample for timestamp")]
    DuplicateTimestamp,
    /// Older than the retention window: it would be truncated at once.
    #[error("sample too old")]
    TooOld,
}

/// Writes samples. Implementations are shared across tasks (`&self`), so
/// appends from several scrape loops and reads from queries run concurrently.
pub trait Appender: Send + Sync {
    /// Appends one sample; `t` is milliseconds since the epoch. A value of
    /// [`crate::model::stale_nan`] marks the series stale from `t` on.
    fn append(&self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError>;

    /// Appends through a reference the store handed out earlier, skipping
    /// the label-set lookup (Prometheus's `Append(ref, lset, t, v)`): the
    /// scrape cache keeps the returned reference per raw series text. When
    /// `sref` is [`SeriesRef::NONE`] or no longer valid (the series was
    /// truncated away), `labels` is used. Returns the reference to keep.
    fn append_ref(
        &self,
        sref: SeriesRef,
        labels: &Labels,
        t: i64,
        v: f64,
    ) -> Result<SeriesRef, AppendError> {
        let _ = sref;
        self.append(labels, t, v).map(|()| SeriesRef::NONE)
    }

    /// Appends a whole scrape: each item as [`Appender::append_ref`] would,
    /// in order, with `sref` and `result` updated in place. Stores override
    /// it to take their locks once per batch instead of once per sample.
    fn append_batch(&self, items: &mut [BatchItem<'_>]) {
        for it in items {
            match self.append_ref(it.sref, &it.labels.get(), it.t, it.v) {
                Ok(sref) => {
                    it.sref = sref;
                    it.result = Ok(());
                }
                Err(e) => it.result = Err(e),
            }
        }
    }
}

/// One sample of [`Appender::append_batch`].
#[derive(Debug, Clone)]
pub struct BatchItem<'a> {
    /// The handle from an earlier append, or [`SeriesRef::NONE`]; updated
    /// to the handle to keep.
    pub sref: SeriesRef,
    /// Used when `sref` is unknown or stale.
    pub labels: SeriesLabels<'a>,
    pub t: i64,
    pub v: f64,
    /// Set by the append.
    pub result: Result<(), AppendError>,
}

impl<'a> BatchItem<'a> {
    pub fn new(sref: SeriesRef, labels: &'a Labels, t: i64, v: f64) -> Self {
        Self::with_labels(sref, SeriesLabels::Full(labels), t, v)
    }

    /// An item whose caller keeps its labels packed (the scrape cache does,
    /// for every series of every target).
    pub fn packed(sref: SeriesRef, labels: &'a PackedLabels, t: i64, v: f64) -> Self {
        Self::with_labels(sref, SeriesLabels::Packed(labels), t, v)
    }

    fn with_labels(sref: SeriesRef, labels: SeriesLabels<'a>, t: i64, v: f64) -> Self {
        BatchItem {
            sref,
            labels,
            t,
            v,
            result: Ok(()),
        }
    }
}

/// A batch item's label set, in whichever form its caller keeps it. The
/// store only needs it on the slow path (a new series or a stale handle),
/// so a packed set is unpacked only then.
#[derive(Debug, Clone, Copy)]
pub enum SeriesLabels<'a> {
    Full(&'a Labels),
    Packed(&'a PackedLabels),
}

impl<'a> SeriesLabels<'a> {
    pub fn get(self) -> Cow<'a, Labels> {
        match self {
            SeriesLabels::Full(l) => Cow::Borrowed(l),
            SeriesLabels::Packed(p) => Cow::Owned(p.to_labels()),
        }
    }
}

/// A store's handle for a series; [`SeriesRef::NONE`] when unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeriesRef(pub u64);

impl SeriesRef {
    pub const NONE: SeriesRef = SeriesRef(0);
}

/// One series and its samples within the requested window, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

/// Reads samples. All times are milliseconds since the epoch, inclusive.
pub trait Querier: Send + Sync {
    /// Every series matching all `matchers` with its samples in
    /// `[mint, maxt]` (staleness markers included, as stored), in the order
    /// the series were created, as Prometheus's head hands them to PromQL
    /// (unsorted: sorting 100k label sets per selector was most of an
    /// instant query's time). Series with no sample in the window are left
    /// out.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples>;

    /// Hands the series [`Querier::select`] would return to `each`, one at
    /// a time and in an order of the store's choosing, until `each` breaks.
    /// For callers that reduce series as they come (an aggregation of a
    /// range function): stores that read from disk implement it so that
    /// only one series' samples are in memory at once, instead of weeks of
    /// samples of every selected series. The default reads them all first.
    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        each: &mut dyn FnMut(SeriesSamples) -> ControlFlow<()>,
    ) {
        for s in self.select(matchers, mint, maxt) {
            if each(s).is_break() {
                return;
            }
        }
    }

    /// Label sets of the series matching `matchers` that have samples in
    /// `[mint, maxt]`, sorted (for `/api/v1/series`).
    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels>;

    /// Sorted, distinct label names of those series (for `/api/v1/labels`).
    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String>;

    /// Sorted, distinct values of `name` on those series.
    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String>;
}
