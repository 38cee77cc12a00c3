//! A data directory as vigil writes it (head, write-ahead log, blocks cut
//! from the head) is one store for vigil's queries, survives a reopen, and
//! is read by Debian's `promtool tsdb list` and `dump` (which replays the
//! log in Prometheus's own code): the dump holds exactly the samples vigil
//! appended. And vigil serves a data directory Prometheus wrote.

mod support;

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

/// A migration keeps its past: Debian's Prometheus scrapes a target, is
/// killed (its head lives only in its write-ahead log then), and vigil
/// opened on a copy of its data directory serves the same raw samples
/// that Prometheus served.
#[tokio::test(flavor = "multi_thread")]
async fn vigil_serves_a_prometheus_data_directory_and_its_wal() {
    let target = support::Target::start("migrated_total 1\nmigrated_gauge 0.5\n").await;
    let dir = tempfile::tempdir().unwrap();
    let mut prom = support::prometheus::Prometheus::start(
        dir.path(),
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: old\n    static_configs: [{{targets: ['{}']}}]\n",
            target.addr
        ),
        &[],
    );
    let client = support::http();
    let raw = |base: String| {
        let client = client.clone();
        async move {
            let url = format!("{base}/api/v1/query?query=migrated_total[1h]");
            let v: serde_json::Value = match client.get(url).send().await {
                Ok(r) => r.json().await.unwrap_or_default(),
                Err(_) => serde_json::Value::Null,
            };
            v["data"]["result"][0]["values"]
                .as_array()
                .map(|vals| {
                    vals.iter()
                        .map(|p| {
                            (
                                (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                                p[1].as_str().unwrap().to_string(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    // The target's counter moves on between Prometheus's scrapes (1 s).
    let mut n = 1;
    let mut served;
    vigil_test_support::eventually!(
        60,
        "six samples scraped by Prometheus",
        {
            n += 1;
            target.set_body(&format!("migrated_total {n}\nmigrated_gauge 0.5\n"));
            served = raw(prom.base.clone()).await;
            served.len() >= 6
        },
        every: Duration::from_millis(300)
    );
    prom.kill();
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&dir.path().join("data"), copy.path());
    let (_head, storage) = open(copy.path());
    let got = storage.select(
        &[Matcher::equal("__name__", "migrated_total")],
        i64::MIN,
        i64::MAX,
    );
    assert_eq!(got.len(), 1, "one series");
    let ours: Vec<(i64, String)> = got[0]
        .samples
        .iter()
        .map(|s| (s.t, s.v.to_string()))
        .collect();
    // vigil may hold samples Prometheus took after the query above.
    assert_eq!(&ours[..served.len()], served.as_slice());
    assert_eq!(got[0].labels.get("job"), Some("old"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else if e.file_name() != "lock" {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A flipped byte in one block's chunks: the block is reported and left
/// out, queries over the other blocks and the head still answer, and
/// nothing is deleted.
#[test]
fn a_damaged_block_is_reported_and_the_rest_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (head, storage) = open(dir.path());
    let l = Labels::from_pairs([("__name__", "g"), ("job", "x")]);
    for s in 0..200i64 {
        head.append(&l, START + s * 15_000, s as f64).unwrap();
    }
    storage.maintain();
    let blocks = storage.blocks();
    assert!(blocks.len() >= 2);
    let victim = blocks[0].dir().to_path_buf();
    let (victim_min, victim_max) = (blocks[0].meta().min_time, blocks[0].meta().max_time);
    drop(blocks);
    drop(storage);
    drop(head);
    let chunk = victim.join("chunks/000001");
    let mut bytes = std::fs::read(&chunk).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&chunk, bytes).unwrap();

    let (_head, storage) = open(dir.path());
    let got = storage.select(&[Matcher::equal("__name__", "g")], i64::MIN, i64::MAX);
    let ts: Vec<i64> = got[0].samples.iter().map(|s| s.t).collect();
    assert!(
        ts.iter().all(|t| *t < victim_min || *t >= victim_max),
        "no sample of the damaged block"
    );
    assert!(
        ts.len() >= 200 - 40 - 1,
        "the other blocks and the head answer: {}",
        ts.len()
    );
    assert_eq!(storage.corrupt_blocks(), 1);
    storage.maintain();
    assert!(
        storage.blocks().iter().all(|b| b.dir() != victim),
        "set aside"
    );
    assert!(victim.exists(), "never deleted");
    assert_eq!(storage.corrupt_blocks(), 1);
}
