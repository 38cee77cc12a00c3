//! sqlx errors as [`CollectError`]s: a bounded kind for the error counter's
//! label, and a reason that names the server by its `server` label and never
//! shows the DSN or its password.
//!
//! sqlx does not put the connection URL in its messages today, but a
//! server's own error text or a future sqlx version might echo part of it;
//! every known form of the secret is scrubbed from the reason regardless.

use crate::collectors::CollectError;

/// SQLSTATE class 28: invalid authorization (wrong password, no such role,
/// no `pg_hba.conf` entry).
const AUTH_CLASS: &str = "28";

/// Builds the error for a failed step (`what`) of collecting from `server`.
pub(crate) fn collect_error(
    server: &str,
    what: &str,
    err: &sqlx::Error,
    secrets: &[String],
) -> CollectError {
    let reason = scrub(&format!("{server}: {what}: {err}"), secrets);
    CollectError::new(kind(err), reason)
}

fn kind(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) if code.starts_with(AUTH_CLASS) => "auth",
            // 57P0x: the server is shutting down or starting up; 3D000: the
            // database does not exist. Both mean "cannot connect".
            Some(code) if code.starts_with("57P0") || code == "3D000" => "connect",
            _ => "query",
        },
        sqlx::Error::PoolTimedOut => "timeout",
        sqlx::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => "timeout",
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => "connect",
        sqlx::Error::Configuration(_) => "config",
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::Decode(_)
        | sqlx::Error::TypeNotFound { .. } => "parse",
        _ => "query",
    }
}

/// Replaces every occurrence of each non-empty secret with `<secret>`.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret.as_str(), "<secret>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_every_form_of_the_secret() {
        let secrets = vec![
            "postgres://u:p%40ss@h/d".to_string(),
            "p%40ss".into(),
            "p@ss".into(),
        ];
        let text = "failed for postgres://u:p%40ss@h/d (password p@ss)";
        let out = scrub(text, &secrets);
        assert!(!out.contains("p@ss") && !out.contains("p%40ss"), "{out}");
        assert_eq!(scrub("x", &[String::new()]), "x");
    }

    #[test]
    fn pool_timeout_is_a_timeout_and_io_a_connect_error() {
        assert_eq!(kind(&sqlx::Error::PoolTimedOut), "timeout");
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = collect_error("h:5432", "connecting", &sqlx::Error::Io(io), &[]);
        assert_eq!(err.kind, "connect");
        assert!(
            err.reason.starts_with("h:5432: connecting: "),
            "{}",
            err.reason
        );
    }
}
