//! Interop of vigil's TSDB blocks with Debian's Prometheus 2.42:
//! `promtool tsdb list/dump/analyze` read blocks vigil writes; vigil reads
//! blocks `promtool tsdb create-blocks-from openmetrics` writes, with
//! exactly the samples that went in; `vigil tsdb create-blocks-from` makes
//! the blocks promtool makes; and Prometheus serving vigil's blocks answers
//! range queries as vigil does over the same blocks.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use std::sync::Arc;
use vigil::model::{Labels, Matcher, Sample};
use vigil::store::Querier;

use support::prometheus::Prometheus;
use vigil::promql::{Engine, EngineOptions, Value};
use vigil::store::block::index::{IndexSeries, encode_index};
use vigil::store::block::{Block, MergeQuerier, compact, scan, write_block, xor};

const PROMTOOL: &str = "/usr/bin/promtool";

fn promtool(args: &[&str]) -> String {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: install Debian's `prometheus` package (scripts/test does)"
    );
    let out = Command::new(PROMTOOL)
        .args(args)
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Values of every kind a block must carry bit for bit.
fn value(rng: &mut Rng, i: usize) -> f64 {
    match rng.below(10) {
        0 => f64::from_bits(rng.next()).abs().min(1e300),
        1 => -(rng.below(1000) as f64) / 8.0,
        2 => 0.0,
        3 => i as f64,
        4 => 1e-300 * rng.below(100) as f64,
        _ => (i as f64) * 1.5 + (rng.below(4) as f64),
    }
}

type Expected = BTreeMap<Labels, Vec<Sample>>;

/// Series of a few metrics over `hours` from `start`, 15 s apart with
/// jitter in multiples of 125 ms (exact in OpenMetrics' float seconds).
fn generate(seed: u64, start: i64, hours: i64) -> Expected {
    let mut rng = Rng(seed);
    let mut out = Expected::new();
    let names = ["node_temp_celsius", "http_inflight", "queue_depth"];
    for name in names {
        for inst in ["a:9100", "b:9100", "é-\"quoted\"\\x"] {
            let labels =
                Labels::from_pairs([("__name__", name), ("instance", inst), ("job", "node")]);
            let mut t = start + rng.below(8) as i64 * 125;
            let mut samples = Vec::new();
            let mut i = 0;
            while t < start + hours * 3_600_000 {
                samples.push(Sample {
                    t,
                    v: value(&mut rng, i),
                });
                t += 15_000 + (rng.below(9) as i64 - 4) * 125;
                if rng.below(50) == 0 {
                    t += 600_000; // a gap
                }
                i += 1;
            }
            out.insert(labels, samples);
        }
    }
    out
}

/// Go's `labels.String()`: `{a="1", b="2"}` with `strconv.Quote`d values
/// (enough of it for printable text).
fn go_labels(l: &Labels) -> String {
    labels_text(l, ", ")
}

/// Label text in braces with `sep` between pairs; OpenMetrics takes `,`.
fn labels_text(l: &Labels, sep: &str) -> String {
    let mut s = String::from("{");
    for (i, l) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(sep);
        }
        write!(s, "{}=\"", l.name).unwrap();
        for c in l.value.chars() {
            match c {
                '"' => s.push_str("\\\""),
                '\\' => s.push_str("\\\\"),
                c => s.push(c),
            }
        }
        s.push('"');
    }
    s.push('}');
    s
}

/// Parses `promtool tsdb dump`: `{labels} value timestamp` per line.
fn parse_dump(text: &str) -> BTreeMap<String, Vec<(i64, f64)>> {
    let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
    for line in text.lines() {
        let close = line
            .rfind("} ")
            .unwrap_or_else(|| panic!("dump line {line:?}"));
        let (labels, rest) = line.split_at(close + 1);
        let mut parts = rest.split_whitespace();
        let v = parts.next().unwrap();
        let t: i64 = parts.next().unwrap().parse().unwrap();
        let v: f64 = match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("value {v:?}")),
        };
        out.entry(labels.to_string()).or_default().push((t, v));
    }
    out
}

