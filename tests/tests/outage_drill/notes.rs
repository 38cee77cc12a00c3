//! The notifications the drill received, read back from where they landed
//! (aiosmtpd's Maildir, the Slack-shaped receiver) into one shape: which
//! channel, firing or resolved, which alert, which instance, what summary.

use vigil_test_support::Recorder;
use vigil_test_support::Smtpd;
use vigil_tests::slack_shape;

use super::stack::SLACK_PATH;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Note {
    pub channel: &'static str,
    /// `firing` or `resolved`.
    pub status: String,
    pub alertname: String,
    pub instance: String,
    pub summary: String,
}

/// Every email, from its subject (Alertmanager's default
/// `[FIRING:1] alertname instance (...)`) and the drill's text body
/// (`alert: STATUS NAME on INSTANCE` / `summary: ...`). Panics on a message
/// that is not shaped so: a malformed email is a failure, not noise.
pub fn emails(smtpd: &Smtpd) -> Vec<Note> {
    smtpd.delivered().iter().map(|m| email(m)).collect()
}

fn email(msg: &str) -> Note {
    let header = |name: &str| {
        msg.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} header in:\n{msg}"))
            .trim()
            .to_string()
    };
    assert_eq!(header("To:"), "oncall@drill.test", "{msg}");
    let subject = header("Subject:");
    let line = header("alert:");
    let mut words = line.split(' ');
    let (status, alertname, on, instance) = (
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
    );
    assert_eq!(on, "on", "body line {line:?}");
    let tag = if status == "firing" {
        "[FIRING:1]"
    } else {
        "[RESOLVED]"
    };
    assert!(
        subject.starts_with(&format!("{tag} {alertname}")),
        "subject {subject:?} for a {status} {alertname}"
    );
    Note {
        channel: "email",
        status: status.to_string(),
        alertname: alertname.to_string(),
        instance: instance.to_string(),
        summary: header("summary:"),
    }
}

/// Every Slack message, each first checked against Slack's payload rules,
/// from its Block Kit header (the title) and its section text
/// (`*alertname* (status): summary`, vigil's default text). The instance is
/// the title's group label after the alert name.
pub fn slack(receiver: &Recorder) -> Vec<Note> {
    receiver
        .received()
        .into_iter()
        .map(|r| {
            assert_eq!(r.path, SLACK_PATH);
            let body = r.json();
            if let Err(e) = slack_shape::check(&body) {
                panic!("Slack would refuse this message ({e}): {body}");
            }
            let title = slack_shape::header(&body).expect("a header block");
            let text = slack_shape::section_texts(&body).join("\n");
            let line = text
                .lines()
                .find_map(|l| l.strip_prefix('*'))
                .unwrap_or_else(|| panic!("no `*alert* (status): summary` line in {text:?}"));
            let (alertname, rest) = line.split_once("* (").expect("*alertname* (status)");
            let (status, summary) = rest.split_once("): ").expect("(status): summary");
            let group: Vec<&str> = title.split(' ').collect();
            assert_eq!(group.get(1), Some(&alertname), "title {title:?}");
            let instance = group
                .get(2)
                .filter(|w| !w.starts_with('('))
                .map_or(String::new(), |s| s.to_string());
            Note {
                channel: "slack",
                status: status.to_string(),
                alertname: alertname.to_string(),
                instance,
                summary: summary.to_string(),
            }
        })
        .collect()
}
