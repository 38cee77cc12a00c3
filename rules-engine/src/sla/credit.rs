//! Service credits: which tier an availability falls in, the percent of the
//! fee it earns (capped), and the amount.
//!
//! Tiers are half-open with the lower bound inclusive: exactly 99.95 % is in
//! [99.95, 99.99) and earns 10 %, not 25 %. Amounts are truncated to the
//! cent (two decimals), like the availability: never shown larger.

use serde::Serialize;

use super::config::{CreditTier, CreditsConfig};
use super::exact::{Decimal, Ratio};

/// Decimal places of amounts.
const MINOR_UNITS: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credit {
    /// Index into the configured tiers, or None when no tier applies.
    pub tier: Option<usize>,
    /// `[99.95, 99.99)`, for people.
    pub tier_label: Option<String>,
    /// Percent of the fee after the cap.
    pub percent: Decimal,
    pub capped: bool,
    pub amount: Decimal,
    pub currency: String,
}

/// The tier `availability` (a fraction of one) falls in.
pub fn tier_for(availability: Ratio, tiers: &[CreditTier]) -> Option<usize> {
    tiers.iter().position(|t| {
        t.from.percent_fraction() <= availability && availability < t.to.percent_fraction()
    })
}

/// The credit for a period with `availability` (None: nothing to judge, so
/// no credit) on a monthly `fee`.
pub fn credit(availability: Option<Ratio>, cfg: &CreditsConfig, fee: Decimal) -> Credit {
    let tier = availability.and_then(|a| tier_for(a, &cfg.tiers));
    let raw = tier.map_or(Decimal::integer(0), |i| cfg.tiers[i].credit);
    let capped = raw > cfg.cap_percent;
    let percent = if capped { cfg.cap_percent } else { raw };
    Credit {
        tier,
        tier_label: tier.map(|i| format!("[{}, {})", cfg.tiers[i].from, cfg.tiers[i].to)),
        percent,
        capped,
        amount: amount(fee, percent),
        currency: cfg.currency.clone(),
    }
}

/// `fee × percent / 100`, truncated to the minor unit.
pub fn amount(fee: Decimal, percent: Decimal) -> Decimal {
    // fee.units × pct.units / (10^fs × 10^ps × 100) in units of 10^-2.
    let num = fee.units() * percent.units();
    let den = fee.denominator() * percent.denominator() * 100 / 10u128.pow(MINOR_UNITS);
    Decimal::new(num / den, MINOR_UNITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::config::default_tiers;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    fn cfg(cap: &str) -> CreditsConfig {
        CreditsConfig {
            tiers: default_tiers(),
            monthly_fee: d("1000"),
            currency: "EUR".into(),
            cap_percent: d(cap),
        }
    }

    fn at(pct: &str) -> Credit {
        credit(Some(d(pct).percent_fraction()), &cfg("100"), d("1234.56"))
    }

    #[test]
    fn tier_boundaries_are_lower_inclusive() {
        assert_eq!(at("100").tier, None);
        assert_eq!(at("99.99").tier, None);
        assert_eq!(at("99.989999").tier, Some(0));
        assert_eq!(at("99.95").tier, Some(0));
        assert_eq!(at("99.949999").tier, Some(1));
        assert_eq!(at("99.90").tier, Some(1));
        assert_eq!(at("99.899").tier, Some(2));
        assert_eq!(at("0").tier, Some(2));
        assert_eq!(at("99.95").tier_label.as_deref(), Some("[99.95, 99.99)"));
    }

    #[test]
    fn amounts_are_exact_and_truncated() {
        assert_eq!(at("99.96").amount.to_string(), "123.45"); // 123.456
        assert_eq!(at("99.92").amount.to_string(), "308.64");
        assert_eq!(at("50").amount.to_string(), "617.28");
        assert_eq!(at("100").amount.to_string(), "0.00");
        let capped = credit(Some(d("10").percent_fraction()), &cfg("30"), d("1000"));
        assert!(capped.capped);
        assert_eq!(
            (capped.percent, capped.amount.to_string()),
            (d("30"), "300.00".to_string())
        );
        assert_eq!(credit(None, &cfg("100"), d("1000")).amount, d("0"));
    }

    /// Any tiers that pass validation: contiguous from the top bound down to
    /// 0, credits rising as availability falls.
    fn valid_tiers() -> impl Strategy<Value = Vec<CreditTier>> {
        proptest::collection::btree_set(1u128..=10_000, 1..6)
            .prop_flat_map(|bounds| {
                let n = bounds.len();
                (Just(bounds), proptest::collection::vec(0u128..=20, n))
            })
            .prop_map(|(bounds, steps)| {
                let b: Vec<u128> = bounds.into_iter().rev().chain([0]).collect();
                let mut credit = 0;
                b.windows(2)
                    .zip(steps)
                    .map(|(w, step)| {
                        credit = (credit + step).min(100);
                        CreditTier {
                            from: Decimal::new(w[1], 2),
                            to: Decimal::new(w[0], 2),
                            credit: Decimal::integer(credit),
                        }
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn any_valid_tiers_are_monotonic(tiers in valid_tiers(), a in 0u64..=10_000, b in 0u64..=10_000) {
            let c = CreditsConfig { tiers, monthly_fee: d("100"), currency: "EUR".into(), cap_percent: d("100") };
            let mut cfg: crate::sla::config::SlaConfig = yaml_serde::from_str("{}").unwrap();
            cfg.credits = c.clone();
            prop_assert!(cfg.validate().is_ok());
            let (lo, hi) = (a.min(b), a.max(b));
            let pct = |x: u64| credit(Some(Ratio::new(x.into(), 10_000)), &c, d("100")).percent;
            prop_assert!(pct(lo) >= pct(hi));
        }

        #[test]
        fn credit_is_monotonic_in_availability(a in 0u64..=1_000_000, b in 0u64..=1_000_000) {
            let (lo, hi) = (a.min(b), a.max(b));
            let c = cfg("100");
            let pct = |x: u64| credit(Some(Ratio::new(x.into(), 1_000_000)), &c, d("100")).percent;
            prop_assert!(pct(lo) >= pct(hi));
        }
    }
}
