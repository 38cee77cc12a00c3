//! Rules over a remote Prometheus-compatible query API: [`RemoteQuery`]
//! is a [`RuleQuery`] that posts each rule's expression to
//! `/api/v1/query` at the evaluation time. A failure of any kind (refused,
//! timed out, an error answer, a body that is not a vector) is a
//! [`QueryFailed`]: the rule is unhealthy for that evaluation and its
//! alerts stay as they were. Errors never carry the URL or credentials.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use promql_parser::parser::Expr;
use serde_json::Value;

use super::query::{QueryFailed, RuleQuery, RuleSample};
use crate::model::Labels;
use crate::rules::datasource::DataSourceConfig;

/// The API client; cheap to clone.
#[derive(Clone)]
pub struct RemoteQuery {
    client: reqwest::Client,
    endpoint: String,
    auth: Option<String>,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
}

/// Why the data source's client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DataSourceError {
    #[error("datasource: cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("datasource: {0}")]
    Client(#[source] reqwest::Error),
    #[error("datasource: no async runtime")]
    NoRuntime,
    #[error("datasource: needs a multi-threaded runtime")]
    SingleThreaded,
}

impl RemoteQuery {
    /// Builds the client (reading credential files now) on the current
    /// runtime, which must be multi-threaded: rule evaluation is
    /// synchronous and waits for the answer off the async workers.
    pub fn new(cfg: &DataSourceConfig) -> Result<RemoteQuery, DataSourceError> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|source| DataSourceError::Read {
                    path: p.to_path_buf(),
                    source,
                })
        };
        let auth = if let Some(b) = &cfg.basic_auth {
            let password = match (&b.password, &b.password_file) {
                (Some(p), _) => p.expose().to_string(),
                (None, Some(f)) => read(f)?,
                (None, None) => String::new(),
            };
            Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{password}", b.username))
            ))
        } else if let Some(t) = &cfg.bearer_token {
            Some(format!("Bearer {}", t.expose()))
        } else if let Some(f) = &cfg.bearer_token_file {
            Some(format!("Bearer {}", read(f)?))
        } else {
            None
        };
        vigil_common::install_crypto_provider();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout.as_duration())
            .build()
            .map_err(|e| DataSourceError::Client(e.without_url()))?;
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| DataSourceError::NoRuntime)?;
        if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
            return Err(DataSourceError::SingleThreaded);
        }
        Ok(RemoteQuery {
            client,
            endpoint: format!("{}/api/v1/query", cfg.url.trim_end_matches('/')),
            auth,
            timeout: cfg.timeout.as_duration(),
            runtime,
        })
    }

    async fn fetch(&self, query: String, t_ms: i64) -> Result<Vec<RuleSample>, QueryFailed> {
        let time = format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000));
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", &query)
            .append_pair("time", &time)
            .append_pair("timeout", &format!("{}s", self.timeout.as_secs_f64()))
            .finish();
        let mut req = self
            .client
            .post(&self.endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        if let Some(a) = &self.auth {
            req = req.header(reqwest::header::AUTHORIZATION, a);
        }
        let fail =
            |what: &str, e: reqwest::Error| QueryFailed(format!("{what}: {}", e.without_url()));
        let resp = req
            .send()
            .await
            .map_err(|e| fail("data source query failed", e))?;
        let status = resp.status();
        let json: Value = resp.json().await.map_err(|e| {
            QueryFailed(format!(
                "data source answered {status} without a query result: {}",
                e.without_url()
            ))
        })?;
        parse_answer(&json)
    }
}

impl RuleQuery for RemoteQuery {
    fn instant(&self, expr: &Expr, t_ms: i64) -> Result<Vec<RuleSample>, QueryFailed> {
        // Called on a blocking-pool thread (the manager evaluates there), or
        // from async code such as a template's `query` during one.
        let fut = self.fetch(expr.to_string(), t_ms);
        tokio::task::block_in_place(|| self.runtime.block_on(fut))
    }
}

/// A `/api/v1/query` answer as rule samples: a vector, or a scalar as one
/// sample without labels; an error answer is the API's own message.
pub fn parse_answer(json: &Value) -> Result<Vec<RuleSample>, QueryFailed> {
    if json["status"] != "success" {
        return Err(QueryFailed(format!(
            "data source: {}: {}",
            json["errorType"].as_str().unwrap_or("error"),
            json["error"].as_str().unwrap_or("unknown error")
        )));
    }
    let value = |p: &Value| -> Result<f64, QueryFailed> {
        match p[1].as_str() {
            Some("+Inf") => Ok(f64::INFINITY),
            Some("-Inf") => Ok(f64::NEG_INFINITY),
            Some(s) => s
                .parse()
                .map_err(|_| QueryFailed(format!("data source: bad sample value {s:?}"))),
            None => Err(QueryFailed("data source: sample without a value".into())),
        }
    };
    let data = &json["data"];
    match data["resultType"].as_str() {
        Some("vector") => data["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()));
                Ok(RuleSample {
                    labels: Labels::from_pairs(labels),
                    value: value(&s["value"])?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![RuleSample {
            labels: Labels::empty(),
            value: value(&data["result"])?,
        }]),
        other => Err(QueryFailed(format!(
            "rule result is not a vector or scalar: {}",
            other.unwrap_or("nothing")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_samples_or_errors() {
        let v: Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000000,"0"]}]}}"#,
        )
        .unwrap();
        let s = parse_answer(&v).unwrap();
        assert_eq!(
            s[0].labels,
            Labels::from_pairs([("__name__", "up"), ("job", "a")])
        );
        assert_eq!(s[0].value, 0.0);
        let v: Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}"#,
        )
        .unwrap();
        assert_eq!(parse_answer(&v).unwrap()[0].value, f64::INFINITY);
        let v: Value = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
        )
        .unwrap();
        assert_eq!(
            parse_answer(&v).unwrap_err().0,
            "data source: bad_data: parse error"
        );
        let v: Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
        )
        .unwrap();
        assert!(parse_answer(&v).is_err());
    }
}
