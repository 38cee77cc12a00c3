//! SNS with `sigv4.profile` and `sigv4.role_arn`: the profile's keys come
//! from the shared credentials file, sign an STS `AssumeRole` call (sent
//! to `AWS_ENDPOINT_URL_STS`, a local stand-in), and the role's temporary
//! keys sign the `Publish` calls; the role is assumed once for several
//! messages. One test in this binary: it sets the process environment.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use chrono::Utc;
use vigil::model::Labels;
use vigil::notify::Alert;
use vigil::notify::integration::{Notice, build_receiver};
use vigil::notify::route::parse_str;
use vigil::notify::template::Templates;

/// Path, `Authorization`, `X-Amz-Security-Token`, body.
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

const TEMP_SECRET: &str = "tempsecretfromsts9e1";

async fn handle(
    State(seen): State<Seen>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let body = String::from_utf8_lossy(&body).to_string();
    seen.lock().unwrap().push((
        uri.path().to_string(),
        h("authorization"),
        h("x-amz-security-token"),
        body.clone(),
    ));
    let xml = if body.contains("Action=AssumeRole") {
        let expires = (Utc::now() + chrono::Duration::minutes(15)).to_rfc3339();
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIATEMPKEY</AccessKeyId><SecretAccessKey>{TEMP_SECRET}</SecretAccessKey><SessionToken>temp/session+token</SessionToken><Expiration>{expires}</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
        )
    } else {
        "<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult></PublishResponse>".to_string()
    };
    ([("content-type", "text/xml")], xml)
}

fn form(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn role_and_profile_keys_sign_the_messages() {
    vigil_common::install_crypto_provider();
    let seen: Seen = Arc::default();
    let app = Router::new().fallback(handle).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        "[ops]\naws_access_key_id = OPSKEY\naws_secret_access_key = opssecret\n",
    )
    .unwrap();
    // SAFETY: the only test of this binary; nothing else reads the
    // environment concurrently.
    unsafe {
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", &creds);
        std::env::set_var("AWS_ENDPOINT_URL_STS", format!("{base}/sts"));
        std::env::remove_var("AWS_ACCESS_KEY_ID");
        std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    }
    let config = format!(
        "route: {{receiver: r}}
receivers:
  - name: r
    sns_configs:
      - api_url: {base}/role
        topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts
        sigv4: {{region: eu-west-1, profile: ops, role_arn: 'arn:aws:iam::123456789012:role/alerts'}}
      - api_url: {base}/profile
        topic_arn: arn:aws:sns:eu-west-1:123456789012:alerts
        sigv4: {{region: eu-west-1, profile: ops}}
"
    );
    let loaded = parse_str("am.yml", &config, &|_| None).unwrap();
    let built = build_receiver(
        &loaded.config.receivers[0],
        &loaded.config.global,
        dir.path(),
    )
    .unwrap();
    let alerts = vec![Alert {
        labels: Labels::from_pairs([("alertname", "Disk")]),
        annotations: Labels::default(),
        starts_at: Utc::now(),
        ends_at: None,
        generator_url: String::new(),
    }];
    let group = Labels::from_pairs([("alertname", "Disk")]);
    let notice = Notice {
        group_key: "{}:{alertname=\"Disk\"}",
        group_labels: &group,
        alerts: &alerts,
        external_url: "http://vigil.example",
        now: Utc::now(),
    };
    let templates = Templates::defaults();
    for _ in 0..2 {
        for i in &built {
            let r = i.render(&templates, &notice).unwrap();
            let d = i.deliver(&r.payload, Utc::now()).await;
            assert_eq!(
                d.decision,
                vigil::notify::Decision::Delivered,
                "{}",
                d.detail
            );
        }
    }
    let seen = seen.lock().unwrap().clone();
    let paths: Vec<&str> = seen.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        paths,
        ["/sts", "/role", "/profile", "/role", "/profile"],
        "the role is assumed once"
    );
    let (_, auth, token, body) = &seen[0];
    assert!(
        auth.contains("Credential=OPSKEY/") && auth.contains("/eu-west-1/sts/aws4_request"),
        "{auth}"
    );
    assert_eq!(token, "");
    let f = form(body);
    for want in [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::123456789012:role/alerts"),
        ("DurationSeconds", "900"),
        ("Version", "2011-06-15"),
    ] {
        assert!(
            f.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?} in {f:?}"
        );
    }
    for (path, auth, token, body) in &seen[1..] {
        if path == "/role" {
            assert!(auth.contains("Credential=ASIATEMPKEY/"), "{auth}");
            assert!(auth.contains("/eu-west-1/sns/aws4_request"), "{auth}");
            assert_eq!(token, "temp/session+token");
        } else {
            assert!(auth.contains("Credential=OPSKEY/"), "{auth}");
            assert_eq!(token, "");
        }
        assert!(!body.contains(TEMP_SECRET) && !auth.contains(TEMP_SECRET));
        assert!(body.contains("Action=Publish"), "{body}");
    }
}
