//! One shard of the head's series map.
//!
//! ```text
//! by_fp:  fingerprint -> series        (exact labels compared; collisions aside)
//! by_id:  postings id -> series        (queries resolve postings here)
//! slots:  [s0][s1][--][s3]...          (appends by handle, no hashing)
//! handle = generation (32 bits) | slot (28 bits) | shard (4 bits)
//! ```
//!
//! A slot keeps its series' handle and log reference beside the pointer:
//! a batch resolves every item (handle still current, pointer, log
//! reference) from the slot array alone, walked in order, before it visits
//! any series' own memory.
//!
//! Slots are reused after retention removes a series; the generation in the
//! handle makes a handle of the old series miss instead of writing into the
//! new one.

use std::sync::Arc;

use super::series::MemSeries;
use crate::model::Labels;

type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Shards of the series map: enough that parallel scrape loops creating
/// series rarely meet on one lock, few enough to scan cheaply on truncation.
pub const SHARD_BITS: u32 = 4;
pub const SHARDS: usize = 1 << SHARD_BITS;
const SLOT_BITS: u32 = 28;

/// One slot; an empty one has handle 0, which no series has (generations
/// start at 1).
#[derive(Debug, Default, Clone)]
struct Slot {
    handle: u64,
    wal_ref: u64,
    series: Option<Arc<MemSeries>>,
}

#[derive(Debug, Default)]
pub struct Shard {
    by_fp: Map<u64, Arc<MemSeries>>,
    /// Series whose fingerprint equals another's with different labels.
    collisions: Map<u64, Vec<Arc<MemSeries>>>,
    pub by_id: Map<u64, Arc<MemSeries>>,
    slots: Vec<Slot>,
    /// Free slots with the generation their next series gets.
    free: Vec<(u32, u32)>,
}

impl Shard {
    pub fn find(&self, fp: u64, labels: &Labels) -> Option<&Arc<MemSeries>> {
        let s = self.by_fp.get(&fp)?;
        if s.labels.matches(labels) {
            return Some(s);
        }
        self.collisions
            .get(&fp)?
            .iter()
            .find(|s| s.labels.matches(labels))
    }

    /// Reserves a slot for a series about to be inserted with
    /// [`Shard::insert`]; `fp` picks the shard bits.
    pub fn alloc_handle(&mut self, fp: u64) -> u64 {
        let (slot, generation) = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            ((self.slots.len() - 1) as u32, 1)
        });
        assert!(u64::from(slot) < 1 << SLOT_BITS, "series slots exhausted");
        (u64::from(generation) << 32) | (u64::from(slot) << SHARD_BITS) | (fp & (SHARDS as u64 - 1))
    }

    pub fn insert(&mut self, s: Arc<MemSeries>) {
        self.by_id.insert(s.id, s.clone());
        self.slots[slot_of(s.handle)] = Slot {
            handle: s.handle,
            wal_ref: s.wal_ref,
            series: Some(s.clone()),
        };
        match self.by_fp.get(&s.fingerprint) {
            None => {
                self.by_fp.insert(s.fingerprint, s);
            }
            Some(_) => self.collisions.entry(s.fingerprint).or_default().push(s),
        }
    }

    /// The series behind `handle`, unless it was removed (or never existed).
    #[inline]
    pub fn by_handle(&self, handle: u64) -> Option<&Arc<MemSeries>> {
        match self.slots.get(slot_of(handle)) {
            Some(Slot {
                handle: h,
                series: Some(s),
                ..
            }) if *h == handle => Some(s),
            _ => None,
        }
    }

    /// The series behind `handle` as a pointer, with its log reference,
    /// unless it was removed; reads only the slot array, so a batch can
    /// resolve all its items before touching any series' own memory.
    #[inline]
    pub fn resolve(&self, handle: u64) -> Option<(*const MemSeries, u64)> {
        match self.slots.get(slot_of(handle)) {
            Some(Slot {
                handle: h,
                wal_ref,
                series: Some(s),
            }) if *h == handle => Some((Arc::as_ptr(s), *wal_ref)),
            _ => None,
        }
    }

    pub fn remove(&mut self, s: &MemSeries) {
        self.by_id.remove(&s.id);
        let slot = slot_of(s.handle);
        self.slots[slot] = Slot::default();
        let next_generation = ((s.handle >> 32) as u32).wrapping_add(1).max(1);
        self.free.push((slot as u32, next_generation));
        if let Some(list) = self.collisions.get_mut(&s.fingerprint) {
            if let Some(i) = list.iter().position(|c| c.id == s.id) {
                list.swap_remove(i);
            } else if let Some(promoted) = list.pop() {
                self.by_fp.insert(s.fingerprint, promoted);
            }
            if list.is_empty() {
                self.collisions.remove(&s.fingerprint);
            }
        } else {
            self.by_fp.remove(&s.fingerprint);
        }
    }
}

fn slot_of(handle: u64) -> usize {
    ((handle >> SHARD_BITS) & ((1 << SLOT_BITS) - 1)) as usize
}
