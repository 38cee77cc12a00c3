//! The SLA evaluation task: at every evaluation slot, each service's `up`
//! expression is evaluated through the query seam, its state fed to a
//! [`Tracker`], the ledger brought up to date, and the month-to-date
//! `/metrics` gauges recomputed.
//!
//! The loop in [`start`] is the only place that reads the clock; everything
//! it does at a slot is [`Evaluator::evaluate`] plus [`step`], which take
//! the slot's timestamp, so tests drive them with pinned times.
//!
//! Writes are monotone per service: the ledger receives what the tracker
//! closed and, at every slot, the open interval so far (which the SQL store
//! merges into the row it extends). A crash therefore loses at most one
//! interval, and the ledger still holds state changes, not samples.

use std::sync::Arc;

use promql_parser::parser::Expr;
use tokio_util::sync::CancellationToken;

use super::config::{ServiceConfig, SlaConfig};
use super::evaluate::{Tracker, state_of};
use super::ledger::{Interval, LedgerStore, State};
use super::metrics::SlaGauges;
use super::period;
use super::report::service_report;
use super::span::Span;
use crate::clock::Clock;
use crate::rules::query::RuleQuery;
use crate::rules::schedule;

/// What the task needs; the ledger is any [`LedgerStore`] (SQL in vigil,
/// memory without a storage path).
pub struct SlaDeps<L> {
    pub config: SlaConfig,
    pub query: Arc<dyn RuleQuery>,
    pub ledger: Arc<L>,
    pub gauges: SlaGauges,
    pub clock: Arc<dyn Clock>,
    /// The evaluation interval (`global.evaluation_interval`).
    pub interval_ms: i64,
    /// How long after the task starts every target has been scraped once
    /// (the longest scrape interval plus its timeout). Slots before that
    /// are not evaluated: the store has not seen the targets yet, and an
    /// `up` expression such as `sum(up) or vector(0)` would record the
    /// seconds before the first scrape as downtime. They stay unknown, as
    /// the time vigil was down does.
    pub first_scrapes_ms: i64,
}

/// One service being watched.
struct Watched {
    cfg: ServiceConfig,
    expr: Expr,
    tracker: Tracker,
    /// Where the ledger's writes for this service end.
    written: i64,
    /// Last query error, logged once per change.
    last_error: Option<String>,
}

/// The per-slot work without the loop: services, their trackers and what
/// was written.
pub struct Evaluator {
    config: SlaConfig,
    services: Vec<Watched>,
}

impl Evaluator {
    /// Parses every `up` expression (validated at load; an error here names
    /// the service).
    pub fn new(config: SlaConfig) -> Result<Evaluator, StartError> {
        let max_gap = config.max_gap.as_millis();
        let services = config
            .services
            .iter()
            .map(|s| {
                let expr = crate::promql::parse_expr(&s.up).map_err(|source| StartError {
                    service: s.name.clone(),
                    source,
                })?;
                Ok(Watched {
                    cfg: s.clone(),
                    expr,
                    tracker: Tracker::new(max_gap),
                    written: i64::MIN,
                    last_error: None,
                })
            })
            .collect::<Result<_, StartError>>()?;
        Ok(Evaluator { config, services })
    }

    /// Evaluates every service at `t` and returns the ledger rows to
    /// append, in order per service, none overlapping what was returned
    /// before.
    pub fn evaluate(&mut self, query: &dyn RuleQuery, t: i64) -> Vec<(String, Interval)> {
        let mut out = Vec::new();
        for w in &mut self.services {
            let state = match query.instant(&w.expr, t) {
                Ok(samples) => {
                    if w.last_error.take().is_some() {
                        tracing::info!(service = %w.cfg.name, "SLA up expression evaluates again");
                    }
                    state_of(&samples.iter().map(|s| s.value).collect::<Vec<_>>())
                }
                Err(e) => {
                    if w.last_error.as_deref() != Some(e.0.as_str()) {
                        tracing::warn!(service = %w.cfg.name, error = %e, "SLA up expression failed; state unknown");
                        w.last_error = Some(e.0);
                    }
                    State::Unknown
                }
            };
            let closed = w.tracker.observe(t, state);
            let open = w.tracker.clone().close(t);
            for iv in closed.into_iter().chain(open) {
                let start = iv.span.start.max(w.written);
                if start < iv.span.end {
                    w.written = iv.span.end;
                    out.push((
                        w.cfg.name.clone(),
                        Interval {
                            span: Span::new(start, iv.span.end),
                            state: iv.state,
                        },
                    ));
                }
            }
        }
        out
    }

    pub fn config(&self) -> &SlaConfig {
        &self.config
    }
}

/// Why the task could not start.
#[derive(Debug, thiserror::Error)]
#[error("SLA service {service:?}: bad up expression: {source}")]
pub struct StartError {
    pub service: String,
    #[source]
    pub source: crate::promql::QueryError,
}

