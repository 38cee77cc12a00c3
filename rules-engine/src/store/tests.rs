//! Tests of the head through its public seams (Appender and Querier).

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::{Labels, Matcher, stale_nan};

fn l(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn head() -> Head {
    Head::new(HeadOptions::unlimited())
}

#[test]
fn appends_and_selects_by_matchers_in_creation_order() {
    let h = head();
    let b = l(&[("__name__", "up"), ("job", "b")]);
    let a = l(&[("__name__", "up"), ("job", "a")]);
    let other = l(&[("__name__", "other"), ("job", "a")]);
    for t in 0..10 {
        h.append(&b, t * 1000, 1.0).unwrap();
        h.append(&a, t * 1000, t as f64).unwrap();
        h.append(&other, t * 1000, 2.0).unwrap();
    }
    let got = h.select(&[Matcher::equal("__name__", "up")], 2000, 4000);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].labels, b, "b was created first");
    assert_eq!(got[1].labels, a);
    let ts: Vec<i64> = got[1].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, [2000, 3000, 4000]);
    assert_eq!(got[1].samples[1].v, 3.0);

    let names = h.label_names(&[], i64::MIN, i64::MAX);
    assert_eq!(names, ["__name__", "job"]);
    let jobs = h.label_values("job", &[Matcher::equal("__name__", "up")], 0, 0);
    assert_eq!(jobs, ["a", "b"]);
    // Nothing in the window: left out.
    assert!(
        h.select(&[Matcher::equal("__name__", "up")], 20_000, 30_000)
            .is_empty()
    );
    assert!(h.series(&[], 20_000, 30_000).is_empty());
    assert_eq!(h.series(&[], 0, 0).len(), 3);
    assert_eq!(h.stats().series, 3);
    assert_eq!(h.stats().samples_appended, 30);
}

#[test]
fn out_of_order_rejected_and_counted_duplicates_accepted() {
    let h = head();
    let s = l(&[("__name__", "x")]);
    h.append(&s, 100, 1.0).unwrap();
    assert_eq!(h.append(&s, 50, 1.0), Err(AppendError::OutOfOrder));
    assert_eq!(h.append(&s, 100, 1.0), Ok(()));
    assert_eq!(h.append(&s, 100, 2.0), Err(AppendError::DuplicateTimestamp));
    let st = h.stats();
    assert_eq!(
        (st.samples_appended, st.out_of_order, st.duplicate_timestamp),
        (1, 1, 1)
    );
}

#[test]
fn staleness_marker_is_stored_bit_exact() {
    let h = head();
    let s = l(&[("__name__", "x")]);
    h.append(&s, 1, 1.0).unwrap();
    h.append(&s, 2, stale_nan()).unwrap();
    h.append(&s, 3, f64::NAN).unwrap();
    let got = h.select(&[Matcher::equal("__name__", "x")], 0, 10);
    let bits: Vec<u64> = got[0].samples.iter().map(|s| s.v.to_bits()).collect();
    assert_eq!(
        bits,
        [1f64.to_bits(), stale_nan().to_bits(), f64::NAN.to_bits()]
    );
}

#[test]
fn retention_truncates_whole_chunks_and_removes_empty_series() {
    let h = Head::new(HeadOptions {
        retention: Duration::from_secs(3600),
        truncate_every: Duration::from_secs(60),
    });
    let short = l(&[("__name__", "short"), ("job", "gone")]);
    let long = l(&[("__name__", "long")]);
    let step = 15_000;
    // `short` lives for the first 10 minutes only.
    for i in 0..40 {
        h.append(&short, i * step, 1.0).unwrap();
    }
    // `long` runs for 3 hours.
    for i in 0..(3 * 240) {
        h.append(&long, i * step, i as f64).unwrap();
    }
    let newest = (3 * 240 - 1) * step;
    let st = h.stats();
    assert_eq!(st.series, 1, "short-lived series removed");
    assert_eq!(st.series_removed, 1);
    assert!(h.label_values("job", &[], i64::MIN, i64::MAX).is_empty());
    assert!(
        h.select(&[Matcher::equal("__name__", "short")], 0, i64::MAX)
            .is_empty()
    );
    // Whole chunks only: the oldest kept sample is a chunk start within
    // one chunk (120 samples) of the retention boundary.
    let got = h.select(&[Matcher::equal("__name__", "long")], i64::MIN, i64::MAX);
    let oldest = got[0].samples[0].t;
    let boundary = newest - 3_600_000;
    assert!(
        oldest <= boundary && oldest > boundary - 120 * step - 60_000,
        "{oldest}"
    );
    assert_eq!((oldest / step) % 120, 0);
    // Samples before the truncation point are now too old.
    assert_eq!(h.append(&short, 0, 1.0), Err(AppendError::TooOld));
    // A series removed by retention comes back when it is written again.
    h.append(&short, newest, 5.0).unwrap();
    assert_eq!(h.label_values("job", &[], i64::MIN, i64::MAX), ["gone"]);
}

