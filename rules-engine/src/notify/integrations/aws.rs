//! Where SNS's signing keys come from, as Alertmanager's SNS notifier gets
//! them through the AWS SDK for Go (v1): `sigv4.access_key`/`secret_key`;
//! else, with `sigv4.profile`, that profile of the shared credentials file;
//! else the `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`(/`AWS_SESSION_TOKEN`)
//! environment; else the `AWS_PROFILE` (or `default`) profile. With
//! `sigv4.role_arn`, those keys only sign an STS `AssumeRole` call whose
//! temporary keys (15 minutes, as the SDK asks) sign the messages; they
//! are cached until a minute before they expire.
//!
//! The STS endpoint is the SDK's: `https://sts.amazonaws.com` (signed for
//! `us-east-1`), the region's with `AWS_STS_REGIONAL_ENDPOINTS=regional`,
//! or `AWS_ENDPOINT_URL_STS`. Not supported: instance or container
//! roles, web identity, `source_profile` chains in `~/.aws/config`.
//! Key material never appears in an error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::notify::http::{HttpClient, HttpConfigError, HttpRequest};
use vigil_common::Secret;

/// One set of keys.
#[derive(Clone)]
pub struct Keys {
    pub access_key: String,
    pub secret_key: Secret,
    pub session_token: Option<Secret>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// The environment and files the keys are looked up in (the process's
/// by default; tests give their own).
pub struct Lookup<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Lookup<'_> {
    /// A variable, when set and not empty.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    fn home_file(&self, env_name: &str, default: &str) -> Option<PathBuf> {
        self.var(env_name)
            .map(PathBuf::from)
            .or_else(|| self.var("HOME").map(|h| PathBuf::from(h).join(default)))
    }
}

/// The process's environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Why no base keys were found; names files and profiles, never a key.
#[derive(Debug, thiserror::Error)]
pub enum AwsKeysError {
    #[error("no shared credentials file (neither AWS_SHARED_CREDENTIALS_FILE nor HOME)")]
    NoCredentialsFile,
    #[error("shared credentials file {}: {source}", .path.display())]
    ReadCredentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("profile {profile:?} not found in the shared credentials file {}", .path.display())]
    NoProfile { profile: String, path: PathBuf },
    #[error(
        "profile {profile:?} in {} has no aws_access_key_id and aws_secret_access_key",
        .path.display()
    )]
    NoProfileKeys { profile: String, path: PathBuf },
    /// Nothing configured and nothing in the environment: why the
    /// default profile did not do either.
    #[error("no sigv4 access_key/secret_key, no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, and {0}")]
    Nothing(#[source] Box<AwsKeysError>),
}

/// The base keys (before any role), found as the SDK finds them.
pub fn base_keys(
    access_key: Option<&str>,
    secret_key: Option<&Secret>,
    profile: Option<&str>,
    l: &Lookup<'_>,
) -> Result<Keys, AwsKeysError> {
    if let (Some(a), Some(s)) = (access_key, secret_key)
        && !a.is_empty()
        && !s.expose().is_empty()
    {
        return Ok(Keys {
            access_key: a.to_string(),
            secret_key: s.clone(),
            session_token: None,
        });
    }
    if let Some(p) = profile.filter(|p| !p.is_empty()) {
        return profile_keys(p, l);
    }
    if let (Some(a), Some(s)) = (l.var("AWS_ACCESS_KEY_ID"), l.var("AWS_SECRET_ACCESS_KEY")) {
        return Ok(Keys {
            access_key: a,
            secret_key: Secret::new(s),
            session_token: l.var("AWS_SESSION_TOKEN").map(Secret::new),
        });
    }
    let p = l.var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    profile_keys(&p, l).map_err(|e| AwsKeysError::Nothing(Box::new(e)))
}

/// A profile's keys from the shared credentials file.
fn profile_keys(profile: &str, l: &Lookup<'_>) -> Result<Keys, AwsKeysError> {
    let path = l
        .home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
        .ok_or(AwsKeysError::NoCredentialsFile)?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(source) => return Err(AwsKeysError::ReadCredentials { path, source }),
    };
    let Some(section) = ini_section(&text, profile) else {
        return Err(AwsKeysError::NoProfile {
            profile: profile.to_string(),
            path,
        });
    };
    let get = |k: &str| section.get(k).filter(|v| !v.is_empty()).cloned();
    match (get("aws_access_key_id"), get("aws_secret_access_key")) {
        (Some(a), Some(s)) => Ok(Keys {
            access_key: a,
            secret_key: Secret::new(s),
            session_token: get("aws_session_token").map(Secret::new),
        }),
        _ => Err(AwsKeysError::NoProfileKeys {
            profile: profile.to_string(),
            path,
        }),
    }
}

