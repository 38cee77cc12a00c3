//! `wechat_configs`: WeChat Work's message API, as Alertmanager 0.25
//! calls it — an access token fetched with the corp ID and API secret
//! (`gettoken`, kept for two hours on the sender's clock), then `message/send` with the token in
//! the query. Delivered when the answer's `code` is 0; code 42001 (token
//! expired) drops the token and retries; a non-200 status retries.
//! Alertmanager reads `code`/`error` from the answer, and so does vigil.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{Check, client, join_path, parse_url, with_slash};
use super::error::IntegrationError;
use super::{Build, BuildContext, Integrate, Render, tmpl_or};
use crate::notify::group::after;
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::integration::Delivery;
use crate::notify::retry::{Decision, FailureReason, from_network_error};
use crate::notify::route::config::GlobalConfig;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// How long a fetched access token is used.
const TOKEN_TTL: Duration = Duration::from_secs(2 * 3600);

/// One `wechat_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    /// `global.wechat_api_secret` when absent.
    pub api_secret: Option<Secret>,
    /// `global.wechat_api_corp_id` when absent.
    pub corp_id: Option<String>,
    pub message: Option<String>,
    /// `global.wechat_api_url` when absent.
    pub api_url: Option<String>,
    pub to_user: Option<String>,
    pub to_party: Option<String>,
    pub to_tag: Option<String>,
    pub agent_id: Option<String>,
    /// `text` (the default) or `markdown`.
    #[serde(default = "text", deserialize_with = "message_type")]
    pub message_type: String,
}

http_entries!(WechatConfig);

/// Alertmanager checks a WeChat entry only against the globals.
impl Check for WechatConfig {}

fn text() -> String {
    "text".into()
}

fn message_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "" => Ok(text()),
        "text" | "markdown" => Ok(s),
        _ => Err(serde::de::Error::custom(format!(
            "weChat message type {s:?} does not match valid options ^(text|markdown)$"
        ))),
    }
}

/// A built `wechat_configs` entry.
pub struct Wechat {
    api_url: url::Url,
    api_secret: Secret,
    corp_id: String,
    client: Arc<HttpClient>,
    cfg: Box<WechatConfig>,
    /// The access token and when it was fetched.
    token: Mutex<Option<(Secret, DateTime<Utc>)>>,
}

impl Build for Wechat {
    type Config = WechatConfig;
    const KIND: &'static str = "wechat";

    fn global_problem(c: &WechatConfig, g: &GlobalConfig) -> Option<String> {
        if c.api_secret.is_none() && g.wechat_api_secret.is_none() {
            return Some("no global Wechat ApiSecret set".into());
        }
        if c.corp_id.is_none() && g.wechat_api_corp_id.is_none() {
            return Some("no global Wechat CorpID set".into());
        }
        None
    }

