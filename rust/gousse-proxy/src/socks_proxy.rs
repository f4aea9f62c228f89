//! The SOCKS client proxy (socks.md; RFC 1928): no authentication, CONNECT to
//! `.i2p` and `.b32.i2p` names, SOCKS 4a as well. Everything else gets the matching
//! error code and a closed connection. socks.md: "There is no SOCKS outproxy", so IP
//! targets are refused.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use gousse_addressbook::HostKind;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::backend::{ConnectError, I2pBackend, ResolveError, Target};
use crate::relay::relay;
use crate::socks::{
    parse_greeting, parse_request, parse_socks4_request, reply, socks4_reply, Address, Command,
    Reply, SocksError, METHOD_NONE_ACCEPTABLE, METHOD_NO_AUTH, SOCKS4, SOCKS5,
};

/// The i2ptunnel default SOCKS port (socks.md; i2pd's `socksproxy.port`).
pub const DEFAULT_SOCKS_PROXY_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4447));

/// Most bytes read before the handshake must be complete (a SOCKS 4a request with
/// 255-byte user id and domain is the largest: 8 + 256 + 256).
const MAX_HANDSHAKE: usize = 1024;

/// Settings of the SOCKS proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocksProxyConfig {
    /// Time allowed for the greeting and the request to arrive.
    pub handshake_timeout: Duration,
    /// Time allowed for the router to open the stream.
    pub connect_timeout: Duration,
    /// A relayed connection with no byte either way for this long is closed.
    pub idle_timeout: Duration,
    /// Most client connections at once; more are closed at once.
    pub max_connections: usize,
}

impl Default for SocksProxyConfig {
    fn default() -> Self {
        SocksProxyConfig {
            handshake_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(90),
            idle_timeout: Duration::from_secs(900),
            max_connections: 256,
        }
    }
}

/// The SOCKS proxy over an [`I2pBackend`].
pub struct SocksProxy<B> {
    backend: Arc<B>,
    config: SocksProxyConfig,
    permits: Arc<Semaphore>,
}

impl<B> std::fmt::Debug for SocksProxy<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocksProxy")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why the handshake did not produce a target.
enum Refusal {
    /// Reply with this code, then close.
    Socks5(Reply),
    /// SOCKS 4 rejection, then close.
    Socks4,
    /// Close without a reply (garbage, timeout, client gone).
    Close,
}

/// The client's request, accepted.
struct Accepted {
    version: u8,
    host: String,
    port: u16,
}

impl<B: I2pBackend> SocksProxy<B> {
    /// A SOCKS proxy.
    pub fn new(backend: Arc<B>, config: SocksProxyConfig) -> Arc<Self> {
        let permits = Arc::new(Semaphore::new(config.max_connections));
        Arc::new(SocksProxy {
            backend,
            config,
            permits,
        })
    }

