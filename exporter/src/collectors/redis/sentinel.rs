//! Redis Sentinel as a target: redis_exporter's `redis_sentinel_*`
//! families, and `redis_sentinel_master_changes_total`, vigil-exporter's
//! own count of master changes.
//!
//! A target is a Sentinel when its `INFO` says `redis_mode:sentinel` (its
//! `# Sentinel` section). Then, besides the generic INFO families:
//!
//! - from INFO: `redis_sentinel_{masters,tilt,running_scripts,
//!   scripts_queue_length,simulate_failure_flags}` and, per `masterN` line,
//!   `redis_sentinel_master_status{master_name,master_address,master_status}`
//!   (1 when `ok`), `_slaves` and `_sentinels`;
//! - from `SENTINEL MASTERS`, per master `{master_name,master_address}`:
//!   `redis_sentinel_master_setting_{ckquorum,failover_timeout,
//!   parallel_syncs,down_after_milliseconds}`, `_config_epoch` (it grows
//!   with each failover) and `_last_ok_ping_reply_seconds`;
//! - `redis_sentinel_master_ckquorum_status{master_name,message}` from
//!   `SENTINEL CKQUORUM` (1, or 0 with the error as message);
//! - `redis_sentinel_master_ok_sentinels` (this Sentinel plus the peers
//!   not flagged `s_down`/`o_down`) and `_ok_slaves` (replicas not so
//!   flagged), from `SENTINEL SENTINELS` and `SENTINEL SLAVES`;
//! - `redis_sentinel_master_changes_total{master_name}`: how many times the
//!   master's address differed from the one of the previous scrape, since
//!   the exporter started (0 at first sight). Failovers that end where they
//!   started between two scrapes are not seen; `config_epoch` tells those.

use std::collections::BTreeMap;

use super::info::{self, Info};
use crate::metrics::{Family, labels};

/// What `SENTINEL MASTERS` and the per-master commands said of a master.
#[derive(Debug, Clone, PartialEq)]
pub struct Master {
    /// The master's fields from `SENTINEL MASTERS` (`name`, `ip`, `port`,
    /// `quorum`, ...).
    pub fields: BTreeMap<String, String>,
    /// `SENTINEL CKQUORUM`: the reply, or the error's text.
    pub ckquorum: Result<String, String>,
    /// The `flags` of each peer Sentinel (`SENTINEL SENTINELS`).
    pub sentinel_flags: Vec<String>,
    /// The `flags` of each replica (`SENTINEL SLAVES`).
    pub replica_flags: Vec<String>,
}

impl Master {
    pub fn name(&self) -> Option<&str> {
        self.fields.get("name").map(String::as_str)
    }

    /// `ip:port`, as redis_exporter writes `master_address`.
    pub fn address(&self) -> Option<String> {
        Some(format!(
            "{}:{}",
            self.fields.get("ip")?,
            self.fields.get("port")?
        ))
    }

    fn number(&self, key: &str) -> f64 {
        self.fields
            .get(key)
            .and_then(|v| info::number(v))
            .unwrap_or(0.0)
    }
}

/// Whether `INFO` came from a Sentinel.
pub fn is_sentinel(info: &Info<'_>) -> bool {
    info.get("redis_mode") == Some("sentinel")
}

/// The master changes seen so far, by master name: the last address seen
/// and the count. Kept by the collector across scrapes.
pub type Changes = BTreeMap<String, (String, u64)>;

/// Updates `changes` with this scrape's masters.
pub fn track(masters: &[Master], changes: &mut Changes) {
    for m in masters {
        let (Some(name), Some(address)) = (m.name(), m.address()) else {
            continue;
        };
        match changes.get_mut(name) {
            Some((last, count)) if *last != address => {
                *last = address;
                *count += 1;
            }
            Some(_) => {}
            None => {
                changes.insert(name.to_string(), (address, 0));
            }
        }
    }
}

