//! Cluster mode: every `cluster_*` field of `CLUSTER INFO` as
//! `redis_cluster_*`, as redis_exporter writes them (asked only when INFO
//! says `cluster_enabled:1`): `cluster_state` is 1 for `ok` and 0 for
//! `fail`, the message totals are `redis_cluster_messages_{sent,received}_total`
//! (gauges, as upstream types them), and the per-type message counts keep
//! their names (`redis_cluster_stats_messages_ping_sent`). The redis-mixin
//! alerts read `redis_cluster_state` and `redis_cluster_slots_{fail,pfail}`.

use crate::metrics::Family;

/// The families of a `CLUSTER INFO` reply, leaving out names `out` has.
pub fn families(text: &str, out: &mut Vec<Family>) {
    for line in text.lines() {
        let Some((key, value)) = line.trim_end_matches('\r').split_once(':') else {
            continue;
        };
        if !key.starts_with("cluster_") {
            continue;
        }
        let value = match value.trim() {
            "ok" | "true" => 1.0,
            "fail" | "err" | "false" => 0.0,
            other => match other.parse::<f64>() {
                Ok(v) => v,
                Err(_) => continue,
            },
        };
        let sanitized: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = match sanitized.as_str() {
            "cluster_stats_messages_sent" => "redis_cluster_messages_sent_total".to_string(),
            "cluster_stats_messages_received" => {
                "redis_cluster_messages_received_total".to_string()
            }
            other => format!("redis_{other}"),
        };
        if out.iter().any(|f| f.name == name) {
            continue;
        }
        let help = format!("{key} from CLUSTER INFO");
        out.push(Family::gauge(name, help).single(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_info_fields() {
        let text = "cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_pfail:0\r\ncluster_stats_messages_ping_sent:12\r\ncluster_stats_messages_sent:30\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n";
        let mut out = Vec::new();
        families(text, &mut out);
        let got: Vec<(&str, f64)> = out.iter().map(|f| (&*f.name, f.samples[0].value)).collect();
        assert_eq!(
            got,
            [
                ("redis_cluster_state", 1.0),
                ("redis_cluster_slots_assigned", 16384.0),
                ("redis_cluster_slots_pfail", 0.0),
                ("redis_cluster_stats_messages_ping_sent", 12.0),
                ("redis_cluster_messages_sent_total", 30.0),
            ]
        );
        let mut out = Vec::new();
        families("cluster_state:fail\n", &mut out);
        assert_eq!(out[0].samples[0].value, 0.0);
    }
}
