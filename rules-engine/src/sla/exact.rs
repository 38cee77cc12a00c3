//! Exact numbers for the SLA verdict.
//!
//! An SLA verdict is a comparison against a threshold written in decimal
//! (`99.9`), and f64 cannot hold most such thresholds: 43.2 minutes down in a
//! 30-day month at 99.9 % is exactly the allowance, yet the f64 arithmetic
//! calls it a breach. So percentages and money are decimals (`units /
//! 10^scale`), time is integer milliseconds, and availability is a ratio of
//! two integers compared without rounding.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Deserializer};

/// Most decimal places a configured percentage or amount may have. Keeps
/// every product used in comparisons far below `u128::MAX`.
pub const MAX_SCALE: u32 = 9;

/// An exact non-negative decimal number, `units / 10^scale`.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    units: u128,
    scale: u32,
}

impl Decimal {
    pub const fn new(units: u128, scale: u32) -> Self {
        Decimal { units, scale }
    }

    pub const fn integer(units: u128) -> Self {
        Decimal { units, scale: 0 }
    }

    pub fn units(self) -> u128 {
        self.units
    }

    pub fn scale(self) -> u32 {
        self.scale
    }

    /// `10^scale`, the denominator of this decimal.
    pub fn denominator(self) -> u128 {
        10u128.pow(self.scale)
    }

    /// Parses `123`, `99.99`, `0.5`; no sign, no exponent.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits_ok = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !digits_ok(int)
            || !digits_ok(frac)
            || (t.contains('.') && frac.is_empty())
        {
            return Err(format!("not a non-negative decimal number: {s:?}"));
        }
        let scale = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        if scale > MAX_SCALE {
            return Err(format!("{s:?} has more than {MAX_SCALE} decimal places"));
        }
        // 15 integer digits (a quadrillion) keep fee × percent products
        // inside u128.
        if int.trim_start_matches('0').len() > 15 {
            return Err(format!(
                "{s:?} is too large (at most 15 digits before the point)"
            ));
        }
        let units: u128 = format!("{int}{frac}")
            .parse()
            .map_err(|_| format!("not a non-negative decimal number: {s:?}"))?;
        Ok(Decimal { units, scale })
    }

    /// The value as a ratio (used to compare with availability).
    pub fn ratio(self) -> Ratio {
        Ratio::new(self.units, self.denominator())
    }

    /// This decimal read as a percentage, as a fraction of one.
    pub fn percent_fraction(self) -> Ratio {
        Ratio::new(self.units, self.denominator() * 100)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Decimal {}
impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        self.ratio().cmp(&other.ratio())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let den = self.denominator();
        let int = self.units / den;
        if self.scale == 0 {
            return write!(f, "{int}");
        }
        let frac = self.units % den;
        write!(f, "{int}.{frac:0width$}", width = self.scale as usize)
    }
}

/// Accepts a YAML/JSON number or a string. A number arrives as f64; its
/// shortest round-trip text (`99.99`) is the decimal the user wrote.
impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Float(f64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Int(i) => i.to_string(),
            Raw::Float(x) if x.is_finite() && x >= 0.0 => format!("{x}"),
            Raw::Float(x) => {
                return Err(serde::de::Error::custom(format!(
                    "not a non-negative number: {x}"
                )));
            }
            Raw::Text(s) => s,
        };
        Decimal::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Serialized as its exact text (`"99.99"`), never as a float.
impl serde::Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A non-negative rational `num / den` (`den > 0`), compared exactly.
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    num: u128,
    den: u128,
}

impl Ratio {
    /// Panics only on a zero denominator, which every caller rules out first.
    pub fn new(num: u128, den: u128) -> Self {
        assert!(den > 0, "ratio with a zero denominator");
        Ratio { num, den }
    }

    pub fn num(self) -> u128 {
        self.num
    }

    pub fn den(self) -> u128 {
        self.den
    }

    /// `floor(self * 10^decimals)`, the value truncated to `decimals` places.
    /// Long division, so it never overflows whatever the operands.
    pub fn truncated(self, decimals: u32) -> (u128, u32) {
        let int = self.num / self.den;
        let mut rem = self.num % self.den;
        let mut scaled = int;
        for _ in 0..decimals {
            rem *= 10; // rem < den <= u128::MAX / 10 for every ratio built here
            scaled = scaled * 10 + rem / self.den;
            rem %= self.den;
        }
        (scaled, decimals)
    }

