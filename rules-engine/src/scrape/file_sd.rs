//! `file_sd_configs`: target groups read from JSON or YAML files, in
//! Prometheus's format (`[{"targets": [...], "labels": {...}}]`). Each group
//! gets `__meta_filepath`. A file that fails to read or parse keeps its last
//! good groups, so a half-written file does not drop targets.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::scrape::config::StaticConfig;

use super::target::TargetGroup;

/// Why a file gave no groups (logged; the last good groups stay).
#[derive(Debug, thiserror::Error)]
pub enum FileSdError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid file pattern {pattern:?}: {message}")]
    Pattern { pattern: String, message: String },
}

/// Reads the files of one `file_sd_configs` entry and remembers what it saw.
/// Files are re-read on every refresh (they are small, and modification
/// times are too coarse to catch two writes in one clock tick).
#[derive(Debug, Default)]
pub struct FileSd {
    patterns: Vec<String>,
    /// Per file: the groups last read from it and the last error, so an
    /// error is reported once and not on every refresh.
    files: HashMap<PathBuf, (Vec<TargetGroup>, Option<String>)>,
}

impl FileSd {
    pub fn new(patterns: Vec<String>) -> Self {
        FileSd {
            patterns,
            files: HashMap::new(),
        }
    }

    /// Re-reads the files. Returns whether the set of groups changed, and
    /// the errors not reported before.
    pub fn refresh(&mut self) -> (bool, Vec<FileSdError>) {
        let mut errors = Vec::new();
        let mut present = Vec::new();
        for p in &self.patterns {
            match glob::glob(p) {
                Ok(paths) => present.extend(paths.filter_map(Result::ok)),
                Err(e) => errors.push(FileSdError::Pattern {
                    pattern: p.clone(),
                    message: e.to_string(),
                }),
            }
        }
        let before = self.files.len();
        self.files.retain(|path, _| present.contains(path));
        let mut changed = self.files.len() != before;
        for path in present {
            let entry = self.files.entry(path.clone()).or_default();
            match read_file(&path) {
                Ok(groups) => {
                    changed |= entry.0 != groups;
                    *entry = (groups, None);
                }
                Err(e) => {
                    let text = e.to_string();
                    if entry.1.as_deref() != Some(&text) {
                        entry.1 = Some(text);
                        errors.push(e);
                    }
                }
            }
        }
        (changed, errors)
    }

    /// Every group currently known, in file order.
    pub fn groups(&self) -> Vec<TargetGroup> {
        let mut paths: Vec<&PathBuf> = self.files.keys().collect();
        paths.sort();
        paths
            .into_iter()
            .flat_map(|p| self.files[p].0.clone())
            .collect()
    }
}

/// Reads one file: YAML for `.yml`/`.yaml`, JSON otherwise.
pub fn read_file(path: &Path) -> Result<Vec<TargetGroup>, FileSdError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| FileSdError::Read {
        path: name.clone(),
        source,
    })?;
    let yaml = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    );
    let parsed: Result<Vec<StaticConfigFile>, String> = if yaml {
        yaml_serde::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    };
    let groups = parsed.map_err(|message| FileSdError::Parse {
        path: name.clone(),
        message,
    })?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let mut labels = g.0.labels;
            labels.insert("__meta_filepath".into(), name.clone());
            TargetGroup {
                targets: g.0.targets,
                labels,
                source: name.clone(),
            }
        })
        .collect())
}

/// A file's entry has exactly the static_configs shape.
#[derive(Deserialize)]
#[serde(transparent)]
struct StaticConfigFile(StaticConfig);

/// Groups from a job's `static_configs`.
pub fn static_groups(configs: &[StaticConfig]) -> Vec<TargetGroup> {
    configs
        .iter()
        .map(|c| TargetGroup {
            targets: c.targets.clone(),
            labels: c.labels.clone().into_iter().collect::<BTreeMap<_, _>>(),
            source: "static".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_yaml_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("a.json");
        std::fs::write(
            &json,
            r#"[{"targets": ["h:1", "h:2"], "labels": {"env": "prod"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("b.yml"), "- targets: ['h:3']\n").unwrap();
        let mut sd = FileSd::new(vec![dir.path().join("*").display().to_string()]);
        let (changed, errors) = sd.refresh();
        assert!(changed && errors.is_empty(), "{errors:?}");
        let groups = sd.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].targets, vec!["h:1", "h:2"]);
        assert_eq!(groups[0].labels["env"], "prod");
        assert_eq!(
            groups[0].labels["__meta_filepath"],
            json.display().to_string()
        );
        assert!(!sd.refresh().0, "nothing changed");

        // A broken rewrite keeps the last good groups and reports the error.
        std::fs::write(&json, "[{").unwrap();
        let (_, errors) = sd.refresh();
        assert_eq!(errors.len(), 1);
        assert_eq!(sd.groups().len(), 2);

        std::fs::remove_file(dir.path().join("b.yml")).unwrap();
        assert!(sd.refresh().0);
        assert_eq!(sd.groups().len(), 1);
    }
}
