//! `mattermost_configs` (Alertmanager 0.30+): a post to a Mattermost
//! incoming webhook — Markdown text (cut to 16383 characters), optional
//! channel, username, icon, Slack-style attachments, `props.card` and a
//! message priority (urgent, important or standard, with Mattermost's
//! rules for acknowledgement and persistent notifications). The webhook
//! URL carries its token, so it is a secret.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{Check, insert_nonempty};
use super::json_post::{JsonPost, JsonPostConfig, check_webhook};
use super::{Render, tmpl_or};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// The longest text Mattermost takes, in characters.
pub const MAX_TEXT_RUNES: usize = 16383;

/// One `mattermost_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MattermostConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    pub webhook_url: Option<Secret>,
    pub webhook_url_file: Option<String>,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub text: Option<String>,
    pub icon_url: Option<String>,
    pub icon_emoji: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub props: Option<Props>,
    pub priority: Option<Priority>,
}

http_entries!(MattermostConfig);

/// A Slack-compatible attachment; every text is a template.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub fallback: Option<String>,
    pub color: Option<String>,
    pub pretext: Option<String>,
    pub text: Option<String>,
    pub author_name: Option<String>,
    pub author_link: Option<String>,
    pub author_icon: Option<String>,
    pub title: Option<String>,
    pub title_link: Option<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
    pub thumb_url: Option<String>,
    pub footer: Option<String>,
    pub footer_icon: Option<String>,
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub value: String,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_opt_bool"
    )]
    pub short: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Props {
    #[serde(default)]
    pub card: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Priority {
    #[serde(default)]
    pub priority: String,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub requested_ack: bool,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub persistent_notifications: bool,
}

fn yes() -> bool {
    true
}

impl Check for MattermostConfig {
    fn check(&self) -> Result<(), String> {
        check_webhook(&self.webhook_url, &self.webhook_url_file)?;
        for a in &self.attachments {
            for f in &a.fields {
                if f.title.is_empty() {
                    return Err("missing title in Mattermost field configuration".into());
                }
                if f.value.is_empty() {
                    return Err("missing value in Mattermost field configuration".into());
                }
            }
        }
        Ok(())
    }
}

/// A built `mattermost_configs` entry.
pub type Mattermost = JsonPost<MattermostConfig>;

impl JsonPostConfig for MattermostConfig {
    const KIND: &'static str = "mattermost";
    const MISSING: &'static str = "webhook url missing";
    const EMPTY_IS_MISSING: bool = true;

    fn webhook_url(&self) -> (Option<&Secret>, Option<&str>) {
        (self.webhook_url.as_ref(), self.webhook_url_file.as_deref())
    }

    fn payload(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = self;
        let text = cx.text(&tmpl_or(&c.text, "mattermost.default.text"))?;
        let mut o = Map::new();
        o.insert(
            "text".into(),
            Value::String(cx.runes("text", text, MAX_TEXT_RUNES)),
        );
        insert_nonempty(&mut o, "channel", cx.text_or_empty(&c.channel)?);
        insert_nonempty(&mut o, "username", cx.text_or_empty(&c.username)?);
        insert_nonempty(&mut o, "icon_url", cx.text_or_empty(&c.icon_url)?);
        insert_nonempty(&mut o, "icon_emoji", cx.text_or_empty(&c.icon_emoji)?);
        insert_nonempty(&mut o, "type", cx.text_or_empty(&c.kind)?);
        if !c.attachments.is_empty() {
            let mut list = Vec::new();
            for a in &c.attachments {
                let mut m = Map::new();
                for (k, t) in [
                    ("fallback", &a.fallback),
                    ("color", &a.color),
                    ("pretext", &a.pretext),
                    ("text", &a.text),
                    ("author_name", &a.author_name),
                    ("author_link", &a.author_link),
                    ("author_icon", &a.author_icon),
                    ("title", &a.title),
                    ("title_link", &a.title_link),
                    ("thumb_url", &a.thumb_url),
                    ("footer", &a.footer),
                    ("footer_icon", &a.footer_icon),
                    ("image_url", &a.image_url),
                ] {
                    insert_nonempty(&mut m, k, cx.text_or_empty(t)?);
                }
                if !a.fields.is_empty() {
                    let fields = a
                        .fields
                        .iter()
                        .map(|f| {
                            let mut v =
                                json!({"title": cx.text(&f.title)?, "value": cx.text(&f.value)?});
                            if let Some(s) = f.short {
                                v["short"] = Value::Bool(s);
                            }
                            Ok(v)
                        })
                        .collect::<Result<Vec<_>, TemplateError>>()?;
                    m.insert("fields".into(), Value::Array(fields));
                }
                list.push(Value::Object(m));
            }
            o.insert("attachments".into(), Value::Array(list));
        }
        if let Some(p) = c.props.as_ref().filter(|p| !p.card.is_empty()) {
            o.insert("props".into(), json!({"card": cx.text(&p.card)?}));
        }
        if let Some(p) = c.priority.as_ref().filter(|p| !p.priority.is_empty()) {
            o.insert("priority".into(), priority(cx, p)?);
        }
        Ok(Value::Object(o))
    }
}

/// Mattermost's priority rules: an unknown priority is standard; a
/// standard post asks for no acknowledgement; only urgent ones persist.
fn priority(cx: &Render<'_>, p: &Priority) -> Result<Value, TemplateError> {
    let mut level = cx.text(&p.priority)?.to_lowercase();
    if !["urgent", "important", "standard"].contains(&level.as_str()) {
        level = "standard".into();
    }
    let mut v = json!({ "priority": level });
    if p.requested_ack && level != "standard" {
        v["requested_ack"] = Value::Bool(true);
    }
    if p.persistent_notifications && level == "urgent" {
        v["persistent_notifications"] = Value::Bool(true);
    }
    Ok(v)
}
