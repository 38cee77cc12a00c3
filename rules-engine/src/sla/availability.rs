//! Availability over a period, exactly.
//!
//! The period is split into maintenance (excluded windows), up, down and
//! unknown milliseconds, which add up to the period exactly. The no-data
//! policy then says where unknown time goes, and
//! `availability = counted up / (period − excluded)`. The verdict compares
//! integers: downtime is within the objective when
//! `down × 100·10^s ≤ (100·10^s − objective_units) × eligible`, so 43.2
//! minutes down in a 30-day month at 99.9 % meets the objective.

use serde::Serialize;

use super::config::NoDataPolicy;
use super::exact::{Decimal, Ratio};
use super::ledger::{Interval, State};
use super::span::{self, Span};

/// Where the period's milliseconds went. Maintenance takes precedence: a
/// millisecond inside an excluded window counts only as maintenance, whatever
/// the service's state. `maintenance + up + down + unknown == period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Breakdown {
    pub period_ms: i64,
    pub maintenance_ms: i64,
    pub up_ms: i64,
    pub down_ms: i64,
    pub unknown_ms: i64,
}

/// Splits `period` given intervals that tile it (see `ledger::tile`) and the
/// merged excluded windows.
pub fn breakdown(period: Span, tiled: &[Interval], excluded: &[Span]) -> Breakdown {
    let mut b = Breakdown {
        period_ms: period.len_ms(),
        maintenance_ms: span::covered_ms(excluded, period),
        up_ms: 0,
        down_ms: 0,
        unknown_ms: 0,
    };
    for iv in tiled {
        let Some(clipped) = iv.span.intersect(period) else {
            continue;
        };
        let counted: i64 = span::subtract(clipped, excluded)
            .iter()
            .map(|s| s.len_ms())
            .sum();
        match iv.state {
            State::Up => b.up_ms += counted,
            State::Down => b.down_ms += counted,
            State::Unknown => b.unknown_ms += counted,
        }
    }
    b
}

/// A duration known exactly: `scaled / den` milliseconds, possibly negative
/// (an overspent budget). Shown truncated toward minus infinity, so a budget
/// is never shown larger than it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactMs {
    pub scaled: i128,
    pub den: i128,
}

impl ExactMs {
    pub fn floor_ms(self) -> i64 {
        i64::try_from(self.scaled.div_euclid(self.den)).unwrap_or(i64::MAX)
    }

    pub fn is_negative(self) -> bool {
        self.scaled < 0
    }
}

/// The verdict for one objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub policy: NoDataPolicy,
    /// Period minus maintenance, minus unknown time under `excluded`.
    pub eligible_ms: i64,
    pub counted_up_ms: i64,
    pub counted_down_ms: i64,
    /// None when nothing is eligible (the whole period excluded or unknown).
    pub availability: Option<Ratio>,
    pub objective: Decimal,
    /// None when there is no availability to judge.
    pub met: Option<bool>,
    pub allowed_downtime: ExactMs,
    /// `allowed − counted down`; negative when the objective was missed.
    pub remaining_budget: ExactMs,
}

impl Verdict {
    /// Share of the allowance still unspent, for the
    /// `vigil_sla_error_budget_remaining_ratio` gauge (a float by nature).
    pub fn remaining_ratio_lossy(&self) -> f64 {
        if self.allowed_downtime.scaled == 0 {
            return if self.counted_down_ms == 0 {
                1.0
            } else {
                f64::NEG_INFINITY
            };
        }
        self.remaining_budget.scaled as f64 / self.allowed_downtime.scaled as f64
    }
}

/// Downtime allowed by `objective` (percent) over `eligible_ms`.
pub fn allowed_downtime(objective: Decimal, eligible_ms: i64) -> ExactMs {
    let den = objective.denominator() * 100;
    let slack = den - objective.units().min(den);
    ExactMs {
        scaled: (slack * eligible_ms.max(0) as u128) as i128,
        den: den as i128,
    }
}

