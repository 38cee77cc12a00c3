//! A data directory as vigil writes it (head, write-ahead log, blocks cut
//! from the head) is one store for vigil's queries, survives a reopen, and
//! is read by Debian's `promtool tsdb list` and `dump` (which replays the
//! log in Prometheus's own code): the dump holds exactly the samples vigil
//! appended.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use vigil::model::{Labels, Matcher};
use vigil::store::storage::{BlockOptions, Storage};
use vigil::store::wal::WalOptions;
use vigil::store::{Appender, BatchItem, Head, HeadOptions, Querier, SeriesRef};

const PROMTOOL: &str = "/usr/bin/promtool";
/// 10 minute blocks, so 50 minutes of data make several.
const RANGE: i64 = 600_000;
const START: i64 = 1_700_000_400_000;

fn promtool(args: &[&str]) -> String {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} missing: scripts/test installs prometheus"
    );
    let out = Command::new(PROMTOOL)
        .args(args)
        .output()
        .expect("promtool");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn open(dir: &Path) -> (Arc<Head>, Storage) {
    let head = Arc::new(Head::new(HeadOptions {
        retention: Duration::from_secs(24 * 3600),
        ..HeadOptions::default()
    }));
    let opts = BlockOptions {
        block_range_ms: RANGE,
        retention_ms: Some(15 * 24 * 3600 * 1000),
        retention_bytes: None,
    };
    let (storage, _) = Storage::open(dir, &head, WalOptions::default(), opts).unwrap();
    (head, storage)
}

/// `{a="1", b="2"}` as promtool prints a label set.
fn key(l: &Labels) -> String {
    let pairs: Vec<String> = l
        .iter()
        .map(|l| format!("{}=\"{}\"", l.name, l.value))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

type Samples = BTreeMap<String, Vec<(i64, u64)>>;

fn everything(q: &dyn Querier) -> Samples {
    q.select(
        &[Matcher::regex("__name__", ".+").unwrap()],
        i64::MIN,
        i64::MAX,
    )
    .into_iter()
    .map(|s| {
        (
            key(&s.labels),
            s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
        )
    })
    .collect()
}

fn dump(dir: &Path) -> Samples {
    let mut out = Samples::new();
    for line in promtool(&["tsdb", "dump", dir.to_str().unwrap()]).lines() {
        let close = line
            .rfind("} ")
            .unwrap_or_else(|| panic!("dump line {line:?}"));
        let (labels, rest) = line.split_at(close + 1);
        let mut parts = rest.split_whitespace();
        let v: f64 = parts.next().unwrap().parse().unwrap();
        let t: i64 = parts.next().unwrap().parse().unwrap();
        out.entry(labels.to_string())
            .or_default()
            .push((t, v.to_bits()));
    }
    out
}

#[test]
fn a_data_directory_is_one_store_for_vigil_and_for_promtool() {
    let dir = tempfile::tempdir().unwrap();
    let (head, storage) = open(dir.path());
    let labels: Vec<Labels> = (0..20)
        .map(|i| {
            Labels::from_pairs([
                ("__name__", "requests_total"),
                ("instance", &format!("h{i}")),
            ])
        })
        .collect();
    let mut written = Samples::new();
    for s in 0..200i64 {
        let t = START + s * 15_000;
        let mut items: Vec<BatchItem> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| BatchItem::new(SeriesRef::NONE, l, t, (s * (i as i64 + 1)) as f64 * 0.5))
            .collect();
        head.append_batch(&mut items);
        for it in &items {
            written
                .entry(key(it.labels.get().as_ref()))
                .or_default()
                .push((t, it.v.to_bits()));
        }
    }
    storage.maintain();
    let blocks = storage.blocks();
    assert!(
        blocks.len() >= 2,
        "blocks cut from the head: {}",
        blocks.len()
    );
    let newest_block_end = blocks.iter().map(|b| b.meta().max_time).max().unwrap();
    assert!(
        head.min_valid_time().unwrap() >= newest_block_end,
        "the head dropped what the blocks hold"
    );
    assert_eq!(
        everything(&storage),
        written,
        "head and blocks answer as one store"
    );

    let list = promtool(&["tsdb", "list", dir.path().to_str().unwrap()]);
    for b in blocks.iter() {
        assert!(list.contains(&b.meta().ulid.to_string()), "{list}");
    }
    drop(storage);
    drop(head);
    // promtool opens the directory as Prometheus does: blocks, then the
    // write-ahead log replayed by Prometheus's own reader.
    assert_eq!(
        dump(dir.path()),
        written,
        "promtool's dump holds what vigil appended"
    );

    let (_head, storage) = open(dir.path());
    assert_eq!(everything(&storage), written, "the same after a reopen");
}
