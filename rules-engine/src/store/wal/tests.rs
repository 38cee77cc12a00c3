//! The log through the head: what is appended comes back after a reopen,
//! whatever happened to the files in between.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::{Labels, Matcher, stale_nan};
use crate::store::{Appender, BatchItem, HeadOptions, Querier, SeriesRef, SeriesSamples};

fn l(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)])
}

/// Uncompressed, so small test logs still span several segments.
fn opts(segment_size: usize) -> WalOptions {
    WalOptions {
        segment_size,
        sync: SyncPolicy::Never,
        compress: false,
    }
}

fn open(dir: &Path, o: WalOptions) -> (Arc<Head>, Wal, ReplayReport) {
    let head = Arc::new(Head::new(HeadOptions::unlimited()));
    let (wal, report) = Wal::open(dir, &head, o).unwrap();
    (head, wal, report)
}

/// Appends `scrapes` batches of `series` series, one sample each, 15 s
/// apart, with a few staleness markers and a single append among them.
fn fill(head: &Head, series: usize, scrapes: i64, from: i64) {
    let labels: Vec<Labels> = (0..series).map(|i| l("m", &format!("j{i}"))).collect();
    for s in 0..scrapes {
        let t = (from + s) * 15_000;
        let mut items: Vec<BatchItem> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let v = if (s + i as i64) % 17 == 0 {
                    stale_nan()
                } else {
                    (s * 100 + i as i64) as f64 * 0.5
                };
                BatchItem::new(SeriesRef::NONE, l, t, v)
            })
            .collect();
        head.append_batch(&mut items);
        head.append(&l("single", "x"), t, s as f64).unwrap();
    }
}

fn everything(head: &Head) -> Vec<(Labels, Vec<(i64, u64)>)> {
    everything_from(head, i64::MIN)
}

fn everything_from(head: &Head, mint: i64) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let mut all: Vec<_> = head
        .select(&[Matcher::regex("__name__", ".+").unwrap()], mint, i64::MAX)
        .into_iter()
        .map(|SeriesSamples { labels, samples }| {
            (
                labels,
                samples.iter().map(|s| (s.t, s.v.to_bits())).collect(),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn a_reopened_log_gives_back_every_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    fill(&head, 300, 40, 0);
    let before = everything(&head);
    drop(wal);
    drop(head);
    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert!(report.segments > 1, "small segments rotate: {report:?}");
    assert_eq!(report.unknown_refs, 0);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(everything(&head), before);
    // Appends after the restart continue the same series.
    fill(&head, 300, 5, 40);
    let after = everything(&head);
    drop(wal);
    drop(head);
    let (head, _wal, _) = open(dir.path(), opts(64 * 1024));
    assert_eq!(everything(&head), after);
    assert_eq!(head.stats().series, 301);
}

#[test]
fn a_second_open_of_the_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_head, _wal, _) = open(dir.path(), opts(64 * 1024));
    let other = Arc::new(Head::default());
    let err = Wal::open(dir.path(), &other, opts(64 * 1024)).unwrap_err();
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
}

/// The newest segment and the offset where its last record starts.
fn last_record(dir: &Path) -> (std::path::PathBuf, u64, u64) {
    let (_, path) = dir::segments(&dir.join("wal")).unwrap().pop().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut r = reader::SegmentReader::new(&bytes);
    let mut start = 0;
    let mut last = 0;
    while let Some(rec) = r.next_record() {
        rec.unwrap();
        start = last;
        last = r.offset();
    }
    (path, start, bytes.len() as u64)
}