#[test]
fn collisions_are_kept_apart() {
    // Two distinct label sets forced under one fingerprint.
    let h = head();
    let a = l(&[("__name__", "a")]);
    let b = l(&[("__name__", "b")]);
    let c = l(&[("__name__", "c")]);
    let sa = h.get_or_create_fp(42, &a);
    let sb = h.get_or_create_fp(42, &b);
    let sc = h.get_or_create_fp(42, &c);
    assert_ne!(sa.series_ref(), sb.series_ref());
    assert!(Arc::ptr_eq(&sa, &h.get_or_create_fp(42, &a)));
    assert!(Arc::ptr_eq(&sb, &h.get_or_create_fp(42, &b)));
    h.append_to(&sa, 1, 1.0).unwrap();
    h.append_to(&sb, 100, 2.0).unwrap();
    h.append_to(&sc, 100, 3.0).unwrap();
    // Truncation removes the primary entry `a`; `b` and `c` stay findable.
    assert_eq!(h.truncate(50), 1);
    assert!(Arc::ptr_eq(&sb, &h.get_or_create_fp(42, &b)));
    assert!(Arc::ptr_eq(&sc, &h.get_or_create_fp(42, &c)));
    let got = h.select(&[Matcher::regex("__name__", ".+").unwrap()], 0, 200);
    let values: Vec<f64> = got.iter().map(|s| s.samples[0].v).collect();
    assert_eq!(values, [2.0, 3.0]);
    assert_eq!(h.stats().series, 2);
}

