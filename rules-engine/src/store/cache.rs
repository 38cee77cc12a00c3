//! A scrape loop's cache from the raw series text of its target's body
//! (`name{labels}` exactly as written) to the store's [`SeriesRef`] and
//! whatever the scraper derived from it (the relabeled label set, or the
//! fact that relabeling dropped it), so known series cost neither label
//! parsing nor relabeling nor a label-set lookup.
//!
//! ```text
//! entries: [e0][e1][e2] ...                              order of first sight
//!                ^ cursor: the next expected series
//! keys:    "up{..}x{a=1}x{a=2}..."                        raw texts, one buffer
//! index:   hash(raw) -> entry positions                   fallback
//! ```
//!
//! Targets write their series in the same order on every scrape, so the
//! entry after the last hit is almost always the next series: one
//! comparison against memory read in order (the keys share one buffer, so
//! the comparisons stream through it), no hashing. Out-of-order or new
//! series fall back to the hash index.

use std::hash::BuildHasher;

use super::SeriesRef;

type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// One cached series.
#[derive(Debug, Clone)]
pub struct CacheSlot<V> {
    pub sref: SeriesRef,
    pub value: V,
}

#[derive(Debug, Clone)]
struct Entry<V> {
    /// `keys[key_start..key_end]` is the raw series text.
    key_start: u32,
    key_end: u32,
    slot: CacheSlot<V>,
    last_seen: u64,
}

/// See the module documentation. `V` is the scraper's per-series data.
#[derive(Debug, Clone)]
pub struct SeriesCache<V> {
    entries: Vec<Entry<V>>,
    keys: Vec<u8>,
    /// Hash of the raw text -> positions in `entries` with that hash.
    index: Map<u64, Vec<u32>>,
    hasher: foldhash::fast::FixedState,
    cursor: usize,
    scrape: u64,
}

impl<V> Default for SeriesCache<V> {
    fn default() -> Self {
        SeriesCache {
            entries: Vec::new(),
            keys: Vec::new(),
            index: Map::default(),
            hasher: foldhash::fast::FixedState::default(),
            cursor: 0,
            scrape: 0,
        }
    }
}

impl<V> SeriesCache<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Starts a scrape: lookups from now on mark entries as seen in it.
    pub fn begin_scrape(&mut self) {
        self.scrape += 1;
        self.cursor = 0;
    }

    /// The slot for `raw`, marked as seen in this scrape.
    #[inline]
    pub fn get(&mut self, raw: &[u8]) -> Option<&mut CacheSlot<V>> {
        let pos = self.lookup(raw)?;
        Some(&mut self.entries[pos].slot)
    }

    /// The position of `raw`'s slot, marked as seen in this scrape.
    /// Positions are stable until [`SeriesCache::end_scrape`], so a scrape
    /// can collect them and append everything in one batch.
    #[inline]
    pub fn lookup(&mut self, raw: &[u8]) -> Option<usize> {
        let pos = match self.entries.get(self.cursor) {
            Some(e) if self.key(e) == raw => self.cursor,
            _ => self.find(raw)?,
        };
        self.cursor = pos + 1;
        self.entries[pos].last_seen = self.scrape;
        Some(pos)
    }

    pub fn slot(&self, pos: usize) -> &CacheSlot<V> {
        &self.entries[pos].slot
    }

    pub fn slot_mut(&mut self, pos: usize) -> &mut CacheSlot<V> {
        &mut self.entries[pos].slot
    }

    fn find(&self, raw: &[u8]) -> Option<usize> {
        let positions = self.index.get(&self.hasher.hash_one(raw))?;
        positions
            .iter()
            .map(|&p| p as usize)
            .find(|&p| self.key(&self.entries[p]) == raw)
    }

    /// Adds `raw` (not yet cached), marked as seen in this scrape; returns
    /// its position.
    pub fn insert(&mut self, raw: &[u8], sref: SeriesRef, value: V) -> usize {
        let pos = self.entries.len();
        self.index
            .entry(self.hasher.hash_one(raw))
            .or_default()
            .push(pos as u32);
        let key_start = self.keys.len() as u32;
        self.keys.extend_from_slice(raw);
        self.entries.push(Entry {
            key_start,
            key_end: self.keys.len() as u32,
            slot: CacheSlot { sref, value },
            last_seen: self.scrape,
        });
        self.cursor = pos + 1;
        pos
    }

    /// Ends a scrape: calls `vanished` for each series seen in the previous
    /// scrape but not in this one (they get staleness markers), and forgets
    /// every series not seen in this scrape.
    pub fn end_scrape(&mut self, mut vanished: impl FnMut(&CacheSlot<V>)) {
        let (now, prev) = (self.scrape, self.scrape.saturating_sub(1));
        let before = self.entries.len();
        self.entries.retain(|e| {
            if e.last_seen == prev && prev != 0 {
                vanished(&e.slot);
            }
            e.last_seen == now
        });
        if self.entries.len() != before {
            self.rebuild_index();
        }
    }

    fn key(&self, e: &Entry<V>) -> &[u8] {
        &self.keys[e.key_start as usize..e.key_end as usize]
    }

    /// Re-packs the keys of the remaining entries and re-indexes them.
    fn rebuild_index(&mut self) {
        let mut keys = Vec::with_capacity(self.keys.len());
        for e in &mut self.entries {
            let start = keys.len() as u32;
            keys.extend_from_slice(&self.keys[e.key_start as usize..e.key_end as usize]);
            (e.key_start, e.key_end) = (start, keys.len() as u32);
        }
        self.keys = keys;
        self.index.clear();
        for (pos, e) in self.entries.iter().enumerate() {
            let hash = self
                .hasher
                .hash_one(&self.keys[e.key_start as usize..e.key_end as usize]);
            self.index.entry(hash).or_default().push(pos as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(cache: &mut SeriesCache<u32>, keys: &[&str]) -> (Vec<u32>, Vec<u32>) {
        cache.begin_scrape();
        let mut hits = Vec::new();
        for k in keys {
            match cache.get(k.as_bytes()) {
                Some(slot) => hits.push(slot.value),
                None => {
                    let v = k.len() as u32;
                    cache.insert(k.as_bytes(), SeriesRef(u64::from(v)), v);
                }
            }
        }
        let mut gone = Vec::new();
        cache.end_scrape(|s| gone.push(s.value));
        (hits, gone)
    }

    #[test]
    fn hits_in_and_out_of_order_and_reports_vanished_series() {
        let mut c = SeriesCache::new();
        assert_eq!(scrape(&mut c, &["a", "bb", "ccc"]), (vec![], vec![]));
        assert_eq!(scrape(&mut c, &["a", "bb", "ccc"]), (vec![1, 2, 3], vec![]));
        // Reordered, one new, one missing.
        assert_eq!(scrape(&mut c, &["ccc", "dddd", "a"]), (vec![3, 1], vec![2]));
        assert_eq!(c.len(), 3);
        // `bb` is gone for good: reported once, then forgotten.
        assert_eq!(
            scrape(&mut c, &["ccc", "dddd", "a"]),
            (vec![3, 4, 1], vec![])
        );
        assert_eq!(scrape(&mut c, &["bb"]), (vec![], vec![1, 3, 4]));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn duplicate_raw_text_in_one_scrape_hits_the_same_slot() {
        let mut c = SeriesCache::new();
        assert_eq!(scrape(&mut c, &["x", "x"]), (vec![1], vec![]));
        assert_eq!(c.len(), 1);
    }
}
