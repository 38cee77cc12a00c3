//! Public rule files for PostgreSQL, Redis and HAProxy against the stack:
//! every metric name they use that the exporter's default configuration
//! should give (`community_rules.tsv`, kind `default`) is in a scrape.
//! Names from custom query files, from other exporters and from the retired
//! haproxy_exporter are listed and counted, not required. Prints
//! `rules: N/M` per file.

use std::collections::{BTreeMap, BTreeSet};

use libtest_mimic::Failed;

use super::{Env, families};

const RULE_NAMES: &str = include_str!("community_rules.tsv");

/// `(file, metric, kind)` rows.
fn rows() -> Vec<(&'static str, &'static str, &'static str)> {
    RULE_NAMES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split('\t');
            let mut next = || parts.next().unwrap_or("").trim();
            (next(), next(), next())
        })
        .collect()
}

pub(crate) fn community_rule_files(env: &Env) -> Result<(), Failed> {
    let emitted: BTreeSet<String> = families(&env.scrape()).into_keys().collect();
    let rows = rows();
    assert!(rows.len() > 50, "the list was read");
    let mut per_file: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    let mut missing = Vec::new();
    for (file, metric, kind) in rows {
        let entry = per_file.entry(file).or_default();
        entry.1 += 1;
        if emitted.contains(metric) {
            entry.0 += 1;
            continue;
        }
        match kind {
            "default" => missing.push(format!("{metric} ({file})")),
            "custom" | "other" | "haproxy_exporter" => entry.2.push(format!("{metric} [{kind}]")),
            other => return Err(format!("community_rules.tsv: unknown kind {other:?}").into()),
        }
    }
    for (file, (found, total, absent)) in &per_file {
        println!("rules: {found}/{total} {file}");
        if !absent.is_empty() {
            println!("  not emitted (not required): {}", absent.join(", "));
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("rule files name metrics the stack lacks: {missing:#?}").into())
    }
}
