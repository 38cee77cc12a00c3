//! Incidents: the runs of counted downtime in a period, with MTTR and the
//! longest one against the RTO and MTTR targets.
//!
//! Kept simple on purpose: an incident is a maximal run of `down` ledger time
//! outside excluded maintenance. The ledger already merges consecutive down
//! evaluations, so one outage is one incident; an outage interrupted by a
//! stretch of unknown or by maintenance counts as two, because nobody knows
//! it was one. Unknown time counted down by the no-data policy is downtime in
//! the totals but not an incident (nothing was detected).

use serde::Serialize;

use super::ledger::{Interval, State};
use super::span::{self, Span};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    pub span: Span,
    pub duration_ms: i64,
    /// The service's `up` expression, which reported it down.
    pub detected_by: String,
    /// It touches the period's start: it may have begun before (the
    /// duration counts only the part inside the period).
    pub began_before_period: bool,
    /// It touches the period's end: it may go on after (clipped likewise).
    pub continues_after_period: bool,
    /// Longer than the RTO.
    pub exceeds_rto: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentSummary {
    pub incidents: Vec<Incident>,
    /// Mean duration, truncated to the millisecond; None without incidents.
    pub mttr_ms: Option<i64>,
    pub longest_ms: Option<i64>,
    pub rto_target_ms: i64,
    pub mttr_target_ms: i64,
    /// Every incident recovered within the RTO.
    pub rto_met: bool,
    /// Mean time to repair within its target (exact: total ≤ target × count).
    pub mttr_met: bool,
}

/// Incidents of a service in `period`. `tiled` tiles the period (see
/// `ledger::tile`); `excluded` is the merged maintenance.
pub fn incidents(
    period: Span,
    tiled: &[Interval],
    excluded: &[Span],
    expression: &str,
    rto_ms: i64,
    mttr_ms: i64,
) -> IncidentSummary {
    let runs = span::merge(
        tiled
            .iter()
            .filter(|iv| iv.state == State::Down)
            .flat_map(|iv| span::subtract(iv.span, excluded))
            .collect(),
    );
    let list: Vec<Incident> = runs
        .into_iter()
        .filter_map(|r| r.intersect(period))
        .map(|r| Incident {
            span: r,
            duration_ms: r.len_ms(),
            detected_by: expression.to_string(),
            began_before_period: r.start == period.start,
            continues_after_period: r.end == period.end,
            exceeds_rto: r.len_ms() > rto_ms,
        })
        .collect();
    let total: i64 = list.iter().map(|i| i.duration_ms).sum();
    let count = list.len() as i64;
    IncidentSummary {
        mttr_ms: (count > 0).then(|| total / count),
        longest_ms: list.iter().map(|i| i.duration_ms).max(),
        rto_met: list.iter().all(|i| !i.exceeds_rto),
        mttr_met: total as i128 <= mttr_ms as i128 * count as i128,
        rto_target_ms: rto_ms,
        mttr_target_ms: mttr_ms,
        incidents: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn iv(s: i64, e: i64, state: State) -> Interval {
        Interval {
            span: Span::new(s * MIN, e * MIN),
            state,
        }
    }

    #[test]
    fn down_runs_become_incidents() {
        let period = Span::new(0, 1000 * MIN);
        let tiled = [
            iv(0, 5, State::Down),
            iv(5, 100, State::Up),
            iv(100, 120, State::Down),
            iv(120, 130, State::Unknown),
            iv(130, 133, State::Down),
            iv(133, 990, State::Up),
            iv(990, 1000, State::Down),
        ];
        let s = incidents(
            period,
            &tiled,
            &[],
            "min(up{job=\"app\"})",
            15 * MIN,
            10 * MIN,
        );
        let durations: Vec<i64> = s.incidents.iter().map(|i| i.duration_ms / MIN).collect();
        assert_eq!(durations, [5, 20, 3, 10]);
        assert!(s.incidents[0].began_before_period && s.incidents[3].continues_after_period);
        assert_eq!(s.longest_ms, Some(20 * MIN));
        assert_eq!(s.mttr_ms, Some(9 * MIN + 30_000));
        assert!(s.mttr_met);
        assert!(!s.rto_met && s.incidents[1].exceeds_rto);
        assert_eq!(s.incidents[0].detected_by, "min(up{job=\"app\"})");
    }

    #[test]
    fn maintenance_cuts_incidents() {
        let period = Span::new(0, 100 * MIN);
        let tiled = [
            iv(0, 10, State::Up),
            iv(10, 40, State::Down),
            iv(40, 100, State::Up),
        ];
        let s = incidents(
            period,
            &tiled,
            &[Span::new(20 * MIN, 30 * MIN)],
            "up",
            15 * MIN,
            10 * MIN,
        );
        assert_eq!(s.incidents.len(), 2);
        assert_eq!(
            s.incidents.iter().map(|i| i.duration_ms).sum::<i64>(),
            20 * MIN
        );
        assert!(s.rto_met && s.mttr_met);
        let none = incidents(period, &[iv(0, 100, State::Up)], &[], "up", 1, 1);
        assert_eq!(
            (none.mttr_ms, none.longest_ms, none.rto_met, none.mttr_met),
            (None, None, true, true)
        );
    }
}