    fn build(c: &WechatConfig, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let g = cx.global;
        let url = c
            .api_url
            .clone()
            .or_else(|| g.wechat_api_url.clone())
            .unwrap_or_else(|| "https://qyapi.weixin.qq.com/cgi-bin/".to_string());
        let api_secret = c
            .api_secret
            .clone()
            .or_else(|| g.wechat_api_secret.clone())
            .ok_or(IntegrationError::Missing("no global Wechat ApiSecret set"))?;
        let corp_id = c
            .corp_id
            .clone()
            .or_else(|| g.wechat_api_corp_id.clone())
            .ok_or(IntegrationError::Missing("no global Wechat CorpID set"))?;
        Ok(Wechat {
            api_url: with_slash(parse_url("api_url", &url)?),
            api_secret,
            corp_id,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
            token: Mutex::new(None),
        })
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: String,
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    error: String,
}

fn get(url: url::Url) -> HttpRequest {
    HttpRequest {
        method: reqwest::Method::GET,
        url: Secret::new(url.to_string()),
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Wechat {
    /// The cached token while younger than [`TOKEN_TTL`] at `now`, or a
    /// new one. `Err` is the delivery's outcome.
    async fn token(&self, now: DateTime<Utc>) -> Result<Secret, Delivery> {
        if let Some((t, at)) = self.token.lock().clone()
            && now < after(at, TOKEN_TTL)
        {
            return Ok(t);
        }
        let mut u = join_path(&self.api_url, "gettoken");
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("corpid", &self.corp_id)
            .append_pair("corpsecret", self.api_secret.expose())
            .finish();
        u.set_query(Some(&query));
        let answer = self
            .client
            .send(&get(u), now)
            .await
            .map_err(|what| Delivery {
                decision: from_network_error(),
                detail: what,
            })?;
        let token = serde_json::from_str::<TokenAnswer>(&answer.body)
            .map(|t| t.access_token)
            .unwrap_or_default();
        if token.is_empty() {
            return Err(Delivery::fail(
                FailureReason::InvalidCredentials,
                format!("invalid APISecret for CorpID: {}", self.corp_id),
            ));
        }
        let token = Secret::new(token);
        *self.token.lock() = Some((token.clone(), now));
        Ok(token)
    }
}

impl Integrate for Wechat {
    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let content = t(&tmpl_or(&c.message, "wechat.default.message"))?;
        let (text, markdown) = if c.message_type == "markdown" {
            (String::new(), content)
        } else {
            (content, String::new())
        };
        // Alertmanager's struct always has both `text` and `markdown`.
        let mut msg = json!({
            "text": {"content": text},
            "markdown": {"content": markdown},
            "safe": "0",
            "msgtype": c.message_type,
        });
        for (key, own, default) in [
            ("touser", &c.to_user, "wechat.default.to_user"),
            ("toparty", &c.to_party, "wechat.default.to_party"),
            ("totag", &c.to_tag, "wechat.default.to_tag"),
            ("agentid", &c.agent_id, "wechat.default.agent_id"),
        ] {
            let v = t(&tmpl_or(own, default))?;
            if !v.is_empty() {
                msg[key] = Value::String(v);
            }
        }
        Ok(msg)
    }

    fn deliver<'a>(&'a self, payload: &'a Value, now: DateTime<Utc>) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            let token = match self.token(now).await {
                Ok(t) => t,
                Err(d) => return d,
            };
            let mut u = join_path(&self.api_url, "message/send");
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("access_token", token.expose())
                .finish();
            u.set_query(Some(&query));
            let req = HttpRequest::json(Secret::new(u.to_string()), payload);
            let answer = match self.client.send(&req, now).await {
                Ok(a) => a,
                Err(what) => {
                    return Delivery {
                        decision: from_network_error(),
                        detail: what,
                    };
                }
            };
            if answer.status != 200 {
                return Delivery {
                    decision: Decision::Retry {
                        reason: FailureReason::ServerError,
                        not_before: None,
                    },
                    detail: answer.detail(),
                };
            }
            let Ok(a) = serde_json::from_str::<SendAnswer>(&answer.body) else {
                return Delivery {
                    decision: Decision::Retry {
                        reason: FailureReason::BadAnswer,
                        not_before: None,
                    },
                    detail: "answer is not JSON".into(),
                };
            };
            match a.code {
                0 => Delivery::ok(),
                42001 => {
                    *self.token.lock() = None;
                    Delivery {
                        decision: Decision::Retry {
                            reason: FailureReason::TokenExpired,
                            not_before: None,
                        },
                        detail: a.error,
                    }
                }
                _ => Delivery::fail(FailureReason::Rejected, a.error),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::notify::route::parse_str;
    use vigil_test_support::Recorder;

    /// The token is fetched once and used until [`TOKEN_TTL`] has passed
    /// on the sender's clock, then fetched again (a manual clock moved
    /// past the expiry, no waiting).
    #[tokio::test]
    async fn token_is_kept_for_its_lifetime_on_the_clock() {
        let rec = Recorder::start().await;
        let text = format!(
            "route: {{receiver: w}}\nreceivers:\n  - name: w\n    wechat_configs: [{{api_secret: s, corp_id: c, api_url: '{}/cgi-bin/'}}]\n",
            rec.base()
        );
        let loaded = parse_str("am.yml", &text, &|_| None).unwrap();
        let cx = BuildContext {
            global: &loaded.config.global,
            base_dir: Path::new("."),
        };
        let w = Wechat::build(&loaded.config.receivers[0].wechat_configs[0], &cx).unwrap();
        let fetches = || rec.under("/cgi-bin/gettoken").len();
        let sends = || rec.under("/cgi-bin/message/send").len();
        let clock = ManualClock::new(1_800_000_000_000);
        let payload = json!({"msgtype": "text", "text": {"content": "x"}});

        assert_eq!(w.deliver(&payload, clock.now()).await, Delivery::ok());
        assert_eq!((fetches(), sends()), (1, 1));
        clock.advance(TOKEN_TTL - Duration::from_secs(1));
        assert_eq!(w.deliver(&payload, clock.now()).await, Delivery::ok());
        assert_eq!((fetches(), sends()), (1, 2), "still within its lifetime");
        clock.advance(Duration::from_secs(1));
        assert_eq!(w.deliver(&payload, clock.now()).await, Delivery::ok());
        assert_eq!((fetches(), sends()), (2, 3), "expired: fetched again");
        assert!(
            rec.under("/cgi-bin/message/send").iter().all(|r| r
                .query
                .contains(&("access_token".into(), "wx-access".into()))),
            "{:?}",
            rec.received()
        );
    }
}