fn same_value(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn assert_same_samples(what: &str, got: &[Sample], want: &[Sample]) {
    assert_eq!(got.len(), want.len(), "{what}: sample count");
    for (g, w) in got.iter().zip(want) {
        assert!(
            g.t == w.t && same_value(g.v, w.v),
            "{what}: got {g:?}, want {w:?}"
        );
    }
}

#[test]
fn promtool_reads_blocks_vigil_writes() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000;
    let mut series = generate(7, start, 2);
    // A staleness marker and the special floats travel too.
    let first = series.values_mut().next().unwrap();
    first[3].v = f64::from_bits(0x7ff0_0000_0000_0002);
    first[4].v = f64::INFINITY;
    first[5].v = f64::NEG_INFINITY;
    first[6].v = -0.0;
    let maxt = series
        .values()
        .flat_map(|s| s.last())
        .map(|s| s.t)
        .max()
        .unwrap()
        + 1;
    let meta = write_block(
        dir.path(),
        start,
        maxt,
        series.iter().map(|(l, s)| (l, s.as_slice())),
    )
    .unwrap()
    .expect("a block");
    let total: usize = series.values().map(Vec::len).sum();
    assert_eq!(meta.stats.num_samples, total as u64);

    let path = dir.path().to_str().unwrap();
    let list = promtool(&["tsdb", "list", path]);
    let row: Vec<&str> = list
        .lines()
        .find(|l| l.starts_with(&meta.ulid.to_string()))
        .unwrap_or_else(|| panic!("block missing from promtool's list:\n{list}"))
        .split_whitespace()
        .collect();
    assert_eq!(row[1], start.to_string());
    assert_eq!(row[2], maxt.to_string());
    assert_eq!(row[4], total.to_string(), "samples");
    assert_eq!(row[5], meta.stats.num_chunks.to_string(), "chunks");
    assert_eq!(row[6], series.len().to_string(), "series");

    // analyze walks the symbols, postings and label indices.
    let analyze = promtool(&["tsdb", "analyze", path]);
    assert!(
        analyze.contains(&format!("Series: {}", series.len())),
        "{analyze}"
    );

    // dump opens the whole data directory, head included: it wants `wal/`.
    std::fs::create_dir(dir.path().join("wal")).unwrap();
    let dumped = parse_dump(&promtool(&["tsdb", "dump", path]));
    assert_eq!(dumped.len(), series.len(), "series in the dump");
    for (labels, want) in &series {
        let got = dumped
            .get(&go_labels(labels))
            .unwrap_or_else(|| panic!("{} missing from the dump", go_labels(labels)));
        let got: Vec<Sample> = got.iter().map(|&(t, v)| Sample { t, v }).collect();
        assert_same_samples(&go_labels(labels), &got, want);
    }
}

