//! The health answer of an app instance, parsed: pure, bounded, never
//! panicking on any input (property-tested below).
//!
//! The format is the one the monitored systems document (seeds/001,
//! "Health Check - /health"):
//!
//! ```json
//! {"status": "healthy", "instance": "api-1", "timestamp": "...",
//!  "checks": {"database": {"status": "ok", "latency": 15}, ...},
//!  "uptime": 3600, "version": "1.0.0"}
//! ```
//!
//! `status` is `healthy`, `degraded` or `unhealthy`; a check's `status` is
//! `ok`, `degraded` or `failed`, and its `latency` is in milliseconds. A
//! plain-text body that is just one of the three status words (`healthy`,
//! as many load-balancer checks answer) is accepted too. Anything else —
//! HTML, other JSON, invalid UTF-8, a truncated body — is an error: the
//! exporter cannot tell how the instance is, so it is reported down.

use serde_json::Value;

/// Bounds on what one answer may put into the exposition: a misbehaving app
/// must not blow up the exporter's cardinality.
pub const MAX_CHECKS: usize = 64;
pub const MAX_NAME_LEN: usize = 128;

/// The instance's overall state, with the value of `instance_health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Health {
    /// 1 healthy, 0.5 degraded, 0 unhealthy, as the documents define
    /// `instance_health`.
    pub fn value(self) -> f64 {
        match self {
            Health::Healthy => 1.0,
            Health::Degraded => 0.5,
            Health::Unhealthy => 0.0,
        }
    }

    fn from_word(word: &str) -> Option<Health> {
        match word.trim().to_ascii_lowercase().as_str() {
            "healthy" => Some(Health::Healthy),
            "degraded" => Some(Health::Degraded),
            "unhealthy" => Some(Health::Unhealthy),
            _ => None,
        }
    }
}

/// One entry of `checks`.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    /// 1 `ok`, 0.5 `degraded`, 0 anything else (`failed`).
    pub status: f64,
    /// Seconds, from the JSON's milliseconds.
    pub latency_seconds: Option<f64>,
}

/// A parsed health answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    pub health: Health,
    pub checks: Vec<Check>,
    pub uptime_seconds: Option<f64>,
    pub version: Option<String>,
}

/// Why a health answer could not be understood. The text is safe to log:
/// it never quotes the body beyond a short, sanitised excerpt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a `/health` answer with HTTP status `code`. Error statuses are
/// fine when the body says how the instance is (503 with `"unhealthy"`); a
/// non-2xx answer without such a body is an error.
pub fn parse_health(code: u16, body: &[u8]) -> Result<HealthReport, ParseError> {
    let ok_status = (200..300).contains(&code);
    let text = std::str::from_utf8(body)
        .map_err(|e| ParseError(format!("HTTP {code}: body is not UTF-8 ({e})")))?;
    let trimmed = text.trim();
    if let Some(health) = Health::from_word(trimmed) {
        return Ok(HealthReport {
            health,
            checks: Vec::new(),
            uptime_seconds: None,
            version: None,
        });
    }
    let value: Value = match serde_json::from_str(trimmed) {
        Ok(v) => v,
        Err(e) if ok_status => {
            return Err(ParseError(format!(
                "HTTP {code}: body is not health JSON ({e}); starts with {}",
                excerpt(trimmed)
            )));
        }
        Err(_) => return Err(ParseError(format!("HTTP {code}: {}", excerpt(trimmed)))),
    };
    let obj = value
        .as_object()
        .ok_or_else(|| ParseError(format!("HTTP {code}: health JSON is not an object")))?;
    let health = obj
        .get("status")
        .and_then(Value::as_str)
        .and_then(Health::from_word)
        .ok_or_else(|| {
            ParseError(format!(
                "HTTP {code}: health JSON has no `status` of healthy, degraded or unhealthy"
            ))
        })?;
    Ok(HealthReport {
        health,
        checks: obj.get("checks").map(parse_checks).unwrap_or_default(),
        uptime_seconds: obj
            .get("uptime")
            .and_then(Value::as_f64)
            .filter(|u| u.is_finite() && *u >= 0.0),
        version: obj
            .get("version")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && v.len() <= MAX_NAME_LEN)
            .map(str::to_string),
    })
}

fn parse_checks(checks: &Value) -> Vec<Check> {
    let Some(map) = checks.as_object() else {
        return Vec::new();
    };
    let mut checks = map
        .iter()
        .filter(|(name, _)| !name.is_empty() && name.len() <= MAX_NAME_LEN)
        .filter_map(|(name, check)| {
            let check = check.as_object()?;
            let status = match check
                .get("status")
                .and_then(Value::as_str)?
                .to_ascii_lowercase()
                .as_str()
            {
                "ok" | "healthy" | "pass" | "up" => 1.0,
                "degraded" | "warn" => 0.5,
                _ => 0.0,
            };
            let latency_seconds = check
                .get("latency")
                .and_then(Value::as_f64)
                .filter(|l| l.is_finite() && *l >= 0.0)
                .map(|ms| ms / 1000.0);
            Some(Check {
                name: name.clone(),
                status,
                latency_seconds,
            })
        })
        .collect::<Vec<_>>();
    // Name order, whatever order the JSON had: the same series in the same
    // order on every scrape.
    checks.sort_by(|a, b| a.name.cmp(&b.name));
    checks.truncate(MAX_CHECKS);
    checks
}

/// Whether a `/ready` or `/live` answer says yes: a 2xx status, unless its
/// JSON says `"ready": false` or `"alive": false`.
pub fn parse_probe(code: u16, body: &[u8]) -> bool {
    if !(200..300).contains(&code) {
        return false;
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return true;
    };
    !["ready", "alive", "live"]
        .iter()
        .any(|k| obj.get(*k) == Some(&Value::Bool(false)))
}

