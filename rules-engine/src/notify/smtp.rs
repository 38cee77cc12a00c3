//! SMTP for the email integration: one message per group notification,
//! built with lettre: a templated subject and headers, a plain-text and an HTML part (multipart
//! alternative when both are given), and an SMTP transport whose TLS mode
//! is explicit rather than guessed from the port.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Executor, Message, Tokio1Executor};

use vigil_common::Secret;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (a local relay on loopback only).
    None,
    /// STARTTLS when the server offers it, plain otherwise
    /// (Alertmanager's `require_tls: false`).
    StartTlsOpportunistic,
    /// STARTTLS or fail (Alertmanager's default, `require_tls: true`).
    StartTlsRequired,
    /// TLS from the first byte (port 465, "SMTPS").
    Implicit,
}

impl TlsMode {
    /// Alertmanager's rule: port 465 is implicit TLS; otherwise
    /// `require_tls` decides between required and opportunistic STARTTLS.
    pub fn from_alertmanager(port: u16, require_tls: bool) -> TlsMode {
        match (port, require_tls) {
            (465, _) => TlsMode::Implicit,
            (_, true) => TlsMode::StartTlsRequired,
            (_, false) => TlsMode::StartTlsOpportunistic,
        }
    }
}

/// What one message says; every field already rendered from templates.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailContent {
    pub from: String,
    /// Comma-separated, as in Alertmanager's `to`.
    pub to: String,
    pub subject: String,
    /// Other headers (Subject, To and From are taken from the fields).
    pub headers: Vec<(String, String)>,
    pub text: Option<String>,
    pub html: Option<String>,
}

/// Why an email could not be built or sent. Never holds the password.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// A bad address or header: retrying cannot help.
    #[error("email: {0}")]
    Invalid(String),
    /// The SMTP exchange failed; `retryable` is false for permanent (5xx)
    /// rejections, true for transient ones and connection failures.
    #[error("smtp: {message}")]
    Smtp { message: String, retryable: bool },
}

impl EmailError {
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            EmailError::Smtp {
                retryable: true,
                ..
            }
        )
    }
}

/// Builds the MIME message.
pub fn build_message(c: &EmailContent) -> Result<Message, EmailError> {
    let bad = |e: &dyn std::fmt::Display| EmailError::Invalid(e.to_string());
    let from: Mailbox = c.from.parse().map_err(|e| bad(&e))?;
    let mut b = Message::builder().from(from).subject(c.subject.clone());
    for to in c.to.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        b = b.to(to.parse().map_err(|e| bad(&e))?);
    }
    for (name, value) in &c.headers {
        let lower = name.to_ascii_lowercase();
        if ["subject", "to", "from"].contains(&lower.as_str()) {
            continue;
        }
        let hname = HeaderName::new_from_ascii(name.clone()).map_err(|e| bad(&e))?;
        b = b.raw_header(HeaderValue::new(hname, value.clone()));
    }
    let text = c.text.clone().map(|t| {
        SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(t)
    });
    let html = c
        .html
        .clone()
        .map(|h| SinglePart::builder().header(ContentType::TEXT_HTML).body(h));
    let msg = match (text, html) {
        (Some(t), Some(h)) => b.multipart(MultiPart::alternative().singlepart(t).singlepart(h)),
        (Some(t), None) => b.singlepart(t),
        (None, Some(h)) => b.singlepart(h),
        (None, None) => b.body(String::new()),
    };
    msg.map_err(|e| bad(&e))
}

/// An SMTP server and how to reach it.
#[derive(Debug, Clone)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// The EHLO name.
    pub hello: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// PEM roots to trust in addition to none (tests, private CAs).
    pub root_pem: Option<Vec<u8>>,
    /// The rest of the entry's `tls_config`.
    pub tls_options: SmtpTls,
}

/// An email entry's `tls_config` beyond its CA: the name the server's
/// certificate is checked against (the smarthost's host by default),
/// whether to check it at all, the lowest version, a client certificate.
#[derive(Debug, Clone, Default)]
pub struct SmtpTls {
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
    /// `TLS12` or `TLS13` (lower ones allow 1.2).
    pub min_version: Option<String>,
    /// The client certificate and key, PEM.
    pub identity: Option<(Vec<u8>, Secret)>,
}

/// Bounds one SMTP exchange so a stuck server frees the worker.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends one message, authenticating when a user and password are given.
///
/// The mechanism is the first of PLAIN and LOGIN that the server offers;
/// as in Alertmanager there is no setting for it (lettre has no CRAM-MD5,
/// so `auth_secret` is not used), and as in Alertmanager a server that
/// offers neither is sent to without authenticating (a server that needs
/// it then refuses the mail). A rejected login is a 5xx reply (535)
/// and so permanent: the notification fails at once, logged and counted,
/// instead of being retried until it expires. Alertmanager 0.25 retries
/// it until the flush times out and tries again at the next flush; here
/// the next group notification (its `repeat_interval`) tries again.
pub async fn send(target: &SmtpTarget, msg: Message) -> Result<(), EmailError> {
    vigil_common::install_crypto_provider();
    let smtp_err = |e: lettre::transport::smtp::Error| EmailError::Smtp {
        retryable: !e.is_permanent(),
        message: e.to_string(),
    };
    let o = &target.tls_options;
    let name = o.server_name.clone().filter(|n| !n.is_empty());
    let mut params = TlsParameters::builder(name.unwrap_or_else(|| target.host.clone()))
        .dangerous_accept_invalid_certs(o.insecure_skip_verify)
        .dangerous_accept_invalid_hostnames(o.insecure_skip_verify);
    if let Some(pem) = &target.root_pem {
        let cert = lettre::transport::smtp::client::Certificate::from_pem(pem).map_err(smtp_err)?;
        params = params.add_root_certificate(cert);
    }
    if o.min_version.as_deref() == Some("TLS13") {
        params = params.set_min_tls_version(lettre::transport::smtp::client::TlsVersion::Tlsv13);
    }
    if let Some((cert, key)) = &o.identity {
        let id = lettre::transport::smtp::client::Identity::from_pem(cert, key.expose().as_bytes())
            .map_err(smtp_err)?;
        params = params.identify_with(id);
    }
    let tls = match target.tls {
        TlsMode::None => Tls::None,
        TlsMode::StartTlsOpportunistic => Tls::Opportunistic(params.build().map_err(smtp_err)?),
        TlsMode::StartTlsRequired => Tls::Required(params.build().map_err(smtp_err)?),
        TlsMode::Implicit => Tls::Wrapper(params.build().map_err(smtp_err)?),
    };
    let hello = ClientId::Domain(target.hello.clone());
    // The connection as lettre's transport makes it (TLS by `tls`), so
    // that what the server offers decides whether to authenticate.
    let mut conn =
        Tokio1Executor::connect(&target.host, target.port, Some(SMTP_TIMEOUT), &hello, &tls)
            .await
            .map_err(smtp_err)?;
    let result = async {
        if let (Some(user), Some(pw)) = (&target.username, &target.password) {
            let mechanisms = [Mechanism::Plain, Mechanism::Login];
            let offered = conn.server_info().get_auth_mechanism(&mechanisms).is_some();
            if offered {
                let credentials = Credentials::new(user.clone(), pw.expose().to_string());
                conn.auth(&mechanisms, &credentials).await?;
            }
        }
        conn.send(msg.envelope(), &msg.formatted()).await
    }
    .await;
    match result {
        Ok(_) => {
            let _ = conn.quit().await;
            Ok(())
        }
        Err(e) => {
            conn.abort().await;
            Err(smtp_err(e))
        }
    }
}