/// OpenMetrics text for the series, each series' samples together.
fn openmetrics(series: &Expected) -> String {
    let mut out = String::new();
    let mut family = "";
    for (labels, samples) in series {
        let name = labels.metric_name().unwrap();
        let mut without_name = labels.clone();
        without_name.remove("__name__");
        if name != family {
            writeln!(out, "# TYPE {name} gauge").unwrap();
            family = name;
        }
        for s in samples {
            let v = match s.v {
                v if v.is_nan() => "NaN".to_string(),
                f64::INFINITY => "+Inf".to_string(),
                f64::NEG_INFINITY => "-Inf".to_string(),
                v => format!("{v:?}"),
            };
            let ts = format!("{}.{:03}", s.t.div_euclid(1000), s.t.rem_euclid(1000));
            writeln!(out, "{name}{} {v} {ts}", labels_text(&without_name, ",")).unwrap();
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Every chunk Prometheus wrote is exactly what vigil's encoder makes of
/// the same samples.
fn assert_reencodes_bit_for_bit(b: &Block) {
    for id in b.index().all_series() {
        let (labels, chunks) = b.index().series(id).unwrap();
        for c in &chunks {
            let (_, data) = b.chunk_data(c).unwrap();
            let samples = xor::decode(data).unwrap();
            assert_eq!(
                xor::encode(&samples),
                data,
                "{labels}: chunk at {:#x}",
                c.reference
            );
        }
    }
}

/// vigil's index writer, given the series and chunk references of a block
/// Prometheus wrote, produces Prometheus's index file byte for byte.
fn assert_index_rewrites_bit_for_bit(b: &Block) {
    let series: Vec<_> = b
        .index()
        .all_series()
        .iter()
        .map(|&id| b.index().series(id).unwrap())
        .collect();
    let input: Vec<IndexSeries<'_>> = series
        .iter()
        .map(|(labels, chunks)| IndexSeries { labels, chunks })
        .collect();
    let ours = encode_index(&input).unwrap();
    let theirs = std::fs::read(b.dir().join("index")).unwrap();
    let first = ours.iter().zip(&theirs).position(|(a, b)| a != b);
    assert!(
        ours == theirs,
        "index of {} differs from vigil's ({} vs {} bytes), first at {first:?}: {:?} vs {:?}",
        b.dir().display(),
        theirs.len(),
        ours.len(),
        first.map(|i| &theirs[i.saturating_sub(8)..(i + 16).min(theirs.len())]),
        first.map(|i| &ours[i.saturating_sub(8)..(i + 16).min(ours.len())]),
    );
}

#[test]
fn vigil_reads_blocks_promtool_creates() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000;
    let series = generate(11, start, 5);
    let input = dir.path().join("input.om");
    std::fs::write(&input, openmetrics(&series)).unwrap();
    let data = dir.path().join("data");
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        input.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);

    let mut blocks = Vec::new();
    for e in std::fs::read_dir(&data).unwrap() {
        let p = e.unwrap().path();
        if p.join("meta.json").exists() {
            let b = Block::open(&p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
            b.verify().unwrap();
            assert_reencodes_bit_for_bit(&b);
            assert_index_rewrites_bit_for_bit(&b);
            blocks.push(b);
        }
    }
    assert!(
        blocks.len() >= 3,
        "5 hours make at least three 2 h blocks, got {}",
        blocks.len()
    );

    // Every series, read back through the Querier of each block.
    let mut got: Expected = BTreeMap::new();
    for b in &blocks {
        for s in b.select(&[], i64::MIN, i64::MAX) {
            got.entry(s.labels).or_default().extend(s.samples);
        }
    }
    for v in got.values_mut() {
        v.sort_by_key(|s| s.t);
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        series.keys().collect::<Vec<_>>()
    );
    for (labels, want) in &series {
        assert_same_samples(&labels.to_string(), &got[labels], want);
    }

    // Matchers through the postings: regex, negative regex, not-equal.
    let window = (start + 3_600_000, start + 4 * 3_600_000);
    let ms = [
        Matcher::regex("__name__", "node_.*|queue_depth").unwrap(),
        Matcher::not_regex("instance", "b:.*").unwrap(),
        Matcher::not_equal("job", "other"),
    ];
    let mut selected: Expected = BTreeMap::new();
    for b in &blocks {
        for s in b.select(&ms, window.0, window.1) {
            selected.entry(s.labels).or_default().extend(s.samples);
        }
    }
    let want: Expected = series
        .iter()
        .filter(|(l, _)| {
            l.metric_name() != Some("http_inflight") && l.get("instance") != Some("b:9100")
        })
        .map(|(l, s)| {
            (
                l.clone(),
                s.iter()
                    .copied()
                    .filter(|s| s.t >= window.0 && s.t <= window.1)
                    .collect(),
            )
        })
        .collect();
    assert_eq!(selected.len(), 4);
    for (labels, want) in &want {
        let mut got = selected[labels].clone();
        got.sort_by_key(|s| s.t);
        assert_same_samples(&labels.to_string(), &got, want);
    }
    let names: Vec<String> = blocks[0].label_names(&[], i64::MIN, i64::MAX);
    assert_eq!(names, ["__name__", "instance", "job"]);
    let insts = blocks[0].label_values(
        "instance",
        &[Matcher::equal("__name__", "queue_depth")],
        i64::MIN,
        i64::MAX,
    );
    assert_eq!(insts, ["a:9100", "b:9100", "é-\"quoted\"\\x"]);
}

/// Opens every block of a data directory.
fn open_blocks(dir: &Path) -> Vec<Block> {
    let s = scan::open_dir(dir, true).unwrap();
    assert!(s.corrupt.is_empty(), "{:?}", s.corrupt);
    s.blocks
}

#[test]
fn vigil_backfill_makes_the_blocks_promtool_makes() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000;
    let series = generate(5, start, 5);
    let input = dir.path().join("input.om");
    std::fs::write(&input, openmetrics(&series)).unwrap();
    let (theirs, ours) = (dir.path().join("promtool"), dir.path().join("vigil"));
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        input.to_str().unwrap(),
        theirs.to_str().unwrap(),
    ]);
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(&input)
        .arg(&ours)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    assert!(listing.starts_with("BLOCK ULID"), "{listing}");

    let (theirs, ours) = (open_blocks(&theirs), open_blocks(&ours));
    assert_eq!(theirs.len(), ours.len());
    for (t, o) in theirs.iter().zip(&ours) {
        let (tm, om) = (t.meta(), o.meta());
        assert!(listing.contains(&om.ulid.to_string()), "{listing}");
        assert_eq!((tm.min_time, tm.max_time), (om.min_time, om.max_time));
        assert_eq!(tm.stats.num_samples, om.stats.num_samples);
        assert_eq!(tm.stats.num_series, om.stats.num_series);
        assert_eq!(tm.compaction.level, om.compaction.level);
        let (ts, os) = (
            t.select(&[], i64::MIN, i64::MAX),
            o.select(&[], i64::MIN, i64::MAX),
        );
        assert_eq!(ts.len(), os.len());
        for (a, b) in ts.iter().zip(&os) {
            assert_eq!(a.labels, b.labels);
            assert_same_samples(&a.labels.to_string(), &b.samples, &a.samples);
        }
    }
}

