//! The HTTP client proxy (i2ptunnel.md, "HTTP" client mode): absolute-form requests
//! and CONNECT to `.i2p` and `.b32.i2p` hosts, address helpers (naming.md, "Jump
//! Services"), an optional outproxy for other hosts, and pages that say what went
//! wrong. One request per connection ("Force connection: close").

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use gousse_addressbook::{b32_name, HostKind, HostName};
use i2p_crypto::hash::sha256;
use i2p_wire::{base64, Destination, Readable};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::backend::{ConnectError, I2pBackend, ResolveError, Target};
use crate::http::{
    extract_address_helper, parse_host_header, parse_request_head, parse_target, percent_encode,
    rewrite_request, AddressHelper, HeadError, RequestHead, RequestTarget, Scheme,
    ADDRESS_HELPER_PARAM, CONFIRM_PARAM, I2P_USER_AGENT, OUTPROXY_USER_AGENT,
};
use crate::pages;
use crate::relay::relay;

/// i2ptunnel.md, "Client Tunnels": "I2P HTTP Proxy - localhost:4444".
pub const DEFAULT_HTTP_PROXY_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4444));

/// Settings of the HTTP proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpProxyConfig {
    /// An HTTP outproxy inside I2P (`host[:port]`, `.i2p` or `.b32.i2p`, port 80 by
    /// default) for hosts outside I2P; `None` refuses them with a page.
    pub outproxy: Option<String>,
    /// Jump services offered on the "not in the address book" page: a name and a URL
    /// prefix to which the host name is appended.
    pub jump_services: Vec<(String, String)>,
    /// Time allowed for the whole request head to arrive (slow-loris bound).
    pub head_timeout: Duration,
    /// Time allowed for the router to open the stream (LeaseSet lookup included).
    pub connect_timeout: Duration,
    /// A relayed connection with no byte either way for this long is closed.
    pub idle_timeout: Duration,
    /// Most client connections at once; more get a "busy" page.
    pub max_connections: usize,
}

impl Default for HttpProxyConfig {
    fn default() -> Self {
        HttpProxyConfig {
            outproxy: None,
            // The b32 forms i2pd also ships, so a fresh address book still works.
            jump_services: vec![
                (
                    "stats.i2p".into(),
                    "http://7tbay5p4kzeekxvyvbf6v7eauazemsnnl2aoyqhg5jzpr5eke7tq.b32.i2p/cgi-bin/jump.cgi?a="
                        .into(),
                ),
                (
                    "reg.i2p".into(),
                    "http://shx5vqsw7usdaunyzr2qmes2fq37oumybpudrd4jjj4e4vk4uusa.b32.i2p/jump/"
                        .into(),
                ),
            ],
            head_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(90),
            idle_timeout: Duration::from_secs(600),
            max_connections: 256,
        }
    }
}

/// The HTTP proxy over an [`I2pBackend`].
pub struct HttpProxy<B> {
    backend: Arc<B>,
    config: HttpProxyConfig,
    /// Keys the address helper confirmation tokens; never leaves the process.
    secret: [u8; 32],
    permits: Arc<Semaphore>,
}

impl<B> std::fmt::Debug for HttpProxy<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProxy")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the proxy answers itself instead of relaying.
type Page = Vec<u8>;

impl<B: I2pBackend> HttpProxy<B> {
    /// A proxy with a fresh confirmation secret.
    pub fn new(backend: Arc<B>, config: HttpProxyConfig) -> Arc<Self> {
        let mut secret = [0u8; 32];
        i2p_crypto::random_bytes(&mut secret);
        let permits = Arc::new(Semaphore::new(config.max_connections));
        Arc::new(HttpProxy {
            backend,
            config,
            secret,
            permits,
        })
    }

