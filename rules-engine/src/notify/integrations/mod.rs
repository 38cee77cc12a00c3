//! Every receiver integration, one module each, all with the same small
//! interface:
//!
//! - [`Build`]: the `*_configs` entry's serde type (unknown keys rejected,
//!   Alertmanager's defaults; [`common::Entry`] for its `send_resolved` and
//!   `http_config`, by one `http_entries!` line, and [`common::Check`] for
//!   the checks Alertmanager makes while reading it) and `build`, run once
//!   per configuration load (global defaults applied, secrets read from
//!   their files, HTTP client made);
//! - [`Integrate::render`]: a group's notification rendered from the
//!   templates into a payload, stored in the outbox; it holds no secret;
//! - [`Integrate::deliver`]: the payload delivered. Integrations that speak
//!   HTTP implement [`HttpIntegration`] instead (`requests` from a payload,
//!   `classify` the answer) and share one sender.
//!
//! The pipeline (`integration.rs`, `stages.rs`, `dispatch.rs`) sees only
//! these traits. Adding a receiver kind is one new file here and one line
//! in [`registry!`]'s list below (plus `pub mod`): the line declares the
//! `<kind>_configs` key of `Receiver` and builds its entries.
//!
//! Alertmanager 0.25's kinds are compared with Debian's Alertmanager
//! request for request (`tests/notify_receivers_alertmanager.rs`); the
//! later ones (Teams, Mattermost, Rocket.Chat, Jira, incident.io) against
//! their documented shapes (`tests/notify_receivers_newer.rs`).

/// [`Entry`] for entries with `send_resolved` and their own `http_config`
/// (every kind but email): each kind's file names its config type once.
macro_rules! http_entries {
    ($($config:ty),* $(,)?) => {
        $(
            impl $crate::notify::integrations::common::Entry for $config {
                fn send_resolved(&self) -> bool {
                    self.send_resolved
                }
                fn http_config(&self) -> Option<&$crate::notify::route::receivers::HttpConfig> {
                    self.http_config.as_ref()
                }
            }
        )*
    };
}

pub mod aws;
pub mod common;
pub mod discord;
pub mod email;
pub mod error;
pub mod incidentio;
pub mod jira;
pub mod json_post;
pub mod mattermost;
pub mod msteams;
pub mod msteamsv2;
pub mod opsgenie;
pub mod pagerduty;
pub mod pushover;
pub mod rocketchat;
pub mod slack;
pub mod sns;
pub mod telegram;
pub mod victorops;
pub mod webex;
pub mod webhook;
pub mod wechat;

use std::cell::RefCell;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::data::Data;
use super::http::{Answer, HttpClient, HttpRequest};
use super::integration::{Delivery, Notice};
use super::retry::{Decision, FailureReason};
use super::template::{TemplateError, Templates};
use crate::notify::errors::BuildError;
use crate::notify::route::config::GlobalConfig;
use crate::notify::route::receivers::HttpConfig;
use common::{Check, Entry};
pub use error::IntegrationError;

/// Building an integration from its configuration entry.
pub trait Build: Integrate + Sized + 'static {
    /// The `<kind>_configs` entry as written.
    type Config: DeserializeOwned + Clone + std::fmt::Debug + Entry + Check;
    /// The kind's name: `<kind>_configs` in the file, `<receiver>/<kind>/<i>`
    /// in keys, the `integration` label of metrics.
    const KIND: &'static str;
    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError>;
    /// What the entry lacks once the `global:` defaults are applied
    /// (Alertmanager checks this when loading the file); `None` when
    /// nothing.
    fn global_problem(_c: &Self::Config, _g: &GlobalConfig) -> Option<String> {
        None
    }
}

/// What building sees besides the entry.
pub struct BuildContext<'a> {
    pub global: &'a GlobalConfig,
    /// Anchors relative `*_file` paths (the config file's directory).
    pub base_dir: &'a Path,
}

/// One built integration, as the pipeline uses it.
pub trait Integrate: Send + Sync {
    /// The payload to store for a notification.
    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError>;
    /// Delivers a stored payload; the detail holds no secret.
    fn deliver<'a>(&'a self, payload: &'a Value, now: DateTime<Utc>) -> BoxFuture<'a, Delivery>;
}

