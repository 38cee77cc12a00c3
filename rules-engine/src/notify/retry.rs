//! Whether and when to try a failed notification again, as pure functions
//! of the outcome and the attempt number (Alertmanager `notify/util.go`
//! semantics): server errors (5xx), 429 and network failures are retried,
//! other 4xx are not (the request itself is wrong and will stay wrong).
//! A `Retry-After` from the receiver is honoured over our own backoff.

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use super::status::FailureReason;

/// What to do after one delivery attempt. Each non-delivery carries its
/// reason, a bounded metric label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Delivered,
    /// Try again, not before `not_before` (when the receiver said so).
    Retry {
        reason: FailureReason,
        not_before: Option<Duration>,
    },
    /// Give up: trying again cannot help.
    Fail {
        reason: FailureReason,
    },
}

impl Decision {
    pub fn retryable(&self) -> bool {
        matches!(self, Decision::Retry { .. })
    }
}

/// Decides from an HTTP status and the response's `Retry-After` header
/// (seconds or an HTTP date, read against `now`).
pub fn from_http_status(status: u16, retry_after: Option<&str>, now: DateTime<Utc>) -> Decision {
    match status {
        200..=299 => Decision::Delivered,
        429 => Decision::Retry {
            reason: FailureReason::RateLimited,
            not_before: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        500..=599 => Decision::Retry {
            reason: FailureReason::ServerError,
            not_before: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        400..=499 => Decision::Fail {
            reason: FailureReason::ClientError,
        },
        // 1xx/3xx as a final answer: the receiver misbehaves; it may be
        // mid-deployment, so try again.
        _ => Decision::Retry {
            reason: FailureReason::UnexpectedStatus,
            not_before: None,
        },
    }
}

/// A connection, TLS or timeout failure: the receiver may come back.
pub fn from_network_error() -> Decision {
    Decision::Retry {
        reason: FailureReason::NetworkError,
        not_before: None,
    }
}

/// `Retry-After: 120` or `Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`.
/// A date in the past means "now"; anything unreadable is ignored.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff policy: `initial`, doubled per attempt, capped at
/// `max`. Spreading (jitter) is an input too, so the result is reproducible:
/// `spread` in [0, 1) takes up to that share off the delay, which keeps
/// many notifications that failed together from retrying together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// Alertmanager's notifier starts near one second and caps at a
    /// minute; a notification is retried until its group's next flush.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt + 1` (attempt 0 is the first retry).
    pub fn delay(&self, attempt: u32, spread: f64) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        let base = self.initial.saturating_mul(factor).min(self.max);
        let spread = spread.clamp(0.0, 0.999);
        base.mul_f64(1.0 - spread)
    }

    /// The wait after a failure: our backoff, or longer if the receiver
    /// asked for longer.
    pub fn wait(&self, decision: &Decision, attempt: u32, spread: f64) -> Option<Duration> {
        match decision {
            Decision::Retry { not_before, .. } => {
                let own = self.delay(attempt, spread);
                Some(not_before.map_or(own, |nb| nb.max(own)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 21, 7, 0, 0).unwrap()
    }

    #[test]
    fn status_classes() {
        assert_eq!(from_http_status(204, None, now()), Decision::Delivered);
        assert!(from_http_status(500, None, now()).retryable());
        assert!(from_http_status(503, None, now()).retryable());
        assert!(from_http_status(429, None, now()).retryable());
        for s in [400, 401, 403, 404, 413] {
            assert_eq!(
                from_http_status(s, None, now()),
                Decision::Fail {
                    reason: FailureReason::ClientError
                }
            );
        }
        assert!(from_network_error().retryable());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT", now()),
            Some(Duration::from_secs(28 * 60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 06:00:00 GMT", now()),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff::default();
        let secs: Vec<u64> = (0..8).map(|a| b.delay(a, 0.0).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.delay(1000, 0.0), Duration::from_secs(60));
        assert_eq!(b.delay(2, 0.5), Duration::from_secs(2));
    }

    #[test]
    fn retry_after_wins_when_longer() {
        let b = Backoff::default();
        let d = from_http_status(429, Some("30"), now());
        assert_eq!(b.wait(&d, 0, 0.0), Some(Duration::from_secs(30)));
        let d = from_http_status(503, Some("0"), now());
        assert_eq!(b.wait(&d, 3, 0.0), Some(Duration::from_secs(8)));
        let fail = from_http_status(400, Some("30"), now());
        assert_eq!(b.wait(&fail, 0, 0.0), None);
    }
}
