//! Durations and byte sizes written the way Prometheus configs write them
//! (`15s`, `1h30m`, `10MB`), so an existing `prometheus.yml` reads unchanged.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A Prometheus duration (`[0-9]+(y|w|d|h|m|s|ms)` repeated, largest unit
/// first). The parsing is promql-parser's, the same grammar PromQL range
/// selectors use, so `5m` means the same in a config and in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration(pub Duration);

impl PromDuration {
    pub const fn from_secs(secs: u64) -> Self {
        PromDuration(Duration::from_secs(secs))
    }

    pub fn as_duration(self) -> Duration {
        self.0
    }

    pub fn as_millis(self) -> i64 {
        i64::try_from(self.0.as_millis()).unwrap_or(i64::MAX)
    }

    /// Parses the config form. Unlike query parameters, a config duration is
    /// never a bare float: Prometheus rejects `15` where it expects `15s`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.parse::<f64>().is_ok() && s != "0" {
            return Err(format!(
                "not a valid duration string: {s:?} (a unit is required, e.g. \"{s}s\")"
            ));
        }
        // Zero in any units (`0ms`, `0h0m`), which promql-parser refuses
        // and Prometheus's duration format takes.
        let zero = s.starts_with('0') && s.bytes().all(|b| b"0ywdhms".contains(&b));
        if zero {
            return Ok(PromDuration(Duration::ZERO));
        }
        promql_parser::util::parse_duration(s).map(PromDuration)
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&promql_parser::util::display_duration(&self.0))
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PromDuration::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A byte size as Prometheus's `body_size_limit` takes it: a number with an
/// optional unit B, KB, MB, GB, TB (powers of 1024, like Go's
/// `units.Base2Bytes`) or KiB, MiB, GiB, TiB. `0` means no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("not a valid byte size: {s:?}"))?;
        let mult: u64 = match unit {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            "TB" | "TiB" => 1 << 40,
            _ => {
                return Err(format!(
                    "not a valid byte size: {s:?} (unknown unit {unit:?})"
                ));
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("byte size too large: {s:?}"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_prometheus() {
        assert_eq!(
            PromDuration::parse("15s").unwrap().0,
            Duration::from_secs(15)
        );
        assert_eq!(
            PromDuration::parse("1h30m").unwrap().0,
            Duration::from_secs(5400)
        );
        assert_eq!(
            PromDuration::parse("250ms").unwrap().0,
            Duration::from_millis(250)
        );
        assert!(PromDuration::parse("15").is_err());
        assert!(PromDuration::parse("15x").is_err());
        assert_eq!(PromDuration::parse("1m").unwrap().to_string(), "1m");
        for zero in ["0", "0s", "0ms", "0h0m"] {
            assert_eq!(
                PromDuration::parse(zero).unwrap().0,
                Duration::ZERO,
                "{zero}"
            );
        }
        assert!(PromDuration::parse("ms").is_err());
    }

    #[test]
    fn byte_sizes_are_base_two() {
        assert_eq!(ByteSize::parse("10MB").unwrap().0, 10 << 20);
        assert_eq!(ByteSize::parse("1KiB").unwrap().0, 1024);
        assert_eq!(ByteSize::parse("512").unwrap().0, 512);
        assert!(ByteSize::parse("1XB").is_err());
        assert!(ByteSize::parse("MB").is_err());
    }
}
