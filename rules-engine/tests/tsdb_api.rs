//! `GET /api/v1/status/tsdb` reports the head's cardinality in
//! Prometheus's shape; `POST /api/v1/admin/tsdb/snapshot` is refused
//! unless the admin API is on, and then leaves in `snapshots/<name>/` the
//! blocks and the head as blocks that read back.

mod support;

use support::served::{Served, options, vigil_from, vigil_with};
use vigil::model::Matcher;
use vigil::store::Querier;
use vigil::store::block::Block;
use vigil_test_support::eventually;

#[tokio::test(flavor = "multi_thread")]
async fn status_and_snapshot() {
    let target = support::Target::start(
        "app_requests_total{path=\"/a\"} 1\napp_requests_total{path=\"/b\"} 2\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.yml");
    std::fs::write(
        &config,
        format!(
            "storage:\n  path: data\nscrape_configs:\n  - job_name: app\n    scrape_interval: 1s\n    static_configs: [{{targets: ['{}']}}]\n",
            target.addr
        ),
    )
    .unwrap();
    let served = Served::start(vigil_from(&config).await).await;
    eventually!(20, "two scrapes", {
        let r = served
            .query("count_over_time(app_requests_total[1m])")
            .await;
        r["data"]["result"][0]["value"][1]
            .as_str()
            .is_some_and(|v| v != "1")
    });

    let st = served.get("/api/v1/status/tsdb").await;
    assert_eq!(st["status"], "success", "{st}");
    let data = &st["data"];
    assert!(
        data["headStats"]["numSeries"].as_u64().unwrap() >= 2,
        "{data}"
    );
    assert!(
        data["headStats"]["chunkCount"].as_u64().unwrap() >= 2,
        "{data}"
    );
    let top = &data["seriesCountByMetricName"];
    assert!(
        top.as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "app_requests_total" && r["value"] == 2),
        "{top}"
    );
    assert!(
        data["seriesCountByLabelValuePair"]
            .as_array()
            .unwrap()
            .len()
            <= 10
    );
    let one = served.get("/api/v1/status/tsdb?limit=1").await;
    assert_eq!(
        one["data"]["seriesCountByMetricName"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        served.get("/api/v1/status/tsdb?limit=x").await["errorType"],
        "bad_data"
    );

    // The admin API is off by default, as Prometheus's.
    let http = support::http();
    let off = http
        .post(format!("{}/api/v1/admin/tsdb/snapshot", served.base))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 503);
    let body: serde_json::Value = off.json().await.unwrap();
    assert_eq!(body["error"], "admin APIs disabled");
    served.stop().await;

    let vigil = vigil_with(
        &config,
        vigil::server::Options {
            admin_api: true,
            ..options(&config)
        },
    )
    .await;
    let served = Served::start(vigil).await;
    let snap: serde_json::Value = http
        .post(format!("{}/api/v1/admin/tsdb/snapshot", served.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let name = snap["data"]["name"]
        .as_str()
        .expect("a snapshot name")
        .to_string();
    served.stop().await;
    let snap_dir = dir.path().join("data/snapshots").join(&name);
    let blocks: Vec<Block> = std::fs::read_dir(&snap_dir)
        .unwrap()
        .map(|e| Block::open(&e.unwrap().path()).unwrap())
        .collect();
    assert!(!blocks.is_empty(), "the head as a block");
    let got: usize = blocks
        .iter()
        .map(|b| {
            b.select(
                &[Matcher::equal("__name__", "app_requests_total")],
                i64::MIN,
                i64::MAX,
            )
            .len()
        })
        .sum();
    assert!(got >= 2, "both series in the snapshot");
}
