//! Client and server tunnels (i2ptunnel.md) and the handle they, the proxies and the
//! SAM bridge use to reach the router's destinations and streams.
//!
//! - A server tunnel accepts I2P streams on its destination and connects each to its
//!   local TCP server, copying bytes both ways until either side closes.
//! - A client tunnel listens on a local TCP port and opens an I2P stream to its
//!   remote destination for each connection.

use std::net::SocketAddr;
use std::time::Duration;

use i2p_wire::{Hash, LeaseSet2};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::core::CoreCmd;
use crate::destinations::{ConnectError, DestinationInfo, DestinationSpec, LookupError};
use crate::stream_io::I2pStream;

/// Accepted streams waiting for their server tunnel or application.
pub const ACCEPT_BACKLOG: usize = 64;
/// Received datagrams waiting for their application.
pub const DATAGRAM_QUEUE: usize = 256;
/// An HTTP server tunnel's client must send its request head within this long.
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);
/// A local server that does not accept within this long fails the stream.
const LOCAL_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// An I2P stream that does not open within this long fails (lookup and SYN).
pub const STREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(90);

/// A cheap, cloneable way to the router's destinations and streams.
#[derive(Clone, Debug)]
pub struct RouterHandle {
    commands: mpsc::Sender<CoreCmd>,
}

impl RouterHandle {
    pub(crate) fn new(commands: mpsc::Sender<CoreCmd>) -> Self {
        Self { commands }
    }

    /// Runs a destination (see [`crate::Router::add_destination`]); `None` if one with
    /// the same keys already runs (or the router stopped).
    pub async fn add_destination(&self, spec: DestinationSpec) -> Option<DestinationInfo> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(CoreCmd::AddDestination(Box::new(spec), tx))
            .await
            .ok()?;
        rx.await.ok().flatten()
    }

    /// Stops running a destination.
    pub async fn remove_destination(&self, id: u32) {
        let _ = self.commands.send(CoreCmd::RemoveDestination(id)).await;
    }

    /// Finds the LeaseSet2 of a destination (cached, else from the floodfills).
    pub async fn lookup_leaseset(&self, hash: Hash) -> Result<LeaseSet2, LookupError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(CoreCmd::LookupLeaseSet(hash, tx))
            .await
            .map_err(|_| LookupError::Stopped)?;
        rx.await.map_err(|_| LookupError::Stopped)?
    }

    /// Finds and opens the encrypted LeaseSet of a `b33` address (cached, else from
    /// the floodfills under today's blinded key): the destination's LeaseSet2.
    pub async fn lookup_blinded(
        &self,
        address: i2p_wire::BlindedAddress,
    ) -> Result<LeaseSet2, LookupError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(CoreCmd::LookupBlinded(Box::new(address), tx))
            .await
            .map_err(|_| LookupError::Stopped)?;
        rx.await.map_err(|_| LookupError::Stopped)?
    }

    /// Opens a stream from our destination `dest` to the destination `remote`, at its
    /// I2P port `port` (0: any).
    pub async fn connect_stream(
        &self,
        dest: u32,
        remote: Hash,
        port: u16,
    ) -> Result<I2pStream, ConnectError> {
        self.connect_stream_ports(dest, remote, 0, port).await
    }

    /// As [`connect_stream`](Self::connect_stream), from our I2P port `from_port`.
    pub async fn connect_stream_ports(
        &self,
        dest: u32,
        remote: Hash,
        from_port: u16,
        to_port: u16,
    ) -> Result<I2pStream, ConnectError> {
        let attempt = async {
            let ls = self.lookup_leaseset(remote).await?;
            let (tx, rx) = oneshot::channel();
            self.commands
                .send(CoreCmd::ConnectStream(
                    dest,
                    Box::new(ls),
                    (from_port, to_port),
                    tx,
                ))
                .await
                .map_err(|_| ConnectError::Lookup(LookupError::Stopped))?;
            rx.await
                .map_err(|_| ConnectError::Lookup(LookupError::Stopped))?
        };
        tokio::time::timeout(STREAM_CONNECT_TIMEOUT, attempt)
            .await
            .map_err(|_| ConnectError::Timeout("no answer in time".into()))?
    }

    /// Datagrams to our destination `dest` come out of the returned channel (the
    /// previous listener, if any, gets no more); when it is full, new ones are dropped.
    pub async fn datagrams(
        &self,
        dest: u32,
    ) -> Option<mpsc::Receiver<crate::destinations::ReceivedDatagram>> {
        let (tx, rx) = mpsc::channel(DATAGRAM_QUEUE);
        self.commands
            .send(CoreCmd::ListenDatagrams(dest, tx))
            .await
            .ok()?;
        Some(rx)
    }

    /// Sends a datagram from our destination `dest` (looking up the remote's LeaseSet
    /// first if needed). Datagrams are unreliable: nothing says whether it arrived.
    pub async fn send_datagram(&self, dest: u32, dg: crate::destinations::OutgoingDatagram) {
        let _ = self
            .commands
            .send(CoreCmd::SendDatagram(dest, Box::new(dg)))
            .await;
    }

    /// Streams that remotes open to our destination `dest` come out of the returned
    /// channel (the previous listener, if any, gets no more).
    pub async fn listen(&self, dest: u32) -> Option<mpsc::Receiver<I2pStream>> {
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        self.commands.send(CoreCmd::Listen(dest, tx)).await.ok()?;
        Some(rx)
    }
}

