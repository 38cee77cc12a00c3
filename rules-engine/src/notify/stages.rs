//! The notification pipeline of one group flush as a chain of
//! same-shaped stages (Alertmanager 0.25 `notify/notify.go`
//! `BuildPipeline`), assembled in [`run`] so it reads like the diagram:
//!
//! ```text
//! group alerts ─▶ inhibit ─▶ time active ─▶ time mute ─▶ silence ─┬▶ dedup(integration 0) ─▶ outbox
//!                                                                  └▶ dedup(integration 1) ─▶ outbox
//! ```
//!
//! Each muting stage takes the alerts and passes on those it lets
//! through, or stops the flush with a reason. Dedup then decides per
//! integration against the notification log. Everything is a pure function
//! of the context (the instant, the config, the silences, the log), so the
//! whole pipeline is tested by value; the dispatcher does the I/O.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::alert::{Alert, Status};
use super::dedup::{Dedup, LogEntry, needs_update};
use super::inhibit::{InhibitRule, inhibited_by};
use super::silence::{ActiveSilence, silenced_by};
use super::status::{DedupReason, MuteReason};
use crate::notify::route::RouteOpts;
use crate::notify::route::time_intervals::{TimeIntervalSpec, any_contains};

/// What the stages of one flush see.
pub struct FlushContext<'a> {
    pub now: DateTime<Utc>,
    pub route: &'a RouteOpts,
    pub inhibit_rules: &'a [InhibitRule],
    /// Every alert the dispatcher holds: the inhibition sources.
    pub all_alerts: &'a [Alert],
    pub silences: &'a [ActiveSilence],
    pub time_intervals: &'a BTreeMap<String, Vec<TimeIntervalSpec>>,
}

/// A stage's answer: the alerts to pass on, or why the flush stops here.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Go(Vec<Alert>),
    Stop(MuteReason),
}

pub type Stage = fn(&FlushContext<'_>, Vec<Alert>) -> Step;

/// The muting stages in order, named for metrics and history.
pub const MUTING: [(&str, Stage); 4] = [
    ("inhibit", inhibit),
    ("time_active", time_active),
    ("time_mute", time_mute),
    ("silence", silence),
];

/// Drops alerts a firing source inhibits.
pub fn inhibit(ctx: &FlushContext<'_>, alerts: Vec<Alert>) -> Step {
    let kept = alerts
        .into_iter()
        .filter(|a| inhibited_by(ctx.inhibit_rules, ctx.all_alerts, &a.labels, ctx.now).is_none())
        .collect();
    non_empty(kept, MuteReason::AllInhibited)
}

/// Outside all of the route's `active_time_intervals`: nothing is sent.
pub fn time_active(ctx: &FlushContext<'_>, alerts: Vec<Alert>) -> Step {
    let names = &ctx.route.active_time_intervals;
    if names.is_empty() || names.iter().any(|n| in_interval(ctx, n)) {
        Step::Go(alerts)
    } else {
        Step::Stop(MuteReason::OutsideActiveTime)
    }
}

/// Inside any of the route's `mute_time_intervals`: nothing is sent.
pub fn time_mute(ctx: &FlushContext<'_>, alerts: Vec<Alert>) -> Step {
    if ctx
        .route
        .mute_time_intervals
        .iter()
        .any(|n| in_interval(ctx, n))
    {
        Step::Stop(MuteReason::MuteTime)
    } else {
        Step::Go(alerts)
    }
}

fn in_interval(ctx: &FlushContext<'_>, name: &str) -> bool {
    ctx.time_intervals
        .get(name)
        .is_some_and(|i| any_contains(i, ctx.now))
}

/// Drops silenced alerts.
pub fn silence(ctx: &FlushContext<'_>, alerts: Vec<Alert>) -> Step {
    let kept = alerts
        .into_iter()
        .filter(|a| silenced_by(ctx.silences, &a.labels, ctx.now).is_empty())
        .collect();
    non_empty(kept, MuteReason::AllSilenced)
}

fn non_empty(alerts: Vec<Alert>, reason: MuteReason) -> Step {
    if alerts.is_empty() {
        Step::Stop(reason)
    } else {
        Step::Go(alerts)
    }
}

/// One integration as dedup sees it.
#[derive(Debug, Clone)]
pub struct IntegrationView<'a> {
    /// `<receiver>/<kind>/<index>`, the notification log's key.
    pub key: &'a str,
    pub send_resolved: bool,
    pub last: Option<&'a LogEntry>,
}

