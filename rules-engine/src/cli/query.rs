//! `vigil query EXPR`: asks a running server's `/api/v1/query` and prints
//! one line per series, as `promtool query instant` does:
//! `up{job="x"} => 1 @[1700000000]`.

use anyhow::{Context, anyhow, bail};
use serde_json::Value as Json;

use super::QueryArgs;

pub async fn run(args: &QueryArgs) -> anyhow::Result<String> {
    vigil_common::install_crypto_provider();
    let url = format!("{}/api/v1/query", args.server.trim_end_matches('/'));
    let mut form = vec![("query", args.expr.clone())];
    if let Some(t) = &args.time {
        form.push(("time", t.clone()));
    }
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&form)
        .finish();
    let resp = reqwest::Client::new()
        .post(&url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let body: Json = resp
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON"))?;
    if body["status"] != "success" {
        bail!(
            "{}: {}",
            body["errorType"].as_str().unwrap_or("error"),
            body["error"].as_str().unwrap_or("unknown error")
        );
    }
    if args.json {
        return Ok(serde_json::to_string_pretty(&body)?);
    }
    let mut out = render(&body["data"])?;
    for w in body["warnings"].as_array().into_iter().flatten() {
        out.push_str(&format!("warning: {}\n", w.as_str().unwrap_or_default()));
    }
    Ok(out)
}

/// The text form of a query result.
pub fn render(data: &Json) -> anyhow::Result<String> {
    let result = &data["result"];
    let mut out = String::new();
    match data["resultType"].as_str() {
        Some("vector") => {
            for s in result.as_array().into_iter().flatten() {
                let p = &s["value"];
                out.push_str(&format!(
                    "{} => {} @[{}]\n",
                    metric(&s["metric"]),
                    p[1].as_str().unwrap_or(""),
                    p[0]
                ));
            }
        }
        Some("matrix") => {
            for s in result.as_array().into_iter().flatten() {
                let points: Vec<String> = s["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| format!("{} @[{}]", p[1].as_str().unwrap_or(""), p[0]))
                    .collect();
                out.push_str(&format!(
                    "{} =>\n{}\n",
                    metric(&s["metric"]),
                    points.join("\n")
                ));
            }
        }
        Some("scalar") | Some("string") => {
            out.push_str(&format!(
                "{} @[{}]\n",
                result[1].as_str().unwrap_or(""),
                result[0]
            ));
        }
        other => return Err(anyhow!("unexpected result type {other:?}")),
    }
    Ok(out)
}

/// `name{a="1", b="2"}` from a JSON label object.
fn metric(m: &Json) -> String {
    let Some(obj) = m.as_object() else {
        return "{}".into();
    };
    let name = obj.get("__name__").and_then(Json::as_str).unwrap_or("");
    let labels: Vec<String> = obj
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or("")))
        .collect();
    format!("{name}{{{}}}", labels.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_vectors_like_promtool() {
        let data: Json = serde_json::from_str(
            r#"{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"a"},"value":[1700000000,"1"]}]}"#,
        )
        .unwrap();
        assert_eq!(render(&data).unwrap(), "up{job=\"a\"} => 1 @[1700000000]\n");
        let data: Json =
            serde_json::from_str(r#"{"resultType":"scalar","result":[1.5,"2"]}"#).unwrap();
        assert_eq!(render(&data).unwrap(), "2 @[1.5]\n");
    }
}
