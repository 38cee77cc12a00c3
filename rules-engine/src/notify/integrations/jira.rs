//! `jira_configs` (Alertmanager 0.28+): one Jira issue per alert group,
//! found again by its label `ALERT{<SHA-256 of the group key>}`. Each
//! notification searches for the group's issue (JQL as Alertmanager
//! writes it: not done, or resolved within `reopen_duration` when a
//! `reopen_transition` is set, never `wont_fix_resolution`), then creates
//! it (firing, none found) or updates it (summary and description unless
//! their `enable_update` is false), then moves it: `reopen_transition`
//! when it fires again while done, `resolve_transition` when the group is
//! resolved and the issue is not done. Summary cut to 255 characters,
//! description to 32767. Retried: 5xx and 429.
//!
//! The stored payload is the rendered issue; the search, the transition
//! lookup and the writes happen when sending, against Jira's state then.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{Check, classify, client, parse_url};
use super::error::IntegrationError;
use super::{Build, BuildContext, Integrate, Render, tmpl_or};
use crate::model::units::PromDuration;
use crate::notify::http::{Answer, HttpClient, HttpRequest};
use crate::notify::integration::Delivery;
use crate::notify::retry::{Decision, FailureReason, from_network_error};
use crate::notify::route::receivers::HttpConfig;
use crate::notify::template::TemplateError;
use vigil_common::Secret;

pub const MAX_SUMMARY_RUNES: usize = 255;
pub const MAX_DESCRIPTION_RUNES: usize = 32767;

/// One `jira_configs` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    #[serde(
        default = "yes",
        deserialize_with = "crate::notify::route::config::yaml11_bool"
    )]
    pub send_resolved: bool,
    pub http_config: Option<HttpConfig>,
    /// The REST API's base, e.g. `https://x.atlassian.net/rest/api/2`.
    pub api_url: Option<String>,
    /// `auto` (the default), `cloud` or `datacenter`: where to search.
    #[serde(default = "auto")]
    pub api_type: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub summary: FieldConfig,
    #[serde(default)]
    pub description: FieldConfig,
    #[serde(default)]
    pub labels: Vec<String>,
    pub priority: Option<String>,
    #[serde(default)]
    pub issue_type: String,
    #[serde(default)]
    pub reopen_transition: String,
    #[serde(default)]
    pub resolve_transition: String,
    #[serde(default)]
    pub wont_fix_resolution: String,
    pub reopen_duration: Option<PromDuration>,
    /// More issue fields; every string in them is a template.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

http_entries!(JiraConfig);

/// A template, written alone or as `{template, enable_update}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
pub enum FieldConfig {
    #[default]
    Default,
    Template(String),
    Full(FieldFull),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldFull {
    pub template: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::notify::route::config::yaml11_opt_bool"
    )]
    pub enable_update: Option<bool>,
}

impl FieldConfig {
    fn template(&self) -> Option<String> {
        match self {
            FieldConfig::Default => None,
            FieldConfig::Template(t) => Some(t.clone()),
            FieldConfig::Full(f) => f.template.clone(),
        }
    }

    /// Whether an update of the issue rewrites the field.
    fn enable_update(&self) -> bool {
        !matches!(
            self,
            FieldConfig::Full(FieldFull {
                enable_update: Some(false),
                ..
            })
        )
    }
}

fn yes() -> bool {
    true
}

fn auto() -> String {
    "auto".into()
}

impl Check for JiraConfig {
    fn check(&self) -> Result<(), String> {
        if self.project.is_empty() {
            return Err("missing project in jira_config".into());
        }
        if self.issue_type.is_empty() {
            return Err("missing issue_type in jira_config".into());
        }
        if !["auto", "cloud", "datacenter"].contains(&self.api_type.as_str()) {
            return Err(
                "unknown api_type on jira_config, must be auto, cloud or datacenter".into(),
            );
        }
        if let Some(u) = &self.api_url {
            parse_url("api_url", u)?;
        }
        Ok(())
    }
}

/// A built `jira_configs` entry.
pub struct Jira {
    api: url::Url,
    client: Arc<HttpClient>,
    cfg: Box<JiraConfig>,
}

impl Build for Jira {
    type Config = JiraConfig;
    const KIND: &'static str = "jira";