/// What one integration is to be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub integration: String,
    /// The alerts to send (resolved ones dropped without send_resolved);
    /// empty means nothing is sent but the log is still updated.
    pub alerts: Vec<Alert>,
    /// The new log entry.
    pub entry: LogEntry,
    pub reason: DedupReason,
}

/// The outcome of one flush.
#[derive(Debug, Clone, PartialEq)]
pub enum FlushPlan {
    /// A muting stage stopped it: `(stage, reason)`.
    Muted(&'static str, MuteReason),
    /// Per integration: a notification, or the reason for none.
    Notify(Vec<Result<Planned, (String, DedupReason)>>),
}

/// The whole chain for one group flush.
pub fn run(
    ctx: &FlushContext<'_>,
    alerts: Vec<Alert>,
    integrations: &[IntegrationView<'_>],
) -> FlushPlan {
    let mut alerts = alerts;
    for (stage, f) in MUTING {
        match f(ctx, alerts) {
            Step::Go(a) => alerts = a,
            Step::Stop(reason) => return FlushPlan::Muted(stage, reason),
        }
    }
    FlushPlan::Notify(
        integrations
            .iter()
            .map(|i| dedup(ctx, &alerts, i))
            .collect(),
    )
}

/// The dedup stage for one integration.
pub fn dedup(
    ctx: &FlushContext<'_>,
    alerts: &[Alert],
    i: &IntegrationView<'_>,
) -> Result<Planned, (String, DedupReason)> {
    let (mut firing, mut resolved) = (BTreeSet::new(), BTreeSet::new());
    for a in alerts {
        match a.status_at(ctx.now) {
            Status::Firing => firing.insert(a.fingerprint()),
            Status::Resolved => resolved.insert(a.fingerprint()),
        };
    }
    let d = needs_update(
        i.last,
        &firing,
        &resolved,
        i.send_resolved,
        ctx.route.repeat_interval,
        ctx.now,
    );
    let reason = match d {
        Dedup::Skip(r) => return Err((i.key.to_string(), r)),
        Dedup::Send(r) => r,
    };
    let send: Vec<Alert> = alerts
        .iter()
        .filter(|a| i.send_resolved || a.status_at(ctx.now) == Status::Firing)
        .cloned()
        .collect();
    Ok(Planned {
        integration: i.key.to_string(),
        alerts: send,
        entry: LogEntry {
            firing,
            resolved,
            at: ctx.now,
        },
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::notify::route::{Route, parse_str};
    use crate::notify::silence::{Silence, SilenceMatcher};
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    fn alert(pairs: &[(&str, &str)], ends: Option<i64>) -> Alert {
        Alert {
            labels: Labels::from_pairs(pairs.iter().copied()),
            annotations: Labels::empty(),
            starts_at: t(0),
            ends_at: ends.map(t),
            generator_url: String::new(),
        }
    }

    struct Fixture {
        route: Route,
        rules: Vec<InhibitRule>,
        intervals: BTreeMap<String, Vec<TimeIntervalSpec>>,
    }

    fn fixture() -> Fixture {
        let text = "route:\n  receiver: r\n  routes:\n    - receiver: r\n      matchers: [team=night]\n      mute_time_intervals: [day]\n\
receivers: [{name: r}]\n\
inhibit_rules:\n  - source_matchers: [severity=critical]\n    target_matchers: [severity=warning]\n\
time_intervals:\n  - name: day\n    time_intervals: [{times: [{start_time: '08:00', end_time: '20:00'}]}]\n";
        let loaded = parse_str("t.yml", text, &|_| None).unwrap();
        Fixture {
            route: Route::build(loaded.route()),
            rules: loaded
                .config
                .inhibit_rules
                .iter()
                .map(InhibitRule::build)
                .collect(),
            intervals: loaded
                .config
                .time_intervals
                .iter()
                .map(|n| (n.name.clone(), n.time_intervals.clone()))
                .collect(),
        }
    }

    fn ctx<'a>(
        f: &'a Fixture,
        route: &'a RouteOpts,
        all: &'a [Alert],
        s: &'a [ActiveSilence],
        now: DateTime<Utc>,
    ) -> FlushContext<'a> {
        FlushContext {
            now,
            route,
            inhibit_rules: &f.rules,
            all_alerts: all,
            silences: s,
            time_intervals: &f.intervals,
        }
    }

    const HOOK: IntegrationView<'static> = IntegrationView {
        key: "r/webhook/0",
        send_resolved: false,
        last: None,
    };

    #[test]
    fn inhibited_alerts_are_dropped_and_the_rest_sent() {
        let f = fixture();
        let crit = alert(&[("alertname", "A"), ("severity", "critical")], None);
        let warn = alert(&[("alertname", "B"), ("severity", "warning")], None);
        let all = [crit.clone(), warn.clone()];
        let c = ctx(&f, &f.route.opts, &all, &[], t(10));
        let FlushPlan::Notify(out) = run(&c, all.to_vec(), &[HOOK]) else {
            panic!("muted")
        };
        let p = out[0].as_ref().unwrap();
        assert_eq!(p.alerts, vec![crit.clone()]);
        assert_eq!(p.reason, "first_notification");
        assert_eq!(p.entry.firing, BTreeSet::from([crit.fingerprint()]));
        let c = ctx(&f, &f.route.opts, &all, &[], t(10));
        assert_eq!(
            run(&c, vec![warn], &[HOOK]),
            FlushPlan::Muted("inhibit", MuteReason::AllInhibited)
        );
    }

    #[test]
    fn mute_time_intervals_stop_the_flush() {
        let f = fixture();
        let night = &f.route.routes[0].opts;
        let a = alert(&[("team", "night")], None);
        let all = [a.clone()];
        // 1_800_000_000 is 2027-01-15 08:00 UTC.
        let c = ctx(&f, night, &all, &[], t(60));
        assert_eq!(
            run(&c, all.to_vec(), &[HOOK]),
            FlushPlan::Muted("time_mute", MuteReason::MuteTime)
        );
        let c = ctx(&f, night, &all, &[], t(13 * 3600));
        assert!(matches!(
            run(&c, all.to_vec(), &[HOOK]),
            FlushPlan::Notify(_)
        ));
    }

    #[test]
    fn silenced_alerts_are_dropped() {
        let f = fixture();
        let a = alert(&[("alertname", "A")], None);
        let s = ActiveSilence::new(Silence {
            id: "x".into(),
            matchers: vec![SilenceMatcher {
                name: "alertname".into(),
                value: "A".into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: t(0),
            ends_at: t(100),
            updated_at: t(0),
            created_by: "me".into(),
            comment: "c".into(),
        })
        .unwrap();
        let all = [a.clone()];
        let sil = [s];
        let c = ctx(&f, &f.route.opts, &all, &sil, t(50));
        assert_eq!(
            run(&c, all.to_vec(), &[HOOK]),
            FlushPlan::Muted("silence", MuteReason::AllSilenced)
        );
        let c = ctx(&f, &f.route.opts, &all, &sil, t(100));
        assert!(matches!(
            run(&c, all.to_vec(), &[HOOK]),
            FlushPlan::Notify(_)
        ));
    }

    #[test]
    fn resolved_is_logged_but_not_sent_without_send_resolved() {
        let f = fixture();
        let a = alert(&[("alertname", "A")], Some(5));
        let last = LogEntry {
            firing: BTreeSet::from([a.fingerprint()]),
            resolved: BTreeSet::new(),
            at: t(0),
        };
        let all = [a.clone()];
        let c = ctx(&f, &f.route.opts, &all, &[], t(10));
        for (send_resolved, sent) in [(false, 0), (true, 1)] {
            let i = IntegrationView {
                key: "r/webhook/0",
                send_resolved,
                last: Some(&last),
            };
            let p = dedup(&c, &all, &i).unwrap();
            assert_eq!(p.reason, "all_resolved");
            assert_eq!(p.alerts.len(), sent);
            assert!(p.entry.firing.is_empty());
            // The next flush finds nothing new.
            let i = IntegrationView {
                last: Some(&p.entry),
                ..i
            };
            assert_eq!(
                dedup(&c, &all, &i),
                Err(("r/webhook/0".into(), DedupReason::AlreadyResolved))
            );
        }
    }
}