    /// Accepts connections on `listener` until the task is dropped, each in its own
    /// task. Accept errors (e.g. out of file descriptors) are logged and retried.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (sock, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("HTTP proxy: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = sock.set_nodelay(true);
            let this = Arc::clone(&self);
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) => {
                    tokio::spawn(async move {
                        this.handle_connection(sock).await;
                        drop(permit);
                    });
                }
                Err(_) => {
                    tracing::debug!("HTTP proxy: busy, refusing {peer}");
                    tokio::spawn(async move {
                        let _ = send_and_close(sock, &pages::busy(), Duration::from_secs(5)).await;
                    });
                }
            }
        }
    }

    /// Serves one client connection: one request, then the connection closes.
    pub async fn handle_connection<S>(&self, mut client: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let (head, rest) = match self.read_head(&mut client).await {
            Ok(Some(x)) => x,
            Ok(None) => return,
            Err(page) => {
                let _ = self.send_page(&mut client, &page).await;
                return;
            }
        };
        match self.route(head, rest).await {
            Route::Page(page) => {
                let _ = self.send_page(&mut client, &page).await;
            }
            Route::Relay {
                stream,
                to_client,
                to_server,
                rewrite_response,
            } => {
                if !to_client.is_empty() && client.write_all(&to_client).await.is_err() {
                    return;
                }
                if let Err(e) = relay(
                    client,
                    stream,
                    &to_server,
                    rewrite_response,
                    self.config.idle_timeout,
                )
                .await
                {
                    tracing::debug!("HTTP proxy: relay ended: {e}");
                }
            }
        }
    }

    async fn send_page<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        client: &mut S,
        page: &[u8],
    ) -> std::io::Result<()> {
        send_and_close(client, page, self.config.head_timeout).await
    }

    /// Reads the request head within `head_timeout`. `Ok(None)`: the client closed
    /// without sending anything.
    async fn read_head<S: AsyncRead + Unpin>(
        &self,
        client: &mut S,
    ) -> Result<Option<(RequestHead, Vec<u8>)>, Page> {
        let deadline = tokio::time::Instant::now() + self.config.head_timeout;
        let mut buf: Vec<u8> = Vec::with_capacity(2048);
        let mut chunk = [0u8; 4096];
        loop {
            let n = match tokio::time::timeout_at(deadline, client.read(&mut chunk)).await {
                Err(_) => return Err(pages::request_timeout()),
                Ok(Err(_)) => return Ok(None),
                Ok(Ok(n)) => n,
            };
            if n == 0 {
                if buf.is_empty() {
                    return Ok(None);
                }
                return Err(pages::bad_request("the connection closed mid-request"));
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
            match parse_request_head(&buf) {
                Ok(Some((head, used))) => return Ok(Some((head, buf.split_off(used)))),
                Ok(None) => {}
                Err(HeadError::TooLarge | HeadError::TooManyHeaders) => {
                    return Err(pages::head_too_large())
                }
                Err(e) => return Err(pages::bad_request(&e.to_string())),
            }
        }
    }

    async fn route(&self, head: RequestHead, rest: Vec<u8>) -> Route<B::Stream> {
        let target = match parse_target(&head.method, &head.target) {
            Ok(t) => t,
            Err(e) => return Route::Page(pages::bad_request(&e.to_string())),
        };
        match target {
            RequestTarget::Authority { host, port } => self.tunnel(host, port, rest).await,
            RequestTarget::Absolute {
                scheme: Scheme::Https,
                ..
            } => Route::Page(pages::bad_request(
                "https:// requests must use CONNECT; check the browser's proxy settings",
            )),
            RequestTarget::Absolute {
                scheme: Scheme::Http,
                host,
                port,
                path_and_query,
            } => self.forward(&head, host, port, path_and_query, rest).await,
            RequestTarget::Origin(path) => match head.header("host").map(parse_host_header) {
                // A browser pointed at the proxy as if it were a web server.
                Some(Ok((host, _))) if HostKind::classify(&host) == HostKind::NotI2p => {
                    Route::Page(pages::bad_request(
                        "this is an HTTP proxy, not a web server",
                    ))
                }
                Some(Ok((host, port))) => self.forward(&head, host, port, path, rest).await,
                _ => Route::Page(pages::bad_request(
                    "no host: send absolute URLs (http://name.i2p/...) to a proxy",
                )),
            },
        }
    }

    /// CONNECT host:port.
    async fn tunnel(&self, host: String, port: u16, rest: Vec<u8>) -> Route<B::Stream> {
        const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
        if HostKind::classify(&host) == HostKind::NotI2p {
            let Some(outproxy) = &self.config.outproxy else {
                return Route::Page(pages::no_outproxy(&host));
            };
            if is_local(&host) {
                return Route::Page(pages::local_address(&host));
            }
            let stream = match self.open_outproxy(outproxy).await {
                Ok(s) => s,
                Err(p) => return Route::Page(p),
            };
            // The outproxy answers the CONNECT itself.
            let mut to_server =
                format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n")
                    .into_bytes();
            to_server.extend_from_slice(&rest);
            return Route::Relay {
                stream,
                to_client: Vec::new(),
                to_server,
                rewrite_response: false,
            };
        }
        let target = match self.target_for(&host, "/").await {
            Ok(t) => t,
            Err(p) => return Route::Page(p),
        };
        match self.open(&target, port, &host).await {
            Ok(stream) => Route::Relay {
                stream,
                to_client: ESTABLISHED.to_vec(),
                to_server: rest,
                rewrite_response: false,
            },
            Err(p) => Route::Page(p),
        }
    }

    /// A plain HTTP request.
    async fn forward(
        &self,
        head: &RequestHead,
        host: String,
        port: Option<u16>,
        path: String,
        rest: Vec<u8>,
    ) -> Route<B::Stream> {
        if let Some(ah) = extract_address_helper(&path) {
            return Route::Page(self.address_helper(&host, port, ah).await);
        }
        let host_header = match port {
            Some(p) if p != 80 => format!("{host}:{p}"),
            _ => host.clone(),
        };
        if HostKind::classify(&host) == HostKind::NotI2p {
            let Some(outproxy) = &self.config.outproxy else {
                return Route::Page(pages::no_outproxy(&host));
            };
            if is_local(&host) {
                return Route::Page(pages::local_address(&host));
            }
            let stream = match self.open_outproxy(outproxy).await {
                Ok(s) => s,
                Err(p) => return Route::Page(p),
            };
            let absolute = format!("http://{host_header}{path}");
            let mut to_server = rewrite_request(head, &absolute, &host_header, OUTPROXY_USER_AGENT);
            to_server.extend_from_slice(&rest);
            return Route::Relay {
                stream,
                to_client: Vec::new(),
                to_server,
                rewrite_response: true,
            };
        }
        let target = match self.target_for(&host, &path).await {
            Ok(t) => t,
            Err(p) => return Route::Page(p),
        };
        let stream = match self.open(&target, port.unwrap_or(80), &host).await {
            Ok(s) => s,
            Err(p) => return Route::Page(p),
        };
        let mut to_server = rewrite_request(head, &path, &host_header, I2P_USER_AGENT);
        to_server.extend_from_slice(&rest);
        Route::Relay {
            stream,
            to_client: Vec::new(),
            to_server,
            rewrite_response: true,
        }
    }

    /// Resolves an I2P host to a target, or the page saying why not.
    async fn target_for(&self, host: &str, path: &str) -> Result<Target, Page> {
        match HostKind::classify(host) {
            HostKind::B32(hash) => Ok(Target::Hash(hash)),
            HostKind::Name(name) => match self.backend.resolve(&name).await {
                Ok(t) => Ok(t),
                Err(ResolveError::NotFound) => {
                    Err(pages::unknown_host(&name, path, &self.config.jump_services))
                }
                Err(e) => Err(pages::resolve_failed(&name, &e.to_string())),
            },
            HostKind::EncryptedB32(a) if a.needs_authorization() => {
                Err(pages::encrypted_b32_needs_auth(host))
            }
            HostKind::EncryptedB32(a) => Ok(Target::Blinded(a)),
            HostKind::BadB32 => Err(pages::bad_b32(host)),
            HostKind::NotI2p => Err(pages::no_outproxy(host)),
        }
    }

    async fn open(&self, target: &Target, port: u16, host: &str) -> Result<B::Stream, Page> {
        let connect = self.backend.connect(target, port);
        match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(Ok(s)) => Ok(s),
            Err(_) => Err(pages::unreachable(host, true)),
            Ok(Err(e)) => Err(match e {
                ConnectError::LeaseSetNotFound => pages::leaseset_not_found(host),
                ConnectError::Unreachable => pages::unreachable(host, false),
                ConnectError::Refused => pages::refused(host),
                other => pages::router_failure(host, &other.to_string()),
            }),
        }
    }

    async fn open_outproxy(&self, outproxy: &str) -> Result<B::Stream, Page> {
        let (host, port) = match parse_host_header(outproxy) {
            Ok((h, p)) if HostKind::classify(&h) != HostKind::NotI2p => (h, p.unwrap_or(80)),
            _ => {
                return Err(pages::router_failure(
                    outproxy,
                    "the outproxy setting is not an I2P host[:port]",
                ))
            }
        };
        let target = self.target_for(&host, "/").await?;
        self.open(&target, port, &host).await
    }

    fn confirm_token(&self, name: &str, destination: &[u8]) -> String {
        let mut input = Vec::with_capacity(32 + name.len() + 1 + destination.len());
        input.extend_from_slice(&self.secret);
        input.extend_from_slice(name.as_bytes());
        input.push(0);
        input.extend_from_slice(destination);
        sha256(&input)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// naming.md, "Jump Services": the helper names the destination of `host`. A name
    /// already stored with that destination redirects at once; otherwise the user is
    /// asked (a confirmation page whose "save" link carries a token only this proxy
    /// can make), and nothing is saved or overwritten without that click.
    async fn address_helper(&self, host: &str, port: Option<u16>, ah: AddressHelper) -> Page {
        let port_part = match port {
            Some(p) if p != 80 => format!(":{p}"),
            _ => String::new(),
        };
        let clean_url = format!("http://{host}{port_part}{}", ah.clean_path);
        let name = match HostKind::classify(host) {
            // A b32 needs no helper: just drop it.
            HostKind::B32(_) => return pages::redirect(&clean_url),
            HostKind::Name(n) => n,
            _ => return pages::bad_address_helper(host, "this is not an I2P host name"),
        };
        let name = match HostName::parse(&name) {
            Ok(n) => n,
            Err(e) => return pages::bad_address_helper(host, &e.to_string()),
        };
        let destination = match base64::decode(&ah.helper) {
            Ok(d) if Destination::from_bytes(&d).is_ok() => d,
            _ => return pages::bad_address_helper(host, "it is not a valid destination"),
        };
        let existing_hash = match self.backend.resolve(name.as_str()).await {
            Ok(Target::Destination(d)) => Some(sha256(&d)),
            Ok(Target::Hash(h)) => Some(h),
            // Names from the address book are never b33 addresses.
            Ok(Target::Blinded(_)) | Err(ResolveError::NotFound) => None,
            Err(e) => return pages::resolve_failed(name.as_str(), &e.to_string()),
        };
        let new_hash = sha256(&destination);
        if existing_hash == Some(new_hash) {
            return pages::redirect(&clean_url);
        }
        let token = self.confirm_token(name.as_str(), &destination);
        if let Some(given) = &ah.confirm {
            if !i2p_crypto::ct_eq(given.as_bytes(), token.as_bytes()) {
                return pages::bad_confirmation(name.as_str());
            }
            return match self.backend.add_host(name.as_str(), &destination).await {
                Ok(()) => {
                    tracing::info!("HTTP proxy: saved {name} from an address helper");
                    pages::redirect(&clean_url)
                }
                Err(e) => pages::save_failed(name.as_str(), &e.to_string()),
            };
        }
        let sep = if ah.clean_path.contains('?') {
            '&'
        } else {
            '?'
        };
        let save_url = format!(
            "{clean_url}{sep}{ADDRESS_HELPER_PARAM}={}&{CONFIRM_PARAM}={token}",
            percent_encode(&ah.helper)
        );
        let new_b32 = b32_name(&destination);
        let b32_url = format!("http://{new_b32}{port_part}{}", ah.clean_path);
        let existing_b32 = existing_hash.map(|h| gousse_addressbook::b32_name_of_hash(&h));
        pages::confirm_address_helper(
            name.as_str(),
            &new_b32,
            existing_b32.as_deref(),
            &save_url,
            &b32_url,
        )
    }
}