/// Applies the no-data policy and judges the objective.
pub fn verdict(b: &Breakdown, policy: NoDataPolicy, objective: Decimal) -> Verdict {
    let base = b.period_ms - b.maintenance_ms;
    let (eligible_ms, counted_up_ms, counted_down_ms) = match policy {
        NoDataPolicy::Excluded => (base - b.unknown_ms, b.up_ms, b.down_ms),
        NoDataPolicy::Up => (base, b.up_ms + b.unknown_ms, b.down_ms),
        NoDataPolicy::Down => (base, b.up_ms, b.down_ms + b.unknown_ms),
    };
    let allowed = allowed_downtime(objective, eligible_ms);
    let remaining = ExactMs {
        scaled: allowed.scaled - counted_down_ms as i128 * allowed.den,
        den: allowed.den,
    };
    let availability =
        (eligible_ms > 0).then(|| Ratio::new(counted_up_ms as u128, eligible_ms as u128));
    Verdict {
        policy,
        eligible_ms,
        counted_up_ms,
        counted_down_ms,
        availability,
        objective,
        met: availability.map(|_| !remaining.is_negative()),
        allowed_downtime: allowed,
        remaining_budget: remaining,
    }
}

/// `4m 19.2s`, `52m 33.6s`, `-1s`: minutes and seconds with the
/// milliseconds that are not zero.
pub fn human_ms(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    let (h, m, s, milli) = (
        abs / 3_600_000,
        abs / 60_000 % 60,
        abs / 1000 % 60,
        abs % 1000,
    );
    let secs = if milli == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{}s", format!("{milli:03}").trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => format!("{sign}{secs}"),
        (0, m) => format!("{sign}{m}m {secs}"),
        (h, m) => format!("{sign}{h}h {m}m {secs}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MIN: i64 = 60_000;
    const DAY: i64 = 1440 * MIN;

    fn pct(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    fn month_with_downtime(days: i64, down_ms: i64) -> Breakdown {
        Breakdown {
            period_ms: days * DAY,
            maintenance_ms: 0,
            up_ms: days * DAY - down_ms,
            down_ms,
            unknown_ms: 0,
        }
    }

    #[test]
    fn allowed_downtime_table() {
        // (objective, days, allowed ms)
        let table: &[(&str, i64, i64)] = &[
            ("99", 30, 25_920_000),
            ("99.5", 31, 13_392_000),
            ("99.9", 30, 2_592_000),
            ("99.9", 28, 2_419_200),
            ("99.95", 29, 1_252_800),
            ("99.99", 30, 259_200), // 4 min 19.2 s
            ("99.99", 31, 267_840),
            ("99.99", 365, 3_153_600), // about 52.6 minutes a year, not 8.76 hours
            ("99.9", 365, 31_536_000), // 8.76 hours is 99.9 %
            ("99.999", 28, 24_192),
        ];
        for &(o, days, want) in table {
            let a = allowed_downtime(pct(o), days * DAY);
            assert_eq!(
                a.scaled % a.den,
                0,
                "{o} over {days} days is a whole number of ms"
            );
            assert_eq!(a.floor_ms(), want, "{o} over {days} days");
        }
        assert_eq!(
            human_ms(allowed_downtime(pct("99.99"), 30 * DAY).floor_ms()),
            "4m 19.2s"
        );
        assert_eq!(
            human_ms(allowed_downtime(pct("99.99"), 365 * DAY).floor_ms()),
            "52m 33.6s"
        );
        // 30.4 days: about 4.4 minutes
        assert_eq!(
            allowed_downtime(pct("99.99"), 304 * DAY / 10).floor_ms(),
            262_656
        );
    }

    #[test]
    fn exactly_the_allowance_meets_the_objective() {
        // 43.2 minutes down in a 30-day month at 99.9 %: met (f64 says breach).
        let v = verdict(
            &month_with_downtime(30, 43 * MIN + 12_000),
            NoDataPolicy::Excluded,
            pct("99.9"),
        );
        assert_eq!(v.met, Some(true));
        assert_eq!(v.remaining_budget.floor_ms(), 0);
        assert_eq!(v.availability.unwrap().percent_truncated(3), "99.900");
        let v = verdict(
            &month_with_downtime(30, 43 * MIN + 12_001),
            NoDataPolicy::Excluded,
            pct("99.9"),
        );
        assert_eq!(v.met, Some(false));
        assert_eq!(v.remaining_budget.floor_ms(), -1);
        assert_eq!(v.availability.unwrap().percent_truncated(3), "99.899");
        // one more second past 99.99 %'s 4m 19.2s
        let v = verdict(
            &month_with_downtime(30, 259_200 + 1000),
            NoDataPolicy::Excluded,
            pct("99.99"),
        );
        assert_eq!(v.met, Some(false));
    }

    #[test]
    fn no_data_policy_moves_unknown_time() {
        let b = Breakdown {
            period_ms: 100 * MIN,
            maintenance_ms: 10 * MIN,
            up_ms: 70 * MIN,
            down_ms: 10 * MIN,
            unknown_ms: 10 * MIN,
        };
        let ex = verdict(&b, NoDataPolicy::Excluded, pct("99"));
        assert_eq!(
            (ex.eligible_ms, ex.counted_up_ms, ex.counted_down_ms),
            (80 * MIN, 70 * MIN, 10 * MIN)
        );
        let up = verdict(&b, NoDataPolicy::Up, pct("99"));
        assert_eq!(
            (up.eligible_ms, up.counted_up_ms, up.counted_down_ms),
            (90 * MIN, 80 * MIN, 10 * MIN)
        );
        let down = verdict(&b, NoDataPolicy::Down, pct("99"));
        assert_eq!(
            (down.eligible_ms, down.counted_up_ms, down.counted_down_ms),
            (90 * MIN, 70 * MIN, 20 * MIN)
        );
        let none = verdict(
            &Breakdown {
                period_ms: 10,
                maintenance_ms: 0,
                up_ms: 0,
                down_ms: 0,
                unknown_ms: 10,
            },
            NoDataPolicy::Excluded,
            pct("99"),
        );
        assert_eq!((none.availability, none.met), (None, None));
    }

    #[test]
    fn breakdown_puts_maintenance_first() {
        let tiled = [
            Interval {
                span: Span::new(0, 40),
                state: State::Up,
            },
            Interval {
                span: Span::new(40, 60),
                state: State::Down,
            },
            Interval {
                span: Span::new(60, 100),
                state: State::Unknown,
            },
        ];
        let b = breakdown(Span::new(0, 100), &tiled, &[Span::new(50, 70)]);
        assert_eq!(
            b,
            Breakdown {
                period_ms: 100,
                maintenance_ms: 20,
                up_ms: 40,
                down_ms: 10,
                unknown_ms: 30
            }
        );
    }

    proptest! {
        #[test]
        fn parts_add_up_exactly(cuts in proptest::collection::vec((0i64..1_000_000, 0u8..3), 0..20), holes in proptest::collection::vec((0i64..1_000_000, 0i64..50_000), 0..5), policy in 0u8..3) {
            let period = Span::new(0, 1_000_000);
            let mut cuts = cuts;
            cuts.sort();
            let ivs: Vec<Interval> = cuts.iter().zip(cuts.iter().skip(1)).map(|(a, b)| Interval { span: Span::new(a.0, b.0), state: [State::Up, State::Down, State::Unknown][a.1 as usize] }).filter(|iv| !iv.span.is_empty()).collect();
            let tiled = crate::sla::ledger::tile(period, &ivs);
            let excluded = span::merge(holes.iter().map(|&(s, l)| Span::new(s, s + l)).collect());
            let b = breakdown(period, &tiled, &excluded);
            prop_assert_eq!(b.maintenance_ms + b.up_ms + b.down_ms + b.unknown_ms, b.period_ms);
            let policy = [NoDataPolicy::Excluded, NoDataPolicy::Up, NoDataPolicy::Down][policy as usize];
            let v = verdict(&b, policy, pct("99.95"));
            prop_assert_eq!(v.counted_up_ms + v.counted_down_ms, v.eligible_ms);
            if let Some(a) = v.availability {
                // availability + downtime fraction == 1, exactly
                prop_assert_eq!(a.num() + v.counted_down_ms as u128, a.den());
                prop_assert_eq!(v.met, Some(Ratio::new(a.num(), a.den()) >= pct("99.95").percent_fraction()));
            }
        }
    }
}
