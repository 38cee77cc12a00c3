//! The Slack incoming-webhook message: Block Kit blocks (header with the
//! title, the text, a field grid, a link button) inside one attachment, so
//! the message gets a colour bar, plus a plain `text` fallback for
//! notifications and clients without blocks. Everything is cut to Slack's
//! documented limits, on character boundaries, with an ellipsis, because
//! Slack rejects (400, not retried) a message with an over-long block.

use serde_json::{Value, json};

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::common::{Check, client, secret_or_global};
use super::error::IntegrationError;
use super::{Build, BuildContext, HttpIntegration, Render, tmpl_or};
use crate::notify::data::Data;
use crate::notify::http::{HttpClient, HttpRequest};
use crate::notify::route::receivers::SlackConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

/// Slack's limits (api.slack.com/reference/block-kit/blocks).
pub const HEADER_MAX: usize = 150;
pub const SECTION_TEXT_MAX: usize = 3000;
pub const FIELDS_MAX: usize = 10;
pub const FIELD_TEXT_MAX: usize = 2000;
pub const BUTTON_TEXT_MAX: usize = 75;
pub const URL_MAX: usize = 3000;
/// Slack truncates a message's top-level `text` beyond this.
pub const TEXT_MAX: usize = 40_000;

/// Colours of Slack's `good`/`warning`/`danger` attachment names, plus
/// blue for informational alerts.
pub const GREEN: &str = "#2eb886";
pub const AMBER: &str = "#daa038";
pub const RED: &str = "#a30200";
pub const BLUE: &str = "#439fe0";

/// The already-rendered (templated) parts of one Slack message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlackContent {
    pub title: String,
    pub title_link: String,
    pub text: String,
    /// Title, value, short (shown side by side).
    pub fields: Vec<(String, String, bool)>,
    /// A configured colour overrides the status/severity colour.
    pub color: Option<String>,
    pub fallback: String,
    pub channel: Option<String>,
    pub username: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
}

/// The colour bar: green once resolved; while firing, by the common
/// `severity` label (red for critical/page/error, amber for warning, blue
/// for info), red when the alerts do not agree on one.
pub fn colour(data: &Data) -> &'static str {
    if data.status == "resolved" {
        return GREEN;
    }
    match data.common_labels.get("severity").map(|s| s.to_lowercase()) {
        Some(s) if s == "warning" => AMBER,
        Some(s) if s == "info" || s == "none" => BLUE,
        _ => RED,
    }
}

/// At most `max` characters, the last one an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The JSON body posted to the webhook URL.
pub fn payload(c: &SlackContent, data: &Data) -> Value {
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&c.title, HEADER_MAX), "emoji": true},
    })];
    if !c.text.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&c.text, SECTION_TEXT_MAX)},
        }));
    }
    if !c.fields.is_empty() {
        let fields: Vec<Value> = c
            .fields
            .iter()
            .take(FIELDS_MAX)
            .map(|(t, v, _)| {
                let text = format!("*{t}*\n{v}");
                json!({"type": "mrkdwn", "text": truncate(&text, FIELD_TEXT_MAX)})
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !c.title_link.is_empty() && c.title_link.chars().count() <= URL_MAX {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": truncate("Open", BUTTON_TEXT_MAX)},
                "url": c.title_link,
            }],
        }));
    }
    let fallback = if c.fallback.is_empty() {
        format!("{}\n{}", c.title, c.text)
    } else {
        c.fallback.clone()
    };
    let color = c.color.clone().unwrap_or_else(|| colour(data).to_string());
    let mut msg = json!({
        "text": truncate(&fallback, TEXT_MAX),
        "attachments": [{"color": color, "fallback": truncate(&fallback, TEXT_MAX), "blocks": blocks}],
    });
    let obj = msg.as_object_mut().expect("built as an object");
    for (key, value) in [
        ("channel", &c.channel),
        ("username", &c.username),
        ("icon_emoji", &c.icon_emoji),
        ("icon_url", &c.icon_url),
    ] {
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            obj.insert(key.to_string(), json!(v));
        }
    }
    msg
}

/// A built `slack_configs` entry.
pub struct Slack {
    url: Secret,
    client: Arc<HttpClient>,
    cfg: Box<SlackConfig>,
}

http_entries!(SlackConfig);

/// Alertmanager makes no check of its own while reading the entry.
impl Check for SlackConfig {}