/// `localhost`, or a loopback, private, link-local or unspecified IP literal: never
/// sent to an outproxy (it would reach the outproxy's own network, not ours).
fn is_local(host: &str) -> bool {
    use std::net::IpAddr;
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h == "localhost" || h.ends_with(".localhost") {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            a.is_loopback() || a.is_private() || a.is_link_local() || a.is_unspecified()
        }
        Ok(IpAddr::V6(a)) => {
            let seg0 = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || (seg0 & 0xfe00) == 0xfc00 // unique local
                || (seg0 & 0xffc0) == 0xfe80 // link local
                || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
        Err(_) => false,
    }
}

/// Writes `page`, shuts the write side, then reads and drops what the client still
/// sends (at most [`DRAIN_LIMIT`] bytes), so that closing does not reset the
/// connection before the client has read the page. All within `limit`.
async fn send_and_close<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    page: &[u8],
    limit: Duration,
) -> std::io::Result<()> {
    const DRAIN_LIMIT: usize = 64 * 1024;
    tokio::time::timeout(limit, async {
        client.write_all(page).await?;
        client.flush().await?;
        client.shutdown().await?;
        let mut chunk = [0u8; 4096];
        let mut drained = 0;
        while drained < DRAIN_LIMIT {
            match client.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
        Ok(())
    })
    .await
    .unwrap_or(Ok(()))
}

enum Route<S> {
    Page(Page),
    Relay {
        stream: S,
        to_client: Vec<u8>,
        to_server: Vec<u8>,
        rewrite_response: bool,
    },
}