/// vigil compacts promtool's blocks into one that promtool reads, with
/// every sample of the sources, and removes the sources.
#[test]
fn promtool_reads_blocks_vigil_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let start = 1_700_000_000_000;
    let series = generate(13, start, 5);
    let input = dir.path().join("input.om");
    std::fs::write(&input, openmetrics(&series)).unwrap();
    let data = dir.path().join("data");
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "-q",
        input.to_str().unwrap(),
        data.to_str().unwrap(),
    ]);
    let blocks = open_blocks(&data);
    assert!(blocks.len() >= 3);
    let sources: Vec<&Block> = blocks.iter().collect();
    let meta = compact::compact(&data, &sources).unwrap().unwrap();
    assert_eq!(meta.compaction.level, 2);
    assert_eq!(meta.compaction.parents.len(), blocks.len());
    drop(blocks);
    let left = open_blocks(&data);
    assert_eq!(left.len(), 1, "sources removed");
    assert_eq!(left[0].meta(), &meta);

    std::fs::create_dir(data.join("wal")).unwrap();
    let path = data.to_str().unwrap();
    let list = promtool(&["tsdb", "list", path]);
    assert!(list.contains(&meta.ulid.to_string()), "{list}");
    let dumped = parse_dump(&promtool(&["tsdb", "dump", path]));
    assert_eq!(dumped.len(), series.len());
    for (labels, want) in &series {
        let got: Vec<Sample> = dumped[&go_labels(labels)]
            .iter()
            .map(|&(t, v)| Sample { t, v })
            .collect();
        assert_same_samples(&go_labels(labels), &got, want);
    }
}

/// For regular data (15 s apart, as scraped) vigil's backfill cuts chunks
/// where promtool's does, so blocks match file for file, byte for byte
/// (except `meta.json`, which holds the ULID).
#[test]
fn vigil_backfill_is_byte_identical_to_promtool_for_regular_data() {
    let dir = tempfile::tempdir().unwrap();
    let series = counters_and_gauges(1_700_000_000_000, 5);
    let input = dir.path().join("input.om");
    std::fs::write(&input, openmetrics(&series)).unwrap();
    let (theirs, ours) = (dir.path().join("promtool"), dir.path().join("vigil"));
    promtool(&[
        "tsdb",
        "create-blocks-from",
        "openmetrics",
        "-q",
        input.to_str().unwrap(),
        theirs.to_str().unwrap(),
    ]);
    let status = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(&input)
        .arg(&ours)
        .status()
        .unwrap();
    assert!(status.success());
    let (theirs, ours) = (open_blocks(&theirs), open_blocks(&ours));
    assert_eq!(theirs.len(), ours.len());
    for (t, o) in theirs.iter().zip(&ours) {
        let (ti, oi) = (t.index(), o.index());
        for (a, b) in ti.all_series().into_iter().zip(oi.all_series()) {
            let ((la, ca), (_, cb)) = (ti.series(a).unwrap(), oi.series(b).unwrap());
            let span = |c: &[vigil::store::block::index::ChunkMeta]| {
                c.iter().map(|c| (c.mint, c.maxt)).collect::<Vec<_>>()
            };
            assert_eq!(span(&ca), span(&cb), "{la}: chunk spans, promtool vs vigil");
        }
        for f in ["index", "chunks/000001", "tombstones"] {
            let (a, b) = (
                std::fs::read(t.dir().join(f)).unwrap(),
                std::fs::read(o.dir().join(f)).unwrap(),
            );
            assert!(
                a == b,
                "{f} of {} differs from vigil's ({} vs {} bytes)",
                t.dir().display(),
                a.len(),
                b.len()
            );
        }
        assert_eq!(t.meta().stats, o.meta().stats);
    }
}

/// Counters and gauges over `hours`, samples at 15 s (+ 7 ms, so no
/// sample sits on a whole-second query boundary, where Prometheus 2.x and
/// 3.x windows differ).
fn counters_and_gauges(start: i64, hours: i64) -> Expected {
    let mut rng = Rng(3);
    let mut out = Expected::new();
    for job in ["api", "db"] {
        for inst in ["a", "b", "c"] {
            let counter =
                Labels::from_pairs([("__name__", "req_total"), ("job", job), ("instance", inst)]);
            let gauge =
                Labels::from_pairs([("__name__", "mem_bytes"), ("job", job), ("instance", inst)]);
            let (mut c, mut cs, mut gs) = (0.0, Vec::new(), Vec::new());
            let mut t = start + 7;
            while t < start + hours * 3_600_000 {
                c += rng.below(100) as f64;
                if rng.below(500) == 0 {
                    c = 0.0; // a counter reset
                }
                cs.push(Sample { t, v: c });
                gs.push(Sample {
                    t,
                    v: 1e6 + rng.below(1000) as f64 * 0.5,
                });
                t += 15_000;
            }
            out.insert(counter, cs);
            out.insert(gauge, gs);
        }
    }
    out
}

