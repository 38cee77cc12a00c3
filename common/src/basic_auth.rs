//! HTTP basic auth against bcrypt hashes (exporter-toolkit's
//! `basic_auth_users`).
//!
//! bcrypt is slow on purpose (tens of milliseconds per check at cost 10), and
//! Prometheus sends the same credentials on every scrape, so successful
//! checks are remembered by a keyed hash of user and password (never the
//! password itself), as exporter-toolkit does. An unknown user is checked
//! against a fixed hash so that it takes as long as a wrong password.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::Secret;

/// Cached successes are dropped wholesale past this many entries, so a
/// client cycling through passwords cannot grow memory.
const CACHE_LIMIT: usize = 1024;

#[derive(Clone)]
pub struct BasicAuth {
    inner: Arc<Inner>,
}

struct Inner {
    users: HashMap<String, Secret>,
    hasher: RandomState,
    ok: Mutex<HashSet<u64>>,
    /// A hash to check unknown users against.
    decoy: String,
}

impl BasicAuth {
    /// Checks that every hash is a bcrypt hash.
    pub fn new(users: &BTreeMap<String, Secret>) -> Result<BasicAuth, String> {
        let mut cost = u32::MAX;
        for (user, hash) in users {
            let parts: bcrypt::HashParts = hash
                .expose()
                .parse()
                .map_err(|_| format!("user {user:?}: the password is not a bcrypt hash"))?;
            cost = cost.min(parts.get_cost());
        }
        // The decoy costs what the cheapest real hash costs.
        let decoy = bcrypt::hash("decoy", cost.clamp(4, 31)).map_err(|e| e.to_string())?;
        Ok(BasicAuth {
            inner: Arc::new(Inner {
                users: users.clone().into_iter().collect(),
                hasher: RandomState::new(),
                ok: Mutex::new(HashSet::new()),
                decoy,
            }),
        })
    }

    /// Whether an `Authorization` header value carries valid credentials.
    pub fn check(&self, authorization: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let key = self.inner.hasher.hash_one((&user, &password));
        if self.inner.ok.lock().expect("auth cache").contains(&key) {
            return true;
        }
        let valid = match self.inner.users.get(&user) {
            Some(hash) => bcrypt::verify(&password, hash.expose()).unwrap_or(false),
            None => {
                let _ = bcrypt::verify(&password, &self.inner.decoy);
                false
            }
        };
        if valid {
            let mut ok = self.inner.ok.lock().expect("auth cache");
            if ok.len() >= CACHE_LIMIT {
                ok.clear();
            }
            ok.insert(key);
        }
        valid
    }
}

fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// axum middleware: 401 with a `WWW-Authenticate` challenge unless the
/// request carries valid credentials. bcrypt runs on the blocking pool.
pub async fn require(State(auth): State<BasicAuth>, request: Request, next: Next) -> Response {
    let header = request.headers().get(header::AUTHORIZATION).cloned();
    let ok = tokio::task::spawn_blocking(move || auth.check(header.as_ref()))
        .await
        .unwrap_or(false);
    if ok {
        next.run(request).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"vigil\"")],
            "Unauthorized\n",
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, pw: &str) -> HeaderValue {
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        HeaderValue::from_str(&format!("Basic {enc}")).unwrap()
    }

    #[test]
    fn accepts_only_the_right_password() {
        let hash = bcrypt::hash("right", 4).unwrap();
        let users = BTreeMap::from([("alice".to_string(), Secret::new(hash))]);
        let auth = BasicAuth::new(&users).unwrap();
        assert!(auth.check(Some(&header("alice", "right"))));
        assert!(auth.check(Some(&header("alice", "right"))), "cached");
        assert!(!auth.check(Some(&header("alice", "wrong"))));
        assert!(!auth.check(Some(&header("bob", "right"))));
        assert!(!auth.check(None));
        assert!(!auth.check(Some(&HeaderValue::from_static("Bearer x"))));
    }

    #[test]
    fn refuses_plain_text_passwords() {
        let users = BTreeMap::from([("alice".to_string(), Secret::new("plain"))]);
        let err = BasicAuth::new(&users).err().unwrap();
        assert!(err.contains("not a bcrypt hash") && !err.contains("plain"));
    }
}
