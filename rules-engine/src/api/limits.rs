//! Every limit answers in JSON. axum's extractors refuse a body over their
//! limit (2 MiB) with a plain-text 413; this layer, on the whole router,
//! rewrites such plain-text 413/414/431 answers into the API's error shape:
//! Prometheus's `{"status":"error","errorType":"bad_data","error":...}`,
//! or, under Alertmanager's `/api/v2/`, a JSON string as Alertmanager
//! answers errors. The status code is kept.

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// The body limit of axum's extractors (`DefaultBodyLimit`), named in the
/// error.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

fn is_limit(s: StatusCode) -> bool {
    matches!(
        s,
        StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::URI_TOO_LONG
            | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    )
}

/// What the client is told for each limit.
fn message(s: StatusCode) -> String {
    match s {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body too large: the limit is {BODY_LIMIT} bytes")
        }
        StatusCode::URI_TOO_LONG => {
            "request URI too long: send the parameters in a POST body".into()
        }
        _ => "request header fields too large".into(),
    }
}

/// The middleware (see the module documentation).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let alertmanager = req.uri().path().starts_with("/api/v2/");
    let res = next.run(req).await;
    let status = res.status();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_limit(status) || json {
        return res;
    }
    let msg = message(status);
    let mut out = if alertmanager {
        axum::Json(serde_json::Value::String(msg)).into_response()
    } else {
        ApiError::bad_data(msg).into_response()
    };
    *out.status_mut() = status;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn call(path: &str, body: Vec<u8>) -> (StatusCode, String) {
        let app = Router::new()
            .route(
                "/api/v1/query",
                post(|b: String| async move { b.len().to_string() }),
            )
            .route(
                "/api/v2/alerts",
                post(|b: String| async move { b.len().to_string() }),
            )
            .layer(axum::middleware::from_fn(json_errors));
        let res = app
            .oneshot(
                Request::post(path)
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = res.status();
        let b = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&b).into_owned())
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_a_json_413() {
        let big = vec![b'a'; BODY_LIMIT + 1];
        let (s, body) = call("/api/v1/query", big.clone()).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "error");
        assert_eq!(v["errorType"], "bad_data");
        assert!(
            v["error"].as_str().unwrap().contains("2097152 bytes"),
            "{body}"
        );
        let (s, body) = call("/api/v2/alerts", big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(serde_json::from_str::<String>(&body).is_ok(), "{body}");
        // under the limit: untouched
        assert_eq!(
            call("/api/v1/query", vec![b'a'; 10]).await,
            (StatusCode::OK, "10".into())
        );
    }
}
