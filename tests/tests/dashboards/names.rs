//! The metric names a dashboard may query: the contract families the
//! exporter emits as they are, the series listed in `outside_contract.tsv`
//! (each found in its program's source), and the recording rules' names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CONTRACT: &str = include_str!("../exporter_contract.tsv");
const DEVIATIONS: &str = include_str!("../../../exporter/contract-deviations.tsv");
const OUTSIDE: &str = include_str!("outside_contract.tsv");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Non-comment TSV rows, split on tabs.
fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

/// One line of `outside_contract.tsv`.
pub struct Outside {
    pub series: String,
    pub program: String,
    pub literal: String,
}

pub struct Known {
    /// Contract families minus the deviations.
    pub contract: BTreeSet<String>,
    pub outside: Vec<Outside>,
    /// `record:` names of `rules/*.yml`.
    pub recorded: BTreeSet<String>,
}

impl Known {
    pub fn load() -> Known {
        let deviations: BTreeSet<&str> = rows(DEVIATIONS).map(|r| r[0]).collect();
        let contract = rows(CONTRACT)
            .map(|r| r[1])
            .filter(|f| !deviations.contains(f))
            .map(str::to_string)
            .collect();
        let outside = rows(OUTSIDE)
            .map(|r| {
                assert_eq!(r.len(), 4, "outside_contract.tsv: 4 columns in {r:?}");
                Outside {
                    series: r[0].into(),
                    program: r[1].into(),
                    literal: r[2].into(),
                }
            })
            .collect();
        Known {
            contract,
            outside,
            recorded: recording_rules(),
        }
    }

    /// Where a name comes from, or None if nothing emits it.
    pub fn source(&self, name: &str) -> Option<&'static str> {
        if self.contract.contains(name) {
            Some("contract")
        } else if self.recorded.contains(name) {
            Some("recording rule")
        } else if self.outside.iter().any(|o| o.series == name) {
            Some("outside_contract.tsv")
        } else {
            None
        }
    }
}

/// The `record:` names of every rule file directly in `rules/`.
fn recording_rules() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if !path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: yaml_serde::Value =
            yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for group in doc["groups"].as_sequence().into_iter().flatten() {
            for rule in group["rules"].as_sequence().into_iter().flatten() {
                if let Some(name) = rule["record"].as_str() {
                    out.insert(name.to_string());
                }
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`, read.
fn sources(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.insert(path.clone(), std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// The source text of a program of `outside_contract.tsv`.
pub fn program_sources(program: &str) -> BTreeMap<PathBuf, String> {
    let dir = match program {
        "exporter" => "exporter/src",
        "vigil" => "rules-engine/src",
        other => panic!("outside_contract.tsv: unknown program {other:?}"),
    };
    let mut out = BTreeMap::new();
    sources(&repo().join(dir), &mut out);
    out
}
