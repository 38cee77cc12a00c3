//! hyper answers a request line longer than 64 KiB (414) or headers over
//! its buffer (431) itself, before any router sees the request, with an
//! empty body. The APIs promise a JSON error for every limit, so every
//! connection is wrapped, plain TCP ([`JsonLimitsListener`]) and TLS alike
//! ([`JsonLimitsAcceptor`], around the TLS stream, where hyper's plain
//! text is written): when hyper writes one of those two bodiless answers,
//! the answer goes out with Prometheus's JSON error instead (same status,
//! same headers, `content-type` and length added). Nothing else written on
//! the connection is touched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What hyper writes for the limits it enforces itself.
const LIMITS: [(&[u8], &str); 2] = [
    (
        b"HTTP/1.1 414 ",
        "request URI too long: the limit is 65534 bytes; send the parameters in a POST body",
    ),
    (b"HTTP/1.1 431 ", "request header fields too large"),
];

/// The JSON answer replacing hyper's bodiless `head` (which ends with
/// `\r\n\r\n`), or `None` when `head` is something else.
pub fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    let (_, message) = LIMITS.iter().find(|(p, _)| head.starts_with(p))?;
    let text = std::str::from_utf8(head).ok()?;
    let text = text.strip_suffix("\r\n\r\n")?;
    if !text
        .lines()
        .any(|l| l.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let body =
        format!("{{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"{message}\"}}");
    let mut out = String::new();
    for l in text.lines() {
        if l.eq_ignore_ascii_case("content-length: 0") {
            out.push_str("content-type: application/json\r\n");
            out.push_str(&format!("content-length: {}\r\n", body.len()));
        } else {
            out.push_str(l);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(&body);
    Some(out.into_bytes())
}

/// Whether `buf` starts with the status line of a limit answer.
fn is_limit_answer(buf: &[u8]) -> bool {
    LIMITS.iter().any(|(p, _)| buf.starts_with(p))
}

/// A TCP listener whose connections get [`rewrite`].
pub struct JsonLimitsListener(pub TcpListener);

impl axum::serve::Listener for JsonLimitsListener {
    type Io = JsonLimitsStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (JsonLimitsStream::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// The TLS server's acceptor with its streams wrapped in
/// [`JsonLimitsStream`]: `A` (rustls) does the handshake, the wrapper
/// sees the plain text hyper writes.
#[derive(Clone)]
pub struct JsonLimitsAcceptor<A>(pub A);

/// An accepted connection and its service, once `A`'s work is done.
type Accepted<A, I, S> = io::Result<(
    JsonLimitsStream<<A as Accept<I, S>>::Stream>,
    <A as Accept<I, S>>::Service,
)>;

impl<A, I, S> Accept<I, S> for JsonLimitsAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
{
    type Stream = JsonLimitsStream<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = Accepted<A, I, S>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let handshake = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = handshake.await?;
            Ok((JsonLimitsStream::new(stream), service))
        })
    }
}

/// A connection whose limit answers are rewritten.
pub struct JsonLimitsStream<S = TcpStream> {
    inner: S,
    /// Rewritten bytes not yet written (before anything else is).
    pending: Vec<u8>,
}

impl<S> JsonLimitsStream<S> {
    fn new(inner: S) -> Self {
        JsonLimitsStream {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<S: AsyncWrite + Unpin> JsonLimitsStream<S> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonLimitsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonLimitsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        // hyper writes such an answer's head in one piece. The status line
        // is checked first, so other writes (whole response bodies) are
        // not searched.
        if is_limit_answer(buf)
            && let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
            && let Some(out) = rewrite(&buf[..end + 4])
        {
            self.pending = out;
            // Claimed as written; it goes out before anything else.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(end + 4));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    /// Vectored writes stay vectored (hyper then writes a response head
    /// and body without copying them together); a limit answer's head is
    /// the first slice.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(first) = bufs.iter().find(|b| !b.is_empty())
            && is_limit_answer(first)
        {
            return self.poll_write(cx, first);
        }
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bodiless_limit_answers_are_rewritten() {
        let head = b"HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite(head).unwrap()).unwrap();
        let (h, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(h.starts_with(
            "HTTP/1.1 414 URI Too Long\r\nconnection: close\r\ncontent-type: application/json\r\n"
        ));
        assert!(h.contains(&format!("content-length: {}", body.len())));
        assert!(h.ends_with("date: x"));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["errorType"], "bad_data");
        assert!(rewrite(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(rewrite(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 5\r\n\r\n").is_none());
    }
}
