//! Checks on the `sla:` section that serde cannot make: cross-references,
//! orderings and ranges. Every problem is reported at once, each with the
//! path of the field, so a user fixes the file in one pass.

use std::collections::HashSet;
use std::fmt;

use super::config::{CreditTier, SlaConfig};
use super::exact::Decimal;

/// One problem in the `sla:` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// For example `sla.credits.tiers[1].to`.
    pub field: String,
    pub message: String,
}

/// All problems found; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SlaConfigError(pub Vec<Problem>);

impl fmt::Display for SlaConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", p.field, p.message)?;
        }
        Ok(())
    }
}

/// Longest recurring window: a week, so expanding windows stays bounded.
const MAX_RECURRING_MS: i64 = 7 * 24 * 3_600_000;
/// Decimals beyond this would show noise beyond the millisecond ledger.
const MAX_DECIMALS: u32 = 6;

impl SlaConfig {
    /// Validates once at load; the rest of the module then trusts the config.
    pub fn validate(&self) -> Result<(), SlaConfigError> {
        let mut p = Vec::new();
        let mut push = |field: String, message: String| p.push(Problem { field, message });
        let hundred = Decimal::integer(100);
        if self.decimals > MAX_DECIMALS {
            push("sla.decimals".into(), format!("at most {MAX_DECIMALS}"));
        }
        if self.max_gap.as_millis() <= 0 {
            push("sla.max_gap".into(), "must be positive".into());
        }
        let mut names = HashSet::new();
        for (i, s) in self.services.iter().enumerate() {
            let at = format!("sla.services[{i}]");
            if s.name.trim().is_empty() {
                push(format!("{at}.name"), "must not be empty".into());
            } else if !names.insert(s.name.as_str()) {
                push(
                    format!("{at}.name"),
                    format!("duplicate service {:?}", s.name),
                );
            }
            if s.up.trim().is_empty() {
                push(format!("{at}.up"), "must be a PromQL expression".into());
            } else if let Err(e) = crate::promql::parse_expr(&s.up) {
                push(format!("{at}.up"), format!("bad PromQL: {e}"));
            }
            if s.objective > hundred || s.objective == Decimal::integer(0) {
                push(
                    format!("{at}.objective"),
                    format!("{} is not a percentage in (0, 100]", s.objective),
                );
            }
        }
        for (i, t) in self.credits.tiers.iter().enumerate() {
            for msg in tier_problems(t, i.checked_sub(1).and_then(|j| self.credits.tiers.get(j))) {
                push(format!("sla.credits.tiers[{i}]"), msg);
            }
        }
        let lowest = self
            .credits
            .tiers
            .last()
            .filter(|t| t.from != Decimal::integer(0));
        if let Some(last) = lowest {
            let i = self.credits.tiers.len() - 1;
            push(
                format!("sla.credits.tiers[{i}].from"),
                format!(
                    "the lowest tier must start at 0, not {} (a worse month would earn no credit)",
                    last.from
                ),
            );
        }
        if self.credits.cap_percent > hundred {
            push("sla.credits.cap_percent".into(), "at most 100".into());
        }
        if self.credits.currency.trim().is_empty() {
            push("sla.credits.currency".into(), "must not be empty".into());
        }
        let known = |list: &[String], at: &str, push: &mut dyn FnMut(String, String)| {
            for name in list {
                if !names.contains(name.as_str()) {
                    push(
                        format!("{at}.services"),
                        format!("unknown service {name:?}"),
                    );
                }
            }
        };
        for (i, w) in self.maintenance.recurring.iter().enumerate() {
            let at = format!("sla.maintenance.recurring[{i}]");
            if w.weekdays.is_empty() {
                push(format!("{at}.weekdays"), "at least one weekday".into());
            }
            let ms = w.duration.as_millis();
            if ms <= 0 || ms > MAX_RECURRING_MS {
                push(
                    format!("{at}.duration"),
                    "must be positive and at most 7d".into(),
                );
            }
            known(&w.services, &at, &mut push);
        }
        for (i, w) in self.maintenance.one_off.iter().enumerate() {
            let at = format!("sla.maintenance.one_off[{i}]");
            if w.end <= w.start {
                push(format!("{at}.end"), "must be after start".into());
            }
            known(&w.services, &at, &mut push);
        }
        if p.is_empty() {
            Ok(())
        } else {
            Err(SlaConfigError(p))
        }
    }
}