/// The first request head of a stream to an HTTP server tunnel, as i2pd's HTTP
/// server tunnels pass it on (i2ptunnel.md, "HTTP Server"): `Host` set to the local
/// server's, `Keep-Alive` and any `X-I2P-*` the client sent dropped, `Connection:
/// close` unless it is an upgrade, and the client's address added as
/// `X-I2P-DestB32`, `X-I2P-DestHash` and `X-I2P-DestB64`. `Ok(None)`: the head is not
/// complete yet; `Ok(Some((head, n)))`: the new head, and the `n` bytes it replaces.
pub fn rewrite_server_request(
    buf: &[u8],
    from: &i2p_wire::Destination,
    host: &str,
) -> Result<Option<(Vec<u8>, usize)>, String> {
    let Some((head, used)) =
        gousse_proxy::http::parse_request_head(buf).map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let mut out = format!(
        "{} {} HTTP/1.{}\r\n",
        head.method, head.target, head.minor_version
    )
    .into_bytes();
    let mut connection = false;
    for h in &head.headers {
        let name = h.name.to_ascii_lowercase();
        if name == "keep-alive" || name.starts_with("x-i2p") {
            continue;
        }
        if name == "host" {
            out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
            continue;
        }
        if name == "connection" {
            connection = true;
            let upgrade = String::from_utf8_lossy(&h.value)
                .to_ascii_lowercase()
                .contains("upgrade");
            if !upgrade {
                out.extend_from_slice(b"Connection: close\r\n");
                continue;
            }
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
    if !connection {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(
        format!(
            "X-I2P-DestB32: {}\r\nX-I2P-DestHash: {}\r\nX-I2P-DestB64: {}\r\n\r\n",
            from.b32_address(),
            from.hash().to_base64(),
            from.to_base64()
        )
        .as_bytes(),
    );
    Ok(Some((out, used)))
}

/// Reads the first request head from `stream` and writes it, rewritten, to `tcp`.
async fn pass_http_head(
    stream: &mut I2pStream,
    tcp: &mut TcpStream,
    host: &str,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    let read_head = async {
        loop {
            let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the client closed before its request head".to_owned());
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(done) = rewrite_server_request(&buf, stream.remote_destination(), host)? {
                return Ok(done);
            }
            if buf.len() > gousse_proxy::http::MAX_HEAD_LEN {
                return Err("request head too large".to_owned());
            }
        }
    };
    let (head, used) = tokio::time::timeout(HEAD_TIMEOUT, read_head)
        .await
        .map_err(|_| "no request head in time".to_owned())??;
    tcp.write_all(&head).await.map_err(|e| e.to_string())?;
    tcp.write_all(buf.get(used..).unwrap_or_default())
        .await
        .map_err(|e| e.to_string())
}

/// One server tunnel of a destination: streams to its I2P port go to its local
/// server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ServerRoute {
    /// The tunnel's name.
    pub(crate) name: String,
    /// The local server.
    pub(crate) local: SocketAddr,
    /// An HTTP server tunnel (request heads rewritten).
    pub(crate) http: bool,
    /// The I2P port it answers on.
    pub(crate) inport: u16,
}

/// The server tunnel a stream to our I2P port `port` goes to, as i2pd chooses it:
/// the tunnel on that port, else the destination's first tunnel (i2pd's default
/// streaming destination takes every port no tunnel claims).
pub(crate) fn pick_route(routes: &[ServerRoute], port: u16) -> Option<&ServerRoute> {
    routes
        .iter()
        .find(|r| r.inport == port)
        .or_else(|| routes.first())
}

/// Runs the server tunnels of destination `dest` (several tunnels may share one
/// destination, each on its own I2P port): every incoming stream gets a TCP
/// connection to the local server of its port's tunnel; for an HTTP server tunnel,
/// with the first request head rewritten.
pub(crate) fn spawn_server(
    handle: RouterHandle,
    dest: u32,
    routes: Vec<ServerRoute>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut incoming) = handle.listen(dest).await else {
            return;
        };
        while let Some(mut stream) = incoming.recv().await {
            let Some(route) = pick_route(&routes, stream.local_port()).cloned() else {
                continue;
            };
            let ServerRoute {
                name, local, http, ..
            } = route;
            tokio::spawn(async move {
                let remote = stream.remote();
                let tcp = match tokio::time::timeout(
                    LOCAL_CONNECT_TIMEOUT,
                    TcpStream::connect(local),
                )
                .await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %local, "local server: {e}");
                        return;
                    }
                    Err(_) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %local, "local server does not answer");
                        return;
                    }
                };
                debug!(target: "gousse::i2ptunnel", tunnel = %name, %remote, "stream to the local server");
                let mut tcp = tcp;
                if http {
                    if let Err(e) =
                        pass_http_head(&mut stream, &mut tcp, &local.ip().to_string()).await
                    {
                        debug!(target: "gousse::i2ptunnel", tunnel = %name, "HTTP request refused: {e}");
                        return;
                    }
                }
                match tokio::io::copy_bidirectional(&mut stream, &mut tcp).await {
                    Ok((up, down)) => {
                        debug!(target: "gousse::i2ptunnel", tunnel = %name, up, down, "stream done")
                    }
                    Err(e) => {
                        debug!(target: "gousse::i2ptunnel", tunnel = %name, "stream ended: {e}")
                    }
                }
            });
        }
    })
}

