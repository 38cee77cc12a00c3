//! The default [`AlertSink`]: one log line per alert handed to
//! notification, until a notification pipeline is plugged in with
//! `server::Options::alert_sink`. The line carries what a receiver would get
//! (labels, state, start and end), so the alert flow can be followed and
//! tested from the log alone.

use std::sync::Arc;

use super::query::{AlertSink, OutgoingAlert};
use crate::clock::Clock;

/// Logs each alert at info level as `alert notification`; the clock
/// tells a resolution from a firing alert.
pub struct LogSink(pub Arc<dyn Clock>);

impl AlertSink for LogSink {
    fn send(&self, alerts: Vec<OutgoingAlert>) {
        let now = self.0.now_ms();
        for a in alerts {
            tracing::info!(
                alertname = a.labels.get("alertname").unwrap_or(""),
                labels = %a.labels,
                state = state(&a, now),
                starts_at = a.starts_at,
                ends_at = a.ends_at,
                "alert notification"
            );
        }
    }
}

/// `resolved` when the alert ended by now (a resolution carries its end;
/// a firing alert an end in the future: how long it stays valid), as
/// Alertmanager decides it.
pub fn state(a: &OutgoingAlert, now_ms: i64) -> &'static str {
    if a.ends_at <= now_ms {
        "resolved"
    } else {
        "firing"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    #[test]
    fn resolved_when_ended() {
        let mut a = OutgoingAlert {
            labels: Labels::from_pairs([("alertname", "A")]),
            annotations: vec![],
            starts_at: 0,
            ends_at: 240_000,
            generator_url: String::new(),
        };
        assert_eq!(state(&a, 60_000), "firing");
        a.ends_at = 60_000;
        assert_eq!(state(&a, 60_000), "resolved");
    }
}
