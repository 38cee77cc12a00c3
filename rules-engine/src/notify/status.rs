//! The fixed words the pipeline stores, shows and counts, as types: what a
//! history row is about and says, how a delivery attempt ended, where an
//! outbox row stands. Each is written and read as exactly the word it
//! always was (`as_str`, `FromStr`, `Display`, serde), so databases, API
//! answers and metric labels are unchanged; a word compares equal to its
//! string, so a test may say `row.status == "delivered"`.

use std::fmt;
use std::str::FromStr;

/// A stored word that none of the type's variants spells.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {word:?}")]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
}

/// An enum of fixed words with its conversions.
macro_rules! words {
    (
        $(#[$doc:meta])*
        $name:ident ($what:literal) {
            $($(#[$vdoc:meta])* $variant:ident => $word:literal,)+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant,)+];

            pub fn as_str(&self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;

            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(UnknownWord {
                        what: $what,
                        word: s.to_string(),
                    }),
                }
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

words! {
    /// What a history row is about.
    HistoryKind("history kind") {
        /// An alert changed state (its status: firing or resolved).
        Alert => "alert",
        /// A notification took a step (its status: queued, retry, ...).
        Notification => "notification",
    }
}

words! {
    /// A history row's status: an alert's new state, or a notification's
    /// step.
    HistoryStatus("history status") {
        Firing => "firing",
        Resolved => "resolved",
        /// Written to the outbox, to be sent.
        Queued => "queued",
        /// An attempt failed; tried again later.
        Retry => "retry",
        Delivered => "delivered",
        /// Given up (a permanent error, or still failing too long).
        Failed => "failed",
        /// Replaced by a newer notification of its group before it went.
        Superseded => "superseded",
    }
}

words! {
    /// How one delivery attempt ended (the metric's `outcome`).
    DeliveryOutcome("delivery outcome") {
        Delivered => "delivered",
        Retry => "retry",
        Failed => "failed",
    }
}

words! {
    /// Where an outbox row stands.
    OutboxState("outbox status") {
        /// Waiting for its (next) attempt, or being sent.
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
        Superseded => "superseded",
    }
}

words! {
    /// Why a delivery attempt did not deliver (the delivery metric's
    /// `reason`, and the first word of a failed or retried row's stored
    /// error). An integration decides it from the receiver's answer; the
    /// sender adds the last two.
    FailureReason("failure reason") {
        /// 429, or a receiver's own "slow down" answer.
        RateLimited => "rate_limited",
        /// 5xx, or a receiver's own "try again" answer.
        ServerError => "server_error",
        /// Another 4xx: the request is wrong and will stay wrong.
        ClientError => "client_error",
        /// A final 1xx/3xx, or a code the receiver does not document.
        UnexpectedStatus => "unexpected_status",
        /// Connection, TLS or timeout failure.
        NetworkError => "network_error",
        /// A code the receiver documents as worth retrying.
        RetryableStatus => "retryable_status",
        /// The stored payload cannot be sent by this build.
        BadPayload => "bad_payload",
        /// The email could not be composed.
        InvalidMessage => "invalid_message",
        /// The SMTP server could not be reached or refused for now.
        SmtpUnavailable => "smtp_unavailable",
        /// The SMTP server refused the message.
        SmtpRejected => "smtp_rejected",
        /// The receiver answered with a refusal of its own.
        Rejected => "rejected",
        /// The receiver's answer could not be read.
        BadAnswer => "bad_answer",
        /// The receiver's access token ran out; fetched again next time.
        TokenExpired => "token_expired",
        /// No access token for the configured credentials (WeChat).
        InvalidCredentials => "invalid_credentials",
        /// The issue has no transition of the configured name (Jira).
        NoTransition => "no_transition",
        /// Still failing after `give_up_after` (the sender's).
        GaveUp => "gave_up",
        /// The row's integration left the configuration (the sender's).
        IntegrationRemoved => "integration_removed",
    }
}

impl From<DeliveryOutcome> for HistoryStatus {
    fn from(o: DeliveryOutcome) -> HistoryStatus {
        match o {
            DeliveryOutcome::Delivered => HistoryStatus::Delivered,
            DeliveryOutcome::Retry => HistoryStatus::Retry,
            DeliveryOutcome::Failed => HistoryStatus::Failed,
        }
    }
}

words! {
    /// Why a muting stage stopped a group's flush (the flush metric's
    /// `result`).
    MuteReason("mute reason") {
        /// Every alert is inhibited by a firing source.
        AllInhibited => "all_inhibited",
        /// Outside all of the route's `active_time_intervals`.
        OutsideActiveTime => "outside_active_time",
        /// Inside one of the route's `mute_time_intervals`.
        MuteTime => "mute_time",
        /// Every alert is silenced.
        AllSilenced => "all_silenced",
    }
}

words! {
    /// Why dedup sends to an integration or not (the flush metric's
    /// `result` when nothing is sent; a queued notification's history
    /// detail when something is).
    DedupReason("dedup reason") {
        FirstNotification => "first_notification",
        NewFiring => "new_firing",
        AllResolved => "all_resolved",
        NewlyResolved => "newly_resolved",
        RepeatInterval => "repeat_interval",
        Unchanged => "unchanged",
        /// Fired and resolved between flushes: never told, nothing to say.
        ResolvedBeforeNotified => "resolved_before_notified",
        AlreadyResolved => "already_resolved",
    }
}

/// What one integration's part of a group flush came to (the metric
/// `vigil_notify_flush_decisions_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlushResult {
    Muted(MuteReason),
    /// Dedup found nothing to tell.
    Skipped(DedupReason),
    /// A notification was written to the outbox.
    Queued,
    /// Only the log changed (nothing left to send).
    LoggedOnly,
    /// The template failed; recorded as a failed notification.
    TemplateError,
}

impl FlushResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            FlushResult::Muted(r) => r.as_str(),
            FlushResult::Skipped(r) => r.as_str(),
            FlushResult::Queued => "queued",
            FlushResult::LoggedOnly => "logged_only",
            FlushResult::TemplateError => "template_error",
        }
    }
}

impl fmt::Display for FlushResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row's state as its history tells it: a pending row was queued.
impl From<OutboxState> for HistoryStatus {
    fn from(s: OutboxState) -> HistoryStatus {
        match s {
            OutboxState::Pending => HistoryStatus::Queued,
            OutboxState::Delivered => HistoryStatus::Delivered,
            OutboxState::Failed => HistoryStatus::Failed,
            OutboxState::Superseded => HistoryStatus::Superseded,
        }
    }
}

impl From<super::alert::Status> for HistoryStatus {
    fn from(s: super::alert::Status) -> HistoryStatus {
        match s {
            super::alert::Status::Firing => HistoryStatus::Firing,
            super::alert::Status::Resolved => HistoryStatus::Resolved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word reads back as itself, and a stranger is an error that
    /// names it.
    #[test]
    fn words_round_trip() {
        fn check<T: FromStr<Err = UnknownWord> + fmt::Display + PartialEq + fmt::Debug>(
            all: &[T],
            as_str: fn(&T) -> &'static str,
        ) {
            for w in all {
                assert_eq!(as_str(w).parse::<T>().unwrap(), *w);
                assert_eq!(w.to_string(), as_str(w));
            }
            let e = "nonsense".parse::<T>().unwrap_err();
            assert_eq!(e.word, "nonsense");
        }
        check(HistoryKind::ALL, HistoryKind::as_str);
        check(HistoryStatus::ALL, HistoryStatus::as_str);
        check(DeliveryOutcome::ALL, DeliveryOutcome::as_str);
        check(OutboxState::ALL, OutboxState::as_str);
        check(MuteReason::ALL, MuteReason::as_str);
        check(DedupReason::ALL, DedupReason::as_str);
        check(FailureReason::ALL, FailureReason::as_str);
    }

    #[test]
    fn serialized_and_compared_as_the_word() {
        assert_eq!(
            serde_json::to_string(&HistoryStatus::Superseded).unwrap(),
            "\"superseded\""
        );
        assert!(OutboxState::Pending == "pending");
        assert_eq!(
            FlushResult::Skipped(DedupReason::Unchanged).to_string(),
            "unchanged"
        );
        assert_eq!(
            "sent".parse::<DeliveryOutcome>().unwrap_err().to_string(),
            "unknown delivery outcome \"sent\""
        );
        assert_eq!(
            HistoryStatus::from(DeliveryOutcome::Retry),
            HistoryStatus::Retry
        );
    }
}