#[test]
fn a_torn_tail_is_cut_at_every_byte_and_the_rest_replays() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(1 << 20));
    fill(&head, 3, 3, 0);
    // The last commit: one sample of a new series.
    head.append(&l("last", "x"), 10_000_000, 1.0).unwrap();
    drop(wal);
    drop(head);
    let (path, start, len) = last_record(dir.path());
    let copy = tempfile::tempdir().unwrap();
    for cut in start + 1..len {
        let _ = std::fs::remove_dir_all(copy.path().join("wal"));
        copy_dir(&dir.path().join("wal"), &copy.path().join("wal"));
        let seg = copy.path().join("wal").join(path.file_name().unwrap());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let (head, wal, report) = open(copy.path(), opts(1 << 20));
        assert_eq!(
            report.problems.len(),
            1,
            "cut at {cut}: {:?}",
            report.problems
        );
        assert!(report.problems[0].contains("torn"), "{:?}", report.problems);
        assert_eq!(
            std::fs::metadata(&seg).unwrap().len(),
            start,
            "cut back to the record start"
        );
        assert_eq!(wal.stats().corruptions, 0);
        // Everything before the torn record is there.
        assert_eq!(head.stats().samples_appended, 3 * 3 + 3, "cut at {cut}");
        drop(wal);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_flipped_byte_stops_replay_there_and_moves_the_rest_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    fill(&head, 300, 60, 0);
    drop(wal);
    drop(head);
    let segs = dir::segments(&dir.path().join("wal")).unwrap();
    assert!(segs.len() >= 4, "{segs:?}");
    let (_, victim) = &segs[1];
    let mut bytes = std::fs::read(victim).unwrap();
    bytes[20_000] ^= 0x10;
    std::fs::write(victim, &bytes).unwrap();

    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert_eq!(wal.stats().corruptions, 1, "{:?}", report.problems);
    let aside = report.moved_aside.clone().expect("moved aside");
    let moved: Vec<_> = std::fs::read_dir(&aside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        moved.len(),
        segs.len() - 1,
        "the damaged tail and every later segment: {moved:?}"
    );
    assert!(std::fs::metadata(victim).unwrap().len() < 20_000);
    // What came before the damage is served.
    assert!(head.stats().samples_appended > 0);
    assert!(
        report.problems.iter().any(|p| p.contains("checksum")),
        "{:?}",
        report.problems
    );
    // The log goes on in a fresh segment after the damaged one.
    assert_eq!(report.next_segment, segs[1].0 + 1);
    fill(&head, 300, 1, 100);
    let kept = everything(&head);
    drop(wal);
    drop(head);
    let (head, _wal, report) = open(dir.path(), opts(64 * 1024));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(everything(&head), kept);
}

#[test]
fn a_missing_segment_is_reported_and_later_ones_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    fill(&head, 300, 60, 0);
    drop(wal);
    drop(head);
    let segs = dir::segments(&dir.path().join("wal")).unwrap();
    std::fs::remove_file(&segs[2].1).unwrap();
    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert_eq!(wal.stats().corruptions, 1);
    assert!(
        report.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        report.problems
    );
    // Samples of series named before the gap still replay after it.
    let newest = head.max_time().unwrap();
    assert_eq!(newest, 59 * 15_000);
}

#[test]
fn empty_files_and_newer_record_kinds_do_not_stop_replay() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(1 << 20));
    fill(&head, 5, 5, 0);
    let before = everything(&head);
    drop(wal);
    drop(head);
    // A segment with a record of a type from a newer Prometheus, one in
    // zstd (not read here), then a normal one; and an empty segment.
    let wal_dir = dir.path().join("wal");
    let next = dir::segments(&wal_dir).unwrap().last().unwrap().0 + 1;
    let mut framer = page::PageFramer::new(1 << 20);
    let mut out = Vec::new();
    framer.frame(&[11, 1, 2, 3], 0, &mut out);
    framer.frame(&[2, 9, 9], page::ZSTD, &mut out);
    std::fs::write(dir::segment_path(&wal_dir, next), &out).unwrap();
    std::fs::write(dir::segment_path(&wal_dir, next + 1), b"").unwrap();
    let (head, wal, report) = open(dir.path(), opts(1 << 20));
    assert_eq!(everything(&head), before);
    assert_eq!(wal.stats().corruptions, 0);
    assert!(
        report.problems.iter().any(|p| p.contains("type 11")),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains("zstd")),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_full_disk_keeps_samples_in_memory_and_the_log_valid() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    fill(&head, 10, 5, 0);
    head.wal().unwrap().fail_writes(true);
    // New series while the disk is full: their series records are owed.
    head.append(&l("born_full", "x"), 5 * 15_000, 1.0).unwrap();
    fill(&head, 10, 5, 5);
    assert_eq!(
        head.stats().samples_appended,
        5 * 11 + 1 + 5 * 11,
        "kept in memory"
    );
    assert!(wal.stats().write_failures >= 6);
    let failures = wal.stats().write_failures;
    head.wal().unwrap().fail_writes(false);
    head.append(&l("born_full", "x"), 20 * 15_000, 2.0).unwrap();
    fill(&head, 10, 5, 21);
    assert_eq!(wal.stats().write_failures, failures, "writes resumed");
    drop(wal);
    drop(head);
    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert!(
        report.problems.is_empty(),
        "no damage on disk: {:?}",
        report.problems
    );
    assert_eq!(
        report.unknown_refs, 0,
        "series born during the outage were logged later"
    );
    assert_eq!(wal.stats().corruptions, 0);
    // Before and after the outage, not during it.
    assert_eq!(head.stats().samples_appended, 5 * 11 + 1 + 5 * 11);
    let born = head.select(&[Matcher::equal("__name__", "born_full")], 0, i64::MAX);
    assert_eq!(born[0].samples.len(), 1);
}

