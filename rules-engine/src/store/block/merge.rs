//! Reading several stores as one: the head and the blocks, or the blocks
//! being compacted. Series with equal labels are merged in time order; a
//! timestamp present in more than one store is kept once, from the store
//! listed first (blocks and the head hold the same value there, the
//! overlap being a range not yet dropped from the head).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::model::{Labels, Matcher, Sample};
use crate::store::{Querier, SeriesSamples};

/// Merges sorted sample lists into one sorted list without duplicate
/// timestamps; on a tie the earlier list wins.
pub fn merge_samples(lists: Vec<Vec<Sample>>) -> Vec<Sample> {
    let mut lists: Vec<Vec<Sample>> = lists.into_iter().filter(|l| !l.is_empty()).collect();
    match lists.len() {
        0 => return Vec::new(),
        1 => return lists.pop().expect("one list"),
        _ => {}
    }
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    // Blocks cover disjoint time ranges: then the lists, put in time
    // order, only need appending one after the other.
    let mut by_time: Vec<&Vec<Sample>> = lists.iter().collect();
    by_time.sort_by_key(|l| l[0].t);
    if by_time
        .windows(2)
        .all(|p| p[0][p[0].len() - 1].t < p[1][0].t)
    {
        for l in by_time {
            out.extend_from_slice(l);
        }
        return out;
    }
    let mut pos = vec![0usize; lists.len()];
    loop {
        // The list whose next sample is earliest; the first on ties.
        let mut best: Option<(usize, i64)> = None;
        for (i, l) in lists.iter().enumerate() {
            if let Some(s) = l.get(pos[i])
                && best.is_none_or(|(_, t)| s.t < t)
            {
                best = Some((i, s.t));
            }
        }
        let Some((i, t)) = best else { break };
        out.push(lists[i][pos[i]]);
        for (j, l) in lists.iter().enumerate() {
            while l.get(pos[j]).is_some_and(|s| s.t == t) {
                pos[j] += 1;
            }
        }
    }
    out
}

/// Several queriers answering as one.
#[derive(Clone, Default)]
pub struct MergeQuerier {
    parts: Vec<Arc<dyn Querier>>,
}

impl MergeQuerier {
    /// `parts` in order of precedence for duplicate timestamps (the head
    /// first, then blocks newest first, is a good order).
    pub fn new(parts: Vec<Arc<dyn Querier>>) -> Self {
        MergeQuerier { parts }
    }
}

fn sorted_union<T: Ord>(lists: impl Iterator<Item = Vec<T>>) -> Vec<T> {
    let set: BTreeSet<T> = lists.flatten().collect();
    set.into_iter().collect()
}

impl Querier for MergeQuerier {
    /// Series in the order first seen (the first part's order, then new
    /// series of the next parts).
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<SeriesSamples> {
        if self.parts.len() == 1 {
            return self.parts[0].select(matchers, mint, maxt);
        }
        let mut order: Vec<Labels> = Vec::new();
        let mut parts: HashMap<Labels, Vec<Vec<Sample>>> = HashMap::new();
        for q in &self.parts {
            for s in q.select(matchers, mint, maxt) {
                let lists = parts.entry(s.labels).or_insert_with_key(|l| {
                    order.push(l.clone());
                    Vec::new()
                });
                lists.push(s.samples);
            }
        }
        order
            .into_iter()
            .map(|labels| {
                let lists = parts.remove(&labels).unwrap_or_default();
                SeriesSamples {
                    labels,
                    samples: merge_samples(lists),
                }
            })
            .collect()
    }

    fn series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        sorted_union(self.parts.iter().map(|q| q.series(matchers, mint, maxt)))
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        sorted_union(
            self.parts
                .iter()
                .map(|q| q.label_names(matchers, mint, maxt)),
        )
    }

    fn label_values(&self, name: &str, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<String> {
        sorted_union(
            self.parts
                .iter()
                .map(|q| q.label_values(name, matchers, mint, maxt)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Appender, Head, HeadOptions};
    use proptest::prelude::*;

    fn s(t: i64, v: f64) -> Sample {
        Sample { t, v }
    }

    #[test]
    fn merges_in_time_order_and_keeps_the_first_duplicate() {
        let a = vec![s(1, 1.0), s(3, 3.0), s(5, 5.0)];
        let b = vec![s(2, 20.0), s(3, 30.0), s(6, 60.0)];
        assert_eq!(
            merge_samples(vec![a, b]),
            [s(1, 1.0), s(2, 20.0), s(3, 3.0), s(5, 5.0), s(6, 60.0)]
        );
        assert!(merge_samples(vec![vec![], vec![]]).is_empty());
    }

    proptest! {
        #[test]
        fn merge_is_sorted_union(lists in proptest::collection::vec(
            proptest::collection::btree_set(-50i64..50, 0..30), 0..5)) {
            let input: Vec<Vec<Sample>> = lists
                .iter()
                .enumerate()
                .map(|(i, ts)| ts.iter().map(|&t| s(t, i as f64)).collect())
                .collect();
            let got = merge_samples(input);
            let want: BTreeSet<i64> = lists.iter().flatten().copied().collect();
            prop_assert_eq!(got.iter().map(|x| x.t).collect::<Vec<_>>(), want.iter().copied().collect::<Vec<_>>());
            for x in &got {
                let first = lists.iter().position(|l| l.contains(&x.t)).unwrap();
                prop_assert_eq!(x.v, first as f64);
            }
        }
    }

    #[test]
    fn head_and_block_read_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let (path, series) = super::super::tests::write_sample_block(dir.path());
        let block: Arc<dyn Querier> = Arc::new(super::super::Block::open(&path).unwrap());
        let head = Arc::new(Head::new(HeadOptions::default()));
        // The head overlaps the block's last samples and continues after.
        let (labels, samples) = &series[0];
        for x in &samples[290..] {
            head.append(labels, x.t, x.v).unwrap();
        }
        let last = samples.last().unwrap().t;
        head.append(labels, last + 15_000, 42.0).unwrap();
        let extra = Labels::from_pairs([("__name__", "only_in_head")]);
        head.append(&extra, last, 1.0).unwrap();

        let q = MergeQuerier::new(vec![head as Arc<dyn Querier>, block]);
        let got = q.select(&[Matcher::equal("__name__", "a_total")], i64::MIN, i64::MAX);
        let merged = got.iter().find(|g| &g.labels == labels).unwrap();
        let mut want = samples.clone();
        want.push(s(last + 15_000, 42.0));
        assert_eq!(merged.samples, want);
        assert_eq!(q.series(&[], i64::MIN, i64::MAX).len(), series.len() + 1);
        assert!(
            q.label_values("__name__", &[], i64::MIN, i64::MAX)
                .contains(&"only_in_head".to_string())
        );
    }
}
