//! The drill's notifications, read back from the three places they land
//! (the webhook receiver, aiosmtpd's Maildir, the Slack-shaped receiver)
//! into one shape: which channel, which alert, which subject (the server,
//! the Redis target or the cluster), firing or resolved.

use serde_json::Value;
use vigil_tests::slack_shape;

use super::stack::{HOOK_PATH, MAIL_TO, SLACK_PATH, Stack};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub channel: &'static str,
    pub alertname: String,
    pub subject: String,
    /// `firing` or `resolved`.
    pub status: String,
}

/// The label that tells one of the drill's alerts from another of the same
/// name: the PostgreSQL server, the Redis target, or the cluster.
pub fn subject(labels: &Value) -> String {
    ["server", "target", "cluster"]
        .iter()
        .find_map(|k| labels[*k].as_str().filter(|v| !v.is_empty()))
        .unwrap_or("")
        .to_string()
}

/// Every notification on every channel, one per alert in each message.
pub fn all(stack: &Stack) -> Vec<Note> {
    let mut out = webhook(stack);
    for msg in stack.smtpd.delivered() {
        let to = msg
            .lines()
            .find_map(|l| l.strip_prefix("To:"))
            .map(str::trim);
        assert_eq!(to, Some(MAIL_TO), "{msg}");
        out.extend(lines("email", &msg));
    }
    for r in stack.slack.received() {
        assert_eq!(r.path, SLACK_PATH);
        let body = r.json();
        if let Err(e) = slack_shape::check(&body) {
            panic!("Slack would refuse this message ({e}): {body}");
        }
        out.extend(lines(
            "slack",
            &slack_shape::section_texts(&body).join("\n"),
        ));
    }
    out
}

/// The webhook's JSON: each alert's labels and status.
fn webhook(stack: &Stack) -> Vec<Note> {
    let mut out = Vec::new();
    for r in stack.hook.received() {
        assert_eq!(r.path, HOOK_PATH);
        for a in r.json()["alerts"].as_array().cloned().unwrap_or_default() {
            out.push(Note {
                channel: "webhook",
                alertname: a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                subject: subject(&a["labels"]),
                status: a["status"].as_str().unwrap_or("").to_string(),
            });
        }
    }
    out
}

/// The drill template's lines, `alert: STATUS NAME on SERVER|TARGET|CLUSTER`,
/// the subject being the first of the three that is set (as [`subject`]).
/// A message without one is a failure, not noise.
fn lines(channel: &'static str, text: &str) -> Vec<Note> {
    let notes: Vec<Note> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("alert: "))
        .map(|l| {
            let mut words = l.splitn(4, ' ');
            let (status, alertname, on, labels) = (
                words.next().unwrap_or(""),
                words.next().unwrap_or(""),
                words.next().unwrap_or(""),
                words.next().unwrap_or(""),
            );
            assert_eq!(on, "on", "{channel} line {l:?}");
            let subject = labels
                .split('|')
                .find(|v| !v.is_empty())
                .unwrap_or("")
                .to_string();
            Note {
                channel,
                alertname: alertname.to_string(),
                subject,
                status: status.to_string(),
            }
        })
        .collect();
    assert!(
        !notes.is_empty(),
        "a {channel} message without an alert line:\n{text}"
    );
    notes
}
