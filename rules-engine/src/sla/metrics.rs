//! The SLA's `/metrics` figures, declared in one place: month to date, per
//! service (a bounded label: the configured services only).
//!
//! - `vigil_sla_availability_ratio{service}`: NaN while there is no data.
//! - `vigil_sla_error_budget_remaining_ratio{service}`: 1 unspent, 0 spent,
//!   negative overspent.
//! - `vigil_sla_downtime_seconds_total{service}`: counted downtime this
//!   month; it resets when the month does, which `rate()` and `increase()`
//!   treat as a counter reset.
//!
//! The evaluation task sets them; the registry reads them when `/metrics`
//! is scraped ([`Collector`]), so nothing global is involved.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use parking_lot::RwLock;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::report::Gauges;

/// The latest gauges of each service; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct SlaGauges(Arc<RwLock<BTreeMap<String, Gauges>>>);

type Labels = Vec<(String, String)>;

impl SlaGauges {
    pub fn set(&self, service: &str, g: Gauges) {
        self.0.write().insert(service.to_string(), g);
    }

    pub fn get(&self, service: &str) -> Option<Gauges> {
        self.0.read().get(service).copied()
    }

    /// Keeps only `services` (after a reload removed some).
    pub fn retain(&self, services: &[&str]) {
        self.0.write().retain(|k, _| services.contains(&k.as_str()));
    }
}

impl Collector for SlaGauges {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let all = self.0.read().clone();
        let label = |s: &str| vec![("service".to_string(), s.to_string())];
        type Pick = fn(&Gauges) -> f64;
        let gauges: [(&str, &str, Pick); 2] = [
            (
                "vigil_sla_availability_ratio",
                "Availability of the SLA service this calendar month so far (NaN without data)",
                |g| g.availability_ratio,
            ),
            (
                "vigil_sla_error_budget_remaining_ratio",
                "Share of this month's allowed downtime (so far) not yet spent; negative when overspent",
                |g| g.error_budget_remaining_ratio,
            ),
        ];
        for (name, help, pick) in gauges {
            let fam = Family::<Labels, Gauge<f64, AtomicU64>>::default();
            for (s, g) in &all {
                fam.get_or_create(&label(s)).set(pick(g));
            }
            let m = enc.encode_descriptor(name, help, None, fam.metric_type())?;
            fam.encode(m)?;
        }
        let fam = Family::<Labels, Counter<f64, AtomicU64>>::default();
        for (s, g) in &all {
            fam.get_or_create(&label(s)).inc_by(g.downtime_seconds);
        }
        // The encoder adds `_total` to counters.
        let m = enc.encode_descriptor(
            "vigil_sla_downtime_seconds",
            "Downtime counted against the SLA this calendar month (resets with the month)",
            None,
            fam.metric_type(),
        )?;
        fam.encode(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_encode_per_service() {
        let g = SlaGauges::default();
        g.set(
            "app",
            Gauges {
                availability_ratio: 0.9999,
                error_budget_remaining_ratio: 0.5,
                downtime_seconds: 60.0,
            },
        );
        g.set(
            "db",
            Gauges {
                availability_ratio: f64::NAN,
                error_budget_remaining_ratio: 1.0,
                downtime_seconds: 0.0,
            },
        );
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register_collector(Box::new(g.clone()));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &reg).unwrap();
        for want in [
            "vigil_sla_availability_ratio{service=\"app\"} 0.9999",
            "vigil_sla_availability_ratio{service=\"db\"} NaN",
            "vigil_sla_error_budget_remaining_ratio{service=\"app\"} 0.5",
            "vigil_sla_downtime_seconds_total{service=\"app\"} 60.0",
            "# TYPE vigil_sla_downtime_seconds counter",
        ] {
            assert!(out.contains(want), "{want} missing in:\n{out}");
        }
        g.retain(&["db"]);
        assert!(g.get("app").is_none() && g.get("db").is_some());
    }
}
