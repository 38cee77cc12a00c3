//! Round trips through the writer and reader, and damage: every kind of
//! broken block gives a typed error naming the file, never a panic.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;
use crate::model::{Labels, Matcher, Sample};
use crate::store::Querier;

/// 3 metrics x 4 instances, 300 samples each (3 chunks), from t = 1000.
pub(crate) fn sample_series() -> Vec<(Labels, Vec<Sample>)> {
    let mut out = Vec::new();
    for name in ["a_total", "b_bytes", "c"] {
        for inst in ["i0", "i1", "i2", "i3"] {
            let labels = Labels::from_pairs([("__name__", name), ("instance", inst)]);
            let samples = (0..300)
                .map(|i| Sample {
                    t: 1000 + i * 15_000 + (i % 7),
                    v: (i as f64) * 0.5 + inst.len() as f64,
                })
                .collect();
            out.push((labels, samples));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub(crate) fn write_sample_block(parent: &Path) -> (PathBuf, Vec<(Labels, Vec<Sample>)>) {
    let series = sample_series();
    let meta = write_block(
        parent,
        0,
        10_000_000,
        series.iter().map(|(l, s)| (l, s.as_slice())),
    )
    .unwrap()
    .unwrap();
    (parent.join(meta.ulid.to_string()), series)
}

#[test]
fn writes_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (path, series) = write_sample_block(dir.path());
    let b = Block::open(&path).unwrap();
    b.verify().unwrap();
    assert_eq!(b.meta().stats.num_series, 12);
    assert_eq!(b.meta().stats.num_chunks, 12 * 3);
    let got = b.select(&[], i64::MIN, i64::MAX);
    assert_eq!(got.len(), series.len());
    for (g, (l, s)) in got.iter().zip(&series) {
        assert_eq!(&g.labels, l);
        assert_eq!(&g.samples, s);
    }
    // A window inside the second chunk, and matchers.
    let ms = [
        Matcher::regex("__name__", "a_.*|c").unwrap(),
        Matcher::not_equal("instance", "i1"),
    ];
    let got = b.select(&ms, 2_000_000, 2_100_000);
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|s| {
        s.samples
            .iter()
            .all(|x| x.t >= 2_000_000 && x.t <= 2_100_000)
    }));
    assert_eq!(got[0].samples.len(), 6);
    assert_eq!(
        b.label_values("__name__", &[], i64::MIN, i64::MAX),
        ["a_total", "b_bytes", "c"]
    );
    assert_eq!(
        b.label_names(&[], 0, 1),
        Vec::<String>::new(),
        "no sample in [0, 1]"
    );
    assert_eq!(
        b.series(&[Matcher::equal("instance", "i2")], 0, 5000).len(),
        3
    );
    assert!(
        b.select(&[], 10_000_000, 20_000_000).is_empty(),
        "maxTime is exclusive"
    );
}

#[test]
fn writer_rejects_bad_input_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = Labels::from_pairs([("__name__", "a")]);
    let b = Labels::from_pairs([("__name__", "b")]);
    let s = [Sample { t: 5, v: 1.0 }];
    let mut w = BlockWriter::create(dir.path(), 0, 10).unwrap();
    w.add_series(&b, &s).unwrap();
    assert!(w.add_series(&a, &s).is_err(), "out of order");
    assert!(w.add_series(&b, &s).is_err(), "duplicate");
    let c = Labels::from_pairs([("__name__", "c")]);
    assert!(
        w.add_series(&c, &[Sample { t: 10, v: 0.0 }]).is_err(),
        "maxt exclusive"
    );
    let twice = [Sample { t: 3, v: 0.0 }, Sample { t: 3, v: 1.0 }];
    assert!(w.add_series(&c, &twice).is_err(), "duplicate timestamp");
    drop(w);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "tmp dir removed"
    );
    // No samples: no block.
    let w = BlockWriter::create(dir.path(), 0, 10).unwrap();
    assert!(w.commit().unwrap().is_none());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn tombstones_hide_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (path, series) = write_sample_block(dir.path());
    let first_id = Block::open(&path).unwrap().index().all_series()[0];
    let mut t = Tombstones::default();
    t.add(first_id, 0, 1_000_000);
    t.write(&path).unwrap();
    let b = Block::open(&path).unwrap();
    let got = b.select(&[], i64::MIN, i64::MAX);
    let want: Vec<Sample> = series[0]
        .1
        .iter()
        .copied()
        .filter(|s| s.t > 1_000_000)
        .collect();
    assert_eq!(got[0].samples, want);
    assert_eq!(got[1].samples, series[1].1);
    assert!(
        b.series(&[], 0, 1_000_000)
            .iter()
            .all(|l| *l != series[0].0)
    );
}