/// The remote of a client tunnel, as its `destination` names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRemote {
    /// A `.b32.i2p` address or a full base64 destination.
    Hash(Hash),
    /// A `b33` address: its encrypted LeaseSet is looked up and opened.
    Blinded(i2p_wire::BlindedAddress),
    /// A host name, resolved in the address book at each connection (so that names
    /// that arrive later with a subscription work without a restart).
    Name(String),
}

impl ClientRemote {
    /// The destination hash to open a stream to.
    async fn resolve(
        &self,
        handle: &RouterHandle,
        book: &crate::naming::SharedBook,
    ) -> Result<Hash, String> {
        let blinded = match self {
            ClientRemote::Hash(h) => return Ok(*h),
            ClientRemote::Blinded(a) => a.clone(),
            ClientRemote::Name(n) => {
                let resolved = book
                    .lock()
                    .map_err(|_| "address book unavailable".to_owned())?
                    .resolve(n)
                    .map_err(|e| e.to_string())?;
                match resolved {
                    gousse_addressbook::Resolved::EncryptedB32(a) => a,
                    _ => return crate::naming::resolve_hash(book, n),
                }
            }
        };
        handle
            .lookup_blinded(blinded)
            .await
            .map(|ls| ls.hash())
            .map_err(|e| e.to_string())
    }
}

/// Runs a client tunnel: every TCP connection to `listener` gets a stream from `dest`
/// to `remote`.
pub(crate) fn spawn_client(
    handle: RouterHandle,
    book: crate::naming::SharedBook,
    dest: u32,
    name: String,
    listener: TcpListener,
    remote: ClientRemote,
    port: u16,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (mut tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    warn!(target: "gousse::i2ptunnel", tunnel = %name, "accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let (handle, book, remote) = (handle.clone(), book.clone(), remote.clone());
            let name = name.clone();
            tokio::spawn(async move {
                let hash = match remote.resolve(&handle, &book).await {
                    Ok(h) => h,
                    Err(e) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %peer, "cannot resolve the remote: {e}");
                        return;
                    }
                };
                match handle.connect_stream(dest, hash, port).await {
                    Ok(mut stream) => {
                        info!(target: "gousse::i2ptunnel", tunnel = %name, %peer, "stream opened");
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut stream).await;
                    }
                    Err(e) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %peer, "cannot reach {}: {e}", hash.to_base32())
                    }
                }
            });
        }
    })
}