impl Build for Slack {
    type Config = SlackConfig;
    const KIND: &'static str = "slack";

    fn build(c: &SlackConfig, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let g = cx.global;
        let url = secret_or_global(
            cx,
            ("api_url", c.api_url.as_ref(), c.api_url_file.as_deref()),
            (
                "slack_api_url",
                g.slack_api_url.as_ref(),
                g.slack_api_url_file.as_deref(),
            ),
        )?
        .ok_or(IntegrationError::Missing("no Slack API URL"))?;
        Ok(Slack {
            url,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

impl HttpIntegration for Slack {
    fn client(&self) -> &HttpClient {
        &self.client
    }

    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let cfg = &self.cfg;
        let r = |s: &str| cx.text(s);
        let opt = |s: &Option<String>| -> Result<Option<String>, TemplateError> {
            s.as_deref().map(r).transpose()
        };
        let content = SlackContent {
            title: r(&tmpl_or(&cfg.title, "slack.default.title"))?,
            title_link: r(&tmpl_or(&cfg.title_link, "slack.default.titlelink"))?,
            text: r(&tmpl_or(&cfg.text, "slack.default.text"))?,
            fields: cfg
                .fields
                .iter()
                .map(|f| {
                    Ok((
                        r(&f.title)?,
                        r(&f.value)?,
                        f.short.unwrap_or(cfg.short_fields),
                    ))
                })
                .collect::<Result<_, TemplateError>>()?,
            color: opt(&cfg.color)?.filter(|c| !c.is_empty()),
            fallback: r(&tmpl_or(&cfg.fallback, "slack.default.fallback"))?,
            channel: opt(&cfg.channel)?,
            username: Some(r(&tmpl_or(&cfg.username, "slack.default.username"))?),
            icon_emoji: opt(&cfg.icon_emoji)?,
            icon_url: opt(&cfg.icon_url)?,
        };
        Ok(payload(&content, &cx.data))
    }

    fn requests(&self, payload: &Value, _now: DateTime<Utc>) -> Result<Vec<HttpRequest>, String> {
        Ok(vec![HttpRequest::json(self.url.clone(), payload)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;
    use crate::notify::Alert;
    use chrono::{TimeZone, Utc};

    fn data(sev: &str, resolved: bool) -> Data {
        let t = |s| Utc.timestamp_opt(s, 0).unwrap();
        let a = Alert {
            labels: Labels::from_pairs([("alertname", "A"), ("severity", sev)]),
            annotations: Labels::empty(),
            starts_at: t(0),
            ends_at: resolved.then(|| t(10)),
            generator_url: String::new(),
        };
        Data::new("slack", &Labels::empty(), &[a], "", t(100))
    }

    #[test]
    fn colour_by_status_and_severity() {
        assert_eq!(colour(&data("critical", false)), RED);
        assert_eq!(colour(&data("warning", false)), AMBER);
        assert_eq!(colour(&data("info", false)), BLUE);
        assert_eq!(colour(&data("critical", true)), GREEN);
    }

    #[test]
    fn truncation_respects_limits_and_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(truncate("ééééé", 4).chars().count(), 4);
        let c = SlackContent {
            title: "t".repeat(400),
            text: "x".repeat(5000),
            fields: (0..15)
                .map(|i| (format!("f{i}"), "v".repeat(3000), true))
                .collect(),
            title_link: "http://grafana.example/d/1".into(),
            channel: Some("#ops".into()),
            ..SlackContent::default()
        };
        let p = payload(&c, &data("critical", false));
        let blocks = p["attachments"][0]["blocks"].as_array().unwrap();
        let header = blocks[0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), HEADER_MAX);
        assert_eq!(
            blocks[1]["text"]["text"].as_str().unwrap().chars().count(),
            SECTION_TEXT_MAX
        );
        let fields = blocks[2]["fields"].as_array().unwrap();
        assert_eq!(fields.len(), FIELDS_MAX);
        assert!(
            fields
                .iter()
                .all(|f| f["text"].as_str().unwrap().chars().count() <= FIELD_TEXT_MAX)
        );
        assert_eq!(
            blocks[3]["elements"][0]["url"],
            "http://grafana.example/d/1"
        );
        assert_eq!(p["channel"], "#ops");
        assert_eq!(p["attachments"][0]["color"], RED);
        assert!(p["text"].as_str().unwrap().starts_with("ttt"));
    }
}
