//! The inverted index: for every label name and value, the sorted list of
//! series references (postings) that carry it.
//!
//! ```text
//! by_label: "__name__" -> { "up" -> [3, 7, 12], "http_requests_total" -> [1, 2, 9] }
//!           "job"      -> { "api" -> [1, 3, 9],  "db" -> [2, 7, 12] }
//! all:      [1, 2, 3, 7, 9, 12]
//! ```
//!
//! References grow monotonically (the head assigns them under this index's
//! write lock), so adding a series appends to the end of each list and the
//! lists stay sorted without sorting.

use std::collections::{HashMap, HashSet};

use crate::model::Labels;

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub struct PostingsIndex {
    by_label: Map<String, Map<String, Vec<u64>>>,
    all: Vec<u64>,
}

impl PostingsIndex {
    /// Adds a series. `sref` must exceed every reference already added.
    pub fn add(&mut self, sref: u64, labels: &Labels) {
        debug_assert!(self.all.last().is_none_or(|&l| l < sref));
        self.all.push(sref);
        for l in labels {
            let values = match self.by_label.get_mut(l.name.as_str()) {
                Some(v) => v,
                None => self.by_label.entry(l.name.clone()).or_default(),
            };
            match values.get_mut(l.value.as_str()) {
                Some(list) => list.push(sref),
                None => {
                    values.insert(l.value.clone(), vec![sref]);
                }
            }
        }
    }

    /// Removes series (with their label sets), dropping emptied values and
    /// names so that label listings do not report dead ones.
    pub fn remove<'a, L>(&mut self, removed: impl IntoIterator<Item = (u64, L)>)
    where
        L: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let mut refs = HashSet::new();
        let mut touched: HashSet<(&str, &str)> = HashSet::new();
        for (sref, labels) in removed {
            refs.insert(sref);
            touched.extend(labels);
        }
        if refs.is_empty() {
            return;
        }
        self.all.retain(|r| !refs.contains(r));
        for (name, value) in touched {
            let Some(values) = self.by_label.get_mut(name) else {
                continue;
            };
            if let Some(list) = values.get_mut(value) {
                list.retain(|r| !refs.contains(r));
                if list.is_empty() {
                    values.remove(value);
                }
            }
            if values.is_empty() {
                self.by_label.remove(name);
            }
        }
    }

    /// The series carrying `name="value"` (empty when none do).
    pub fn postings(&self, name: &str, value: &str) -> &[u64] {
        self.by_label
            .get(name)
            .and_then(|v| v.get(value))
            .map_or(&[], Vec::as_slice)
    }

    /// Every value of `name` with its postings, in no particular order.
    pub fn values(&self, name: &str) -> impl Iterator<Item = (&str, &[u64])> {
        self.by_label
            .get(name)
            .into_iter()
            .flat_map(|m| m.iter().map(|(v, p)| (v.as_str(), p.as_slice())))
    }

    /// Every series, sorted.
    pub fn all(&self) -> &[u64] {
        &self.all
    }

    /// Approximate heap bytes, for per-series overhead figures.
    pub fn heap_bytes(&self) -> usize {
        let mut n = self.all.capacity() * 8;
        for (name, values) in &self.by_label {
            n += name.capacity() + 48;
            for (v, p) in values {
                n += v.capacity() + p.capacity() * 8 + 56;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_keep_lists_sorted_and_drop_empty_values() {
        let mut ix = PostingsIndex::default();
        let a = Labels::from_pairs([("__name__", "up"), ("job", "api")]);
        let b = Labels::from_pairs([("__name__", "up"), ("job", "db")]);
        ix.add(1, &a);
        ix.add(5, &b);
        assert_eq!(ix.postings("__name__", "up"), &[1, 5]);
        assert_eq!(ix.postings("job", "db"), &[5]);
        ix.remove([(5, b.iter().map(|l| (l.name.as_str(), l.value.as_str())))]);
        assert_eq!(ix.postings("__name__", "up"), &[1]);
        assert_eq!(ix.postings("job", "db"), &[] as &[u64]);
        assert_eq!(ix.values("job").count(), 1);
        assert_eq!(ix.all(), &[1]);
        ix.remove([(1, a.iter().map(|l| (l.name.as_str(), l.value.as_str())))]);
        assert!(ix.by_label.is_empty());
    }
}
