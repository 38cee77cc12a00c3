//! `rocketchat_configs` (Alertmanager 0.28+): `chat.postMessage` of the
//! Rocket.Chat REST API with one attachment (title cut to 1024
//! characters, link, text, colour red while firing and green once
//! resolved, fields, buttons), authorized by `X-Auth-Token` and
//! `X-User-Id`. Delivered when the answer says `success`. The URL, token
//! and token ID default to the `rocketchat_*` globals (each with its
//! `_file`), as in Alertmanager's newest configuration.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{
    Check, at_most_one, classify, client, insert_nonempty, join_path, parse_url, secret_or_global,
};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::http::{Answer, HttpClient, HttpRequest};
use crate::notify::retry::{Decision, FailureReason};
use crate::notify::route::config::GlobalConfig;
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The longest title, in characters.
pub const MAX_TITLE_RUNES: usize = 1024;

/// One `rocketchat_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatConfig {
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    /// `https://open.rocket.chat/` when absent.
    pub api_url: Option<String>,
    pub token_id: Option<Secret>,
    pub token_id_file: Option<String>,
    pub token: Option<Secret>,
    pub token_file: Option<String>,
    pub channel: Option<String>,
    pub color: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    pub text: Option<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub short_fields: bool,
    pub emoji: Option<String>,
    pub icon_url: Option<String>,
    pub image_url: Option<String>,
    pub thumb_url: Option<String>,
    /// Read and not used, as in Alertmanager.
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub link_names: bool,
    #[serde(default)]
    pub actions: Vec<Action>,
}

http_entries!(RocketchatConfig);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_opt_bool"
    )]
    pub short: Option<bool>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub value: String,
}

/// A button: its text, URL and message are templates; Alertmanager reads
/// the other keys and sends a plain button whatever they say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub imageurl: String,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub iswebview: bool,
    #[serde(default)]
    pub webviewheightratio: String,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub msginchatwindow: bool,
    #[serde(default)]
    pub msgprocessingtype: String,
}

impl Check for RocketchatConfig {
    fn check(&self) -> Result<(), String> {
        at_most_one(&self.token, &self.token_file, ("token", "token_file"))?;
        at_most_one(
            &self.token_id,
            &self.token_id_file,
            ("token_id", "token_id_file"),
        )?;
        if let Some(u) = &self.api_url {
            parse_url("api_url", u)?;
        }
        Ok(())
    }
}

/// A built `rocketchat_configs` entry.
pub struct Rocketchat {
    url: String,
    token: Secret,
    token_id: Secret,
    client: Arc<HttpClient>,
    cfg: Box<RocketchatConfig>,
}

impl Build for Rocketchat {
    type Config = RocketchatConfig;
    const KIND: &'static str = "rocketchat";

