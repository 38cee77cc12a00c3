//! The side-by-side checks of the HAProxy test binary: the contract's
//! families, and HAProxy's built-in exporter on the same process.

use std::collections::{BTreeMap, BTreeSet};

use libtest_mimic::Failed;
use vigil::parse::{Entry, ParseOptions, Parser};
use vigil_exporter::metrics::Family;

use super::{CONTRACT, Env, check, value};

/// Family name -> (type, label names) of our families.
fn shapes(fams: &[Family]) -> BTreeMap<String, (String, BTreeSet<String>)> {
    fams.iter()
        .map(|f| {
            let labels = f
                .samples
                .iter()
                .flat_map(|s| s.labels.iter().map(|(n, _)| n.to_string()))
                .collect();
            (f.name.to_string(), (f.kind.as_str().to_string(), labels))
        })
        .collect()
}

pub fn csv_path_has_the_contract_families(env: &Env) -> Result<(), Failed> {
    let ours = shapes(&env.collect(&env.csv)?);
    let mut problems = Vec::new();
    let mut expected = 0;
    for line in CONTRACT.lines().filter(|l| l.starts_with("haproxy\t")) {
        let cols: Vec<&str> = line.split('\t').collect();
        expected += 1;
        let want_labels: BTreeSet<String> = cols[3].split(',').map(str::to_string).collect();
        match ours.get(cols[1]) {
            None => problems.push(format!("missing {}", cols[1])),
            Some((kind, labels)) if kind != cols[2] || *labels != want_labels => {
                problems.push(format!("{}: {kind} {labels:?}", cols[1]))
            }
            Some(_) => {}
        }
    }
    check(problems.is_empty(), problems.join("\n"))?;
    println!("families: {}/{expected}", expected - problems.len());
    Ok(())
}

/// Every frontend/backend/server family of the built-in exporter, from the
/// same HAProxy, exists here with the same type and label names.
pub fn families_match_the_builtin_exporter(env: &Env) -> Result<(), Failed> {
    let body = env.builtin_metrics()?;
    let mut theirs: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut parser = Parser::new(body.as_bytes(), ParseOptions::default());
    while let Some(entry) = parser.next() {
        if let Entry::Sample(s) = entry? {
            let entry = theirs.entry(s.name().to_string()).or_insert_with(|| {
                (
                    format!("{:?}", s.metric_type).to_lowercase(),
                    BTreeSet::new(),
                )
            });
            entry.1.extend(s.labels().map(|(n, _)| n.to_string()));
        }
    }
    let ours = shapes(&env.collect(&env.csv)?);
    let mut problems = Vec::new();
    let scoped = ["haproxy_frontend_", "haproxy_backend_", "haproxy_server_"];
    for (name, shape) in theirs
        .iter()
        .filter(|(n, _)| scoped.iter().any(|p| n.starts_with(p)))
    {
        match ours.get(name) {
            None => problems.push(format!("missing {name}")),
            Some(mine) if mine != shape => problems.push(format!("{name}: {mine:?} != {shape:?}")),
            Some(_) => {}
        }
    }
    check(problems.is_empty(), problems.join("\n"))?;
    let compared = theirs
        .keys()
        .filter(|n| scoped.iter().any(|p| n.starts_with(p)))
        .count();
    check(compared > 100, format!("only {compared} built-in families"))
}

pub fn server_states_match_the_builtin_exporter(env: &Env) -> Result<(), Failed> {
    let body = env.builtin_metrics()?;
    let theirs = vigil::parse::parse_to_vec(body.as_bytes(), ParseOptions::default())?;
    let fams = env.collect(&env.csv)?;
    let mut compared = 0;
    for s in theirs
        .iter()
        .filter(|s| s.labels.get("__name__") == Some("haproxy_server_status"))
    {
        let (Some(server), Some(state)) = (s.labels.get("server"), s.labels.get("state")) else {
            continue;
        };
        let ids = [("proxy", "app"), ("server", server), ("state", state)];
        let mine = value(&fams, "haproxy_server_status", &ids)?;
        check(
            mine == s.value,
            format!("{server} {state}: {mine} != {}", s.value),
        )?;
        compared += 1;
    }
    check(compared == 15, format!("compared {compared} samples"))
}

/// Values that do not move between two scrapes are the built-in
/// exporter's, NaN for NaN ("no limit") included.
pub fn stable_values_match_the_builtin_exporter(env: &Env) -> Result<(), Failed> {
    let body = env.builtin_metrics()?;
    let theirs = vigil::parse::parse_to_vec(body.as_bytes(), ParseOptions::default())?;
    let ours = env.collect(&env.csv)?;
    let stable = [
        "haproxy_frontend_status",
        "haproxy_frontend_limit_sessions",
        "haproxy_frontend_limit_session_rate",
        "haproxy_backend_status",
        "haproxy_backend_weight",
        "haproxy_backend_uweight",
        "haproxy_backend_active_servers",
        "haproxy_backend_backup_servers",
        "haproxy_backend_limit_sessions",
        "haproxy_backend_agg_server_status",
        "haproxy_backend_agg_check_status",
        "haproxy_server_weight",
        "haproxy_server_uweight",
        "haproxy_server_limit_sessions",
        "haproxy_server_queue_limit",
        "haproxy_server_idle_connections_limit",
        "haproxy_server_check_status",
        // Not haproxy_server_check_code: the CSV leaves it empty while a
        // check runs, which here is every 100 ms, so two scrapes a moment
        // apart may differ.
    ];
    let mut problems = Vec::new();
    let mut compared = 0;
    for s in &theirs {
        let name = s.labels.get("__name__").unwrap_or("");
        if !stable.contains(&name) {
            continue;
        }
        let want: Vec<(&str, &str)> = s
            .labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| (&*l.name, l.value.as_str()))
            .collect();
        compared += 1;
        match value(&ours, name, &want) {
            Ok(v) if v == s.value || (v.is_nan() && s.value.is_nan()) => {}
            other => problems.push(format!("{name}{want:?}: {other:?} != {}", s.value)),
        }
    }
    check(problems.is_empty(), problems.join("\n"))?;
    check(compared > 50, format!("compared only {compared} samples"))
}
