//! The HTTP/1.1 server: binding, accepting, limits, routing.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gousse_router::Status;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::ConsoleError;

/// Where the console reads the router's state: called once per request, so it must be
/// cheap (a snapshot), and may be called from any thread.
pub type StatusSource = Arc<dyn Fn() -> Status + Send + Sync>;

/// Largest request head (request line plus headers) the console reads, in bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most header fields in one request.
pub const MAX_HEADERS: usize = 64;
/// Time a client has to send a complete request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection is served, keep-alive included; then it is closed.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Most connections served at once.
pub const MAX_CONNECTIONS: usize = 32;
/// Seconds between refreshes of the HTML page.
pub(crate) const REFRESH_SECONDS: u32 = 5;
/// After shutdown is asked, how long open connections may take to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A console bound to its address, not yet serving.
///
/// Binding and serving are apart so that a caller can bind port 0 and learn the port.
pub struct Console {
    listener: TcpListener,
    local_addr: SocketAddr,
    source: StatusSource,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Console {
    /// Binds the listening socket.
    pub async fn bind(addr: SocketAddr, source: StatusSource) -> Result<Self, ConsoleError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ConsoleError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| ConsoleError::Bind { addr, source })?;
        Ok(Self {
            listener,
            local_addr,
            source,
        })
    }

    /// The address actually bound (the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then stops accepting, lets open connections
    /// finish their current request (for a short grace period) and returns.
    ///
    /// Failed `accept` calls are logged and retried: nothing a client does ends the
    /// server.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ConsoleError> {
        let Console {
            listener,
            local_addr,
            source,
        } = self;
        tracing::info!(target: "gousse::console", "console listening on http://{local_addr}/");

        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_buf_size(MAX_HEADER_BYTES)
            .max_header_size(MAX_HEADER_BYTES)
            .max_headers(MAX_HEADERS);
        let http = Arc::new(http);

        let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut connections = JoinSet::new();
        tokio::pin!(shutdown);

        loop {
            // Reap finished connection tasks so the set does not grow.
            while connections.try_join_next().is_some() {}

            let permit = tokio::select! {
                () = &mut shutdown => break,
                permit = Arc::clone(&slots).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_closed) => break, // never closed; stop rather than spin
                },
            };
            let (stream, peer) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(err) => {
                        tracing::warn!(target: "gousse::console", "accept failed: {err}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
            };

            let http = Arc::clone(&http);
            let source = Arc::clone(&source);
            let mut stop_rx = stop_rx.clone();
            connections.spawn(async move {
                let _permit = permit;
                let service = hyper::service::service_fn(move |req| {
                    let source = Arc::clone(&source);
                    async move { Ok::<_, Infallible>(respond(&req, &source)) }
                });
                let conn = http.serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                let lifetime = tokio::time::sleep(CONNECTION_LIFETIME);
                tokio::pin!(lifetime);
                let result = tokio::select! {
                    result = conn.as_mut() => result,
                    _ = stop_rx.changed() => {
                        conn.as_mut().graceful_shutdown();
                        tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await.unwrap_or(Ok(()))
                    }
                    () = &mut lifetime => {
                        conn.as_mut().graceful_shutdown();
                        tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await.unwrap_or(Ok(()))
                    }
                };
                if let Err(err) = result {
                    tracing::debug!(target: "gousse::console", "connection from {peer}: {err}");
                }
            });
        }

        drop(listener);
        let _ = stop_tx.send(true);
        // Each task ends within SHUTDOWN_GRACE of the signal; this bound is a backstop.
        let drained = tokio::time::timeout(SHUTDOWN_GRACE * 2, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            connections.abort_all();
        }
        tracing::info!(target: "gousse::console", "console stopped");
        Ok(())
    }
}

/// Binds `addr` and serves the console until `shutdown` completes.
pub async fn serve(
    addr: SocketAddr,
    source: StatusSource,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConsoleError> {
    Console::bind(addr, source).await?.run(shutdown).await
}

/// Answers one request. Never reads the request body.
fn respond(req: &Request<Incoming>, source: &StatusSource) -> Response<Full<Bytes>> {
    if !host_is_local(req) {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "421 the console answers only to an IP address or localhost\n",
        );
    }
    let path = req.uri().path();
    let known = matches!(path, "/" | "/api/status");
    if !known {
        return plain(StatusCode::NOT_FOUND, "404 not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let status = source();
    if path == "/api/status" {
        match serde_json::to_vec(&status) {
            Ok(json) => with_type(StatusCode::OK, json, "application/json"),
            Err(err) => {
                tracing::warn!(target: "gousse::console", "cannot encode status: {err}");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "500 internal error\n")
            }
        }
    } else {
        let mut resp = with_type(
            StatusCode::OK,
            crate::render_page(&status).into_bytes(),
            "text/html; charset=utf-8",
        );
        resp.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            ),
        );
        resp
    }
}

/// DNS-rebinding defence: a browser that was sent here by a foreign name carries that
/// name in `Host`. Requests without `Host` (HTTP/1.0 tools) are served.
fn host_is_local(req: &Request<Incoming>) -> bool {
    let Some(host) = req.headers().get(header::HOST) else {
        return true;
    };
    let Ok(host) = host.to_str() else {
        return false;
    };
    host_name_is_local(host)
}

/// Whether a `Host` header value names an IP literal or `localhost` (with or without a
/// port).
pub(crate) fn host_name_is_local(host: &str) -> bool {
    // Bracketed IPv6 literal, optional port.
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((ip, tail)) => {
                ip.parse::<std::net::Ipv6Addr>().is_ok() && (tail.is_empty() || is_port(tail))
            }
            None => false,
        };
    }
    let name = match host.rsplit_once(':') {
        Some((name, port)) if is_port(&format!(":{port}")) => name,
        Some(_) => return false,
        None => host,
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

fn is_port(tail: &str) -> bool {
    tail.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

fn plain(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    with_type(code, text.as_bytes().to_vec(), "text/plain; charset=utf-8")
}

fn with_type(code: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = code;
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn local_hosts_accepted() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:7070",
            "localhost",
            "LOCALHOST:7070",
            "[::1]",
            "[::1]:7070",
            "192.0.2.7:80",
        ] {
            assert!(host_name_is_local(host), "{host}");
        }
    }

    #[test]
    fn foreign_hosts_refused() {
        for host in [
            "evil.example",
            "evil.example:7070",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[::1",
            "[::1]x",
            "[::1]:99999",
            "127.0.0.1:",
            "127.0.0.1:abc",
            "",
        ] {
            assert!(!host_name_is_local(host), "{host}");
        }
    }
}