/// An integration that speaks HTTP: the requests one payload makes (in
/// order; the first that fails stops the rest) and how an answer counts.
pub trait HttpIntegration: Send + Sync {
    fn client(&self) -> &HttpClient;
    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError>;
    /// The requests, secrets included; an error is a payload this build
    /// cannot send (not retried).
    fn requests(&self, payload: &Value, now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String>;
    /// Alertmanager's `Retrier`: 2xx delivered, 5xx retried, 429 retried
    /// (after `Retry-After` when given), other codes failed.
    fn classify(&self, answer: &Answer, now: DateTime<Utc>) -> Decision {
        common::classify(answer, &[], now)
    }
}

impl<T: HttpIntegration> Integrate for T {
    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        HttpIntegration::render(self, cx)
    }

    fn deliver<'a>(&'a self, payload: &'a Value, now: DateTime<Utc>) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            let reqs = match self.requests(payload, now) {
                Ok(r) => r,
                Err(e) => return Delivery::fail(FailureReason::BadPayload, e),
            };
            for req in &reqs {
                let answer = match self.client().send(req, now).await {
                    Ok(a) => a,
                    Err(what) => {
                        return Delivery {
                            decision: super::retry::from_network_error(),
                            detail: what,
                        };
                    }
                };
                match self.classify(&answer, now) {
                    Decision::Delivered => {}
                    decision => {
                        return Delivery {
                            decision,
                            detail: answer.detail(),
                        };
                    }
                }
            }
            Delivery::ok()
        })
    }
}

/// What rendering sees: the templates, the notification and its data, and
/// a note of every field cut to the receiver's limit.
pub struct Render<'a> {
    pub templates: &'a Templates,
    pub notice: &'a Notice<'a>,
    /// The receiver's name as configured.
    pub receiver: &'a str,
    /// The notification data (`.Receiver` regex-quoted, as Alertmanager's).
    pub data: Data,
    truncated: RefCell<Vec<&'static str>>,
}

impl<'a> Render<'a> {
    pub fn new(templates: &'a Templates, notice: &'a Notice<'a>, receiver: &'a str) -> Render<'a> {
        let data = Data::new(
            receiver,
            notice.group_labels,
            notice.alerts,
            notice.external_url,
            notice.now,
        );
        Render {
            templates,
            notice,
            receiver,
            data,
            truncated: RefCell::new(Vec::new()),
        }
    }

    /// A text template over the notification data.
    pub fn text(&self, src: &str) -> Result<String, TemplateError> {
        self.templates.render(src, &self.data)
    }

    /// An optional template's text; empty when the key is not set.
    pub fn text_or_empty(&self, src: &Option<String>) -> Result<String, TemplateError> {
        src.as_deref()
            .map(|s| self.text(s))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    /// An HTML template (output escaped by context, as Go's html/template).
    pub fn html(&self, src: &str) -> Result<String, TemplateError> {
        self.templates.render_html(src, &self.data)
    }

    /// `.Status` of the group: `firing` or `resolved`.
    pub fn firing(&self) -> bool {
        self.data.status == "firing"
    }

    /// Alertmanager's `Key.Hash()`: the SHA-256 of the group key in hex,
    /// the dedup key receivers see.
    pub fn key_hash(&self) -> String {
        common::sha256_hex(self.notice.group_key.as_bytes())
    }

    /// Notes that `field` was cut to the receiver's limit.
    pub fn note_truncated(&self, field: &'static str) {
        self.truncated.borrow_mut().push(field);
    }

    /// `s` cut to `max` characters as Alertmanager's `TruncateInRunes`.
    pub fn runes(&self, field: &'static str, s: String, max: usize) -> String {
        let (out, cut) = common::truncate_runes(&s, max);
        if cut {
            self.note_truncated(field);
        }
        out
    }

    /// The fields cut so far.
    pub fn truncated(&self) -> Vec<&'static str> {
        self.truncated.borrow().clone()
    }
}