#[test]
fn a_snapshot_restores_the_head_and_the_log_after_it_replays() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    fill(&head, 40, 30, 0);
    let before = everything(&head);
    wal.shutdown();
    drop(wal);
    drop(head);
    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert!(wal.stats().snapshot_loaded);
    assert_eq!(report.samples, 0, "nothing after the snapshot: {report:?}");
    assert_eq!(everything(&head), before);
    // More data, then a crash (no snapshot): snapshot plus the log after it.
    fill(&head, 40, 10, 30);
    let after = everything(&head);
    drop(wal);
    drop(head);
    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert!(wal.stats().snapshot_loaded);
    assert_eq!(report.samples, 10 * 41);
    assert_eq!(everything(&head), after);
    drop(wal);
    drop(head);
    // A damaged snapshot is ignored: the log alone gives the same head.
    let (snap, _) = snapshot::list(dir.path()).pop().unwrap();
    let file = snap.join("00000000");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    assert!(!wal.stats().snapshot_loaded);
    assert_eq!(wal.stats().corruptions, 1);
    assert_eq!(everything(&head), after);
}

/// A snapshot written while another thread appends: after a crash the
/// head comes back whole from the snapshot and the log's tail, and the
/// samples both hold are not counted as rejected.
#[test]
fn a_running_snapshot_shortens_replay_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (head, wal, _) = open(dir.path(), opts(64 * 1024));
    fill(&head, 40, 20, 0);
    std::thread::scope(|s| {
        s.spawn(|| fill(&head, 40, 200, 20));
        for _ in 0..5 {
            assert!(wal.snapshot_running().is_some());
        }
    });
    fill(&head, 40, 10, 220);
    let before = everything(&head);
    assert_eq!(wal.stats().snapshots, 5);
    drop(wal);
    drop(head);
    let (head, wal, report) = open(dir.path(), opts(64 * 1024));
    assert!(wal.stats().snapshot_loaded);
    assert!(
        report.samples < 230 * 41,
        "only the log after the snapshot replays: {report:?}"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(everything(&head), before);
    let stats = head.stats();
    assert_eq!((stats.out_of_order, stats.duplicate_timestamp), (0, 0));
}

#[test]
fn checkpoints_fold_old_segments_and_keep_what_the_head_holds() {
    let dir = tempfile::tempdir().unwrap();
    let head = Arc::new(Head::new(HeadOptions {
        retention: Duration::from_secs(600),
        truncate_every: Duration::from_secs(60),
    }));
    let (wal, _) = Wal::open(dir.path(), &head, opts(64 * 1024)).unwrap();
    // 2 h of 30 series, plus one series that stops early (and so leaves
    // the head with retention).
    head.append(&l("gone", "x"), 0, 1.0).unwrap();
    fill(&head, 100, 480, 0);
    let before = wal.disk_bytes();
    let stats = wal.maintain().unwrap().expect("a checkpoint");
    assert!(stats.segments_removed > 3, "{stats:?}");
    assert_eq!(
        stats.series, 101,
        "the head's series, not the one retention dropped"
    );
    assert!(
        wal.disk_bytes() < before / 2,
        "{} vs {before}",
        wal.disk_bytes()
    );
    assert_eq!(dir::checkpoints(wal.dir()).unwrap().len(), 1);
    // The head keeps whole chunks, so some samples before its cut; the
    // checkpoint keeps what is at or after the cut, as Prometheus's does.
    let mint = head.min_valid_time().unwrap();
    let kept = everything_from(&head, mint);
    drop(wal);
    let head2 = Arc::new(Head::new(head.options().clone()));
    drop(head);
    let (_wal, report) = Wal::open(dir.path(), &head2, opts(64 * 1024)).unwrap();
    assert_eq!(report.unknown_refs, 0);
    let got = everything_from(&head2, mint);
    assert_eq!(got.len(), kept.len());
    assert!(got == kept, "the same samples from the cut on");
}