    /// The value as a percentage truncated (never rounded up) to `decimals`
    /// places: `99.98999` with 2 decimals is `99.98`.
    pub fn percent_truncated(self, decimals: u32) -> String {
        let (units, scale) = self.times_100().truncated(decimals);
        Decimal::new(units, scale).to_string()
    }

    fn times_100(self) -> Ratio {
        // Divide the denominator where possible so the numerator stays small.
        let g = gcd(self.den, 100);
        Ratio {
            num: self.num * (100 / g),
            den: self.den / g,
        }
    }

    /// For `/metrics` only: gauges are floats. Never used for a verdict.
    pub fn to_f64_lossy(self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Compares `a/b` with `c/d` by their continued fractions: no product is
/// formed, so there is no overflow for any operands.
fn cmp_fractions(mut a: u128, mut b: u128, mut c: u128, mut d: u128) -> Ordering {
    loop {
        let (q1, r1) = (a / b, a % b);
        let (q2, r2) = (c / d, c % d);
        let ord = match (q1.cmp(&q2), r1, r2) {
            (Ordering::Equal, 0, 0) => Ordering::Equal,
            (Ordering::Equal, 0, _) => Ordering::Less,
            (Ordering::Equal, _, 0) => Ordering::Greater,
            (Ordering::Equal, _, _) => {
                // r1/b vs r2/d orders like d/r2 vs b/r1 (both inverted
                // and swapped, so no reversal).
                (a, b, c, d) = (d, r2, b, r1);
                continue;
            }
            (o, _, _) => o,
        };
        return ord;
    }
}

impl PartialEq for Ratio {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ratio {}
impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ratio {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_fractions(self.num, self.den, other.num, other.den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints_decimals() {
        assert_eq!(Decimal::parse("99.99").unwrap().to_string(), "99.99");
        assert_eq!(Decimal::parse("50").unwrap().to_string(), "50");
        assert_eq!(Decimal::parse("0.05").unwrap().to_string(), "0.05");
        assert!(Decimal::parse("-1").is_err());
        assert!(Decimal::parse("1.").is_err());
        assert!(Decimal::parse("1e3").is_err());
        assert!(Decimal::parse("1.0000000001").is_err());
        assert!(Decimal::parse("1000000000000000").is_err());
        assert!(Decimal::parse("999999999999999.999999999").is_ok());
        assert_eq!(
            Decimal::parse("99.90").unwrap(),
            Decimal::parse("99.9").unwrap()
        );
    }

    #[test]
    fn deserializes_numbers_as_written() {
        let d: Decimal = serde_json::from_str("99.99").unwrap();
        assert_eq!((d.units(), d.scale()), (9999, 2));
        let d: Decimal = serde_json::from_str("\"99.999\"").unwrap();
        assert_eq!((d.units(), d.scale()), (99999, 3));
        let d: Decimal = serde_json::from_str("100").unwrap();
        assert_eq!((d.units(), d.scale()), (100, 0));
    }

    #[test]
    fn truncates_never_rounds_up() {
        assert_eq!(
            Ratio::new(99_989_999, 100_000_000).percent_truncated(2),
            "99.98"
        );
        assert_eq!(Ratio::new(2, 3).percent_truncated(3), "66.666");
        assert_eq!(Ratio::new(1, 1).percent_truncated(2), "100.00");
    }

    proptest! {
        #[test]
        fn comparison_matches_cross_multiplication(a in 0u64.., b in 1u64.., c in 0u64.., d in 1u64..) {
            let expected = (a as u128 * d as u128).cmp(&(c as u128 * b as u128));
            prop_assert_eq!(Ratio::new(a.into(), b.into()).cmp(&Ratio::new(c.into(), d.into())), expected);
        }

        #[test]
        fn truncation_never_exceeds_the_exact_value(num in 0u64..1_000_000_000_000, extra in 0u64..1_000_000, decimals in 0u32..8) {
            let r = Ratio::new(num.into(), u128::from(num) + u128::from(extra) + 1);
            let (units, scale) = r.truncated(decimals);
            let shown = Ratio::new(units, 10u128.pow(scale));
            prop_assert!(shown <= r);
            // and it is the largest such decimal: one more unit exceeds it.
            prop_assert!(Ratio::new(units + 1, 10u128.pow(scale)) > r);
        }
    }
}