    /// Accepts connections on `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (sock, _) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("SOCKS proxy: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let _ = sock.set_nodelay(true);
            // Over the limit: dropped (closed) at once.
            if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
                let this = Arc::clone(&self);
                tokio::spawn(async move {
                    this.handle_connection(sock).await;
                    drop(permit);
                });
            }
        }
    }

    /// Serves one client connection.
    pub async fn handle_connection<S>(&self, mut client: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let handshake =
            tokio::time::timeout(self.config.handshake_timeout, self.handshake(&mut client)).await;
        let (accepted, rest) = match handshake {
            Ok(Ok(x)) => x,
            Ok(Err(refusal)) => {
                self.refuse(&mut client, refusal).await;
                return;
            }
            Err(_) => return,
        };
        let stream = match self.open(&accepted.host, accepted.port).await {
            Ok(s) => s,
            Err(code) => {
                let refusal = if accepted.version == SOCKS4 {
                    Refusal::Socks4
                } else {
                    Refusal::Socks5(code)
                };
                self.refuse(&mut client, refusal).await;
                return;
            }
        };
        let ok: Vec<u8> = if accepted.version == SOCKS4 {
            socks4_reply(true).to_vec()
        } else {
            reply(Reply::SUCCEEDED).to_vec()
        };
        if client.write_all(&ok).await.is_err() {
            return;
        }
        if let Err(e) = relay(client, stream, &rest, false, self.config.idle_timeout).await {
            tracing::debug!("SOCKS proxy: relay ended: {e}");
        }
    }

    async fn refuse<S: AsyncWrite + Unpin>(&self, client: &mut S, refusal: Refusal) {
        let bytes: Vec<u8> = match refusal {
            Refusal::Socks5(code) => reply(code).to_vec(),
            Refusal::Socks4 => socks4_reply(false).to_vec(),
            Refusal::Close => Vec::new(),
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            client.write_all(&bytes).await?;
            client.shutdown().await
        })
        .await;
    }

    /// Reads until `parse` has a value, bounded by [`MAX_HANDSHAKE`]. `Err(Some(e))`:
    /// the bytes do not parse; `Err(None)`: the client went away or sent too much.
    async fn read_until<S, T>(
        client: &mut S,
        buf: &mut Vec<u8>,
        parse: impl Fn(&[u8]) -> Result<Option<(T, usize)>, SocksError>,
    ) -> Result<T, Option<SocksError>>
    where
        S: AsyncRead + Unpin,
    {
        let mut chunk = [0u8; 512];
        loop {
            match parse(buf) {
                Ok(Some((v, used))) => {
                    buf.drain(..used.min(buf.len()));
                    return Ok(v);
                }
                Ok(None) => {}
                Err(e) => return Err(Some(e)),
            }
            if buf.len() >= MAX_HANDSHAKE {
                return Err(None);
            }
            let n = client.read(&mut chunk).await.map_err(|_| None)?;
            if n == 0 {
                return Err(None);
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
        }
    }

    async fn handshake<S>(&self, client: &mut S) -> Result<(Accepted, Vec<u8>), Refusal>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut buf = Vec::with_capacity(64);
        let mut first = [0u8; 1];
        match client.read(&mut first).await {
            Ok(1) => buf.push(first[0]),
            _ => return Err(Refusal::Close),
        }
        match first[0] {
            SOCKS5 => {
                let greeting = Self::read_until(client, &mut buf, parse_greeting)
                    .await
                    .map_err(|_| Refusal::Close)?;
                if !greeting.methods.contains(&METHOD_NO_AUTH) {
                    let _ = client.write_all(&[SOCKS5, METHOD_NONE_ACCEPTABLE]).await;
                    return Err(Refusal::Close);
                }
                client
                    .write_all(&[SOCKS5, METHOD_NO_AUTH])
                    .await
                    .map_err(|_| Refusal::Close)?;
                let req = match Self::read_until(client, &mut buf, parse_request).await {
                    Ok(r) => r,
                    Err(Some(SocksError::AddressType(_))) => {
                        return Err(Refusal::Socks5(Reply::ADDRESS_TYPE_NOT_SUPPORTED))
                    }
                    Err(Some(_)) => return Err(Refusal::Socks5(Reply::GENERAL_FAILURE)),
                    Err(None) => return Err(Refusal::Close),
                };
                match req.command {
                    Command::Connect => {}
                    _ => return Err(Refusal::Socks5(Reply::COMMAND_NOT_SUPPORTED)),
                }
                let host = match req.address {
                    Address::Domain(d) => {
                        String::from_utf8(d).map_err(|_| Refusal::Socks5(Reply::NOT_ALLOWED))?
                    }
                    Address::Ipv4(_) | Address::Ipv6(_) => {
                        return Err(Refusal::Socks5(Reply::ADDRESS_TYPE_NOT_SUPPORTED))
                    }
                };
                Ok((
                    Accepted {
                        version: SOCKS5,
                        host,
                        port: req.port,
                    },
                    buf,
                ))
            }
            SOCKS4 => {
                let req = Self::read_until(client, &mut buf, parse_socks4_request)
                    .await
                    .map_err(|e| {
                        if e.is_some() {
                            Refusal::Socks4
                        } else {
                            Refusal::Close
                        }
                    })?;
                let host = match (req.command, req.address) {
                    (Command::Connect, Address::Domain(d)) => {
                        String::from_utf8(d).map_err(|_| Refusal::Socks4)?
                    }
                    _ => return Err(Refusal::Socks4),
                };
                Ok((
                    Accepted {
                        version: SOCKS4,
                        host,
                        port: req.port,
                    },
                    buf,
                ))
            }
            _ => Err(Refusal::Close),
        }
    }

    async fn open(&self, host: &str, port: u16) -> Result<B::Stream, Reply> {
        let target = match HostKind::classify(host) {
            HostKind::B32(h) => Target::Hash(h),
            HostKind::Name(n) => match self.backend.resolve(&n).await {
                Ok(t) => t,
                Err(ResolveError::NotFound) => return Err(Reply::HOST_UNREACHABLE),
                Err(_) => return Err(Reply::GENERAL_FAILURE),
            },
            HostKind::EncryptedB32(a) if !a.needs_authorization() => Target::Blinded(a),
            HostKind::EncryptedB32(_) | HostKind::BadB32 => return Err(Reply::HOST_UNREACHABLE),
            HostKind::NotI2p => return Err(Reply::NOT_ALLOWED),
        };
        let connect = self.backend.connect(&target, port);
        match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(Ok(s)) => Ok(s),
            Err(_) => Err(Reply::TTL_EXPIRED),
            Ok(Err(ConnectError::LeaseSetNotFound | ConnectError::Unreachable)) => {
                Err(Reply::HOST_UNREACHABLE)
            }
            Ok(Err(ConnectError::Refused)) => Err(Reply::CONNECTION_REFUSED),
            Ok(Err(ConnectError::NotReady)) => Err(Reply::NETWORK_UNREACHABLE),
            Ok(Err(_)) => Err(Reply::GENERAL_FAILURE),
        }
    }
}
