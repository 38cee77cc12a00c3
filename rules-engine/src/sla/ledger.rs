//! The availability ledger: per service, the intervals during which it was
//! up, down or of unknown state.
//!
//! The ledger keeps state changes, not samples: a month with no incident is
//! one interval. Evaluations arrive as observations (timestamp, state); a
//! state holds from its observation to the next one. When the next one comes
//! later than `max_gap` (vigil was stopped, the evaluation loop stalled),
//! nothing vouches for that gap and all of it is unknown: we do not guess that
//! the last state carried on.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use serde::Serialize;

use super::span::Span;

/// What an evaluation of the service's `up` expression said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Up,
    Down,
    /// No data: the expression returned nothing, or vigil was not running.
    Unknown,
}

impl State {
    /// The name stored in the ledger table and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
            State::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        match s {
            "up" => Some(State::Up),
            "down" => Some(State::Down),
            "unknown" => Some(State::Unknown),
            _ => None,
        }
    }
}

/// One ledger row: `state` held during `span`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Interval {
    pub span: Span,
    pub state: State,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error("observations out of order: {next_ms} ms comes after {prev_ms} ms")]
    OutOfOrder { prev_ms: i64, next_ms: i64 },
    #[error("observation at {at_ms} ms is not before the end {end_ms} ms")]
    AfterEnd { at_ms: i64, end_ms: i64 },
    #[error("max gap must be positive, got {0} ms")]
    BadMaxGap(i64),
}

/// Turns observations at evaluation timestamps (strictly increasing) into
/// merged intervals up to `end`. Each state covers the time to the next
/// observation (or `end`) when that is at most `max_gap_ms` away; a longer
/// gap is unknown as a whole. Time before the first observation is not
/// covered (a reader treats uncovered time as unknown).
pub fn intervals_from_observations(
    observations: &[(i64, State)],
    end: i64,
    max_gap_ms: i64,
) -> Result<Vec<Interval>, LedgerError> {
    if max_gap_ms <= 0 {
        return Err(LedgerError::BadMaxGap(max_gap_ms));
    }
    let mut out = Vec::with_capacity(observations.len().min(64));
    for (i, &(at, state)) in observations.iter().enumerate() {
        let next = match observations.get(i + 1) {
            Some(&(n, _)) if n <= at => {
                return Err(LedgerError::OutOfOrder {
                    prev_ms: at,
                    next_ms: n,
                });
            }
            Some(&(n, _)) => n,
            None if at >= end => {
                return Err(LedgerError::AfterEnd {
                    at_ms: at,
                    end_ms: end,
                });
            }
            None => end,
        };
        let state = if next - at > max_gap_ms {
            State::Unknown
        } else {
            state
        };
        push_merged(
            &mut out,
            Interval {
                span: Span::new(at, next),
                state,
            },
        );
    }
    Ok(out)
}

/// Appends, extending the last interval when it has the same state and
/// touches the new one.
pub fn push_merged(out: &mut Vec<Interval>, iv: Interval) {
    match out.last_mut() {
        Some(last) if last.state == iv.state && last.span.end == iv.span.start => {
            last.span.end = iv.span.end
        }
        _ => out.push(iv),
    }
}

/// Clips intervals to `period`, sorts them, and fills what no interval
/// covers with unknown, so the result tiles `period` exactly. Where stored
/// intervals overlap (two engines wrote the same minute), an interval is cut
/// where the next one starts: the later-starting one wins from there on.
pub fn tile(period: Span, intervals: &[Interval]) -> Vec<Interval> {
    let mut sorted: Vec<Interval> = intervals
        .iter()
        .filter_map(|iv| {
            iv.span.intersect(period).map(|span| Interval {
                span,
                state: iv.state,
            })
        })
        .collect();
    sorted.sort_by_key(|iv| (iv.span.start, iv.span.end));
    let mut out: Vec<Interval> = Vec::with_capacity(sorted.len() + 2);
    let mut cursor = period.start;
    for (i, iv) in sorted.iter().enumerate() {
        let end = sorted
            .get(i + 1)
            .map_or(iv.span.end, |n| iv.span.end.min(n.span.start));
        let start = iv.span.start.max(cursor);
        if start > cursor {
            push_merged(
                &mut out,
                Interval {
                    span: Span::new(cursor, start),
                    state: State::Unknown,
                },
            );
        }
        if end > start {
            push_merged(
                &mut out,
                Interval {
                    span: Span::new(start, end),
                    state: iv.state,
                },
            );
            cursor = end;
        }
    }
    if cursor < period.end {
        push_merged(
            &mut out,
            Interval {
                span: Span::new(cursor, period.end),
                state: State::Unknown,
            },
        );
    }
    out
}