/// What a client tunnel's `destination` names: a `.b32.i2p` address, a `b33`
/// address, a full base64 destination, or a host name for the address book.
pub fn resolve_static(destination: &str) -> Result<ClientRemote, String> {
    let d = destination.trim();
    if let Some(b32) = d.strip_suffix(".b32.i2p") {
        if b32.len() > 52 {
            return i2p_wire::BlindedAddress::parse(d)
                .map(ClientRemote::Blinded)
                .map_err(|e| format!("`{d}` is not a valid b33 address: {e}"));
        }
        let bytes = i2p_wire::base32::decode(b32)
            .map_err(|e| format!("`{d}` is not a valid b32 address: {e}"))?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("`{d}` is not a 52-character b32 address"))?;
        return Ok(ClientRemote::Hash(Hash(hash)));
    }
    if d.ends_with(".i2p") {
        return match gousse_addressbook::HostKind::classify(d) {
            gousse_addressbook::HostKind::Name(n) => Ok(ClientRemote::Name(n)),
            _ => Err(format!("`{d}` is not a valid host name")),
        };
    }
    let bytes =
        i2p_wire::base64::decode(d).map_err(|e| format!("`{d}`: not a destination: {e}"))?;
    let dest = <i2p_wire::Destination as i2p_wire::Readable>::from_bytes(&bytes)
        .map_err(|e| format!("`{d}`: not a destination: {e}"))?;
    Ok(ClientRemote::Hash(dest.hash()))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn http_server_tunnels_rewrite_the_first_head_as_i2pd() {
        let from = i2p_wire::DestinationKeys::generate().destination().clone();
        let req = b"GET /x?y HTTP/1.1\r\nHost: site.i2p\r\nKeep-Alive: 300\r\nX-I2P-DestB32: forged\r\nAccept: */*\r\n\r\nbody";
        assert_eq!(
            rewrite_server_request(&req[..20], &from, "127.0.0.1"),
            Ok(None)
        );
        let (head, used) = rewrite_server_request(req, &from, "127.0.0.1")
            .unwrap()
            .unwrap();
        assert_eq!(&req[used..], b"body");
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.starts_with("GET /x?y HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
            "{head}"
        );
        assert!(
            !head.contains("Keep-Alive") && !head.contains("forged"),
            "{head}"
        );
        assert!(
            head.contains("Accept: */*\r\nConnection: close\r\n"),
            "{head}"
        );
        assert!(head.contains(&format!("X-I2P-DestB32: {}\r\n", from.b32_address())));
        assert!(head.contains(&format!("X-I2P-DestB64: {}\r\n", from.to_base64())));
        assert!(head.ends_with("\r\n\r\n"));
        let ws = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
        let (head, _) = rewrite_server_request(ws, &from, "h").unwrap().unwrap();
        assert!(String::from_utf8(head)
            .unwrap()
            .contains("Connection: Upgrade\r\n"));
        assert!(rewrite_server_request(b"\x00\x01garbage\r\n\r\n", &from, "h").is_err());
    }

    #[test]
    fn streams_go_to_the_tunnel_of_their_port_else_the_first() {
        let route = |name: &str, inport| ServerRoute {
            name: name.into(),
            local: SocketAddr::from(([127, 0, 0, 1], inport + 8000)),
            http: false,
            inport,
        };
        let routes = [route("web", 80), route("ssh", 22)];
        assert_eq!(pick_route(&routes, 80).unwrap().name, "web");
        assert_eq!(pick_route(&routes, 22).unwrap().name, "ssh");
        assert_eq!(
            pick_route(&routes, 0).unwrap().name,
            "web",
            "any other port: the first tunnel, as i2pd's default streaming destination"
        );
        assert_eq!(pick_route(&routes, 6667).unwrap().name, "web");
        assert!(pick_route(&[], 80).is_none());
    }

    #[test]
    fn client_destinations_resolve_or_say_why_not() {
        let keys = i2p_wire::DestinationKeys::generate();
        let dest = keys.destination();
        let hash = ClientRemote::Hash(dest.hash());
        assert_eq!(resolve_static(&dest.b32_address()), Ok(hash.clone()));
        assert_eq!(resolve_static(&dest.to_base64()), Ok(hash));
        assert_eq!(
            resolve_static("IRC.ilita.i2p"),
            Ok(ClientRemote::Name("irc.ilita.i2p".into()))
        );
        let b33 = i2p_wire::BlindedAddress::from_destination(dest).unwrap();
        assert_eq!(
            resolve_static(&b33.to_host()),
            Ok(ClientRemote::Blinded(b33))
        );
        assert!(resolve_static(&format!("{}.b32.i2p", "a".repeat(56))).is_err());
        assert!(resolve_static("abc.b32.i2p").is_err());
        assert!(resolve_static("not base64 !").is_err());
    }
}
