//! Silences as Alertmanager's v2 API has them: matchers, a start and an
//! end, who and why. An active silence mutes the alerts all its matchers
//! accept. Silences are never deleted: expiring one moves its end to now,
//! so the record stays for audit. Pure: the instant is passed in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Labels, Matcher};
use crate::notify::route::matchers::{self, matches_all};

/// One matcher as the API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SilenceMatcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    /// Absent in older clients' requests: equality.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl SilenceMatcher {
    pub fn build(&self) -> Result<Matcher, String> {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (true, false) => "!~",
        };
        if !matchers::is_label_name(&self.name) {
            return Err(format!("invalid label name {:?}", self.name));
        }
        matchers::build(&self.name, op, &self.value).map_err(|e| e.to_string())
    }
}

/// A silence as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<SilenceMatcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceState {
    Pending,
    Active,
    Expired,
}

impl SilenceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SilenceState::Pending => "pending",
            SilenceState::Active => "active",
            SilenceState::Expired => "expired",
        }
    }
}

impl Silence {
    pub fn state(&self, now: DateTime<Utc>) -> SilenceState {
        if self.ends_at <= now {
            SilenceState::Expired
        } else if self.starts_at > now {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Alertmanager's checks on a new or updated silence.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<Vec<Matcher>, String> {
        if self.matchers.is_empty() {
            return Err("at least one matcher required".into());
        }
        let built = self
            .matchers
            .iter()
            .map(SilenceMatcher::build)
            .collect::<Result<Vec<_>, _>>()?;
        if built.iter().all(Matcher::matches_empty) {
            return Err("at least one matcher must not match the empty string".into());
        }
        if self.ends_at < self.starts_at {
            return Err("end time must not be before start time".into());
        }
        if self.ends_at <= now {
            return Err("end time can't be in the past".into());
        }
        if self.created_by.is_empty() {
            return Err("creator information missing".into());
        }
        if self.comment.is_empty() {
            return Err("comment missing".into());
        }
        Ok(built)
    }

    /// Ends the silence at `now`; a pending one starts and ends at `now`.
    pub fn expire(&mut self, now: DateTime<Utc>) {
        if self.starts_at > now {
            self.starts_at = now;
        }
        self.ends_at = now.min(self.ends_at);
        self.updated_at = now;
    }
}

/// A silence with its matchers compiled, as the pipeline uses it.
#[derive(Debug, Clone)]
pub struct ActiveSilence {
    pub silence: Silence,
    pub matchers: Vec<Matcher>,
}

impl ActiveSilence {
    /// `None` for a stored silence whose matchers no longer compile (it
    /// mutes nothing rather than everything).
    pub fn new(silence: Silence) -> Option<ActiveSilence> {
        let matchers = silence
            .matchers
            .iter()
            .map(SilenceMatcher::build)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        Some(ActiveSilence { silence, matchers })
    }
}

/// The ids of the silences muting `labels` at `now`.
pub fn silenced_by(silences: &[ActiveSilence], labels: &Labels, now: DateTime<Utc>) -> Vec<String> {
    silences
        .iter()
        .filter(|s| {
            s.silence.state(now) == SilenceState::Active && matches_all(&s.matchers, labels)
        })
        .map(|s| s.silence.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
        SilenceMatcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        }
    }

    fn silence(matchers: Vec<SilenceMatcher>, from: i64, to: i64) -> Silence {
        Silence {
            id: "s1".into(),
            matchers,
            starts_at: t(from),
            ends_at: t(to),
            updated_at: t(from),
            created_by: "ops".into(),
            comment: "maintenance".into(),
        }
    }

    #[test]
    fn mutes_matching_alerts_while_active() {
        let s = silence(
            vec![
                m("team", "db", false, true),
                m("env", "prod|stage", true, true),
            ],
            0,
            100,
        );
        let act = [ActiveSilence::new(s).unwrap()];
        let hit = Labels::from_pairs([("team", "db"), ("env", "stage")]);
        let miss = Labels::from_pairs([("team", "db"), ("env", "dev")]);
        assert_eq!(silenced_by(&act, &hit, t(50)), ["s1"]);
        assert!(silenced_by(&act, &miss, t(50)).is_empty());
        assert!(silenced_by(&act, &hit, t(-1)).is_empty(), "pending");
        assert!(silenced_by(&act, &hit, t(100)).is_empty(), "expired");
    }

    #[test]
    fn validation_rejects_what_alertmanager_rejects() {
        let now = t(0);
        let ok = silence(vec![m("a", "1", false, true)], 0, 10);
        assert!(ok.validate(now).is_ok());
        assert!(silence(vec![], 0, 10).validate(now).is_err());
        assert!(
            silence(vec![m("a", ".*", true, true)], 0, 10)
                .validate(now)
                .is_err()
        );
        assert!(
            silence(vec![m("a", "1", false, true)], 10, 5)
                .validate(now)
                .is_err()
        );
        assert!(
            silence(vec![m("a", "1", false, true)], -10, -5)
                .validate(now)
                .is_err()
        );
        assert!(
            silence(vec![m("a", "(", true, true)], 0, 10)
                .validate(now)
                .is_err()
        );
        assert!(
            silence(vec![m("0a", "1", false, true)], 0, 10)
                .validate(now)
                .is_err()
        );
    }

    #[test]
    fn expiring_keeps_the_record() {
        let mut s = silence(vec![m("a", "1", false, true)], 0, 100);
        s.expire(t(40));
        assert_eq!((s.starts_at, s.ends_at), (t(0), t(40)));
        assert_eq!(s.state(t(40)), SilenceState::Expired);
        let mut pending = silence(vec![m("a", "1", false, true)], 50, 100);
        pending.expire(t(40));
        assert_eq!((pending.starts_at, pending.ends_at), (t(40), t(40)));
    }
}
