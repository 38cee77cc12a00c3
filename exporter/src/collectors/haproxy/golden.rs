//! Golden exposition output of the HAProxy families, from the captured
//! `;csv` and `show info` replies of HAProxy 2.6: any change of a name,
//! label, type, help text or value shows up as a diff of
//! `testdata/haproxy_2.6.prom`. After an intended change, regenerate with
//! `VIGIL_UPDATE_GOLDEN=1 cargo test -p vigil-exporter --lib golden` and
//! review the diff.

use super::{families, process, stats};
use crate::encode::{Format, encode};

#[test]
fn golden_stats_and_info() {
    let rows = stats::parse(include_str!("testdata/stats_2.6.csv")).expect("captured CSV");
    let mut fams = families::families(&rows);
    let info = process::parse(include_str!("testdata/show_info_2.6.txt")).expect("show info");
    fams.extend(process::families(&info));
    let text = encode(&fams, Format::Text);
    if std::env::var_os("VIGIL_UPDATE_GOLDEN").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/collectors/haproxy/testdata/haproxy_2.6.prom"
        );
        std::fs::write(path, &text).expect("write golden file");
        return;
    }
    let golden = include_str!("testdata/haproxy_2.6.prom");
    for (i, (got, want)) in text.lines().zip(golden.lines()).enumerate() {
        assert_eq!(got, want, "haproxy_2.6.prom line {}", i + 1);
    }
    assert_eq!(text.lines().count(), golden.lines().count(), "length");
}