/// The families of the `# Sentinel` INFO section.
pub fn info_families(info: &Info<'_>, out: &mut Vec<Family>) {
    const PLAIN: [(&str, &str); 5] = [
        (
            "sentinel_masters",
            "The number of masters this sentinel is watching",
        ),
        ("sentinel_tilt", "Sentinel is in TILT mode"),
        (
            "sentinel_running_scripts",
            "Number of scripts in execution right now",
        ),
        (
            "sentinel_scripts_queue_length",
            "Queue of pending scripts to execute",
        ),
        ("sentinel_simulate_failure_flags", "Failures simulations"),
    ];
    for (field, help) in PLAIN {
        if let Some(v) = info.number(field) {
            out.push(Family::gauge(format!("redis_{field}"), help).single(v));
        }
    }
    let mut status = Family::gauge(
        "redis_sentinel_master_status",
        "Master status on Sentinel (1 when ok; the status in master_status)",
    );
    let mut slaves = Family::gauge(
        "redis_sentinel_master_slaves",
        "The number of slaves of the master",
    );
    let mut sentinels = Family::gauge(
        "redis_sentinel_master_sentinels",
        "The number of sentinels monitoring this master",
    );
    for field in info.section("sentinel") {
        let Some(n) = field.name.strip_prefix("master") else {
            continue;
        };
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let get = |k| info::pair(field.value, k).unwrap_or("");
        let (name, st, address) = (get("name"), get("status"), get("address"));
        let (Some(n_slaves), Some(n_sentinels)) =
            (info::number(get("slaves")), info::number(get("sentinels")))
        else {
            continue;
        };
        let l = labels(&[("master_name", name), ("master_address", address)]);
        let mut with_status = l.clone();
        with_status.push(("master_status".into(), st.into()));
        status.push(with_status, if st == "ok" { 1.0 } else { 0.0 });
        slaves.push(l.clone(), n_slaves);
        sentinels.push(l, n_sentinels);
    }
    for family in [status, slaves, sentinels] {
        if !family.samples.is_empty() {
            out.push(family);
        }
    }
}

