//! Failovers: for a service whose `up` expression means "a writable
//! primary exists" (and which sets `failover_objective`), each stretch of
//! time without one, with its duration, and the longest against the
//! objective (the documents promise a failover in under 3 s).
//!
//! Read from the ledger, as incidents are: a failover is a maximal run of
//! `down` ledger time. Two differences from incidents, both because the
//! question is how long writes were impossible, not what the contract
//! counts: maintenance does not cut a failover (a planned switchover that
//! takes a minute took a minute), and a failover that begins before the
//! period or goes on after it is measured only inside the period and says
//! so. A run interrupted by unknown time counts as two: nobody saw the
//! middle. The ledger cannot tell a promotion from the old primary coming
//! back; either way the time without a writable primary is what is
//! measured.

use serde::Serialize;

use super::ledger::{Interval, State};
use super::span::{self, Span};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failover {
    /// The time without a writable primary, inside the period.
    pub span: Span,
    pub duration_ms: i64,
    /// It touches the period's start: it may have begun before.
    pub began_before_period: bool,
    /// It touches the period's end: it may go on after.
    pub continues_after_period: bool,
    /// Longer than the failover objective.
    pub exceeds_objective: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailoverSummary {
    pub failovers: Vec<Failover>,
    pub longest_ms: Option<i64>,
    pub objective_ms: i64,
    /// Every failover within the objective (also when there was none).
    pub met: bool,
}

/// The failovers of a service over `period` from its tiled ledger (see
/// `ledger::tile`), judged against `objective_ms`.
pub fn failovers(period: Span, tiled: &[Interval], objective_ms: i64) -> FailoverSummary {
    let runs = span::merge(
        tiled
            .iter()
            .filter(|iv| iv.state == State::Down)
            .filter_map(|iv| iv.span.intersect(period))
            .collect(),
    );
    let list: Vec<Failover> = runs
        .into_iter()
        .map(|r| Failover {
            span: r,
            duration_ms: r.len_ms(),
            began_before_period: r.start == period.start,
            continues_after_period: r.end == period.end,
            exceeds_objective: r.len_ms() > objective_ms,
        })
        .collect();
    FailoverSummary {
        longest_ms: list.iter().map(|f| f.duration_ms).max(),
        met: list.iter().all(|f| !f.exceeds_objective),
        objective_ms,
        failovers: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn iv(s: i64, e: i64, state: State) -> Interval {
        Interval {
            span: Span::new(s * S, e * S),
            state,
        }
    }

    #[test]
    fn down_runs_are_failovers_judged_against_the_objective() {
        let period = Span::new(0, 1000 * S);
        let tiled = [
            iv(0, 2, State::Down),
            iv(2, 100, State::Up),
            // 2 s, then 1 s more in a second ledger row: one failover.
            iv(100, 102, State::Down),
            iv(102, 103, State::Down),
            iv(103, 500, State::Up),
            // split by unknown time: two.
            iv(500, 501, State::Down),
            iv(501, 510, State::Unknown),
            iv(510, 514, State::Down),
            iv(514, 998, State::Up),
            iv(998, 1000, State::Down),
        ];
        let f = failovers(period, &tiled, 3 * S);
        let durations: Vec<i64> = f.failovers.iter().map(|f| f.duration_ms / S).collect();
        assert_eq!(durations, [2, 3, 1, 4, 2]);
        assert!(f.failovers[0].began_before_period && !f.failovers[0].continues_after_period);
        assert!(f.failovers[4].continues_after_period);
        // exactly the objective is within it
        assert!(!f.failovers[1].exceeds_objective);
        assert!(f.failovers[3].exceeds_objective);
        assert_eq!(f.longest_ms, Some(4 * S));
        assert!(!f.met);
        assert_eq!(f.objective_ms, 3 * S);
    }

    #[test]
    fn rows_across_the_period_edges_are_clipped() {
        let period = Span::new(100 * S, 200 * S);
        let tiled = [
            iv(90, 101, State::Down),
            iv(101, 199, State::Up),
            iv(199, 205, State::Down),
        ];
        let f = failovers(period, &tiled, 3 * S);
        let spans: Vec<Span> = f.failovers.iter().map(|f| f.span).collect();
        assert_eq!(
            spans,
            [Span::new(100 * S, 101 * S), Span::new(199 * S, 200 * S)]
        );
        assert!(f.met);
    }

    #[test]
    fn no_failover_meets_the_objective() {
        let period = Span::new(0, 10 * S);
        let f = failovers(period, &[iv(0, 10, State::Up)], 0);
        assert_eq!((f.failovers.len(), f.longest_ms, f.met), (0, None, true));
    }
}
