//! The HTTP/1.1 server: binding, accepting, limits, routing.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use gousse_router::{Status, TransitLimits};
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Mutex, Semaphore};
use tokio::task::JoinSet;

use crate::hosts::{self, Hosts, HostsAdd, HostsSearch};
use crate::ConsoleError;

/// Where the console reads the router's state: called once per request, so it must be
/// cheap (a snapshot), and may be called from any thread.
pub type StatusSource = Arc<dyn Fn() -> Status + Send + Sync>;

/// The future a [`TransitControl`] returns: completes once the router took the limits.
pub type ControlFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// How the console changes the router's transit limits (`POST /api/transit`): called
/// with the complete, merged limits; the router applies them at once.
pub type TransitControl = Arc<dyn Fn(TransitLimits) -> ControlFuture + Send + Sync>;

/// Largest request body `POST /api/transit` accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024;
/// Highest `max_tunnels` `POST /api/transit` accepts.
pub const MAX_TRANSIT_TUNNELS: u64 = 10_000;
/// Highest `share_kbps` `POST /api/transit` accepts: 1 GiB/s, in KiB/s.
pub const MAX_SHARE_KBPS: u64 = 1024 * 1024;

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
    control: Option<TransitControl>,
    hosts: Option<Hosts>,
}

/// What every connection of one console shares.
struct Shared {
    source: StatusSource,
    control: Option<TransitControl>,
    /// The address book hooks, if any.
    hosts: Option<Hosts>,
    /// The limits this console last applied. The router's status catches up with a
    /// change only after a moment, so a second change merges over these rather than
    /// over a stale status. Held across the control call: changes are applied in turn.
    applied: Mutex<Option<TransitLimits>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("local_addr", &self.local_addr)
            .field("transit_control", &self.control.is_some())
            .field("hosts", &self.hosts.is_some())
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
            control: None,
            hosts: None,
        })
    }

    /// Lets `POST /api/transit` change the router's transit limits through `control`.
    /// Without it, that endpoint answers 503.
    pub fn with_transit_control(mut self, control: TransitControl) -> Self {
        self.control = Some(control);
        self
    }

    /// Serves the address book through `search` and `add`: the `/hosts` page (linked
    /// from the status page) and `/api/hosts`. Without it, those answer 404.
    pub fn with_hosts(mut self, search: HostsSearch, add: HostsAdd) -> Self {
        self.hosts = Some(Hosts { search, add });
        self
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
            control,
            hosts,
        } = self;
        let shared = Arc::new(Shared {
            source,
            control,
            hosts,
            applied: Mutex::new(None),
        });
        tracing::info!(target: "gousse::console", "console listening on http://{local_addr}/");

        let mut http = hyper::server::conn::http1::Builder::new();
        // A client that half-closes after its request (`nc -N`, our tests) still gets
        // the answer of a handler that waits, e.g. for an address book hook.
        http.timer(TokioTimer::new())
            .half_close(true)
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
            let shared = Arc::clone(&shared);
            let mut stop_rx = stop_rx.clone();
            connections.spawn(async move {
                let _permit = permit;
                let service = hyper::service::service_fn(move |req| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, Infallible>(respond(req, &shared).await) }
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

/// Answers one request. Only `POST /api/transit` reads a body, bounded by
/// [`MAX_BODY_BYTES`], and `POST /hosts` and `POST /api/hosts`, bounded by
/// [`hosts::MAX_HOSTS_BODY_BYTES`].
async fn respond(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    if !host_is_local(&req) {
        return plain(
            StatusCode::MISDIRECTED_REQUEST,
            "421 the console answers only to an IP address or localhost\n",
        );
    }
    match req.uri().path() {
        "/api/transit" => {
            if req.method() != Method::POST {
                let mut resp = json_error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return resp;
            }
            post_transit(req, shared).await
        }
        path @ ("/" | "/api/status") => {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return resp;
            }
            get(
                path == "/api/status",
                &(shared.source)(),
                shared.hosts.is_some(),
            )
        }
        path @ ("/hosts" | "/api/hosts") => {
            let api = path == "/api/hosts";
            let Some(book) = &shared.hosts else {
                return hosts::unavailable(api);
            };
            match (req.method(), api) {
                (&Method::GET | &Method::HEAD, false) => hosts::get_page(&req, book).await,
                (&Method::GET | &Method::HEAD, true) => hosts::get_api(&req, book).await,
                (&Method::POST, false) => hosts::post_form(req, book).await,
                (&Method::POST, true) => hosts::post_api(req, book).await,
                _ => {
                    let mut resp =
                        plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
                    resp.headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
                    resp
                }
            }
        }
        _ => plain(StatusCode::NOT_FOUND, "404 not found\n"),
    }
}

/// `GET /api/status` (when `json`) or `GET /` (linking the address book if `hosts`).
fn get(json: bool, status: &Status, hosts: bool) -> Response<Full<Bytes>> {
    if json {
        match serde_json::to_vec(status) {
            Ok(json) => with_type(StatusCode::OK, json, "application/json"),
            Err(err) => {
                tracing::warn!(target: "gousse::console", "cannot encode status: {err}");
                plain(StatusCode::INTERNAL_SERVER_ERROR, "500 internal error\n")
            }
        }
    } else {
        let mut resp = with_type(
            StatusCode::OK,
            crate::page::render_status_page(status, hosts).into_bytes(),
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

/// `POST /api/transit`: checks the request, merges the change over the limits in force,
/// applies them through the control callback and answers them.
async fn post_transit(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let Some(control) = &shared.control else {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this console cannot change transit limits",
        );
    };
    let body = match read_json_post(req, MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(resp) => return resp,
    };
    let change = match TransitChange::parse(&body) {
        Ok(change) => change,
        Err(err) => return json_error(err.status(), &err.to_string()),
    };

    let mut applied = shared.applied.lock().await;
    let base = applied.unwrap_or_else(|| (shared.source)().transit_limits);
    let limits = change.apply(base);
    control(limits).await;
    *applied = Some(limits);
    drop(applied);
    tracing::info!(target: "gousse::console",
        accept = limits.accept, max_tunnels = limits.max_tunnels,
        share_bytes_per_s = limits.share_bytes_per_s, "transit limits changed");
    with_type(
        StatusCode::OK,
        limits_json(&limits).to_string().into_bytes(),
        "application/json",
    )
}

/// Why a request body was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than allowed, as declared or as sent.
    TooLarge,
    /// The connection failed or the body was malformed.
    Unreadable,
}

/// Reads a request body of at most `max` bytes; a larger `Content-Length` is refused
/// before reading anything.
/// The body of a JSON API `POST`, after the guards every such endpoint keeps: a
/// same-origin request, `Content-Type: application/json`, at most `max` bytes. The
/// error is the answer to give.
pub(crate) async fn read_json_post(
    req: Request<Incoming>,
    max: usize,
) -> Result<Bytes, Response<Full<Bytes>>> {
    if !origin_is_local(&req) {
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "cross-origin requests are refused",
        ));
    }
    if !has_media_type(&req, "application/json") {
        return Err(json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ));
    }
    match read_body(req, max).await {
        Ok(body) => Ok(body),
        Err(BodyError::TooLarge) => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body must be at most {max} bytes"),
        )),
        Err(BodyError::Unreadable) => {
            Err(json_error(StatusCode::BAD_REQUEST, "cannot read the body"))
        }
    }
}