/// At most 40 characters of a body, control characters replaced, for a log
/// line that says what came back instead of health JSON.
fn excerpt(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(40)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    format!("{out:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SEED_BODY: &str = r#"{"status":"degraded","instance":"api-1","timestamp":"2025-11-15T14:30:00Z",
      "checks":{"database":{"status":"ok","latency":15},"redis":{"status":"degraded","latency":75},
      "memory":{"status":"ok","details":{"heapUsedMB":450}},"cpu":{"status":"failed"}},
      "uptime":3600,"version":"1.0.0"}"#;

    #[test]
    fn parses_the_documented_body() {
        let r = parse_health(200, SEED_BODY.as_bytes()).unwrap();
        assert_eq!(r.health, Health::Degraded);
        assert_eq!(r.uptime_seconds, Some(3600.0));
        assert_eq!(r.version.as_deref(), Some("1.0.0"));
        let db = r.checks.iter().find(|c| c.name == "database").unwrap();
        assert_eq!((db.status, db.latency_seconds), (1.0, Some(0.015)));
        let redis = r.checks.iter().find(|c| c.name == "redis").unwrap();
        assert_eq!(redis.status, 0.5);
        let cpu = r.checks.iter().find(|c| c.name == "cpu").unwrap();
        assert_eq!((cpu.status, cpu.latency_seconds), (0.0, None));
    }

    #[test]
    fn plain_healthy_counts_as_healthy() {
        let r = parse_health(200, b"healthy\n").unwrap();
        assert_eq!(r.health, Health::Healthy);
        assert_eq!(Health::Healthy.value(), 1.0);
    }

    #[test]
    fn unhealthy_503_with_json_is_understood() {
        let r = parse_health(503, br#"{"status":"unhealthy"}"#).unwrap();
        assert_eq!(r.health.value(), 0.0);
    }

    #[test]
    fn bad_bodies_are_errors() {
        for (code, body) in [
            (200, &b"<html><body>It works</body></html>"[..]),
            (200, &b"{\"status\":\"healthy\""[..]),
            (200, &b"{\"status\":\"fine\"}"[..]),
            (200, &b"[1,2]"[..]),
            (200, &b"\xff\xfe healthy"[..]),
            (200, &b""[..]),
            (503, &b"down\n"[..]),
            (502, &b"<html>Bad gateway</html>"[..]),
        ] {
            let err = parse_health(code, body).unwrap_err();
            assert!(err.0.starts_with(&format!("HTTP {code}")), "{err}");
        }
    }

    #[test]
    fn excerpts_are_short_and_clean() {
        let body = format!("<html>\n{}", "x".repeat(500));
        let err = parse_health(200, body.as_bytes()).unwrap_err();
        assert!(err.0.len() < 200 && !err.0.contains('\n'), "{err}");
    }

    #[test]
    fn probes() {
        assert!(parse_probe(200, br#"{"ready":true,"reasons":[]}"#));
        assert!(!parse_probe(200, br#"{"ready":false}"#));
        assert!(!parse_probe(200, br#"{"alive":false}"#));
        assert!(parse_probe(204, b""));
        assert!(parse_probe(200, b"OK"));
        assert!(!parse_probe(503, br#"{"ready":true}"#));
    }

    #[test]
    fn checks_are_bounded() {
        let checks: Vec<String> = (0..200)
            .map(|i| format!("\"c{i}\":{{\"status\":\"ok\"}}"))
            .collect();
        let body = format!(
            "{{\"status\":\"healthy\",\"checks\":{{{}}}}}",
            checks.join(",")
        );
        assert_eq!(
            parse_health(200, body.as_bytes()).unwrap().checks.len(),
            MAX_CHECKS
        );
    }

    fn health_json() -> impl Strategy<Value = (Health, String)> {
        (
            prop_oneof![
                Just(Health::Healthy),
                Just(Health::Degraded),
                Just(Health::Unhealthy)
            ],
            proptest::collection::btree_map(
                "[a-z]{1,8}",
                ("(ok|degraded|failed)", 0u32..10_000),
                0..6,
            ),
            proptest::option::of(0u64..10_000_000),
        )
            .prop_map(|(h, checks, uptime)| {
                let word = match h {
                    Health::Healthy => "healthy",
                    Health::Degraded => "degraded",
                    Health::Unhealthy => "unhealthy",
                };
                let checks: serde_json::Map<String, Value> = checks
                    .into_iter()
                    .map(|(k, (s, l))| (k, serde_json::json!({"status": s, "latency": l})))
                    .collect();
                let mut v = serde_json::json!({"status": word, "checks": checks, "version": "2.1"});
                if let Some(u) = uptime {
                    v["uptime"] = u.into();
                }
                (h, v.to_string())
            })
    }

    proptest! {
        #[test]
        fn never_panics_on_bytes(code in 100u16..600, body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_health(code, &body);
            let _ = parse_probe(code, &body);
        }

        #[test]
        fn never_panics_on_text(code in 100u16..600, body in ".{0,300}") {
            let _ = parse_health(code, body.as_bytes());
        }

        #[test]
        fn generated_bodies_round_trip((health, body) in health_json()) {
            let r = parse_health(200, body.as_bytes()).unwrap();
            prop_assert_eq!(r.health, health);
            prop_assert_eq!(r.version.as_deref(), Some("2.1"));
        }

        #[test]
        fn truncated_bodies_are_errors((_h, body) in health_json(), cut in 1usize..1000) {
            let cut = cut % body.len();
            prop_assume!(cut > 0);
            let r = parse_health(200, &body.as_bytes()[..cut]);
            prop_assert!(r.is_err(), "accepted a truncated body: {:?}", &body[..cut]);
        }
    }
}