/// Where the ledger lives (SQL in vigil; the db module implements this).
/// Both methods are keyed by service name.
pub trait LedgerStore: Send + Sync {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Records an interval. An implementation may merge it with the previous
    /// interval of the same service when the state is the same and they touch.
    fn append(
        &self,
        service: &str,
        interval: Interval,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Every interval of `service` overlapping `span`, unclipped, in any order.
    fn read(
        &self,
        service: &str,
        span: Span,
    ) -> impl Future<Output = Result<Vec<Interval>, Self::Error>> + Send;
}

/// An in-memory ledger: for tests and for `vigil sla report` over
/// intervals computed on the fly (backfill dry runs).
#[derive(Debug, Default)]
pub struct MemoryLedger {
    rows: Mutex<HashMap<String, Vec<Interval>>>,
}

impl LedgerStore for MemoryLedger {
    type Error = std::convert::Infallible;

    async fn append(&self, service: &str, interval: Interval) -> Result<(), Self::Error> {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        push_merged(rows.entry(service.to_string()).or_default(), interval);
        Ok(())
    }

    async fn read(&self, service: &str, span: Span) -> Result<Vec<Interval>, Self::Error> {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        Ok(rows
            .get(service)
            .map(|v| {
                v.iter()
                    .filter(|iv| iv.span.intersect(span).is_some())
                    .copied()
                    .collect()
            })
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    fn iv(s: i64, e: i64, state: State) -> Interval {
        Interval {
            span: Span::new(s, e),
            state,
        }
    }

    #[test]
    fn observations_become_merged_intervals() {
        let obs = [(0, Up), (30, Up), (60, Down), (90, Down), (120, Up)];
        let got = intervals_from_observations(&obs, 150, 60).unwrap();
        assert_eq!(
            got,
            vec![iv(0, 60, Up), iv(60, 120, Down), iv(120, 150, Up)]
        );
    }

    #[test]
    fn a_long_gap_is_unknown() {
        let obs = [(0, Up), (30, Up), (1000, Up), (1030, Down)];
        let got = intervals_from_observations(&obs, 1060, 60).unwrap();
        assert_eq!(
            got,
            vec![
                iv(0, 30, Up),
                iv(30, 1000, Unknown),
                iv(1000, 1030, Up),
                iv(1030, 1060, Down)
            ]
        );
        // exactly max_gap is still covered
        let got = intervals_from_observations(&[(0, Down)], 60, 60).unwrap();
        assert_eq!(got, vec![iv(0, 60, Down)]);
    }

    #[test]
    fn bad_observations_are_errors() {
        assert_eq!(
            intervals_from_observations(&[(10, Up), (10, Up)], 20, 5),
            Err(LedgerError::OutOfOrder {
                prev_ms: 10,
                next_ms: 10
            })
        );
        assert!(intervals_from_observations(&[(10, Up)], 10, 5).is_err());
        assert!(intervals_from_observations(&[(10, Up)], 20, 0).is_err());
    }

    #[test]
    fn tiling_fills_holes_with_unknown_and_clips() {
        let got = tile(
            Span::new(0, 100),
            &[iv(50, 70, Down), iv(-20, 10, Up), iv(70, 200, Up)],
        );
        assert_eq!(
            got,
            vec![
                iv(0, 10, Up),
                iv(10, 50, Unknown),
                iv(50, 70, Down),
                iv(70, 100, Up)
            ]
        );
        assert_eq!(tile(Span::new(0, 10), &[]), vec![iv(0, 10, Unknown)]);
        // overlap: the later-starting interval wins
        assert_eq!(
            tile(Span::new(0, 10), &[iv(0, 8, Up), iv(5, 10, Down)]),
            vec![iv(0, 5, Up), iv(5, 10, Down)]
        );
    }

    #[test]
    fn memory_ledger_reads_what_overlaps() {
        let ledger = MemoryLedger::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            ledger.append("app", iv(0, 10, Up)).await.unwrap();
            ledger.append("app", iv(10, 20, Up)).await.unwrap();
            ledger.append("app", iv(20, 30, Down)).await.unwrap();
            assert_eq!(
                ledger.read("app", Span::new(5, 15)).await.unwrap(),
                vec![iv(0, 20, Up)]
            );
            assert_eq!(ledger.read("app", Span::new(30, 40)).await.unwrap(), vec![]);
            assert_eq!(ledger.read("db", Span::new(0, 40)).await.unwrap(), vec![]);
        });
    }
}
