//! Which series a log reference names, during replay.
//!
//! Every sample of the log is looked up here, so this is replay's hottest
//! path. References are handed out in order (by vigil and by Prometheus),
//! so they are dense small integers and samples records name them in the
//! order they were created: a vector indexed by reference reads memory in
//! order, where a hash map scatters every lookup over the whole table (it
//! took half of replay's time). A reference far beyond the others (a log
//! written by something that numbers differently) goes to a map instead,
//! so one odd number never makes the vector huge.

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::MemSeries;

/// How far past the series known so far a reference may be and still be
/// stored in the vector.
const DENSE_SLACK: u64 = 1 << 20;
/// Logs written before vigil numbered series densely spaced references 16
/// apart; those still replay through the vector.
const LEGACY_SPACING: u64 = 16;

#[derive(Default)]
pub(super) struct RefTable {
    dense: Vec<Option<Arc<MemSeries>>>,
    sparse: HashMap<u64, Arc<MemSeries>, foldhash::fast::RandomState>,
    known: u64,
}

impl RefTable {
    pub(super) fn insert(&mut self, wal_ref: u64, series: Arc<MemSeries>) {
        self.known += 1;
        if wal_ref < self.known.saturating_mul(LEGACY_SPACING) + DENSE_SLACK {
            let at = wal_ref as usize;
            if at >= self.dense.len() {
                self.dense.resize(at + 1, None);
            }
            self.dense[at] = Some(series);
        } else {
            self.sparse.insert(wal_ref, series);
        }
    }

    #[inline]
    pub(super) fn get(&self, wal_ref: u64) -> Option<&Arc<MemSeries>> {
        match self.dense.get(wal_ref as usize) {
            Some(Some(s)) => Some(s),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get(&wal_ref),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    fn series() -> Arc<MemSeries> {
        let labels = Labels::from_pairs([("a", "b")]);
        Arc::new(MemSeries::new(0, 0, labels.fingerprint(), 0, &labels))
    }

    #[test]
    fn dense_and_far_references_are_both_found() {
        let mut t = RefTable::default();
        let (a, b, far) = (series(), series(), series());
        t.insert(1, a.clone());
        t.insert(7, b.clone());
        t.insert(u64::MAX - 3, far.clone());
        assert!(Arc::ptr_eq(t.get(1).unwrap(), &a));
        assert!(Arc::ptr_eq(t.get(7).unwrap(), &b));
        assert!(Arc::ptr_eq(t.get(u64::MAX - 3).unwrap(), &far));
        assert!(t.get(2).is_none());
        assert!(t.get(8).is_none());
        assert!(t.get(u64::MAX).is_none());
        assert!(t.dense.len() < 16, "a far reference is not stored densely");
    }

    #[test]
    fn a_reference_named_again_points_at_the_newest_series() {
        let mut t = RefTable::default();
        let (a, b) = (series(), series());
        t.insert(3, a);
        t.insert(3, b.clone());
        assert!(Arc::ptr_eq(t.get(3).unwrap(), &b));
    }
}