/// The region of a profile in the shared config file (`[profile p]`, or
/// `[default]`), when the SDK would read it.
pub fn profile_region(profile: Option<&str>, l: &Lookup<'_>) -> Option<String> {
    let path = l.home_file("AWS_CONFIG_FILE", ".aws/config")?;
    let text = std::fs::read_to_string(path).ok()?;
    let name = profile
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .or_else(|| l.var("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let section = if name == "default" {
        ini_section(&text, "default")
    } else {
        ini_section(&text, &format!("profile {name}")).or_else(|| ini_section(&text, &name))
    }?;
    section.get("region").filter(|r| !r.is_empty()).cloned()
}

/// The keys of `[name]` in an INI text (`key = value`, `#`/`;` comments).
fn ini_section(text: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let mut current: Option<String> = None;
    let mut found: Option<BTreeMap<String, String>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(h.trim().to_string());
            if h.trim() == name {
                found.get_or_insert_with(BTreeMap::new);
            }
            continue;
        }
        if current.as_deref() == Some(name)
            && let (Some(map), Some((k, v))) = (found.as_mut(), line.split_once('='))
        {
            map.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    found
}

/// The keys that sign messages: fixed, or a role's, renewed.
pub enum Signer {
    Fixed(Keys),
    Role(Box<AssumeRole>),
}

/// `sigv4.role_arn`: STS `AssumeRole` with the base keys.
pub struct AssumeRole {
    pub base: Keys,
    pub role_arn: String,
    /// The STS endpoint and the region it is signed for.
    pub endpoint: String,
    pub region: String,
    pub client: HttpClient,
    cached: Mutex<Option<(Keys, SystemTime)>>,
}

/// Temporary keys are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The duration asked for (the SDK's `stscreds.DefaultDuration`).
const ROLE_SECONDS: u32 = 900;

impl AssumeRole {
    pub fn new(
        base: Keys,
        role_arn: &str,
        region: &str,
        l: &Lookup<'_>,
    ) -> Result<Self, HttpConfigError> {
        let (endpoint, signing_region) = match l.var("AWS_ENDPOINT_URL_STS") {
            Some(e) => (e, region.to_string()),
            None if l.var("AWS_STS_REGIONAL_ENDPOINTS").as_deref() == Some("regional") => (
                format!("https://sts.{region}.amazonaws.com"),
                region.to_string(),
            ),
            None => (
                "https://sts.amazonaws.com".to_string(),
                "us-east-1".to_string(),
            ),
        };
        let client = HttpClient::build(&Default::default())?;
        Ok(AssumeRole {
            base,
            role_arn: role_arn.to_string(),
            endpoint,
            region: signing_region,
            client,
            cached: Mutex::new(None),
        })
    }

    /// The role's keys, from the cache while they last.
    pub async fn keys(&self, now: DateTime<Utc>) -> Result<Keys, String> {
        let mut cached = self.cached.lock().await;
        let now_sys = SystemTime::from(now);
        if let Some((k, expires)) = cached.as_ref()
            && now_sys + RENEW_BEFORE < *expires
        {
            return Ok(k.clone());
        }
        let (keys, expires) = self.assume(now).await?;
        *cached = Some((keys.clone(), expires));
        Ok(keys)
    }

    async fn assume(&self, now: DateTime<Utc>) -> Result<(Keys, SystemTime), String> {
        let session = now.timestamp_nanos_opt().unwrap_or_default().to_string();
        let duration = ROLE_SECONDS.to_string();
        let params = [
            ("Action", "AssumeRole"),
            ("DurationSeconds", duration.as_str()),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", session.as_str()),
            ("Version", "2011-06-15"),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
            .into_bytes();
        let mut url = url::Url::parse(&self.endpoint)
            .map_err(|e| format!("sts endpoint {:?}: {e}", self.endpoint))?;
        if url.path().is_empty() {
            url.set_path("/");
        }
        let req = signed_form_post(&url, body, &self.base, &self.region, "sts", now)?;
        let answer = self
            .client
            .send(&req, now)
            .await
            .map_err(|e| format!("sts AssumeRole: {e}"))?;
        if !(200..300).contains(&answer.status) {
            let code = xml_text(&answer.body, "Code").unwrap_or_default();
            return Err(format!("sts AssumeRole: answered {} {code}", answer.status));
        }
        let field = |tag: &str| {
            xml_text(&answer.body, tag)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("sts AssumeRole: no {tag} in the answer"))
        };
        let keys = Keys {
            access_key: field("AccessKeyId")?,
            secret_key: Secret::new(field("SecretAccessKey")?),
            session_token: Some(Secret::new(field("SessionToken")?)),
        };
        let expires = DateTime::parse_from_rfc3339(&field("Expiration")?)
            .map_err(|_| "sts AssumeRole: Expiration is not a time".to_string())?;
        Ok((keys, SystemTime::from(expires)))
    }
}

/// The text of the first `<tag>` element, entities decoded.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(
        xml[start..end]
            .trim()
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// A form POST to `url`, signed with SigV4 for `service` in `region`.
pub fn signed_form_post(
    url: &url::Url,
    body: Vec<u8>,
    keys: &Keys,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
) -> Result<HttpRequest, String> {
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let identity = Credentials::new(
        &keys.access_key,
        keys.secret_key.expose(),
        keys.session_token.as_ref().map(|t| t.expose().to_string()),
        None,
        "vigil",
    )
    .into();
    let signing = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::from(now))
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("sigv4: {e}"))?
        .into();
    let url_text = url.to_string();
    let signable = SignableRequest::new(
        "POST",
        &url_text,
        [("content-type", content_type)].into_iter(),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| format!("sigv4: {e}"))?;
    let (instructions, _) = sign(signable, &signing)
        .map_err(|e| format!("sigv4: {e}"))?
        .into_parts();
    let mut headers = vec![("Content-Type", Secret::new(content_type))];
    for (name, value) in instructions.headers() {
        let name: &'static str = match name.to_ascii_lowercase().as_str() {
            "authorization" => "Authorization",
            "x-amz-date" => "X-Amz-Date",
            "x-amz-security-token" => "X-Amz-Security-Token",
            _ => continue,
        };
        headers.push((name, Secret::new(value)));
    }
    Ok(HttpRequest {
        method: reqwest::Method::POST,
        url: Secret::new(url_text),
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    }

    #[test]
    fn keys_are_found_in_the_sdks_order() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = DEF\naws_secret_access_key = defsecret\n\n[ops]\n# comment\naws_access_key_id=OPS\naws_secret_access_key=opssecret\naws_session_token=opstoken\n",
        )
        .unwrap();
        let file = creds.display().to_string();
        let env = lookup(&[
            ("AWS_SHARED_CREDENTIALS_FILE", file.clone()),
            ("AWS_ACCESS_KEY_ID", "ENV".into()),
            ("AWS_SECRET_ACCESS_KEY", "envsecret".into()),
        ]);
        let l = Lookup { env: &env };
        let s = Secret::new("inline");
        assert_eq!(
            base_keys(Some("A"), Some(&s), Some("ops"), &l)
                .unwrap()
                .access_key,
            "A"
        );
        let ops = base_keys(None, None, Some("ops"), &l).unwrap();
        assert_eq!(ops.access_key, "OPS");
        assert_eq!(ops.session_token.unwrap().expose(), "opstoken");
        assert_eq!(base_keys(None, None, None, &l).unwrap().access_key, "ENV");
        let env = lookup(&[("AWS_SHARED_CREDENTIALS_FILE", file)]);
        let l = Lookup { env: &env };
        assert_eq!(base_keys(None, None, None, &l).unwrap().access_key, "DEF");
        let e = base_keys(None, None, Some("nope"), &l)
            .unwrap_err()
            .to_string();
        assert!(e.contains("profile \"nope\" not found"), "{e}");
        assert!(!e.contains("defsecret") && !e.contains("opssecret"));
    }

    #[test]
    fn profile_region_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(
            &cfg,
            "[default]\nregion = us-east-2\n[profile ops]\nregion = eu-west-3\n",
        )
        .unwrap();
        let env = lookup(&[("AWS_CONFIG_FILE", cfg.display().to_string())]);
        let l = Lookup { env: &env };
        assert_eq!(
            profile_region(Some("ops"), &l).as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(profile_region(None, &l).as_deref(), Some("us-east-2"));
        assert_eq!(profile_region(Some("other"), &l), None);
    }

    #[test]
    fn xml_fields() {
        let xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>a&amp;b</SecretAccessKey></Credentials></AssumeRoleResult></AssumeRoleResponse>";
        assert_eq!(xml_text(xml, "AccessKeyId").as_deref(), Some("ASIA1"));
        assert_eq!(xml_text(xml, "SecretAccessKey").as_deref(), Some("a&b"));
        assert_eq!(xml_text(xml, "SessionToken"), None);
    }
}
