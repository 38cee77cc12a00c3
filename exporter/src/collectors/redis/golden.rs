//! Golden exposition output of the Redis families, from the captured INFO
//! replies: any change of a name, label, type, help text or value shows up
//! as a diff of `testdata/*.prom`. After an intended change, regenerate
//! with `VIGIL_UPDATE_GOLDEN=1 cargo test -p vigil-exporter --lib golden`
//! and review the diff.

use super::families::{Config, Slowlog, Snapshot, families};
use super::info;
use crate::encode::{Format, encode};

fn check_golden(info_text: &str, golden_path: &str, golden: &str) {
    let fams = families(&Snapshot {
        info: info::parse(info_text).expect("captured reply parses"),
        config: Config {
            maxmemory: Some(67_108_864.0),
            maxclients: Some(10_000.0),
            io_threads: Some(1.0),
            databases: Some(16),
            ..Config::default()
        },
        slowlog: Some(Slowlog {
            length: 1.0,
            last: Some((3.0, 15_000.0)),
        }),
        latency_spikes: Vec::new(),
        latency_histograms: Vec::new(),
        sentinel: None,
        cluster_info: None,
    });
    let text = encode(&fams, Format::Text);
    if std::env::var_os("VIGIL_UPDATE_GOLDEN").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/collectors/redis/");
        std::fs::write(format!("{path}{golden_path}"), &text).expect("write golden file");
        return;
    }
    for (i, (got, want)) in text.lines().zip(golden.lines()).enumerate() {
        assert_eq!(got, want, "{golden_path} line {}", i + 1);
    }
    assert_eq!(
        text.lines().count(),
        golden.lines().count(),
        "{golden_path} length"
    );
}

#[test]
fn golden_master() {
    check_golden(
        include_str!("testdata/info_all_master_7.0.txt"),
        "testdata/master_7.0.prom",
        include_str!("testdata/master_7.0.prom"),
    );
}

#[test]
fn golden_replica() {
    check_golden(
        include_str!("testdata/info_all_replica_7.0.txt"),
        "testdata/replica_7.0.prom",
        include_str!("testdata/replica_7.0.prom"),
    );
}
