//! `vigil silence add|query|expire` and `vigil alerts history`, written
//! as functions returning the text to print and the exit code, so the
//! command line stays a thin layer (the lead wires them into clap). They
//! work on the SQL store directly, as the server does, so they need no
//! running server. Exit codes: 0 done, 1 the operation failed (not found,
//! already expired, database), 2 bad arguments.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};

use super::group::after;
use super::silence::{Silence, SilenceMatcher};
use super::silence_store::{self, SilenceError};
use super::tables::{HistoryStore, SilenceStore};
use crate::model::{MatchOp, Matcher};
use crate::notify::route::matchers::parse_matchers;
use crate::notify::tables::history::HistoryQuery;

fn to_silence_matcher(m: &Matcher) -> SilenceMatcher {
    let (is_regex, is_equal) = match m.op {
        MatchOp::Equal => (false, true),
        MatchOp::NotEqual => (false, false),
        MatchOp::Regex(_) => (true, true),
        MatchOp::NotRegex(_) => (true, false),
    };
    SilenceMatcher {
        name: m.name.clone(),
        value: m.value.clone(),
        is_regex,
        is_equal,
    }
}

fn parse_all(args: &[String]) -> Result<Vec<Matcher>, String> {
    let mut out = Vec::new();
    for a in args {
        out.extend(parse_matchers(a).map_err(|e| format!("bad matcher {a:?}: {e}"))?);
    }
    Ok(out)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `vigil silence add MATCHER... --author A --comment C --duration D`:
/// prints the new silence's id.
pub async fn silence_add(
    db: &impl SilenceStore,
    matchers: &[String],
    author: &str,
    comment: &str,
    duration: Duration,
    now: DateTime<Utc>,
) -> (String, i32) {
    let parsed = match parse_all(matchers) {
        Ok(m) => m,
        Err(e) => return (format!("{e}\n"), 2),
    };
    let s = Silence {
        id: String::new(),
        matchers: parsed.iter().map(to_silence_matcher).collect(),
        starts_at: now,
        ends_at: after(now, duration),
        updated_at: now,
        created_by: author.to_string(),
        comment: comment.to_string(),
    };
    match silence_store::save(db, s, now).await {
        Ok(id) => (format!("{id}\n"), 0),
        Err(e @ SilenceError::Invalid(_)) => (format!("{e}\n"), 2),
        Err(e) => (format!("{e}\n"), 1),
    }
}

/// `vigil silence query [MATCHER...] [--expired]`: active and pending
/// silences (or only expired ones), one per line.
pub async fn silence_query(
    db: &impl SilenceStore,
    filters: &[String],
    expired: bool,
    now: DateTime<Utc>,
) -> (String, i32) {
    let f = match parse_all(filters) {
        Ok(m) => m,
        Err(e) => return (format!("{e}\n"), 2),
    };
    let all = match silence_store::list(db, &f).await {
        Ok(s) => s,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let mut out = format!(
        "{:<36}  {:<40}  {:<20}  {:<12}  {}\n",
        "ID", "Matchers", "Ends At", "Created By", "Comment"
    );
    for s in all.iter().filter(|s| (s.ends_at <= now) == expired) {
        let m: Vec<String> = s
            .matchers
            .iter()
            .map(|m| {
                let op = match (m.is_regex, m.is_equal) {
                    (false, true) => "=",
                    (false, false) => "!=",
                    (true, true) => "=~",
                    (true, false) => "!~",
                };
                format!("{}{op}{:?}", m.name, m.value)
            })
            .collect();
        out.push_str(&format!(
            "{:<36}  {:<40}  {:<20}  {:<12}  {}\n",
            s.id,
            m.join(" "),
            time(s.ends_at),
            s.created_by,
            s.comment
        ));
    }
    (out, 0)
}

/// `vigil silence expire ID...`.
pub async fn silence_expire(
    db: &impl SilenceStore,
    ids: &[String],
    now: DateTime<Utc>,
) -> (String, i32) {
    if ids.is_empty() {
        return ("no silence id given\n".into(), 2);
    }
    let mut out = String::new();
    let mut code = 0;
    for id in ids {
        if let Err(e) = silence_store::expire(db, id, now).await {
            out.push_str(&format!("{id}: {e}\n"));
            code = 1;
        }
    }
    (out, code)
}

/// `vigil alerts history [--since T] [--kind alert|notification]
/// [--fingerprint F] [--limit N]`: newest first.
pub async fn alerts_history(db: &impl HistoryStore, q: &HistoryQuery) -> (String, i32) {
    let rows = match db.history(q).await {
        Ok(r) => r,
        Err(e) => return (format!("{e}\n"), 1),
    };
    let mut out = String::new();
    for e in rows {
        // A notification row names what it told (firing or resolved).
        let what = if e.kind == "alert" {
            format!("{} {}", e.fingerprint, e.labels)
        } else if e.state.is_empty() {
            format!("{} {}", e.integration, e.group_key)
        } else {
            format!("{} {} {}", e.state, e.integration, e.group_key)
        };
        out.push_str(&format!(
            "{}  {:<12}  {:<10}  {}{}\n",
            time(e.at),
            e.kind,
            e.status,
            what,
            if e.detail.is_empty() {
                String::new()
            } else {
                format!("  ({})", e.detail)
            }
        ));
    }
    (out, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;
    use crate::notify::tables::history::HistoryEvent;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[tokio::test]
    async fn add_query_expire() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        let (id, code) = silence_add(
            &db,
            &["alertname=Disk".into(), "env=~\"prod|stage\"".into()],
            "ops",
            "swap",
            Duration::from_secs(3600),
            t(0),
        )
        .await;
        assert_eq!(code, 0, "{id}");
        let id = id.trim().to_string();
        let (text, code) = silence_query(&db, &[], false, t(10)).await;
        assert_eq!(code, 0);
        assert!(text.contains(&id), "{text}");
        assert!(text.contains("env=~\"prod|stage\""), "{text}");
        let (text, _) = silence_query(&db, &["alertname=Other".into()], false, t(10)).await;
        assert!(!text.contains(&id), "{text}");
        assert_eq!(
            silence_expire(&db, std::slice::from_ref(&id), t(20))
                .await
                .1,
            0
        );
        assert_eq!(
            silence_expire(&db, std::slice::from_ref(&id), t(21))
                .await
                .1,
            1
        );
        let (text, _) = silence_query(&db, &[], true, t(30)).await;
        assert!(text.contains(&id), "expired kept: {text}");
        assert_eq!(
            silence_add(
                &db,
                &["a=~\".*\"".into()],
                "o",
                "c",
                Duration::from_secs(60),
                t(0)
            )
            .await
            .1,
            2
        );
        assert_eq!(
            silence_add(
                &db,
                &["bad matcher".into()],
                "o",
                "c",
                Duration::from_secs(60),
                t(0)
            )
            .await
            .1,
            2
        );
    }

    #[tokio::test]
    async fn history_lists_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(&dir.path().join("v.db")).await.unwrap();
        let ev = |at, kind: &str, status: &str| HistoryEvent {
            at: t(at),
            kind: kind.parse().unwrap(),
            fingerprint: "00000000000000aa".into(),
            labels: "{alertname=\"A\"}".into(),
            group_key: "{}:{}".into(),
            integration: "hook/webhook/0".into(),
            status: status.parse().unwrap(),
            detail: String::new(),
            state: if kind == "alert" {
                String::new()
            } else {
                "resolved".into()
            },
        };
        db.append_history(&[ev(0, "alert", "firing"), ev(1, "notification", "delivered")])
            .await
            .unwrap();
        let (text, code) = alerts_history(&db, &HistoryQuery::default()).await;
        assert_eq!(code, 0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].contains("delivered") && lines[0].contains("resolved hook/webhook/0"),
            "{text}"
        );
        assert!(
            lines[1].contains("firing") && lines[1].contains("alertname"),
            "{text}"
        );
        let q = HistoryQuery {
            kind: Some("alert".into()),
            ..HistoryQuery::default()
        };
        assert_eq!(alerts_history(&db, &q).await.0.lines().count(), 1);
    }
}
