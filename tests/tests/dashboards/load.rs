//! Reading the dashboards: every `dashboards/*.json`, its panels (rows'
//! nested panels included) and the PromQL it holds.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository's `dashboards/` folder.
pub fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards")
}

/// A dashboard file, parsed.
pub struct Dashboard {
    pub file: String,
    pub text: String,
    pub json: Value,
}

/// Where a PromQL expression sits, for error messages.
pub struct Query {
    pub place: String,
    pub expr: String,
}

impl Dashboard {
    pub fn uid(&self) -> &str {
        self.json["uid"].as_str().unwrap_or("")
    }

    /// Top-level panels and the panels folded into collapsed rows.
    pub fn panels(&self) -> Vec<&Value> {
        let mut out = Vec::new();
        for p in self.json["panels"].as_array().into_iter().flatten() {
            out.push(p);
            out.extend(p["panels"].as_array().into_iter().flatten());
        }
        out
    }

    pub fn variables(&self) -> Vec<&Value> {
        self.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .collect()
    }

    pub fn variable(&self, name: &str) -> Option<&Value> {
        self.variables().into_iter().find(|v| v["name"] == name)
    }

    /// Every panel target's `expr`.
    pub fn target_queries(&self) -> Vec<Query> {
        let mut out = Vec::new();
        for p in self.panels() {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    out.push(Query {
                        place: format!(
                            "{} panel {:?} target {}",
                            self.file, p["title"], t["refId"]
                        ),
                        expr: expr.to_string(),
                    });
                }
            }
        }
        out
    }

    /// The series selector inside each `label_values(selector, label)`
    /// variable query (a bare `label_values(label)` has none).
    pub fn variable_selectors(&self) -> Vec<Query> {
        let mut out = Vec::new();
        for v in self.variables() {
            let Some(def) = v["definition"].as_str() else {
                continue;
            };
            let inner = def
                .strip_prefix("label_values(")
                .and_then(|s| s.strip_suffix(')'))
                .and_then(|s| s.rsplit_once(','))
                .map(|(sel, _label)| sel.trim());
            if let Some(sel) = inner {
                out.push(Query {
                    place: format!("{} variable {:?}", self.file, v["name"]),
                    expr: sel.to_string(),
                });
            }
        }
        out
    }

    /// Names of the dashboard's own variables (`$job`, `$server`, ...).
    pub fn variable_names(&self) -> Vec<String> {
        self.variables()
            .iter()
            .filter_map(|v| v["name"].as_str().map(str::to_string))
            .collect()
    }
}

/// Every `*.json` file directly in `dashboards/`, sorted by name.
pub fn all() -> Vec<Dashboard> {
    let dir = dashboards_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            Dashboard {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                text,
                json,
            }
        })
        .collect()
}