#[test]
fn flipped_chunk_byte_is_reported_at_query_time() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_sample_block(dir.path());
    let seg = path.join("chunks/000001");
    let mut bytes = fs::read(&seg).unwrap();
    bytes[40] ^= 0x01;
    fs::write(&seg, &bytes).unwrap();
    let b = Block::open(&path).expect("chunks are checked when read");
    let e = b.try_select(&[], i64::MIN, i64::MAX).unwrap_err();
    assert!(matches!(e, BlockError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("chunks/000001"), "{e}");
    assert!(b.verify().is_err());
    // The Querier answers without the block and remembers why.
    assert!(b.select(&[], i64::MIN, i64::MAX).is_empty());
    assert!(b.failure().unwrap().contains("checksum"));
}

#[test]
fn damaged_index_or_meta_fail_open_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = write_sample_block(dir.path());
    let index = path.join("index");
    let good = fs::read(&index).unwrap();

    for at in [0, 4, 20, good.len() / 2, good.len() - 60, good.len() - 1] {
        let mut b = good.clone();
        b[at] ^= 0x40;
        fs::write(&index, &b).unwrap();
        let Err(e) = Block::open(&path) else {
            panic!("flip at {at} not detected");
        };
        assert!(matches!(e, BlockError::Corrupt { .. }), "flip at {at}: {e}");
        assert_eq!(e.path(), index, "flip at {at}");
    }
    fs::write(&index, &good[..good.len() - 100]).unwrap();
    let e = Block::open(&path).unwrap_err();
    assert_eq!(e.path(), index, "{e}");
    fs::write(&index, &good).unwrap();
    Block::open(&path).unwrap();

    fs::remove_file(path.join("meta.json")).unwrap();
    let e = Block::open(&path).unwrap_err();
    assert!(matches!(e, BlockError::Io { .. }), "{e}");
    assert!(e.to_string().contains("meta.json"), "{e}");
}

/// Opens the block in `dir` with one file replaced by `bytes`, and reads
/// everything it lets us read.
fn read_all_with(dir: &Path, file: &str, bytes: &[u8]) {
    fs::write(dir.join(file), bytes).unwrap();
    if let Ok(b) = Block::open(dir) {
        let _ = b.try_select(&[], i64::MIN, i64::MAX);
        let _ = b.try_select(
            &[Matcher::regex("instance", "i[12]").unwrap()],
            0,
            3_000_000,
        );
        let _ = b.try_label_names(&[], 0, 100_000);
        let _ = b.try_label_values(
            "__name__",
            &[Matcher::not_equal("instance", "i0")],
            0,
            i64::MAX,
        );
        let _ = b.verify();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_never_panics(
        file in prop_oneof![Just("index"), Just("chunks/000001"), Just("meta.json"), Just("tombstones")],
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_sample_block(dir.path());
        let mut bytes = fs::read(path.join(file)).unwrap();
        for (at, x) in &edits {
            let i = at.index(bytes.len());
            bytes[i] ^= x | 1;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        read_all_with(&path, file, &bytes);
    }
}

#[test]
fn chunks_are_cut_where_prometheus_cuts_them_but_never_past_120() {
    let h = 3_600_000;
    // Regular 15 s samples over 2 h from a range start: 4 chunks of 120.
    let s: Vec<Sample> = (0..480)
        .map(|i| Sample {
            t: 2 * h + i * 15_000,
            v: 0.0,
        })
        .collect();
    let b = writer::chunk_bounds(&s, 2 * h, 120);
    assert_eq!(b, [0..120, 120..240, 240..360, 360..480]);
    // Starting 90 min into the range: chunks end at the range's end.
    let s: Vec<Sample> = (0..240)
        .map(|i| Sample {
            t: 90 * 60_000 + i * 15_000,
            v: 0.0,
        })
        .collect();
    let b = writer::chunk_bounds(&s, 2 * h, 120);
    assert_eq!(b[0].end, 120, "cut at 2 h");
    assert!(b.iter().all(|r| r.len() <= 120));
    // Fast samples after a slow start: Prometheus lets the chunk grow to
    // 240; the default cap keeps 120.
    let mut s: Vec<Sample> = (0..31)
        .map(|i| Sample {
            t: i * 60_000,
            v: 0.0,
        })
        .collect();
    s.extend((0..500).map(|i| Sample {
        t: 31 * 60_000 + i * 100,
        v: 0.0,
    }));
    assert!(
        writer::chunk_bounds(&s, 2 * h, 120)
            .iter()
            .all(|r| r.len() <= 120)
    );
    assert_eq!(
        writer::chunk_bounds(&s, 2 * h, 120)
            .iter()
            .map(|r| r.len())
            .sum::<usize>(),
        s.len()
    );
    assert_eq!(writer::chunk_bounds(&s, 2 * h, 240)[0].len(), 240);
    assert!(writer::chunk_bounds(&[], 2 * h, 120).is_empty());
}