#[test]
fn concurrent_appends_and_reads() {
    let h = Arc::new(head());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let h = h.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    for s in 0..20 {
                        let labels = l(&[
                            ("__name__", "m"),
                            ("w", &w.to_string()),
                            ("s", &s.to_string()),
                        ]);
                        h.append(&labels, i, i as f64).unwrap();
                    }
                }
            })
        })
        .collect();
    let reader = {
        let h = h.clone();
        std::thread::spawn(move || {
            for _ in 0..50 {
                for s in h.select(&[Matcher::equal("__name__", "m")], 0, i64::MAX) {
                    // Every prefix read must be complete and in order.
                    assert!(s.samples.windows(2).all(|w| w[1].t == w[0].t + 1));
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    let all = h.select(&[Matcher::equal("__name__", "m")], 0, i64::MAX);
    assert_eq!(all.len(), 80);
    assert!(all.iter().all(|s| s.samples.len() == 500));
}

#[test]
fn append_ref_skips_lookup_and_recovers_after_truncation() {
    let h = head();
    let a = l(&[("__name__", "a")]);
    let b = l(&[("__name__", "b")]);
    let ra = h.append_ref(SeriesRef::NONE, &a, 1, 1.0).unwrap();
    assert_ne!(ra, SeriesRef::NONE);
    // A known reference wins over the labels passed along.
    assert_eq!(h.append_ref(ra, &b, 2, 2.0).unwrap(), ra);
    assert_eq!(
        h.select(&[Matcher::equal("__name__", "a")], 0, 10)[0]
            .samples
            .len(),
        2
    );
    assert!(
        h.select(&[Matcher::equal("__name__", "b")], 0, 10)
            .is_empty()
    );
    // After the series is truncated away, the labels recreate it.
    h.truncate(100);
    let again = h.append_ref(ra, &a, 200, 3.0).unwrap();
    assert_ne!(again, ra);
    assert_eq!(
        h.select(&[Matcher::equal("__name__", "a")], 0, 1000)[0]
            .samples
            .len(),
        1
    );
}

#[test]
fn stale_handles_miss_after_their_slot_is_reused() {
    let h = head();
    let a = l(&[("__name__", "a")]);
    let b = l(&[("__name__", "b")]);
    let sa = h.get_or_create_fp(7, &a);
    h.append_to(&sa, 1, 1.0).unwrap();
    let old = sa.series_ref();
    h.truncate(10);
    // `b` lands in the same shard and takes the freed slot.
    let sb = h.get_or_create_fp(7, &b);
    h.append_to(&sb, 20, 2.0).unwrap();
    assert_ne!(sb.series_ref(), old);
    assert!(h.series_by_ref(old).is_none());
    // Appending with the old handle must not write into `b`.
    h.append_ref(old, &a, 30, 3.0).unwrap();
    let got = h.select(&[Matcher::equal("__name__", "b")], 0, 100);
    assert_eq!(got[0].samples.len(), 1);
    let got = h.select(&[Matcher::equal("__name__", "a")], 0, 100);
    assert_eq!(got[0].samples[0].v, 3.0);
}

#[test]
fn appends_by_handle_survive_retention_truncation() {
    // Truncation takes shard write locks; the handle fast path must not be
    // holding a shard lock when an append triggers it.
    let h = Head::new(HeadOptions {
        retention: Duration::from_secs(3600),
        truncate_every: Duration::from_secs(60),
    });
    let s = l(&[("__name__", "x")]);
    let mut sref = SeriesRef::NONE;
    for i in 0..(3 * 240) {
        sref = h.append_ref(sref, &s, i * 15_000, i as f64).unwrap();
    }
    assert!(h.stats().truncations > 100);
    assert!(h.stats().chunks_removed >= 2);
}

#[test]
fn batch_appends_match_single_appends() {
    let h = Head::new(HeadOptions {
        retention: Duration::from_secs(3600),
        truncate_every: Duration::from_secs(60),
    });
    let labels: Vec<Labels> = (0..50)
        .map(|i| l(&[("__name__", "b"), ("i", &i.to_string())]))
        .collect();
    let mut refs = vec![SeriesRef::NONE; labels.len()];
    for k in 0..600i64 {
        let mut items: Vec<BatchItem<'_>> = labels
            .iter()
            .zip(&refs)
            .map(|(lab, r)| BatchItem::new(*r, lab, k * 15_000, k as f64))
            .collect();
        // A repeated series in one batch: same value accepted, other rejected.
        items.push(BatchItem::new(
            SeriesRef::NONE,
            &labels[0],
            k * 15_000,
            k as f64,
        ));
        items.push(BatchItem::new(
            SeriesRef::NONE,
            &labels[1],
            k * 15_000,
            -1.0,
        ));
        h.append_batch(&mut items);
        for (r, it) in refs.iter_mut().zip(&items) {
            assert_eq!(it.result, Ok(()));
            *r = it.sref;
        }
        assert_eq!(items[50].result, Ok(()));
        assert_eq!(items[51].result, Err(AppendError::DuplicateTimestamp));
    }
    let st = h.stats();
    assert_eq!(st.samples_appended, 50 * 600);
    assert_eq!(st.duplicate_timestamp, 600);
    assert!(st.truncations > 0 && st.chunks_removed > 0);
    let got = h.select(&[Matcher::equal("i", "7")], i64::MIN, i64::MAX);
    let last = got[0].samples.last().unwrap();
    assert_eq!((last.t, last.v), (599 * 15_000, 599.0));
    // An out-of-order sample in a batch is reported on its item.
    let mut items = vec![BatchItem::new(refs[3], &labels[3], 0, 1.0)];
    h.append_batch(&mut items);
    assert_eq!(items[0].result, Err(AppendError::TooOld));
}

#[test]
fn batches_racing_retention_land_in_the_right_series() {
    // A batch resolves its series before appending through them; here
    // another thread truncates in between, removing series the batch
    // resolved (each was emptied by a cut at the batch's own time). Their
    // samples must go to a fresh series with the same labels, never be
    // lost to the removed one or land in another.
    let h = Arc::new(Head::new(HeadOptions::default()));
    let labels: Vec<Labels> = (0..2000)
        .map(|i| l(&[("__name__", "race"), ("i", &i.to_string())]))
        .collect();
    let rounds = 200i64;
    let round = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let truncator = {
        let (h, round) = (h.clone(), round.clone());
        std::thread::spawn(move || {
            for k in 1..rounds {
                while round.load(std::sync::atomic::Ordering::Acquire) < k {
                    std::thread::yield_now();
                }
                h.truncate(k * 1000);
            }
        })
    };
    let mut refs = vec![SeriesRef::NONE; labels.len()];
    for k in 0..rounds {
        let mut items: Vec<BatchItem<'_>> = labels
            .iter()
            .zip(&refs)
            .enumerate()
            .map(|(i, (lab, r))| BatchItem::new(*r, lab, k * 1000, i as f64))
            .collect();
        round.store(k, std::sync::atomic::Ordering::Release);
        h.append_batch(&mut items);
        for (r, it) in refs.iter_mut().zip(&items) {
            assert_eq!(it.result, Ok(()), "round {k}");
            *r = it.sref;
        }
    }
    truncator.join().unwrap();
    // Tens of thousands of series are removed under a running batch here.
    assert!(h.stats().series_removed > 0, "the truncations never raced");
    for (i, lab) in labels.iter().enumerate() {
        let got = h.select(&[Matcher::equal("i", i.to_string())], i64::MIN, i64::MAX);
        assert_eq!(got.len(), 1, "series {lab}");
        let last = got[0].samples.last().unwrap();
        assert_eq!(
            (last.t, last.v),
            ((rounds - 1) * 1000, i as f64),
            "series {lab}"
        );
        assert!(
            got[0].samples.iter().all(|s| s.v == i as f64),
            "series {lab}"
        );
    }
}

mod model_check {
    //! The head against a naive model: random appends (some out of order,
    //! some duplicates), then selections by random matchers and windows.
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn labels_for(i: u8) -> Labels {
        let job = ["api", "db", "cache"][usize::from(i % 3)];
        let mut pairs = vec![
            (
                "__name__",
                if i.is_multiple_of(2) {
                    "up"
                } else {
                    "req_total"
                },
            ),
            ("job", job),
        ];
        let code = i.to_string();
        if !i.is_multiple_of(4) {
            pairs.push(("code", code.as_str()));
        }
        Labels::from_pairs(pairs)
    }

    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => (0i64..100_000, 0u32..4).prop_map(|(m, s)| m as f64 / 10f64.powi(s as i32)),
            1 => any::<f64>(),
            1 => Just(stale_nan()),
        ]
    }

    fn matcher() -> impl Strategy<Value = Vec<Matcher>> {
        prop_oneof![
            Just(vec![Matcher::equal("__name__", "up")]),
            Just(vec![Matcher::not_equal("job", "db")]),
            Just(vec![Matcher::regex("code", "1.*|3").unwrap()]),
            Just(vec![
                Matcher::equal("code", ""),
                Matcher::regex("__name__", ".+").unwrap()
            ]),
            Just(vec![Matcher::not_regex("job", "api|cache").unwrap()]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn head_agrees_with_a_naive_model(
            ops in proptest::collection::vec((0u8..12, -3i64..40, value()), 1..3000),
            ms in matcher(),
            window in (0i64..20_000, 0i64..20_000),
        ) {
            let h = head();
            let mut model: BTreeMap<Labels, Vec<(i64, u64)>> = BTreeMap::new();
            let mut clock: BTreeMap<u8, i64> = BTreeMap::new();
            for (series, step, v) in ops {
                let t = clock.get(&series).copied().unwrap_or(0) + step * 100;
                let l = labels_for(series);
                let samples = model.entry(l.clone()).or_default();
                let expected = match samples.last() {
                    Some(&(lt, _)) if t < lt => Err(AppendError::OutOfOrder),
                    Some(&(lt, lv)) if t == lt && lv != v.to_bits() => Err(AppendError::DuplicateTimestamp),
                    Some(&(lt, _)) if t == lt => Ok(()),
                    _ => {
                        samples.push((t, v.to_bits()));
                        Ok(())
                    }
                };
                prop_assert_eq!(h.append(&l, t, v), expected.clone());
                if expected.is_ok() {
                    clock.insert(series, t);
                }
            }
            let (mint, maxt) = (window.0.min(window.1), window.0.max(window.1));
            let want: Vec<(Labels, Vec<(i64, u64)>)> = model
                .into_iter()
                .filter(|(l, _)| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
                .map(|(l, s)| (l, s.into_iter().filter(|(t, _)| *t >= mint && *t <= maxt).collect::<Vec<_>>()))
                .filter(|(_, s)| !s.is_empty())
                .collect();
            let mut got: Vec<(Labels, Vec<(i64, u64)>)> = h
                .select(&ms, mint, maxt)
                .into_iter()
                .map(|s| (s.labels, s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect()))
                .collect();
            got.sort();
            prop_assert_eq!(&got, &want);
            let series: Vec<Labels> = want.iter().map(|(l, _)| l.clone()).collect();
            prop_assert_eq!(h.series(&ms, mint, maxt), series);
        }
    }
}

/// The head's minimum for block cutting is kept without a pass over the
/// series: appends lower it (also a new series older than the rest), a
/// truncation raises it to the cut.
#[test]
fn min_time_bound_follows_appends_and_truncation() {
    let h = head();
    assert_eq!(h.min_time_bound(), None);
    let (a, b) = (l(&[("__name__", "a")]), l(&[("__name__", "b")]));
    for t in 10..20 {
        h.append(&a, t * 1000, 1.0).unwrap();
    }
    assert_eq!(h.min_time_bound(), Some(10_000));
    h.append(&b, 5_000, 1.0).unwrap();
    assert_eq!(h.min_time_bound(), Some(5_000));
    assert_eq!(h.min_time(), Some(5_000));
    h.truncate(12_000);
    assert_eq!(h.min_time_bound(), Some(12_000));
    assert!(h.append(&b, 11_000, 1.0).is_err(), "older than the cut");
    assert_eq!(h.min_time_bound(), Some(12_000));
}
