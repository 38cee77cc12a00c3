//! A string that must never be shown: DSN passwords, Redis passwords,
//! basic-auth passwords. `Debug` and `Display` print `<secret>`, and there is
//! no `Serialize`, so a secret cannot leak through logs, errors or /metrics by
//! accident; reading it takes an explicit `expose()`.

use std::fmt;

#[derive(Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret's text, for the one place that needs it (a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

/// A `*_file` secret could not be used. Names the field and the file, never
/// the content.
#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("set either `{field}` or `{field}_file`, not both")]
    Both { field: String },
    #[error("`{field}_file`: cannot read {path}: {source}")]
    Read {
        field: String,
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// The secret given inline, or read from its `*_file` (trailing line break
/// removed, as files written by `echo` or Kubernetes secrets carry one).
/// `field` is the inline field's name, used in errors.
pub fn resolve_secret(
    field: &str,
    inline: Option<&Secret>,
    file: Option<&std::path::Path>,
) -> Result<Option<Secret>, SecretFileError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(SecretFileError::Both {
            field: field.to_string(),
        }),
        (Some(s), None) => Ok(Some(s.clone())),
        (None, None) => Ok(None),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|source| SecretFileError::Read {
                field: field.to_string(),
                path: path.to_path_buf(),
                source,
            })?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            Ok(Some(Secret::new(text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_value() {
        let s = Secret::new("hunter2-distinctive");
        assert_eq!(format!("{s} {s:?}"), "<secret> <secret>");
        assert_eq!(s.expose(), "hunter2-distinctive");
    }

    #[test]
    fn reads_files_and_refuses_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let got = resolve_secret("password", None, Some(&path)).unwrap();
        assert_eq!(got.unwrap().expose(), "s3cret");
        let both = resolve_secret("password", Some(&Secret::new("x")), Some(&path));
        assert!(both.unwrap_err().to_string().contains("not both"));
        let missing = resolve_secret("password", None, Some(&dir.path().join("no")));
        let msg = missing.unwrap_err().to_string();
        assert!(msg.starts_with("`password_file`: cannot read"), "{msg}");
        assert_eq!(resolve_secret("password", None, None).unwrap(), None);
    }
}