pub(crate) async fn read_body(req: Request<Incoming>, max: usize) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    match Limited::new(req.into_body(), max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Unreadable),
    }
}

/// The limits as `POST /api/transit` answers them.
pub(crate) fn limits_json(limits: &TransitLimits) -> serde_json::Value {
    serde_json::json!({
        "accept": limits.accept,
        "max_tunnels": limits.max_tunnels,
        "share_kbps": limits.share_bytes_per_s / 1024,
    })
}

/// A change of transit limits as `POST /api/transit` carries it: absent fields keep
/// their value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TransitChange {
    accept: Option<bool>,
    max_tunnels: Option<usize>,
    share_kbps: Option<u64>,
}

/// Why a `POST /api/transit` body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ChangeError {
    /// Not JSON, not an object, an unknown key or a value of the wrong type: 400.
    #[error("{0}")]
    Malformed(String),
    /// A number out of range: 422.
    #[error("{0}")]
    OutOfRange(String),
}

impl ChangeError {
    fn status(&self) -> StatusCode {
        match self {
            ChangeError::Malformed(_) => StatusCode::BAD_REQUEST,
            ChangeError::OutOfRange(_) => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl TransitChange {
    /// Parses a body: a JSON object with any of `accept` (bool), `max_tunnels`
    /// (0..=[`MAX_TRANSIT_TUNNELS`]) and `share_kbps` (0..=[`MAX_SHARE_KBPS`]).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ChangeError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|err| ChangeError::Malformed(format!("invalid JSON: {err}")))?;
        let serde_json::Value::Object(fields) = value else {
            return Err(ChangeError::Malformed(
                "expected a JSON object such as {\"accept\": true}".to_owned(),
            ));
        };
        let mut change = TransitChange::default();
        for (key, value) in &fields {
            match key.as_str() {
                "accept" => {
                    change.accept = Some(value.as_bool().ok_or_else(|| {
                        ChangeError::Malformed("`accept` must be true or false".to_owned())
                    })?);
                }
                "max_tunnels" => {
                    let n = bounded(key, value, MAX_TRANSIT_TUNNELS)?;
                    // n <= 10000 always fits.
                    change.max_tunnels =
                        Some(usize::try_from(n).map_err(|_| {
                            ChangeError::OutOfRange(format!("`{key}` is too large"))
                        })?);
                }
                "share_kbps" => change.share_kbps = Some(bounded(key, value, MAX_SHARE_KBPS)?),
                other => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(ChangeError::Malformed(format!(
                        "unknown field {shown:?}; expected accept, max_tunnels or share_kbps"
                    )));
                }
            }
        }
        Ok(change)
    }

    /// The limits after this change.
    pub(crate) fn apply(self, base: TransitLimits) -> TransitLimits {
        TransitLimits {
            accept: self.accept.unwrap_or(base.accept),
            max_tunnels: self.max_tunnels.unwrap_or(base.max_tunnels),
            share_bytes_per_s: self
                .share_kbps
                .map_or(base.share_bytes_per_s, |kbps| kbps.saturating_mul(1024)),
        }
    }
}

/// A whole number in `0..=max`.
fn bounded(key: &str, value: &serde_json::Value, max: u64) -> Result<u64, ChangeError> {
    if let Some(n) = value.as_u64() {
        return if n <= max {
            Ok(n)
        } else {
            Err(ChangeError::OutOfRange(format!(
                "`{key}` must be at most {max}, got {n}"
            )))
        };
    }
    if value.is_number() {
        // Negative, fractional or beyond u64.
        return Err(ChangeError::OutOfRange(format!(
            "`{key}` must be a whole number from 0 to {max}"
        )));
    }
    Err(ChangeError::Malformed(format!("`{key}` must be a number")))
}

/// The body is declared as `media` (parameters allowed). For `application/json`:
/// browsers send cross-site form posts only as form or text types, and a cross-site
/// JSON post needs a CORS preflight the console never grants.
pub(crate) fn has_media_type(req: &Request<Incoming>, media: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
}

/// CSRF guard for form posts, which a browser sends cross-site without asking: the
/// request must name the console's own origin, in `Origin` or (if a browser sends no
/// `Origin`) in `Referer`, matching the `Host` it was sent to. A request with neither,
/// or with `Origin: null`, is refused: a program posting the form must send `Origin`.
pub(crate) fn same_origin(req: &Request<Incoming>) -> bool {
    let header_text = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let Some(host) = header_text(header::HOST) else {
        return false;
    };
    let url = match req.headers().get(header::ORIGIN) {
        Some(origin) => origin.to_str().ok(),
        None => header_text(header::REFERER),
    };
    url.is_some_and(|url| url_matches_host(url, host))
}

/// Whether `url` (an `Origin` or `Referer` value) is on `http://<host>`, the default
/// port and letter case aside. The console speaks plain HTTP only.
pub(crate) fn url_matches_host(url: &str, host: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || host.is_empty() {
        return false;
    }
    let normal = |authority: &str| {
        let lower = authority.to_ascii_lowercase();
        match lower.strip_suffix(":80") {
            Some(bare) => bare.to_owned(),
            None => lower,
        }
    };
    normal(authority) == normal(host)
}

/// A browser names the page that sent a request in `Origin`; a change must come from
/// the console's own origin (an IP literal or localhost) or from a non-browser client
/// (no `Origin`).
pub(crate) fn origin_is_local(req: &Request<Incoming>) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    origin
        .to_str()
        .ok()
        .and_then(|o| {
            o.strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"))
        })
        .is_some_and(host_name_is_local)
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

pub(crate) fn json_error(code: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": message }).to_string();
    with_type(code, body.into_bytes(), "application/json")
}

fn plain(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    with_type(code, text.as_bytes().to_vec(), "text/plain; charset=utf-8")
}

pub(crate) fn with_type(
    code: StatusCode,
    body: Vec<u8>,
    content_type: &'static str,
) -> Response<Full<Bytes>> {
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
    fn form_origin_must_match_host() {
        for (url, host) in [
            ("http://127.0.0.1:7070", "127.0.0.1:7070"),
            ("http://127.0.0.1:7070/hosts?q=x", "127.0.0.1:7070"),
            ("http://LOCALHOST:7070", "localhost:7070"),
            ("http://localhost", "localhost:80"),
            ("http://localhost:80/", "localhost"),
            ("http://[::1]:7070", "[::1]:7070"),
        ] {
            assert!(url_matches_host(url, host), "{url} vs {host}");
        }
        for (url, host) in [
            ("http://evil.example", "127.0.0.1:7070"),
            ("http://127.0.0.1:8080", "127.0.0.1:7070"),
            ("http://127.0.0.1", "127.0.0.1:7070"),
            ("http://localhost:7070", "127.0.0.1:7070"),
            ("null", "127.0.0.1:7070"),
            ("", "127.0.0.1:7070"),
            ("ftp://127.0.0.1:7070", "127.0.0.1:7070"),
            ("http://127.0.0.1:7070@evil.example", "127.0.0.1:7070"),
            ("http://", ""),
            ("http://127.0.0.1:7070.evil.example", "127.0.0.1:7070"),
            ("https://localhost", "localhost"),
            ("https://localhost", "localhost:443"),
        ] {
            assert!(!url_matches_host(url, host), "{url} vs {host}");
        }
    }

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

    fn base() -> TransitLimits {
        TransitLimits {
            accept: true,
            max_tunnels: 500,
            share_bytes_per_s: 256 * 1024,
        }
    }

    #[test]
    fn change_keeps_absent_fields() {
        let change = TransitChange::parse(br#"{"accept": false}"#).unwrap();
        assert_eq!(
            change.apply(base()),
            TransitLimits {
                accept: false,
                ..base()
            }
        );
        let change = TransitChange::parse(br#"{"max_tunnels": 20, "share_kbps": 64}"#).unwrap();
        assert_eq!(
            change.apply(base()),
            TransitLimits {
                accept: true,
                max_tunnels: 20,
                share_bytes_per_s: 64 * 1024,
            }
        );
        assert_eq!(TransitChange::parse(b"{}").unwrap().apply(base()), base());
        // The limits themselves are accepted.
        let change =
            TransitChange::parse(br#"{"max_tunnels": 10000, "share_kbps": 1048576}"#).unwrap();
        let limits = change.apply(base());
        assert_eq!(limits.max_tunnels, 10_000);
        assert_eq!(limits.share_bytes_per_s, 1 << 30);
    }

    #[test]
    fn bad_changes_are_refused() {
        for body in [
            &b""[..],
            b"not json",
            b"{\"accept\": true",
            b"[1, 2]",
            b"null",
            br#"{"accept": "yes"}"#,
            br#"{"accept": null}"#,
            br#"{"max_tunnels": "5"}"#,
            br#"{"share_kbps": true}"#,
            br#"{"acept": true}"#,
        ] {
            let err = TransitChange::parse(body).unwrap_err();
            assert!(
                matches!(err, ChangeError::Malformed(_)),
                "{body:?}: {err:?}"
            );
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
        for body in [
            &br#"{"max_tunnels": 10001}"#[..],
            br#"{"max_tunnels": -1}"#,
            br#"{"max_tunnels": 2.5}"#,
            br#"{"share_kbps": 1048577}"#,
            br#"{"share_kbps": 1e30}"#,
            br#"{"share_kbps": 18446744073709551616}"#,
        ] {
            let err = TransitChange::parse(body).unwrap_err();
            assert!(
                matches!(err, ChangeError::OutOfRange(_)),
                "{body:?}: {err:?}"
            );
            assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        let msg = TransitChange::parse(br#"{"max_tunnels": 20000}"#)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("at most 10000"), "{msg}");
    }

    #[test]
    fn answer_is_in_kbps() {
        let json = limits_json(&base());
        assert_eq!(
            json,
            serde_json::json!({"accept": true, "max_tunnels": 500, "share_kbps": 256})
        );
    }
}
