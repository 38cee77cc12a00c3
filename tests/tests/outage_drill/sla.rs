//! `vigil sla report` after the drill: the report of the drill's month
//! (JSON for the numbers, the table for what a person reads), and the
//! credit the seeds' contract gives for a downtime (seed 000, "Pénalités
//! SLA": 99.95–99.99 % → 10 %, 99.90–99.95 % → 25 %, below 99.90 % → 50 %;
//! the objective 99.99 % met → nothing).

use serde_json::Value;
use vigil_tests::vigil::VigilProcess;

/// The contract's tiers as `(from %, to %, credit %, label)`, lower bound
/// inclusive, written out here independently of vigil's defaults.
const SEED_TIERS: [(f64, f64, &str, &str); 3] = [
    (99.95, 99.99, "10", "[99.95, 99.99)"),
    (99.90, 99.95, "25", "[99.90, 99.95)"),
    (0.0, 99.90, "50", "[0, 99.90)"),
];

/// `(credit percent, tier label)` for `down_ms` out of `eligible_ms`;
/// `None` when the objective is met (no credit).
pub fn seed_credit(down_ms: i64, eligible_ms: i64) -> Option<(&'static str, &'static str)> {
    let availability = 100.0 * (eligible_ms - down_ms) as f64 / eligible_ms as f64;
    SEED_TIERS
        .iter()
        .find(|(from, to, _, _)| availability >= *from && availability < *to)
        .map(|(_, _, credit, label)| (*credit, *label))
}

/// The month (`YYYY-MM`, UTC, the SLA's default zone) of a Unix time in ms,
/// by the civil-from-days algorithm (no date crate in this package).
pub fn month_of(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}")
}

/// `vigil sla report --month MONTH --format FORMAT`, which must succeed.
pub fn report(vigil: &VigilProcess, month: &str, format: &str) -> String {
    let out = vigil.command(&["sla", "report", "--month", month, "--format", format]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "vigil sla report --format {format}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The JSON report's entry for `service`.
pub fn service<'a>(report: &'a Value, service: &str) -> &'a Value {
    report["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == service)
        .unwrap_or_else(|| panic!("no service {service} in {report}"))
}

/// The minutes of the table's `downtime  N min counted` line of `service`.
pub fn table_downtime_minutes(table: &str, service: &str) -> f64 {
    let block = table
        .split(&format!("Service {service}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no Service {service} in:\n{table}"));
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix("downtime"))
        .and_then(|rest| rest.trim().split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no downtime line for {service} in:\n{block}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_and_tiers() {
        assert_eq!(super::month_of(0), "1970-01");
        // 2026-12-02T15:00:00Z, 2024-02-29T23:59:59Z
        assert_eq!(super::month_of(1_796_223_600_000), "2026-12");
        assert_eq!(super::month_of(1_709_251_199_000), "2024-02");
        let month = 31 * 86_400_000;
        assert_eq!(
            super::seed_credit(5 * 60_000, month),
            Some(("10", "[99.95, 99.99)"))
        );
        assert_eq!(
            super::seed_credit(30 * 60_000, month),
            Some(("25", "[99.90, 99.95)"))
        );
        assert_eq!(
            super::seed_credit(60_000, 120_000),
            Some(("50", "[0, 99.90)"))
        );
        assert_eq!(super::seed_credit(60_000, month), None);
    }
}