/// A range query result as sorted (labels, points) for comparison.
fn prom_matrix(v: &serde_json::Value) -> Vec<(String, Vec<(i64, f64)>)> {
    assert_eq!(v["status"], "success", "{v}");
    let mut out: Vec<(String, Vec<(i64, f64)>)> = v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let labels: BTreeMap<String, String> =
                serde_json::from_value(s["metric"].clone()).unwrap();
            let points = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        (p[0].as_f64().unwrap() * 1000.0).round() as i64,
                        p[1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect();
            (format!("{labels:?}"), points)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn vigil_matrix(v: Value) -> Vec<(String, Vec<(i64, f64)>)> {
    let Value::Matrix(m) = v else {
        panic!("not a matrix: {v:?}")
    };
    let mut out: Vec<(String, Vec<(i64, f64)>)> = m
        .into_iter()
        .map(|s| {
            let labels: BTreeMap<String, String> = s
                .labels
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            (
                format!("{labels:?}"),
                s.samples.iter().map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn prometheus_serving_vigil_blocks_answers_as_vigil_does() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // Eight hours ending two hours ago, in 2 h blocks as the head cuts them.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now / 7_200_000 - 5) * 7_200_000;
    let series = counters_and_gauges(start, 8);
    for b in 0..4 {
        let (lo, hi) = (start + b * 7_200_000, start + (b + 1) * 7_200_000);
        let parts: Vec<(&Labels, Vec<Sample>)> = series
            .iter()
            .map(|(l, s)| {
                (
                    l,
                    s.iter()
                        .copied()
                        .filter(|x| x.t >= lo && x.t < hi)
                        .collect(),
                )
            })
            .collect();
        write_block(&data, lo, hi, parts.iter().map(|(l, s)| (*l, s.as_slice())))
            .unwrap()
            .unwrap();
    }
    let blocks: Vec<Arc<dyn vigil::store::Querier>> = open_blocks(&data)
        .into_iter()
        .map(|b| Arc::new(b) as Arc<dyn vigil::store::Querier>)
        .collect();
    let q = MergeQuerier::new(blocks);

    let prom = Prometheus::start(dir.path(), "global: {}\n", &[]);
    prom.ready().await;
    let client = support::http();

    let engine = Engine::new(EngineOptions::default());
    let (qs, qe, step) = (start + 600_000, start + 8 * 3_600_000, 60_000);
    for expr in [
        "sum by (job) (rate(req_total[5m]))",
        "increase(req_total{instance=~\"a|b\"}[10m])",
        "avg_over_time(mem_bytes{job!=\"db\"}[15m])",
        "max by (instance) (mem_bytes) - min by (instance) (mem_bytes)",
        "topk(2, mem_bytes)",
    ] {
        let url = format!("{}/api/v1/query_range", prom.base);
        let params = [
            ("query", expr.to_string()),
            ("start", format!("{}", qs as f64 / 1000.0)),
            ("end", format!("{}", qe as f64 / 1000.0)),
            ("step", format!("{}", step / 1000)),
        ];
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let theirs: serde_json::Value = client
            .get(format!("{url}?{query}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let theirs = prom_matrix(&theirs);
        let ours = vigil_matrix(engine.range(&q, expr, qs, qe, step).unwrap().value);
        assert!(!ours.is_empty(), "{expr}: vigil answered nothing");
        assert_eq!(
            theirs.iter().map(|s| &s.0).collect::<Vec<_>>(),
            ours.iter().map(|s| &s.0).collect::<Vec<_>>(),
            "{expr}: series"
        );
        for ((labels, t), (_, o)) in theirs.iter().zip(&ours) {
            assert_eq!(t.len(), o.len(), "{expr} {labels}: points");
            for (a, b) in t.iter().zip(o) {
                let close = (a.1 - b.1).abs() <= 1e-9 * a.1.abs().max(1.0);
                assert!(
                    a.0 == b.0 && close,
                    "{expr} {labels}: prometheus {a:?}, vigil {b:?}"
                );
            }
        }
    }
}