/// The families of `SENTINEL MASTERS` and the per-master commands.
pub fn master_families(masters: &[Master], changes: &Changes, out: &mut Vec<Family>) {
    const SETTINGS: [(&str, &str, f64, &str); 6] = [
        (
            "quorum",
            "redis_sentinel_master_setting_ckquorum",
            1.0,
            "Show the current ckquorum config for each master",
        ),
        (
            "failover-timeout",
            "redis_sentinel_master_setting_failover_timeout",
            1.0,
            "Show the current failover-timeout config for each master",
        ),
        (
            "parallel-syncs",
            "redis_sentinel_master_setting_parallel_syncs",
            1.0,
            "Show the current parallel-syncs config for each master",
        ),
        (
            "down-after-milliseconds",
            "redis_sentinel_master_setting_down_after_milliseconds",
            1.0,
            "Show the current down-after-milliseconds config for each master",
        ),
        (
            "config-epoch",
            "redis_sentinel_master_config_epoch",
            1.0,
            "Get the config epoch for each master (it grows with each failover)",
        ),
        (
            "last-ok-ping-reply",
            "redis_sentinel_master_last_ok_ping_reply_seconds",
            1e-3,
            "The number of seconds since the last OK ping reply from the master",
        ),
    ];
    let mut settings: Vec<Family> = SETTINGS
        .iter()
        .map(|(_, name, _, help)| Family::gauge(*name, *help))
        .collect();
    let mut ckquorum = Family::gauge(
        "redis_sentinel_master_ckquorum_status",
        "Master ckquorum status (1 ok, 0 with the error in message)",
    );
    let mut ok_sentinels = Family::gauge(
        "redis_sentinel_master_ok_sentinels",
        "The number of okay sentinels monitoring this master (this one included)",
    );
    let mut ok_slaves = Family::gauge(
        "redis_sentinel_master_ok_slaves",
        "The number of okay slaves of the master",
    );
    for m in masters {
        let (Some(name), Some(address)) = (m.name(), m.address()) else {
            continue;
        };
        let l = labels(&[("master_name", name), ("master_address", &address)]);
        for (family, (key, _, scale, _)) in settings.iter_mut().zip(SETTINGS) {
            family.push(l.clone(), m.number(key) * scale);
        }
        let (value, message) = match &m.ckquorum {
            Ok(reply) => (1.0, reply.as_str()),
            Err(e) => (0.0, e.as_str()),
        };
        ckquorum.push(
            labels(&[("master_name", name), ("message", message)]),
            value,
        );
        let healthy = |flags: &&String| !flags.contains("s_down") && !flags.contains("o_down");
        ok_sentinels.push(
            l.clone(),
            1.0 + m.sentinel_flags.iter().filter(healthy).count() as f64,
        );
        ok_slaves.push(l, m.replica_flags.iter().filter(healthy).count() as f64);
    }
    let mut changed = Family::counter(
        "redis_sentinel_master_changes_total",
        "Times the master's address differed from the previous scrape's, since the exporter started (vigil-exporter)",
    );
    for (name, (_, count)) in changes {
        changed.push(labels(&[("master_name", name)]), *count as f64);
    }
    out.extend(settings);
    out.extend([ckquorum, ok_sentinels, ok_slaves, changed]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_mode:sentinel\r\n# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\nsentinel_running_scripts:0\r\nsentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:0\r\nmaster0:name=mymaster,status=ok,address=127.0.0.1:6379,slaves=1,sentinels=3\r\n";

    fn master(port: &str) -> Master {
        let fields = [
            ("name", "mymaster"),
            ("ip", "127.0.0.1"),
            ("port", port),
            ("quorum", "2"),
            ("config-epoch", "3"),
            ("last-ok-ping-reply", "250"),
        ];
        Master {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ckquorum: Err("NOQUORUM 1 usable Sentinels".into()),
            sentinel_flags: vec!["sentinel".into(), "s_down,sentinel".into()],
            replica_flags: vec!["slave".into()],
        }
    }

    fn value(out: &[Family], name: &str) -> f64 {
        out.iter().find(|f| f.name == name).unwrap().samples[0].value
    }

    #[test]
    fn info_section() {
        let info = info::parse(INFO).unwrap();
        assert!(is_sentinel(&info));
        let mut out = Vec::new();
        info_families(&info, &mut out);
        assert_eq!(value(&out, "redis_sentinel_masters"), 1.0);
        let status = out
            .iter()
            .find(|f| f.name == "redis_sentinel_master_status")
            .unwrap();
        assert_eq!(status.samples[0].value, 1.0);
        assert!(
            status.samples[0]
                .labels
                .contains(&("master_address".into(), "127.0.0.1:6379".into()))
        );
        assert_eq!(value(&out, "redis_sentinel_master_sentinels"), 3.0);
    }

    #[test]
    fn masters_and_changes() {
        let mut changes = Changes::new();
        track(&[master("6379")], &mut changes);
        track(&[master("6379")], &mut changes);
        assert_eq!(changes["mymaster"].1, 0);
        track(&[master("6380")], &mut changes);
        let mut out = Vec::new();
        master_families(&[master("6380")], &changes, &mut out);
        assert_eq!(value(&out, "redis_sentinel_master_changes_total"), 1.0);
        assert_eq!(value(&out, "redis_sentinel_master_ok_sentinels"), 2.0);
        assert_eq!(value(&out, "redis_sentinel_master_ok_slaves"), 1.0);
        assert_eq!(value(&out, "redis_sentinel_master_ckquorum_status"), 0.0);
        assert_eq!(
            value(&out, "redis_sentinel_master_last_ok_ping_reply_seconds"),
            0.25
        );
        assert_eq!(value(&out, "redis_sentinel_master_setting_ckquorum"), 2.0);
    }
}