/// The running task.
pub struct SlaHandle {
    pub task: tokio::task::JoinHandle<()>,
    stop: CancellationToken,
    /// The last slot fully handled (ledger written, gauges set).
    pub evaluated: tokio::sync::watch::Receiver<Option<i64>>,
}

impl SlaHandle {
    /// Stops the task between slots and waits for it.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// One slot: evaluate, append to the ledger, refresh the gauges.
pub async fn step<L: LedgerStore>(ev: &mut Evaluator, deps: &SlaDeps<L>, t: i64) {
    for (service, iv) in ev.evaluate(deps.query.as_ref(), t) {
        if let Err(e) = deps.ledger.append(&service, iv).await {
            tracing::warn!(service = %service, error = %e, "writing the SLA ledger failed");
        }
    }
    let Ok(p) = period::current_month_to_date(ev.config.time_zone.0, t) else {
        return;
    };
    for s in &ev.config.services {
        match deps.ledger.read(&s.name, p.span).await {
            Ok(rows) => deps
                .gauges
                .set(&s.name, service_report(&ev.config, s, &p, &rows).gauges()),
            Err(e) => {
                tracing::warn!(service = %s.name, error = %e, "reading the SLA ledger failed")
            }
        }
    }
}

/// Starts the task; it runs until [`SlaHandle::stop`].
pub fn start<L: LedgerStore + 'static>(deps: SlaDeps<L>) -> Result<SlaHandle, StartError> {
    let mut ev = Evaluator::new(deps.config.clone())?;
    let names: Vec<&str> = deps
        .config
        .services
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    deps.gauges.retain(&names);
    let stop = CancellationToken::new();
    let (tx, rx) = tokio::sync::watch::channel(None);
    let token = stop.clone();
    let task = tokio::spawn(async move {
        let interval = deps.interval_ms.max(1);
        let scraped_from = deps.clock.now_ms().saturating_add(deps.first_scrapes_ms);
        let mut prev: Option<i64> = None;
        loop {
            let now = deps.clock.now_ms();
            let slot = schedule::next_slot(now.max(prev.map_or(i64::MIN, |p| p + 1)), interval, 0);
            tokio::select! {
                _ = token.cancelled() => return,
                _ = deps.clock.sleep_until_ms(slot) => {}
            }
            prev = Some(slot);
            if slot < scraped_from {
                continue;
            }
            step(&mut ev, &deps, slot).await;
            let _ = tx.send(Some(slot));
        }
    });
    Ok(SlaHandle {
        task,
        stop,
        evaluated: rx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::promql::Engine;
    use crate::rules::query::EngineQuery;
    use crate::sla::ledger::MemoryLedger;
    use crate::store::{Appender, Head};
    use std::time::Duration;

    const MIN: i64 = 60_000;

    fn config() -> SlaConfig {
        yaml_serde::from_str(
            "services:\n  - { name: app, up: 'min(up{job=\"app\"})' }\n  - { name: gone, up: 'up{job=\"none\"}' }\n",
        )
        .unwrap()
    }

    /// `up{job="app"}` every minute from `from` to `to` minutes after
    /// `t0`, 0 in `down` minutes.
    fn scrape(head: &Head, t0: i64, minutes: std::ops::Range<i64>, down: std::ops::Range<i64>) {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "app"), ("instance", "a")]);
        for m in minutes {
            let v = if down.contains(&m) { 0.0 } else { 1.0 };
            head.append(&l, t0 + m * MIN, v).unwrap();
        }
    }

    fn deps(head: Arc<Head>, ledger: Arc<MemoryLedger>) -> SlaDeps<MemoryLedger> {
        SlaDeps {
            config: config(),
            query: Arc::new(EngineQuery {
                engine: Engine::default(),
                querier: head,
            }),
            ledger,
            gauges: SlaGauges::default(),
            clock: Arc::new(crate::clock::ManualClock::new(0)),
            interval_ms: MIN,
            first_scrapes_ms: 0,
        }
    }

    #[tokio::test]
    async fn slots_become_state_change_rows_and_gauges() {
        let t0 = period::month(2026, 11, chrono_tz::UTC).unwrap().span.start;
        let head = Arc::new(Head::default());
        scrape(&head, t0, 0..30, 10..13);
        let ledger = Arc::new(MemoryLedger::default());
        let d = deps(head, ledger.clone());
        let mut ev = Evaluator::new(d.config.clone()).unwrap();
        for m in 0..30 {
            step(&mut ev, &d, t0 + m * MIN).await;
        }
        let rows = ledger
            .read("app", Span::new(t0, t0 + 60 * MIN))
            .await
            .unwrap();
        let iv = |s, e, state| Interval {
            span: Span::new(t0 + s * MIN, t0 + e * MIN),
            state,
        };
        assert_eq!(
            rows,
            vec![
                iv(0, 10, State::Up),
                iv(10, 13, State::Down),
                iv(13, 29, State::Up)
            ]
        );
        // no data at all: nothing vouched for, an unknown row at most
        let gone = ledger
            .read("gone", Span::new(t0, t0 + 60 * MIN))
            .await
            .unwrap();
        assert!(gone.iter().all(|iv| iv.state == State::Unknown));
        let g = d.gauges.get("app").unwrap();
        assert_eq!(g.downtime_seconds, 180.0);
        // 26 of 29 minutes up
        assert!((g.availability_ratio - 26.0 / 29.0).abs() < 1e-12);
        assert!(g.error_budget_remaining_ratio < 0.0);
        assert!(d.gauges.get("gone").unwrap().availability_ratio.is_nan());
    }

    #[tokio::test]
    async fn a_pause_in_evaluations_is_unknown_and_a_restart_resumes() {
        let t0 = period::month(2026, 11, chrono_tz::UTC).unwrap().span.start;
        let head = Arc::new(Head::default());
        scrape(&head, t0, 0..60, 0..0);
        let ledger = Arc::new(MemoryLedger::default());
        let d = deps(head, ledger.clone());
        let mut ev = Evaluator::new(d.config.clone()).unwrap();
        for m in (0..10).chain(20..30) {
            step(&mut ev, &d, t0 + m * MIN).await;
        }
        // a restart: a new evaluator (and tracker) on the same ledger
        let mut ev = Evaluator::new(d.config.clone()).unwrap();
        for m in 40..50 {
            step(&mut ev, &d, t0 + m * MIN).await;
        }
        let rows = ledger
            .read("app", Span::new(t0, t0 + 60 * MIN))
            .await
            .unwrap();
        let states: Vec<(i64, i64, State)> = rows
            .iter()
            .map(|r| ((r.span.start - t0) / MIN, (r.span.end - t0) / MIN, r.state))
            .collect();
        // 10 minutes without evaluation > max_gap (3m): unknown; the gap
        // of the restart is simply not covered
        assert_eq!(
            states,
            vec![
                (0, 9, State::Up),
                (9, 20, State::Unknown),
                (20, 29, State::Up),
                (40, 49, State::Up)
            ]
        );
    }

    /// The first slot the task evaluates after `after` (10 s at most).
    async fn evaluated_after(h: &mut SlaHandle, after: i64) -> i64 {
        tokio::time::timeout(
            Duration::from_secs(10),
            h.evaluated.wait_for(|s| s.is_some_and(|s| s > after)),
        )
        .await
        .expect("an evaluation within 10 s")
        .expect("the task is running")
        .expect("a slot")
    }

    #[tokio::test]
    async fn the_task_runs_on_slots_and_stops() {
        let head = Arc::new(Head::default());
        let ledger = Arc::new(MemoryLedger::default());
        let mut d = deps(head.clone(), ledger.clone());
        d.interval_ms = 20;
        d.clock = Arc::new(crate::clock::SystemClock);
        let now = d.clock.now_ms();
        scrape(&head, now - 5 * MIN, 0..10, 0..0);
        let gauges = d.gauges.clone();
        let mut h = start(d).unwrap();
        let first = evaluated_after(&mut h, i64::MIN).await;
        assert_eq!(first % 20, 0, "evaluated at a slot");
        let second = evaluated_after(&mut h, first).await;
        h.stop().await;
        let rows = ledger
            .read("app", Span::new(first, second + 1))
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, State::Up);
        assert!(rows[0].span.start == first && rows[0].span.end >= second);
        assert_eq!(gauges.get("app").unwrap().downtime_seconds, 0.0);
    }

    /// Before every target was scraped once, `sum(up) or vector(0)` is 0:
    /// those slots are not evaluated, so they are not downtime.
    #[tokio::test]
    async fn no_evaluation_before_the_first_scrapes() {
        let head = Arc::new(Head::default());
        let ledger = Arc::new(MemoryLedger::default());
        let mut d = deps(head, ledger.clone());
        d.config.services[0].up = "sum(up{job=\"app\"}) or vector(0)".into();
        d.interval_ms = 20;
        d.first_scrapes_ms = 200;
        d.clock = Arc::new(crate::clock::SystemClock);
        let started = d.clock.now_ms();
        let mut h = start(d).unwrap();
        let first = evaluated_after(&mut h, i64::MIN).await;
        h.stop().await;
        assert!(
            first >= started + 200,
            "first slot {first}, started {started}"
        );
        let rows = ledger.read("app", Span::new(0, i64::MAX)).await.unwrap();
        assert!(
            rows.iter().all(|r| r.span.start >= started + 200),
            "{rows:?}"
        );
    }

    #[test]
    fn a_bad_expression_names_the_service() {
        let mut c = config();
        c.services[0].up = "sum(".into();
        let err = Evaluator::new(c).err().unwrap().to_string();
        assert!(
            err.starts_with("SLA service \"app\": bad up expression"),
            "{err}"
        );
    }
}