    /// The entry's `api_url`, else `global.jira_api_url`.
    fn global_problem(
        c: &Self::Config,
        g: &crate::notify::route::config::GlobalConfig,
    ) -> Option<String> {
        (c.api_url.is_none() && g.jira_api_url.is_none())
            .then(|| "no global Jira Cloud URL set".to_string())
    }

    fn build(c: &Self::Config, cx: &BuildContext<'_>) -> Result<Self, IntegrationError> {
        let api = c
            .api_url
            .as_deref()
            .or(cx.global.jira_api_url.as_deref())
            .ok_or(IntegrationError::Missing("no global Jira Cloud URL set"))?;
        Ok(Jira {
            api: parse_url("api_url", api)?,
            client: client(c.http_config.as_ref(), cx)?,
            cfg: Box::new(c.clone()),
        })
    }
}

/// Every string in `v` rendered as a template.
fn deep_template(cx: &Render<'_>, v: &Value) -> Result<Value, TemplateError> {
    Ok(match v {
        Value::String(s) => Value::String(cx.text(s)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| deep_template(cx, x))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), deep_template(cx, x)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

/// Go's `%q` for the plain strings JQL quotes.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `url` joined with `path` (Go's `URL.JoinPath`).
fn join(url: &url::Url, path: &str) -> url::Url {
    let mut u = url.clone();
    let p = format!(
        "{}/{}",
        u.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    u.set_path(&p);
    u
}

/// The outcome of one API call: the answer's body, or the delivery.
type Step = Result<Value, Delivery>;

impl Jira {
    /// One API call; `now` reads a `Retry-After` date in the answer.
    async fn call(
        &self,
        method: reqwest::Method,
        url: url::Url,
        body: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Step {
        let req = HttpRequest {
            method,
            url: Secret::new(url.to_string()),
            headers: vec![
                ("Content-Type", Secret::new("application/json")),
                ("Accept-Language", Secret::new("en")),
            ],
            body: body
                .map(|b| serde_json::to_vec(b).unwrap_or_default())
                .unwrap_or_default(),
        };
        let answer: Answer = self.client.send(&req, now).await.map_err(|what| Delivery {
            decision: from_network_error(),
            detail: what,
        })?;
        match classify(&answer, &[429], now) {
            Decision::Delivered => Ok(serde_json::from_str(&answer.body).unwrap_or(Value::Null)),
            decision => Err(Delivery {
                decision,
                detail: format!("{} {}", req.method, answer.detail()),
            }),
        }
    }

    /// Where to search: Jira Cloud's `search/jql` on API v3, else `search`.
    fn search_url(&self) -> url::Url {
        let cloud = self.cfg.api_type == "cloud"
            || (self.cfg.api_type == "auto"
                && self
                    .api
                    .host_str()
                    .is_some_and(|h| h.ends_with("atlassian.net")));
        if !cloud {
            return join(&self.api, "/search");
        }
        let s = join(&self.api, "/search/jql")
            .to_string()
            .replacen("/2", "/3", 1);
        url::Url::parse(&s).unwrap_or_else(|_| join(&self.api, "/search/jql"))
    }

    fn jql(&self, project: &str, label: &str, firing: bool) -> String {
        let c = &self.cfg;
        let mut jql = String::new();
        if !c.wont_fix_resolution.is_empty() {
            jql.push_str(&format!(
                "resolution != {} and ",
                quote(&c.wont_fix_resolution)
            ));
        }
        let minutes = c
            .reopen_duration
            .map_or(0, |d| d.as_duration().as_secs() / 60);
        if firing && !c.reopen_transition.is_empty() && minutes > 0 {
            jql.push_str(&format!(
                "(resolutiondate is EMPTY OR resolutiondate >= -{minutes}m) and "
            ));
        } else {
            jql.push_str("statusCategory != Done and ");
        }
        jql.push_str(&format!(
            "project={} and labels={} order by status ASC,resolutiondate DESC",
            quote(project),
            quote(label)
        ));
        jql
    }

    async fn transition(&self, key: &str, name: &str, now: DateTime<Utc>) -> Step {
        let url = join(&self.api, &format!("issue/{key}/transitions"));
        let list = self
            .call(reqwest::Method::GET, url.clone(), None, now)
            .await?;
        let id = list["transitions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == name)
            .and_then(|t| t["id"].as_str())
            .ok_or_else(|| {
                Delivery::fail(
                    FailureReason::NoTransition,
                    format!("can't find transition {name} for issue {key}"),
                )
            })?
            .to_string();
        let body = json!({"transition": {"id": id}});
        self.call(reqwest::Method::POST, url, Some(&body), now)
            .await
    }

    async fn deliver_issue(&self, p: &Value, now: DateTime<Utc>) -> Step {
        let firing = p["firing"].as_bool().unwrap_or(true);
        let project = p["project"].as_str().unwrap_or("");
        let label = p["label"].as_str().unwrap_or("");
        let search = json!({
            "fields": ["status"],
            "jql": self.jql(project, label, firing),
            "maxResults": 2,
        });
        let found = self
            .call(reqwest::Method::POST, self.search_url(), Some(&search), now)
            .await?;
        let existing = found["issues"].as_array().and_then(|i| i.first()).cloned();
        let Some(mut fields) = p["fields"].as_object().cloned() else {
            return Err(Delivery::fail(
                FailureReason::BadPayload,
                "payload has no issue fields",
            ));
        };
        let (method, path) = match &existing {
            None if !firing => return Ok(Value::Null),
            None => (reqwest::Method::POST, "issue".to_string()),
            Some(e) => {
                if !self.cfg.description.enable_update() {
                    fields.remove("description");
                }
                if !self.cfg.summary.enable_update() {
                    fields.remove("summary");
                }
                let key = e["key"].as_str().unwrap_or("");
                (reqwest::Method::PUT, format!("issue/{key}"))
            }
        };
        let issue = json!({ "fields": fields });
        self.call(method, join(&self.api, &path), Some(&issue), now)
            .await?;
        let Some(e) = existing else {
            return Ok(Value::Null);
        };
        let key = e["key"].as_str().unwrap_or("");
        let Some(status) = e["fields"]["status"]["statusCategory"]["key"].as_str() else {
            return Ok(Value::Null);
        };
        let done = status == "done";
        let transition = match (firing, done) {
            (true, true) => &self.cfg.reopen_transition,
            (false, false) => &self.cfg.resolve_transition,
            _ => return Ok(Value::Null),
        };
        if key.is_empty() || transition.is_empty() {
            return Ok(Value::Null);
        }
        self.transition(key, transition, now).await
    }
}

impl Integrate for Jira {
    fn render(&self, cx: &Render<'_>) -> Result<Value, TemplateError> {
        let c = &self.cfg;
        let t = |s: &str| cx.text(s);
        let label = format!("ALERT{{{}}}", cx.key_hash());
        let project = t(&c.project)?;
        let summary = cx.runes(
            "summary",
            t(&tmpl_or(&c.summary.template(), "jira.default.summary"))?,
            MAX_SUMMARY_RUNES,
        );
        let description = cx.runes(
            "description",
            t(&tmpl_or(
                &c.description.template(),
                "jira.default.description",
            ))?,
            MAX_DESCRIPTION_RUNES,
        );
        if self.api.path().trim_end_matches('/').ends_with("/3")
            && serde_json::from_str::<Value>(&description).is_err()
        {
            return Err(TemplateError(
                "description template: invalid JSON for API v3".into(),
            ));
        }
        let mut labels = c
            .labels
            .iter()
            .map(|l| t(l))
            .collect::<Result<Vec<_>, _>>()?;
        labels.push(label.clone());
        labels.sort();
        let mut fields = Map::new();
        fields.insert("summary".into(), summary.into());
        fields.insert("description".into(), description.into());
        fields.insert("issuetype".into(), json!({"name": t(&c.issue_type)?}));
        fields.insert("labels".into(), json!(labels));
        fields.insert("project".into(), json!({"key": project}));
        let priority = t(&tmpl_or(&c.priority, "jira.default.priority"))?;
        if !priority.is_empty() {
            fields.insert("priority".into(), json!({"name": priority}));
        }
        for (k, v) in &c.fields {
            fields.insert(k.clone(), deep_template(cx, v)?);
        }
        Ok(json!({
            "firing": cx.firing(),
            "project": project,
            "label": label,
            "fields": fields,
        }))
    }

    fn deliver<'a>(&'a self, payload: &'a Value, now: DateTime<Utc>) -> BoxFuture<'a, Delivery> {
        Box::pin(async move {
            match self.deliver_issue(payload, now).await {
                Ok(_) => Delivery::ok(),
                Err(d) => d,
            }
        })
    }
}
