//! What makes two targets of two loads of the configuration the same, so a
//! reload keeps the collectors of unchanged targets running (with their
//! connections and their cumulative counters) and builds only the rest.
//!
//! Two targets are the same when their section and their YAML (after
//! `${ENV}` expansion) are equal and every file they name in a `*_file`
//! field has the same content: a rotated password file makes a new
//! collector even though the YAML did not change.

use std::hash::{DefaultHasher, Hash, Hasher};

use yaml_serde::Value;

/// The identity of one target's configuration. Holds hashes of secret
/// files, never their content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetKey(String);

impl TargetKey {
    /// The key of item `index` of `section` in `doc` (the whole file).
    pub fn of(doc: &Value, section: &str, index: usize) -> TargetKey {
        let item = doc
            .get(section)
            .and_then(Value::as_sequence)
            .and_then(|s| s.get(index));
        let Some(item) = item else {
            return TargetKey(format!("{section}[{index}]: absent"));
        };
        let mut key = format!(
            "{section}\n{}",
            yaml_serde::to_string(item).unwrap_or_default()
        );
        if let Some(map) = item.as_mapping() {
            for (k, v) in map {
                if let (Some(k), Some(path)) = (k.as_str(), v.as_str())
                    && k.ends_with("_file")
                {
                    let mut h = DefaultHasher::new();
                    std::fs::read(path).ok().hash(&mut h);
                    key.push_str(&format!("\n{k}#{:x}", h.finish()));
                }
            }
        }
        TargetKey(key)
    }

    /// The same key, also naming a file from outside the target's YAML
    /// (`global.queries_file`) by its content's hash.
    pub fn with_file(mut self, name: &str, path: &std::path::Path) -> TargetKey {
        let mut h = DefaultHasher::new();
        std::fs::read(path).ok().hash(&mut h);
        self.0
            .push_str(&format!("\n{name}={}#{:x}", path.display(), h.finish()));
        self
    }

    /// The same key, also holding a setting from outside the target's YAML
    /// (`global.collectors`).
    pub fn with_value(mut self, name: &str, value: &str) -> TargetKey {
        self.0.push_str(&format!("\n{name}={value}"));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_yaml_same_key_until_a_named_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "one").unwrap();
        let text = format!(
            "apps:\n  - url: http://a:1\n  - url: http://b:1\n    password_file: {}\n",
            pw.display()
        );
        let doc: Value = yaml_serde::from_str(&text).unwrap();
        let moved: Value = yaml_serde::from_str(
            "redis: []\napps:\n  - {url: 'http://a:1'}\n  - url: http://c:1\n",
        )
        .unwrap();
        assert_eq!(
            TargetKey::of(&doc, "apps", 0),
            TargetKey::of(&moved, "apps", 0)
        );
        assert_ne!(
            TargetKey::of(&doc, "apps", 1),
            TargetKey::of(&moved, "apps", 1)
        );
        assert_ne!(
            TargetKey::of(&doc, "apps", 0),
            TargetKey::of(&doc, "redis", 0)
        );
        let before = TargetKey::of(&doc, "apps", 1);
        assert_eq!(before, TargetKey::of(&doc, "apps", 1));
        std::fs::write(&pw, "two").unwrap();
        assert_ne!(before, TargetKey::of(&doc, "apps", 1));
        assert!(!format!("{before:?}").contains("one"));
    }
}