    fn global_problem(c: &Self::Config, g: &GlobalConfig) -> Option<String> {
        let id = c.token_id.is_some() || c.token_id_file.is_some();
        if !id && g.rocketchat_token_id.is_none() && g.rocketchat_token_id_file.is_none() {
            return Some("no global Rocketchat TokenID set either inline or in a file".into());
        }
        let token = c.token.is_some() || c.token_file.is_some();
        if !token && g.rocketchat_token.is_none() && g.rocketchat_token_file.is_none() {
            return Some("no global Rocketchat Token set either inline or in a file".into());
        }
        None
    }

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        if let Some(p) = Self::global_problem(c, cx.global) {
            return Err(IntegrationError::Check(p));
        }
        let g = cx.global;
        let token = secret_or_global(
            cx,
            ("token", c.token.as_ref(), c.token_file.as_deref()),
            (
                "rocketchat_token",
                g.rocketchat_token.as_ref(),
                g.rocketchat_token_file.as_deref(),
            ),
        )?
        .ok_or(IntegrationError::Missing("no Rocketchat token"))?;
        let token_id = secret_or_global(
            cx,
            ("token_id", c.token_id.as_ref(), c.token_id_file.as_deref()),
            (
                "rocketchat_token_id",
                g.rocketchat_token_id.as_ref(),
                g.rocketchat_token_id_file.as_deref(),
            ),
        )?
        .ok_or(IntegrationError::Missing("no Rocketchat token ID"))?;
        let api = c
            .api_url
            .as_deref()
            .or(g.rocketchat_api_url.as_deref())
            .unwrap_or("https://open.rocket.chat/");
        let api = parse_url("api_url", api)?;
        let url = join_path(&super::common::with_slash(api), "api/v1/chat.postMessage");
        Ok(Rocketchat {
            url: url.to_string(),
            token: Secret::new(token.expose().trim()),
            token_id: Secret::new(token_id.expose().trim()),
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for Rocketchat {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let color_default = r#"{{ if eq .Status "firing" }}red{{ else }}green{{ end }}"#;
        let title = cx.runes(
            "title",
            t(&tmpl_or(&c.title, "rocketchat.default.title"))?,
            MAX_TITLE_RUNES,
        );
        let mut att = Map::new();
        insert_nonempty(&mut att, "title", title);
        insert_nonempty(
            &mut att,
            "title_link",
            t(&tmpl_or(&c.title_link, "rocketchat.default.titlelink"))?,
        );
        insert_nonempty(
            &mut att,
            "text",
            t(&tmpl_or(&c.text, "rocketchat.default.text"))?,
        );
        insert_nonempty(&mut att, "image_url", cx.text_or_empty(&c.image_url)?);
        insert_nonempty(&mut att, "thumb_url", cx.text_or_empty(&c.thumb_url)?);
        insert_nonempty(
            &mut att,
            "color",
            t(c.color.as_deref().unwrap_or(color_default))?,
        );
        if !c.fields.is_empty() {
            let fields = c
                .fields
                .iter()
                .map(|f| {
                    let mut v = json!({"short": f.short.unwrap_or(c.short_fields)});
                    let o = v.as_object_mut().expect("an object");
                    insert_nonempty(o, "title", t(&f.title)?);
                    insert_nonempty(o, "value", t(&f.value)?);
                    Ok(v)
                })
                .collect::<Result<Vec<_>, TemplateError>>()?;
            att.insert("fields".into(), Value::Array(fields));
        }
        if !c.actions.is_empty() {
            let actions = c
                .actions
                .iter()
                .map(|a| {
                    let mut v =
                        json!({"type": "button", "is_webview": false, "msg_in_chat_window": false});
                    let o = v.as_object_mut().expect("an object");
                    insert_nonempty(o, "text", t(&a.text)?);
                    insert_nonempty(o, "url", t(&a.url)?);
                    insert_nonempty(o, "msg", t(&a.msg)?);
                    Ok(v)
                })
                .collect::<Result<Vec<_>, TemplateError>>()?;
            att.insert("actions".into(), Value::Array(actions));
        }
        let mut msg = Map::new();
        insert_nonempty(&mut msg, "channel", cx.text_or_empty(&c.channel)?);
        insert_nonempty(
            &mut msg,
            "emoji",
            t(&tmpl_or(&c.emoji, "rocketchat.default.emoji"))?,
        );
        insert_nonempty(
            &mut msg,
            "avatar",
            t(&tmpl_or(&c.icon_url, "rocketchat.default.iconurl"))?,
        );
        msg.insert("attachments".into(), json!([Value::Object(att)]));
        Ok(Value::Object(msg))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![
            HttpRequest::json(Secret::new(self.url.clone()), payload)
                .header("X-Auth-Token", self.token.expose())
                .header("X-User-Id", self.token_id.expose()),
        ])
    }

    /// A 2xx must also say `success`; an answer that is not JSON is
    /// retried, one that says no is not.
    fn classify(&self, a: &Answer, now: DateTime<Utc>) -> Decision {
        match classify(a, &[], now) {
            Decision::Delivered => {}
            d => return d,
        }
        match serde_json::from_str::<Value>(&a.body) {
            Ok(v) if v["success"] == true => Decision::Delivered,
            Ok(_) => Decision::Fail {
                reason: FailureReason::Rejected,
            },
            Err(_) => Decision::Retry {
                reason: FailureReason::BadAnswer,
                not_before: None,
            },
        }
    }
}
