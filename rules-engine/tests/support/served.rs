//! A vigil serving inside the test's process: [`Loaded::serve`] on
//! 127.0.0.1:0 until [`Served::stop`], and the HTTP reads tests make of it.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::oneshot;
use vigil::clock::SystemClock;
use vigil::config::Config;
use vigil::server::{LoadError, Loaded, Options, load};

/// `vigil run`'s defaults for the config file at `path`, on the wall clock.
pub fn options(path: &Path) -> Options {
    Options::new(Some(path.to_path_buf()), Arc::new(SystemClock))
}

/// A vigil loaded from the config file at `path`, on the wall clock.
pub async fn vigil_from(path: &Path) -> Loaded {
    vigil_with(path, options(path)).await
}

/// A vigil loaded from the config file at `path` with `options`.
pub async fn vigil_with(path: &Path, options: Options) -> Loaded {
    try_vigil_with(path, options)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What loading the config file at `path` with `options` gives.
pub async fn try_vigil_with(path: &Path, options: Options) -> Result<Loaded, LoadError> {
    load(Config::load(path).unwrap(), options).await
}

pub struct Served {
    /// `http://127.0.0.1:PORT` (`https` when `web` has TLS).
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    pub async fn start(vigil: Loaded) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let scheme = if vigil.options().web.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            vigil
                .serve(listener, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Served {
            base,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// `GET path`, as JSON.
    pub async fn get(&self, path: &str) -> Value {
        let text = self.text(path).await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }

    /// `GET path`, as text.
    pub async fn text(&self, path: &str) -> String {
        super::http()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The whole answer of `/api/v1/query` for `expr` (evaluated now).
    pub async fn query(&self, expr: &str) -> Value {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("query", expr)
            .finish();
        self.get(&format!("/api/v1/query?{q}")).await
    }

    /// Stops serving and waits until `serve` returned.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.handle.take().unwrap().await.unwrap();
    }
}