/// A configured template, or the default one.
pub fn tmpl_or<'a>(own: &'a Option<String>, default: &'a str) -> std::borrow::Cow<'a, str> {
    match own {
        Some(t) => std::borrow::Cow::Borrowed(t.as_str()),
        None => std::borrow::Cow::Owned(format!("{{{{ template \"{default}\" . }}}}")),
    }
}

/// One built integration with its name and key.
pub struct Built {
    pub kind: &'static str,
    pub send_resolved: bool,
    pub imp: Arc<dyn Integrate>,
}

fn built<T: Build>(c: &T::Config, cx: &BuildContext<'_>) -> Result<Built, IntegrationError> {
    if let Some(p) = entry_problem::<T>(c, cx.global) {
        return Err(IntegrationError::Check(p));
    }
    Ok(Built {
        kind: T::KIND,
        send_resolved: c.send_resolved(),
        imp: Arc::new(T::build(c, cx)?),
    })
}

/// The entry's own checks, then what it lacks once the `global:`
/// defaults apply; the first problem, if any.
fn entry_problem<T: Build>(c: &T::Config, g: &GlobalConfig) -> Option<String> {
    c.check().err().or_else(|| T::global_problem(c, g))
}

/// Declares the registry: the `Receiver` type (a name and one list per
/// kind, unknown keys rejected) and [`build_all`]. One line per kind.
macro_rules! registry {
    ($($field:ident => $ty:ty,)*) => {
        /// A named destination, as Alertmanager's `receivers:` entry.
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Receiver {
            pub name: String,
            $(
                #[serde(default)]
                pub $field: Vec<<$ty as Build>::Config>,
            )*
        }

        /// Every integration of `r`, in registry then entry order, each
        /// with its index among its kind; errors name the entry.
        pub fn build_all(
            r: &Receiver,
            cx: &BuildContext<'_>,
        ) -> Result<Vec<(usize, Built)>, BuildError> {
            let mut out = Vec::new();
            $(
                for (i, c) in r.$field.iter().enumerate() {
                    let b = built::<$ty>(c, cx).map_err(|source| BuildError::Integration {
                        receiver: r.name.clone(),
                        entry: stringify!($field),
                        index: i,
                        source: Box::new(source),
                    })?;
                    out.push((i, b));
                }
            )*
            Ok(out)
        }

        /// Every entry's own `http_config`: `(<kind>_configs, index, block)`.
        pub fn http_configs(r: &Receiver) -> Vec<(&'static str, usize, &HttpConfig)> {
            let mut out = Vec::new();
            $(
                for (i, c) in r.$field.iter().enumerate() {
                    if let Some(h) = c.http_config() {
                        out.push((stringify!($field), i, h));
                    }
                }
            )*
            out
        }

        /// Every entry's problems as Alertmanager reports them when it
        /// loads the file — its own checks, then what it lacks once the
        /// `global:` defaults are applied: `(<kind>_configs, index,
        /// message)`. Email and Slack are checked with the routing file
        /// (`route/load.rs`).
        pub fn entry_problems(r: &Receiver, g: &GlobalConfig) -> Vec<(&'static str, usize, String)> {
            let mut out = Vec::new();
            $(
                for (i, c) in r.$field.iter().enumerate() {
                    if let Some(p) = entry_problem::<$ty>(c, g) {
                        out.push((stringify!($field), i, p));
                    }
                }
            )*
            out
        }
    };
}

registry! {
    webhook_configs => webhook::Webhook,
    slack_configs => slack::Slack,
    email_configs => email::Email,
    pagerduty_configs => pagerduty::PagerDuty,
    opsgenie_configs => opsgenie::Opsgenie,
    telegram_configs => telegram::Telegram,
    discord_configs => discord::Discord,
    victorops_configs => victorops::VictorOps,
    pushover_configs => pushover::Pushover,
    webex_configs => webex::Webex,
    wechat_configs => wechat::Wechat,
    sns_configs => sns::Sns,
    msteams_configs => msteams::MsTeams,
    msteamsv2_configs => msteamsv2::MsTeamsV2,
    mattermost_configs => mattermost::Mattermost,
    incidentio_configs => incidentio::Incidentio,
    rocketchat_configs => rocketchat::Rocketchat,
    jira_configs => jira::Jira,
}