/// A tier must be a non-empty range within [0, 100]; listed from the
/// highest availability down, it must end exactly where the previous one
/// starts (no overlap, no gap), and must not pay less than the previous one.
/// With the lowest tier starting at 0, a worse month never earns a smaller
/// credit.
fn tier_problems(t: &CreditTier, prev: Option<&CreditTier>) -> Vec<String> {
    let mut out = Vec::new();
    if t.from >= t.to {
        out.push(format!("from {} must be below to {}", t.from, t.to));
    }
    if t.to > Decimal::integer(100) {
        out.push(format!("to {} is above 100", t.to));
    }
    if t.credit > Decimal::integer(100) {
        out.push(format!("credit {} is above 100", t.credit));
    }
    if let Some(prev) = prev {
        if t.to > prev.from {
            out.push(format!(
                "overlaps or is out of order: to {} is above the previous tier's from {}",
                t.to, prev.from
            ));
        } else if t.to < prev.from {
            out.push(format!(
                "leaves a gap: to {} is below the previous tier's from {} (availability in between would earn no credit)",
                t.to, prev.from
            ));
        }
        if t.credit < prev.credit {
            out.push(format!(
                "credit {} is below the previous (higher) tier's {}",
                t.credit, prev.credit
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<SlaConfig, String> {
        yaml_serde::from_str::<SlaConfig>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_contract() {
        let c = parse("services:\n  - name: app\n    up: min(up{job=\"app\"})\n").unwrap();
        c.validate().unwrap();
        let s = &c.services[0];
        assert_eq!(s.objective, Decimal::parse("99.99").unwrap());
        assert_eq!(s.rto.as_millis(), 15 * 60_000);
        assert_eq!(s.mttr.as_millis(), 10 * 60_000);
        assert_eq!(c.credits.tiers.len(), 3);
        assert_eq!(c.maintenance.notice.as_millis(), 48 * 3_600_000);
        assert_eq!(c.time_zone.0, chrono_tz::UTC);
        assert_eq!(c.no_data, crate::sla::config::NoDataPolicy::Excluded);
    }

    #[test]
    fn full_config_parses() {
        let yaml = r#"
time_zone: Europe/Warsaw
no_data: down
services:
  - name: app
    up: (count(instance_health == 1) or vector(0)) >= 2
    objective: 99.9
    rto: 30m
credits:
  monthly_fee: "1500.00"
  currency: PLN
  cap_percent: 50
  tiers:
    - { from: 99.0, to: 99.9, credit: 10 }
    - { to: 99.0, credit: 30 }
maintenance:
  recurring:
    - { weekdays: [tue], start: "02:00", duration: 2h, services: [app] }
  one_off:
    - { start: "2026-10-10T01:00:00Z", end: "2026-10-10T03:00:00Z", announced_at: "2026-10-07T00:00:00Z", reason: kernel upgrade }
"#;
        let c = parse(yaml).unwrap();
        c.validate().unwrap();
        assert_eq!(c.time_zone.0, chrono_tz::Europe::Warsaw);
        assert_eq!(c.credits.monthly_fee.to_string(), "1500.00");
        assert_eq!(c.maintenance.one_off[0].reason, "kernel upgrade");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(parse("servics: []").is_err());
        assert!(
            parse("time_zone: Mars/Olympus")
                .unwrap_err()
                .contains("unknown time zone")
        );
        assert!(parse("no_data: maybe").is_err());
        assert!(parse("maintenance:\n  recurring:\n    - { weekdays: [funday], start: '02:00', duration: 1h }").is_err());
    }

    #[test]
    fn reports_every_problem() {
        let yaml = r#"
services:
  - { name: app, up: "up", objective: 101 }
  - { name: app, up: "" }
credits:
  tiers:
    - { from: 99.9, to: 99.99, credit: 25 }
    - { from: 99.0, to: 99.95, credit: 10 }
    - { from: 1, to: 98, credit: 50 }
maintenance:
  one_off:
    - { start: "2026-10-10T03:00:00Z", end: "2026-10-10T01:00:00Z", announced_at: "2026-10-01T00:00:00Z", services: [db] }
"#;
        let err = parse(yaml).unwrap().validate().unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "sla.services[0].objective",
                "sla.services[1].name",
                "sla.services[1].up",
                "sla.credits.tiers[1]",
                "sla.credits.tiers[1]",
                "sla.credits.tiers[2]",
                "sla.credits.tiers[2].from",
                "sla.maintenance.one_off[0].end",
                "sla.maintenance.one_off[0].services",
            ]
        );
        assert!(err.to_string().contains("overlaps"));
        assert!(err.to_string().contains("leaves a gap"));
    }
}
