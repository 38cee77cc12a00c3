//! Serving a router on a listener the caller bound, with the web config's
//! TLS, basic auth and headers, until `shutdown` resolves. The caller binds
//! (tests bind port 0) and decides when to stop (a signal, a test's channel).

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware;
use axum::response::Response;

use crate::web::WebConfig;

/// How long in-flight requests may finish after `shutdown`.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn serve(
    router: Router,
    listener: tokio::net::TcpListener,
    web: &WebConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = with_web_config(router, web);
    match &web.tls {
        None => {
            // hyper's own 414/431 answers get a JSON body (json_limits).
            let listener = crate::json_limits::JsonLimitsListener(listener);
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(tls) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopper.graceful_shutdown(Some(DRAIN));
            });
            let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.clone());
            // hyper's own 414/431 answers get a JSON body here too.
            axum_server::from_tcp_rustls(listener.into_std()?, config)?
                .map(crate::json_limits::JsonLimitsAcceptor)
                .handle(handle)
                .serve(router.into_make_service())
                .await
        }
    }
}

/// Adds basic auth and the configured response headers to every route.
pub fn with_web_config(router: Router, web: &WebConfig) -> Router {
    let mut router = router;
    if let Some(auth) = &web.auth {
        router = router.layer(middleware::from_fn_with_state(
            auth.clone(),
            crate::basic_auth::require,
        ));
    }
    let headers: Vec<(HeaderName, HeaderValue)> = web
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v.parse().ok()?)))
        .collect();
    if !headers.is_empty() {
        router = router.layer(middleware::map_response(move |mut res: Response| {
            let headers = headers.clone();
            async move {
                for (k, v) in headers {
                    res.headers_mut().insert(k, v);
                }
                res
            }
        }));
    }
    router
}
