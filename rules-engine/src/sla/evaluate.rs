//! The seam between the evaluation loop and the ledger: what an `up`
//! expression's result means, and a tracker that turns one state per
//! evaluation into ledger rows as states change.
//!
//! The loop calls [`Tracker::observe`] at every evaluation with the
//! evaluation timestamp (never the clock) and appends what it returns; on
//! shutdown it calls [`Tracker::close`]. A restart starts a new tracker, so
//! the time vigil was down is simply not covered, which readers treat as
//! unknown.

use super::ledger::{Interval, State};
use super::span::Span;

/// The state an instant query's sample values say: nothing is unknown (the
/// series is missing), any zero is down, all non-zero is up. NaN says
/// nothing and is ignored; a result of only NaN is unknown.
pub fn state_of(values: &[f64]) -> State {
    let mut any = false;
    for v in values.iter().filter(|v| !v.is_nan()) {
        if *v == 0.0 {
            return State::Down;
        }
        any = true;
    }
    if any { State::Up } else { State::Unknown }
}

/// Keeps the open interval of one service between evaluations.
#[derive(Debug, Clone)]
pub struct Tracker {
    max_gap_ms: i64,
    open: Option<(State, i64, i64)>, // state, since, last evaluation
}

impl Tracker {
    /// `max_gap_ms`: the longest time an evaluation vouches for (the `sla`
    /// section's `max_gap`).
    pub fn new(max_gap_ms: i64) -> Self {
        Tracker {
            max_gap_ms,
            open: None,
        }
    }

    /// Records the state at evaluation time `at` and returns the intervals
    /// that are now closed (zero, one or two): the previous state when it
    /// changed, and an unknown stretch when evaluations stopped for longer
    /// than `max_gap`. Evaluations at or before the last one are ignored.
    pub fn observe(&mut self, at: i64, state: State) -> Vec<Interval> {
        let mut closed = Vec::new();
        match self.open {
            None => self.open = Some((state, at, at)),
            Some((_, _, last)) if at <= last => {}
            Some((open_state, since, last)) if at - last > self.max_gap_ms => {
                if last > since {
                    closed.push(Interval {
                        span: Span::new(since, last),
                        state: open_state,
                    });
                }
                closed.push(Interval {
                    span: Span::new(last, at),
                    state: State::Unknown,
                });
                self.open = Some((state, at, at));
            }
            Some((open_state, since, _)) if open_state != state => {
                closed.push(Interval {
                    span: Span::new(since, at),
                    state: open_state,
                });
                self.open = Some((state, at, at));
            }
            Some((open_state, since, _)) => self.open = Some((open_state, since, at)),
        }
        closed
    }

    /// The open interval up to `at` (on shutdown, or to show the current
    /// state); `at` beyond `max_gap` after the last evaluation is cut there.
    pub fn close(&mut self, at: i64) -> Option<Interval> {
        let (state, since, last) = self.open.take()?;
        let end = at.min(last + self.max_gap_ms).max(since);
        (end > since).then_some(Interval {
            span: Span::new(since, end),
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::ledger::intervals_from_observations;

    #[test]
    fn values_to_state() {
        assert_eq!(state_of(&[]), State::Unknown);
        assert_eq!(state_of(&[f64::NAN]), State::Unknown);
        assert_eq!(state_of(&[1.0, 3.0]), State::Up);
        assert_eq!(state_of(&[1.0, 0.0]), State::Down);
        assert_eq!(state_of(&[f64::NAN, 1.0]), State::Up);
    }

    #[test]
    fn tracker_emits_state_changes() {
        let mut t = Tracker::new(90);
        let mut rows = Vec::new();
        for (at, s) in [
            (0, State::Up),
            (30, State::Up),
            (60, State::Down),
            (90, State::Down),
            (120, State::Up),
            (120, State::Down),
            (400, State::Up),
            (430, State::Up),
        ] {
            rows.extend(t.observe(at, s));
        }
        rows.extend(t.close(460));
        let span = |s, e, state| Interval {
            span: Span::new(s, e),
            state,
        };
        assert_eq!(
            rows,
            vec![
                span(0, 60, State::Up),
                span(60, 120, State::Down),
                span(120, 400, State::Unknown),
                span(400, 460, State::Up)
            ]
        );
    }

    #[test]
    fn tracker_agrees_with_batch_conversion_when_closed_at_the_next_evaluation() {
        // The batch function counts the last state up to the next
        // observation; a gap shows as unknown in both.
        let obs = [
            (0, State::Up),
            (60, State::Down),
            (120, State::Down),
            (180, State::Up),
            (1000, State::Down),
        ];
        let batch = intervals_from_observations(&obs, 1060, 100).unwrap();
        let mut t = Tracker::new(100);
        let mut rows: Vec<Interval> = obs.iter().flat_map(|&(at, s)| t.observe(at, s)).collect();
        rows.extend(t.close(1060));
        // The tracker closes the up state at its last evaluation (180), the
        // batch conversion marks the whole gap unknown from 180 too.
        assert_eq!(rows, batch);
    }
}
