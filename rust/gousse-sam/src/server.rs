//! The SAM bridge: the TCP control port (7656), the UDP datagram port (7655), and one
//! task per control connection (samv3.md).
//!
//! [`SamServer::bind`] opens the sockets; [`SamServer::run`] serves them until dropped.
//! Everything that touches I2P goes through the [`SamBackend`] given to it.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use i2p_wire::{DestinationKeys, Hash};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

use crate::backend::{
    BackendError, ReceivedDatagram, SamBackend, SamStream, SessionOptions, PROTO_DATAGRAM,
    PROTO_DATAGRAM2, PROTO_DATAGRAM3, PROTO_RAW,
};
use crate::command::{
    Command, DestinationSpec, PortOptions, SessionAdd, SessionCreate, SignatureType, StreamAccept,
    StreamConnect, StreamForward, Style, FORBIDDEN_RAW_PROTOCOLS, MAX_RAW_DATAGRAM,
    MAX_REPLIABLE_DATAGRAM,
};
use crate::datagram::{control_message, forward_packet, parse_udp};
use crate::error::ParseError;
use crate::framing::LineReader;
use crate::naming;
use crate::reply::{Reply, ResultCode};
use crate::session::{
    lock, AcceptState, Deliver, Dest, Forward, Registry, Session, StreamSlot, ACCEPT_BACKLOG,
};
use crate::version::Version;

/// Default TCP control port (samv3.md, "Default SAM Setup").
pub const DEFAULT_TCP_PORT: u16 = 7656;
/// Default UDP datagram port.
pub const DEFAULT_UDP_PORT: u16 = 7655;
/// FORWARD: "If it is accepted in less than 3 seconds, SAM will accept the connection".
pub const FORWARD_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest UDP packet read (header line + payload).
const UDP_BUFFER: usize = 65536;
/// Datagrams queued for a control socket before new ones are dropped.
const CONTROL_DATAGRAM_QUEUE: usize = 64;
/// Bytes a client may send while its ACCEPT waits (kept and sent first on the stream).
const ACCEPT_EARLY_DATA: usize = 64 * 1024;

/// Settings of a SAM bridge.
#[derive(Debug, Clone)]
pub struct SamConfig {
    /// TCP control address (default 127.0.0.1:7656).
    pub tcp: SocketAddr,
    /// UDP datagram address (default 127.0.0.1:7655); `None`: no UDP port.
    pub udp: Option<SocketAddr>,
    /// Most control connections at once (others are closed at once).
    pub max_connections: usize,
    /// Most sessions and subsessions on the bridge.
    pub max_sessions: usize,
    /// Most open streams (CONNECT, ACCEPT, FORWARD) per session.
    pub max_streams_per_session: usize,
    /// Most pending STREAM ACCEPTs per session.
    pub max_pending_accepts: usize,
    /// Time allowed for the HELLO and, after it, for the first command (samv3.md,
    /// "Timeouts").
    pub handshake_timeout: Duration,
    /// Datagrams being handed to the backend at once from the UDP port (more are
    /// dropped).
    pub max_udp_in_flight: usize,
}

impl Default for SamConfig {
    fn default() -> Self {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        Self {
            tcp: SocketAddr::new(lo, DEFAULT_TCP_PORT),
            udp: Some(SocketAddr::new(lo, DEFAULT_UDP_PORT)),
            max_connections: 512,
            max_sessions: 64,
            max_streams_per_session: 256,
            max_pending_accepts: 64,
            handshake_timeout: Duration::from_secs(30),
            max_udp_in_flight: 64,
        }
    }
}

/// State shared by all connections.
struct Shared<B: SamBackend> {
    backend: Arc<B>,
    config: SamConfig,
    registry: Mutex<Registry<B::Stream>>,
    udp: Option<Arc<UdpSocket>>,
    next_token: AtomicU64,
}

/// A SAM bridge over a backend.
pub struct SamServer<B: SamBackend> {
    shared: Arc<Shared<B>>,
    listener: TcpListener,
}

impl<B: SamBackend> std::fmt::Debug for SamServer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamServer")
            .field("tcp", &self.listener.local_addr().ok())
            .field("udp", &self.udp_addr())
            .finish_non_exhaustive()
    }
}

impl<B: SamBackend> SamServer<B> {
    /// Binds the control port and the UDP port of `config`.
    pub async fn bind(config: SamConfig, backend: Arc<B>) -> io::Result<Self> {
        let listener = TcpListener::bind(config.tcp).await?;
        let udp = match config.udp {
            Some(a) => Some(Arc::new(UdpSocket::bind(a).await?)),
            None => None,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                backend,
                config,
                registry: Mutex::new(Registry::default()),
                udp,
                next_token: AtomicU64::new(1),
            }),
            listener,
        })
    }

    /// The bound control address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound UDP address, if any.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.shared.udp.as_ref().and_then(|u| u.local_addr().ok())
    }

    /// Serves control connections and the UDP port until the future is dropped (or
    /// accepting fails).
    pub async fn run(self) -> io::Result<()> {
        let _udp = AbortOnDrop(self.shared.udp.clone().map(|udp| {
            let shared = self.shared.clone();
            tokio::spawn(udp_loop(shared, udp))
        }));
        info!(addr = ?self.listener.local_addr().ok(), "SAM bridge listening");
        let slots = Arc::new(Semaphore::new(self.shared.config.max_connections));
        loop {
            let (tcp, peer) = self.listener.accept().await?;
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                warn!(%peer, "SAM: too many connections, closing a new one");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let shared = self.shared.clone();
            tokio::spawn(async move {
                serve(shared, tcp, peer.ip()).await;
                drop(permit);
            });
        }
    }

    /// Serves one control connection over any byte stream (used by `run`; public for
    /// tests and fuzzing). `peer` is the client's address: FORWARD and datagram
    /// forwarding default to it.
    pub async fn serve_connection<S>(&self, io: S, peer: IpAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        serve(self.shared.clone(), io, peer).await;
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(Option<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.abort();
        }
    }
}

/// What woke the command loop.
#[allow(clippy::large_enum_variant)] // short-lived, one per wake-up
enum Event {
    Line(Result<Vec<u8>, ReadError>),
    Datagram(Option<ReceivedDatagram>),
}

/// What woke a pending ACCEPT.
enum AcceptEvent<S> {
    /// The stream, or `None` if the session closed.
    Stream(Option<S>),
    /// The client sent bytes (`true`) or left (`false`).
    Read(bool),
}

/// What to do after a command.
enum Flow {
    Continue,
    Close,
}

/// A reply for an error: `prefix RESULT=code MESSAGE="msg"`.
fn error_line(prefix: &str, result: ResultCode, message: &str) -> String {
    let line = Reply::StreamStatus {
        result,
        message: Some(message.to_owned()),
    }
    .to_line();
    let rest = line.strip_prefix("STREAM STATUS").unwrap_or(&line);
    format!("{prefix}{rest}")
}

/// The reply prefix of a command line's family, for errors before it parses.
fn family_prefix(raw: &[u8]) -> &'static str {
    let end = raw
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let verb = raw.get(..end).unwrap_or_default().to_ascii_uppercase();
    match verb.as_slice() {
        b"HELLO" => "HELLO REPLY",
        b"STREAM" => "STREAM STATUS",
        b"NAMING" => "NAMING REPLY",
        b"DEST" => "DEST REPLY",
        _ => "SESSION STATUS",
    }
}

/// A backend error as a SAM RESULT.
fn backend_result(e: &BackendError) -> ResultCode {
    match e {
        BackendError::DuplicateDestination => ResultCode::DuplicatedDest,
        BackendError::PeerNotFound(_) | BackendError::CantReachPeer(_) => ResultCode::CantReachPeer,
        BackendError::Timeout(_) => ResultCode::Timeout,
        _ => ResultCode::I2pError,
    }
}

/// Quotes a value for a hand-written reply line.
fn quoted(v: &str) -> String {
    let mut s = String::from("\"");
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            c if c.is_control() => s.push(' '),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The line before an accepted or forwarded stream: `$destination[ FROM_PORT=
/// TO_PORT=]\n` (ports "SAM 3.2 or higher only").
fn destination_line<S: SamStream>(stream: &S, version: Version) -> String {
    let mut line = stream.remote_destination().to_base64();
    if version >= Version::V3_2 {
        line.push_str(&format!(
            " FROM_PORT={} TO_PORT={}",
            stream.remote_port(),
            stream.local_port()
        ));
    }
    line.push('\n');
    line
}

/// Resolves HOST (or the client's address) and PORT.
async fn resolve_addr(host: Option<&str>, port: u16, peer: IpAddr) -> Result<SocketAddr, String> {
    let Some(host) = host else {
        return Ok(SocketAddr::new(peer, port));
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    if host.len() > 253 {
        return Err("HOST is too long".into());
    }
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("cannot resolve HOST: {e}"))?
        .next()
        .ok_or_else(|| "cannot resolve HOST".into())
}

/// Copies between the client socket and the I2P stream until either closes or the
/// session ends. `early` is what the client sent before the stream opened.
async fn pipe<C, S>(mut client: C, mut stream: S, early: Vec<u8>, mut closed: watch::Receiver<bool>)
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    if !early.is_empty() && stream.write_all(&early).await.is_err() {
        return;
    }
    tokio::select! {
        r = tokio::io::copy_bidirectional(&mut client, &mut stream) => {
            debug!(?r, "SAM stream ended");
        }
        _ = closed.wait_for(|c| *c) => {
            debug!("SAM stream: session closed");
        }
    }
    let _ = stream.shutdown().await;
    let _ = client.shutdown().await;
}

/// What a control socket owns: its session (and subsessions) and their tasks. Dropping
/// it closes them (samv3.md: "SAM sessions live and die with the socket").
struct Owned<B: SamBackend> {
    shared: Arc<Shared<B>>,
    dest: Arc<Dest>,
    session: Arc<Session<B::Stream>>,
    tasks: Vec<JoinHandle<()>>,
}

impl<B: SamBackend> Drop for Owned<B> {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let removed = lock(&self.shared.registry).remove_all(&self.dest);
        info!(id = %self.session.id, subsessions = removed.len().saturating_sub(1), "SAM session closed");
        let backend = self.shared.backend.clone();
        let id = self.dest.id;
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { backend.remove_destination(id).await });
        }
    }
}

/// One control connection.
struct Conn<B: SamBackend, S> {
    shared: Arc<Shared<B>>,
    io: S,
    reader: LineReader,
    peer: IpAddr,
    version: Version,
    owned: Option<Owned<B>>,
    /// Datagrams for the control socket.
    datagrams: Option<mpsc::Receiver<ReceivedDatagram>>,
    /// FORWARD registrations of this socket, cleared when it closes.
    forwards: Vec<(Arc<Session<B::Stream>>, u64)>,
}

impl<B: SamBackend, S> Drop for Conn<B, S> {
    fn drop(&mut self) {
        for (s, token) in &self.forwards {
            let mut a = lock(&s.accept);
            if a.forward.as_ref().is_some_and(|f| f.token == *token) {
                a.forward = None;
            }
        }
    }
}

/// Why reading a line failed.
enum ReadError {
    /// The client closed or the socket failed.
    Closed,
    /// A line over the limit.
    Parse(ParseError),
}

async fn serve<B, S>(shared: Arc<Shared<B>>, io: S, peer: IpAddr)
where
    B: SamBackend,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut conn = Conn {
        shared,
        io,
        reader: LineReader::new(),
        peer,
        version: Version::HIGHEST,
        owned: None,
        datagrams: None,
        forwards: Vec::new(),
    };
    conn.run().await;
    let _ = conn.io.shutdown().await;
}

impl<B, S> Conn<B, S>
where
    B: SamBackend,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn write(&mut self, line: &str) -> bool {
        self.io.write_all(line.as_bytes()).await.is_ok()
    }

    /// Reads once more from the socket into the line reader. 0 on end of stream.
    async fn read_more(&mut self) -> Result<usize, ReadError> {
        let mut buf = [0u8; 8192];
        let n = self
            .io
            .read(&mut buf)
            .await
            .map_err(|_| ReadError::Closed)?;
        self.reader
            .push(buf.get(..n).unwrap_or_default())
            .map_err(ReadError::Parse)?;
        Ok(n)
    }

    /// The next line. Cancel-safe (bytes read are buffered before any await).
    async fn next_line(&mut self) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(l) = self.reader.next_line().map_err(ReadError::Parse)? {
                return Ok(l);
            }
            if self.read_more().await? == 0 {
                return Err(ReadError::Closed);
            }
        }
    }

    /// `n` payload bytes after DATAGRAM/RAW SEND.
    async fn payload(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(p) = self.reader.take_exact(n) {
                return Ok(p);
            }
            if self.read_more().await? == 0 {
                return Err(ReadError::Closed);
            }
        }
    }

    async fn run(&mut self) {
        let timeout = self.shared.config.handshake_timeout;
        // HELLO first (samv3.md, "SAM Connection Handshake").
        let line = match tokio::time::timeout(timeout, self.next_line()).await {
            Err(_) => {
                self.write(&error_line(
                    "HELLO REPLY",
                    ResultCode::I2pError,
                    "timeout waiting for HELLO",
                ))
                .await;
                return;
            }
            Ok(Err(ReadError::Closed)) => return,
            Ok(Err(ReadError::Parse(e))) => {
                self.write(&error_line(
                    "HELLO REPLY",
                    ResultCode::I2pError,
                    &e.to_string(),
                ))
                .await;
                return;
            }
            Ok(Ok(l)) => l,
        };
        let hello = match Command::parse(&line) {
            Ok(Command::Hello(h)) => h,
            Ok(_) => {
                self.write(&error_line(
                    "HELLO REPLY",
                    ResultCode::I2pError,
                    "HELLO VERSION must come first",
                ))
                .await;
                return;
            }
            Err(e) => {
                self.write(&error_line(
                    "HELLO REPLY",
                    ResultCode::I2pError,
                    &e.to_string(),
                ))
                .await;
                return;
            }
        };
        let Some(version) = hello.negotiate() else {
            let reply = Reply::Hello {
                result: ResultCode::NoVersion,
                version: None,
                message: None,
            };
            self.write(&reply.to_line()).await;
            return;
        };
        self.version = version;
        let ok = Reply::Hello {
            result: ResultCode::Ok,
            version: Some(version),
            message: None,
        };
        if !self.write(&ok.to_line()).await {
            return;
        }
        // "If a timeout occurs after the HELLO is received but before the next command,
        // the bridge replies with SESSION STATUS RESULT=I2P_ERROR".
        let first = match tokio::time::timeout(timeout, self.next_line()).await {
            Err(_) => {
                self.write(&error_line(
                    "SESSION STATUS",
                    ResultCode::I2pError,
                    "timeout waiting for a command",
                ))
                .await;
                return;
            }
            Ok(r) => r,
        };
        let mut next = Some(first);
        loop {
            let line = match next.take() {
                Some(l) => l,
                None => {
                    let mut dg = self.datagrams.take();
                    let event = tokio::select! {
                        l = self.next_line() => Event::Line(l),
                        d = recv_opt(&mut dg) => Event::Datagram(d),
                    };
                    self.datagrams = dg;
                    match event {
                        Event::Line(l) => l,
                        Event::Datagram(Some(d)) => {
                            let msg = control_message(&d, self.version);
                            if self.io.write_all(&msg).await.is_err() {
                                return;
                            }
                            continue;
                        }
                        Event::Datagram(None) => {
                            self.datagrams = None;
                            continue;
                        }
                    }
                }
            };
            let line = match line {
                Ok(l) => l,
                Err(ReadError::Closed) => return,
                Err(ReadError::Parse(e)) => {
                    self.write(&error_line(
                        "SESSION STATUS",
                        e.result_code(),
                        &e.to_string(),
                    ))
                    .await;
                    return;
                }
            };
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            match self.command(&line).await {
                Flow::Continue => {}
                Flow::Close => return,
            }
        }
    }

    /// Handles one command line.
    async fn command(&mut self, line: &[u8]) -> Flow {
        let cmd = match Command::parse(line) {
            Ok(c) => c,
            Err(e) => {
                debug!(error = %e, "SAM: bad command");
                self.write(&error_line(
                    family_prefix(line),
                    e.result_code(),
                    &e.to_string(),
                ))
                .await;
                return Flow::Close;
            }
        };
        match cmd {
            Command::Hello(_) => {
                self.write(&error_line(
                    "HELLO REPLY",
                    ResultCode::I2pError,
                    "HELLO already done",
                ))
                .await;
                Flow::Close
            }
            Command::SessionCreate(sc) => self.session_create(sc).await,
            Command::SessionAdd(sa) => self.session_add(sa).await,
            Command::SessionRemove(sr) => self.session_remove(&sr.id).await,
            Command::StreamConnect(_) | Command::StreamAccept(_) | Command::StreamForward(_)
                if self.owned.is_some() =>
            {
                // Not closed: that would end the session.
                let m = "STREAM commands go on a new socket, not the session's control socket";
                self.flow(error_line("STREAM STATUS", ResultCode::I2pError, m))
                    .await
            }
            Command::StreamConnect(c) => self.stream_connect(c).await,
            Command::StreamAccept(a) => self.stream_accept(a).await,
            Command::StreamForward(f) => self.stream_forward(f).await,
            Command::DatagramSend(d) => {
                self.control_send(false, &d.destination, d.size, d.ports)
                    .await
            }
            Command::RawSend(r) => {
                self.control_send(true, &r.destination, r.size, r.ports)
                    .await
            }
            Command::NamingLookup(n) => {
                let me = self.owned.as_ref().map(|o| o.dest.destination.clone());
                let shared = self.shared.clone();
                let r = naming::lookup(&*shared.backend, &n.name, me.as_ref(), |h| {
                    lock(&shared.registry).local_destination(h)
                })
                .await;
                // OPTIONS=true: we have no LeaseSet options to give; the reply has none
                // ("If there are no options found ... the response will not include any").
                let reply = match r {
                    Ok(d) => Reply::NamingReply {
                        result: ResultCode::Ok,
                        name: n.name,
                        value: Some(d.to_base64()),
                        message: None,
                        options: Vec::new(),
                    },
                    Err((result, message)) => Reply::NamingReply {
                        result,
                        name: n.name,
                        value: None,
                        message: Some(message),
                        options: Vec::new(),
                    },
                };
                self.flow(reply.to_line()).await
            }
            Command::DestGenerate(g) => {
                if let Err(m) = check_signature_type(g.signature_type) {
                    self.write(&error_line("DEST REPLY", ResultCode::I2pError, &m))
                        .await;
                    return Flow::Continue;
                }
                let keys = DestinationKeys::generate();
                let reply = Reply::DestReply {
                    public: keys.destination().to_base64(),
                    private: Zeroizing::new(i2p_wire::base64::encode(&keys.to_bytes())),
                };
                self.flow(reply.to_line()).await
            }
            Command::Ping { text } => self.flow(Reply::Pong { text }.to_line()).await,
            Command::Pong { .. } => Flow::Continue,
            Command::Quit => Flow::Close,
            Command::Help => {
                self.write(&error_line(
                    "SESSION STATUS",
                    ResultCode::I2pError,
                    "HELP is not supported",
                ))
                .await;
                Flow::Continue
            }
        }
    }

    /// Writes a line and continues, or closes if the write fails.
    async fn flow(&mut self, line: String) -> Flow {
        if self.write(&line).await {
            Flow::Continue
        } else {
            Flow::Close
        }
    }

    /// Answers an error on the SESSION STATUS line; a socket with a session stays open
    /// (closing it would end the session), others close.
    async fn session_error(&mut self, result: ResultCode, message: &str) -> Flow {
        self.write(&error_line("SESSION STATUS", result, message))
            .await;
        if self.owned.is_some() {
            Flow::Continue
        } else {
            Flow::Close
        }
    }

    async fn session_create(&mut self, sc: SessionCreate) -> Flow {
        if self.owned.is_some() {
            return self
                .session_error(ResultCode::I2pError, "this socket already has a session")
                .await;
        }
        if !self.forwards.is_empty() {
            return self
                .session_error(ResultCode::I2pError, "this socket holds a STREAM FORWARD")
                .await;
        }
        let keys = match &sc.destination {
            DestinationSpec::Transient => {
                if let Err(m) = check_signature_type(sc.signature_type) {
                    return self.session_error(ResultCode::I2pError, &m).await;
                }
                DestinationKeys::generate()
            }
            DestinationSpec::PrivateKey(b64) => {
                let parsed = i2p_wire::base64::decode(b64)
                    .map(Zeroizing::new)
                    .and_then(|bytes| DestinationKeys::parse(&bytes));
                match parsed {
                    Ok(k) => k,
                    Err(e) => {
                        return self
                            .session_error(
                                ResultCode::InvalidKey,
                                &format!("DESTINATION is not a usable private key: {e}"),
                            )
                            .await
                    }
                }
            }
        };
        let datagram_style = matches!(
            sc.style,
            Style::Datagram | Style::Datagram2 | Style::Datagram3 | Style::Raw
        );
        let deliver_addr = match (datagram_style, sc.port) {
            (true, Some(port)) => match resolve_addr(sc.host.as_deref(), port, self.peer).await {
                Ok(a) => Some(a),
                Err(m) => return self.session_error(ResultCode::I2pError, &m).await,
            },
            _ => None,
        };
        let destination = keys.destination().clone();
        let hash = destination.hash();
        let private = Zeroizing::new(i2p_wire::base64::encode(&keys.to_bytes()));
        let refused = {
            let mut reg = lock(&self.shared.registry);
            if reg.id_taken(&sc.id) {
                Some((ResultCode::DuplicatedId, "session ID already in use"))
            } else if reg.dests.contains(&hash) {
                Some((ResultCode::DuplicatedDest, "destination already in use"))
            } else if reg.count() >= self.shared.config.max_sessions {
                Some((ResultCode::I2pError, "too many sessions on this bridge"))
            } else {
                reg.reserved_ids.insert(sc.id.clone());
                reg.dests.insert(hash);
                None
            }
        };
        if let Some((r, m)) = refused {
            return self.session_error(r, m).await;
        }
        let unreserve = |shared: &Shared<B>| {
            let mut reg = lock(&shared.registry);
            reg.reserved_ids.remove(&sc.id);
            reg.dests.remove(&hash);
        };
        let options = SessionOptions {
            name: sc.id.clone(),
            style: sc.style,
            i2cp: sc
                .options
                .i2cp()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        };
        let backend = self.shared.backend.clone();
        let dest_id = match backend.add_destination(keys, options).await {
            Ok(id) => id,
            Err(e) => {
                unreserve(&self.shared);
                return self.session_error(backend_result(&e), &e.to_string()).await;
            }
        };
        let dest = Arc::new(Dest {
            id: dest_id,
            destination,
        });
        let mut tasks = Vec::new();
        let wants_streams = matches!(sc.style, Style::Stream | Style::Primary);
        let wants_datagrams = datagram_style || sc.style == Style::Primary;
        let mut listen_err = None;
        if wants_streams {
            match backend.listen(dest_id).await {
                Ok(rx) => tasks.push(tokio::spawn(stream_dispatch(
                    self.shared.clone(),
                    dest.clone(),
                    rx,
                ))),
                Err(e) => listen_err = Some(e),
            }
        }
        if wants_datagrams && listen_err.is_none() {
            match backend.datagrams(dest_id).await {
                Ok(rx) => tasks.push(tokio::spawn(datagram_dispatch(
                    self.shared.clone(),
                    dest.clone(),
                    rx,
                ))),
                Err(e) => listen_err = Some(e),
            }
        }
        if let Some(e) = listen_err {
            for t in &tasks {
                t.abort();
            }
            unreserve(&self.shared);
            backend.remove_destination(dest_id).await;
            return self.session_error(backend_result(&e), &e.to_string()).await;
        }
        let deliver = match (datagram_style, deliver_addr) {
            (false, _) => Deliver::None,
            (true, Some(a)) => Deliver::Udp(a),
            (true, None) => {
                let (tx, rx) = mpsc::channel(CONTROL_DATAGRAM_QUEUE);
                self.datagrams = Some(rx);
                Deliver::Control(tx)
            }
        };
        let session = Arc::new(Session {
            id: sc.id.clone(),
            style: sc.style,
            dest: dest.clone(),
            primary: None,
            ports: sc.ports,
            listen_port: sc.ports.from_port.unwrap_or(0),
            listen_protocol: sc.ports.protocol.unwrap_or(0),
            header: sc.header.unwrap_or(false),
            version: self.version,
            deliver,
            accept: Mutex::new(AcceptState::default()),
            streams: Default::default(),
            closed: watch::channel(false).0,
        });
        {
            let mut reg = lock(&self.shared.registry);
            reg.reserved_ids.remove(&sc.id);
            reg.sessions.insert(sc.id.clone(), session.clone());
        }
        info!(id = %sc.id, style = sc.style.as_str(), b32 = %dest.destination.b32_address(), "SAM session created");
        self.owned = Some(Owned {
            shared: self.shared.clone(),
            dest,
            session,
            tasks,
        });
        let reply = Reply::SessionStatus {
            result: ResultCode::Ok,
            destination: Some(private),
            message: None,
        };
        self.flow(reply.to_line()).await
    }

    /// The PRIMARY session of this socket.
    fn own_primary(&self) -> Option<Arc<Session<B::Stream>>> {
        self.owned
            .as_ref()
            .filter(|o| o.session.style == Style::Primary)
            .map(|o| o.session.clone())
    }

    async fn session_add(&mut self, sa: SessionAdd) -> Flow {
        let Some(primary) = self.own_primary() else {
            return self
                .session_error(
                    ResultCode::I2pError,
                    "SESSION ADD needs a PRIMARY session created on this socket",
                )
                .await;
        };
        let datagram_style = sa.style != Style::Stream;
        let deliver = if datagram_style {
            // "PORT=$port # Required for DATAGRAM* and RAW"; v1/v2 receiving "not
            // supported on a primary session or on subsessions".
            let Some(port) = sa.port else {
                return self
                    .session_error(
                        ResultCode::I2pError,
                        "PORT is required for a datagram or raw subsession",
                    )
                    .await;
            };
            match resolve_addr(sa.host.as_deref(), port, self.peer).await {
                Ok(a) => Deliver::Udp(a),
                Err(m) => return self.session_error(ResultCode::I2pError, &m).await,
            }
        } else {
            Deliver::None
        };
        let listen_port = sa.listen_port.or(sa.ports.from_port).unwrap_or(0);
        let listen_protocol = if sa.style == Style::Raw {
            sa.listen_protocol
                .or(sa.ports.protocol)
                .unwrap_or(PROTO_RAW)
        } else {
            0
        };
        let session = Arc::new(Session {
            id: sa.id.clone(),
            style: sa.style,
            dest: primary.dest.clone(),
            primary: Some(primary.id.clone()),
            ports: sa.ports,
            listen_port,
            listen_protocol,
            header: sa.header.unwrap_or(false),
            version: self.version,
            deliver,
            accept: Mutex::new(AcceptState::default()),
            streams: Default::default(),
            closed: watch::channel(false).0,
        });
        let refused = {
            let mut reg = lock(&self.shared.registry);
            // "A SESSION ADD with listen port and protocol that duplicates an existing
            // subsession will result in an error."
            let clash = reg.of_dest(&primary.dest).any(|s| {
                s.primary.is_some()
                    && s.style == sa.style
                    && s.listen_port == listen_port
                    && s.listen_protocol == listen_protocol
            });
            if reg.id_taken(&sa.id) {
                Some((ResultCode::DuplicatedId, "session ID already in use"))
            } else if reg.count() >= self.shared.config.max_sessions {
                Some((ResultCode::I2pError, "too many sessions on this bridge"))
            } else if clash {
                Some((
                    ResultCode::I2pError,
                    "a subsession of this style already listens on that port and protocol",
                ))
            } else {
                reg.sessions.insert(sa.id.clone(), session);
                None
            }
        };
        if let Some((r, m)) = refused {
            return self.session_error(r, m).await;
        }
        info!(id = %sa.id, primary = %primary.id, style = sa.style.as_str(), "SAM subsession added");
        // Java I2P's answer: `SESSION STATUS RESULT=OK ID="..." MESSAGE="ADD ..."`.
        let line = format!(
            "SESSION STATUS RESULT=OK ID={} MESSAGE={}\n",
            quoted(&sa.id),
            quoted(&format!("ADD {}", sa.id))
        );
        self.flow(line).await
    }

    async fn session_remove(&mut self, id: &str) -> Flow {
        let Some(primary) = self.own_primary() else {
            return self
                .session_error(
                    ResultCode::I2pError,
                    "SESSION REMOVE needs a PRIMARY session created on this socket",
                )
                .await;
        };
        let removed = {
            let mut reg = lock(&self.shared.registry);
            match reg.sessions.get(id) {
                Some(s) if s.primary.as_deref() == Some(primary.id.as_str()) => {
                    reg.sessions.remove(id)
                }
                _ => None,
            }
        };
        let Some(s) = removed else {
            return self
                .session_error(ResultCode::InvalidId, "no such subsession of this session")
                .await;
        };
        s.close();
        info!(id, "SAM subsession removed");
        let line = format!(
            "SESSION STATUS RESULT=OK ID={} MESSAGE={}\n",
            quoted(id),
            quoted(&format!("REMOVE {id}"))
        );
        self.flow(line).await
    }

    /// The STREAM session `id`, or the error to answer.
    fn stream_session(&self, id: &str) -> Result<Arc<Session<B::Stream>>, (ResultCode, String)> {
        let reg = lock(&self.shared.registry);
        match reg.sessions.get(id) {
            None => Err((ResultCode::InvalidId, format!("no session {id}"))),
            Some(s) if s.style == Style::Stream => Ok(s.clone()),
            Some(s) if s.style == Style::Primary => Err((
                ResultCode::I2pError,
                "use a STREAM subsession ID, not the PRIMARY's".into(),
            )),
            Some(_) => Err((
                ResultCode::I2pError,
                format!("session {id} is not a STREAM session"),
            )),
        }
    }

    /// Writes a STREAM STATUS error (unless silent) and closes.
    async fn stream_error(&mut self, silent: bool, result: ResultCode, message: &str) -> Flow {
        if !silent {
            self.write(&error_line("STREAM STATUS", result, message))
                .await;
        }
        Flow::Close
    }

    async fn stream_connect(&mut self, c: StreamConnect) -> Flow {
        let session = match self.stream_session(&c.id) {
            Ok(s) => s,
            Err((r, m)) => return self.stream_error(c.silent, r, &m).await,
        };
        let Some(slot) = StreamSlot::acquire(&session, self.shared.config.max_streams_per_session)
        else {
            return self
                .stream_error(
                    c.silent,
                    ResultCode::I2pError,
                    "too many streams on this session",
                )
                .await;
        };
        let backend = self.shared.backend.clone();
        let remote = match naming::resolve_hash(&*backend, &c.destination).await {
            Ok(h) => h,
            Err((ResultCode::KeyNotFound, m)) => {
                return self
                    .stream_error(c.silent, ResultCode::CantReachPeer, &m)
                    .await
            }
            Err((r, m)) => return self.stream_error(c.silent, r, &m).await,
        };
        let from = c.ports.from_port.or(session.ports.from_port).unwrap_or(0);
        let to = c.ports.to_port.or(session.ports.to_port).unwrap_or(0);
        let mut closed = session.closed.subscribe();
        let r = tokio::select! {
            r = backend.connect(session.dest.id, remote, from, to) => r,
            _ = closed.wait_for(|c| *c) => Err(BackendError::Closed),
        };
        let stream = match r {
            Ok(s) => s,
            Err(e) => {
                return self
                    .stream_error(c.silent, backend_result(&e), &e.to_string())
                    .await
            }
        };
        if !c.silent {
            let ok = Reply::StreamStatus {
                result: ResultCode::Ok,
                message: None,
            };
            if !self.write(&ok.to_line()).await {
                return Flow::Close;
            }
        }
        self.pipe_to(stream, session, slot).await
    }

    /// Hands the socket over to the stream.
    async fn pipe_to(
        &mut self,
        stream: B::Stream,
        session: Arc<Session<B::Stream>>,
        slot: StreamSlot<B::Stream>,
    ) -> Flow {
        let early = self.reader.take_remaining();
        let closed = session.closed.subscribe();
        pipe(&mut self.io, stream, early, closed).await;
        drop(slot);
        Flow::Close
    }

    async fn stream_accept(&mut self, a: StreamAccept) -> Flow {
        let session = match self.stream_session(&a.id) {
            Ok(s) => s,
            Err((r, m)) => return self.stream_error(a.silent, r, &m).await,
        };
        let Some(slot) = StreamSlot::acquire(&session, self.shared.config.max_streams_per_session)
        else {
            return self
                .stream_error(
                    a.silent,
                    ResultCode::I2pError,
                    "too many streams on this session",
                )
                .await;
        };
        let (tx, mut rx) = oneshot::channel();
        let ready = {
            let mut st = lock(&session.accept);
            if st.forward.is_some() {
                Err((
                    ResultCode::I2pError,
                    "a STREAM FORWARD is active on this session",
                ))
            } else if let Some(s) = st.take_backlog(Instant::now()) {
                Ok(Some(s))
            } else {
                let pending = st.live_waiters();
                if self.version < Version::V3_2 && pending > 0 {
                    // "Prior to 3.2, concurrent accepts would fail with ALREADY_ACCEPTING."
                    Err((ResultCode::AlreadyAccepting, "an ACCEPT is already pending"))
                } else if pending >= self.shared.config.max_pending_accepts {
                    Err((
                        ResultCode::I2pError,
                        "too many pending ACCEPTs on this session",
                    ))
                } else {
                    st.waiters.push_back(tx);
                    Ok(None)
                }
            }
        };
        let ready = match ready {
            Ok(r) => r,
            Err((r, m)) => return self.stream_error(a.silent, r, m).await,
        };
        if !a.silent {
            let ok = Reply::StreamStatus {
                result: ResultCode::Ok,
                message: None,
            };
            if !self.write(&ok.to_line()).await {
                return Flow::Close;
            }
        }
        let stream = match ready {
            Some(s) => s,
            None => {
                let mut closed = session.closed.subscribe();
                loop {
                    let room = self.reader.buffered() < ACCEPT_EARLY_DATA;
                    let event = tokio::select! {
                        r = &mut rx => AcceptEvent::Stream(r.ok()),
                        _ = closed.wait_for(|c| *c) => AcceptEvent::Stream(None),
                        n = self.read_more(), if room => AcceptEvent::Read(matches!(n, Ok(k) if k > 0)),
                    };
                    match event {
                        AcceptEvent::Stream(Some(s)) => break s,
                        // "Errors After OK": the session closed.
                        AcceptEvent::Stream(None) => {
                            return self
                                .stream_error(a.silent, ResultCode::I2pError, "session closed")
                                .await;
                        }
                        AcceptEvent::Read(true) => {}
                        AcceptEvent::Read(false) => return Flow::Close,
                    }
                }
            }
        };
        if !a.silent {
            let line = destination_line(&stream, self.version);
            if !self.write(&line).await {
                return Flow::Close;
            }
        }
        self.pipe_to(stream, session, slot).await
    }

    async fn stream_forward(&mut self, f: StreamForward) -> Flow {
        // FORWARD always answers, SILENT or not.
        let session = match self.stream_session(&f.id) {
            Ok(s) => s,
            Err((r, m)) => return self.stream_error(false, r, &m).await,
        };
        if f.ssl {
            return self
                .stream_error(false, ResultCode::I2pError, "SSL=true is not supported")
                .await;
        }
        let addr = match resolve_addr(f.host.as_deref(), f.port, self.peer).await {
            Ok(a) => a,
            Err(m) => return self.stream_error(false, ResultCode::I2pError, &m).await,
        };
        let token = self.shared.next_token.fetch_add(1, Ordering::Relaxed);
        let refused = {
            let mut st = lock(&session.accept);
            if st.live_waiters() > 0 {
                Some("an ACCEPT is pending on this session")
            } else if st.forward.is_some() {
                Some("a STREAM FORWARD is already active on this session")
            } else {
                st.forward = Some(Forward {
                    addr,
                    silent: f.silent,
                    version: self.version,
                    token,
                });
                None
            }
        };
        if let Some(m) = refused {
            return self.stream_error(false, ResultCode::I2pError, m).await;
        }
        self.forwards.push((session, token));
        let ok = Reply::StreamStatus {
            result: ResultCode::Ok,
            message: None,
        };
        // "The I2P router will stop listening ... as soon as the forwarding socket is
        // closed": the socket stays open for more commands (PING) until then.
        self.flow(ok.to_line()).await
    }

    /// DATAGRAM SEND / RAW SEND on the control socket (samv3.md, "DATAGRAM SEND, RAW
    /// SEND"). The payload is read first so the framing stays in step.
    async fn control_send(
        &mut self,
        raw: bool,
        destination: &str,
        size: u32,
        ports: PortOptions,
    ) -> Flow {
        let payload = match self.payload(size as usize).await {
            Ok(p) => p,
            Err(_) => return Flow::Close,
        };
        let wanted = if raw { Style::Raw } else { Style::Datagram };
        let session = match &self.owned {
            Some(o) if o.session.style == wanted => o.session.clone(),
            _ => {
                let m = if raw {
                    "RAW SEND needs a STYLE=RAW session on this socket"
                } else {
                    "DATAGRAM SEND needs a STYLE=DATAGRAM session on this socket"
                };
                return self.session_error(ResultCode::I2pError, m).await;
            }
        };
        // No reply is defined for DATAGRAM/RAW SEND: failures are logged, like a lost
        // datagram.
        if let Err(e) = send_datagram(&self.shared, &session, destination, ports, payload).await {
            debug!(error = %e, "SAM: datagram not sent");
        }
        Flow::Continue
    }
}

/// Checks SIGNATURE_TYPE: only Ed25519 destinations are made. A missing value (spec
/// default DSA_SHA1) is read as 7, since DSA destinations are not supported at all.
fn check_signature_type(t: Option<SignatureType>) -> Result<(), String> {
    match t {
        None | Some(SignatureType::EDDSA_SHA512_ED25519) => Ok(()),
        Some(t) => Err(format!(
            "SIGNATURE_TYPE {} is not supported: only 7 (EdDSA_SHA512_Ed25519)",
            t.name()
                .map(str::to_owned)
                .unwrap_or_else(|| t.0.to_string())
        )),
    }
}

/// Pending forever on `None`.
async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends a datagram of `session` to `target`.
async fn send_datagram<B: SamBackend>(
    shared: &Shared<B>,
    session: &Session<B::Stream>,
    target: &str,
    ports: PortOptions,
    payload: Vec<u8>,
) -> Result<(), String> {
    let (protocol, max) = match session.style {
        Style::Datagram => (PROTO_DATAGRAM, MAX_REPLIABLE_DATAGRAM),
        Style::Datagram2 => (PROTO_DATAGRAM2, MAX_REPLIABLE_DATAGRAM),
        Style::Datagram3 => (PROTO_DATAGRAM3, MAX_REPLIABLE_DATAGRAM),
        Style::Raw => (
            ports
                .protocol
                .or(session.ports.protocol)
                .unwrap_or(PROTO_RAW),
            MAX_RAW_DATAGRAM,
        ),
        _ => return Err(format!("session {} does not send datagrams", session.id)),
    };
    if FORBIDDEN_RAW_PROTOCOLS.contains(&protocol) && session.style == Style::Raw {
        return Err("PROTOCOL 6, 17, 19 and 20 are not allowed".into());
    }
    if payload.is_empty() || payload.len() > max as usize {
        return Err(format!("datagram of {} bytes (1 to {max})", payload.len()));
    }
    let to: Hash = naming::resolve_hash(&*shared.backend, target)
        .await
        .map_err(|(_, m)| m)?;
    let from_port = ports.from_port.or(session.ports.from_port).unwrap_or(0);
    let to_port = ports.to_port.or(session.ports.to_port).unwrap_or(0);
    shared
        .backend
        .send_datagram(session.dest.id, to, protocol, from_port, to_port, payload)
        .await
        .map_err(|e| e.to_string())
}

/// Routes the streams remotes open to `dest` to ACCEPTs and FORWARDs.
async fn stream_dispatch<B: SamBackend>(
    shared: Arc<Shared<B>>,
    dest: Arc<Dest>,
    mut incoming: mpsc::Receiver<B::Stream>,
) {
    while let Some(stream) = incoming.recv().await {
        let target = lock(&shared.registry).route_stream(&dest, stream.local_port());
        let Some(session) = target else {
            debug!("SAM: incoming stream for no STREAM session, dropped");
            continue;
        };
        let mut stream = Some(stream);
        let forward = {
            let mut st = lock(&session.accept);
            match st.forward.clone() {
                Some(f) => Some(f),
                None => {
                    // The oldest ACCEPT whose client is still there takes it.
                    while let Some(s) = stream.take() {
                        match st.waiters.pop_front() {
                            Some(w) => {
                                if let Err(back) = w.send(s) {
                                    stream = Some(back);
                                }
                            }
                            None => {
                                stream = Some(s);
                                break;
                            }
                        }
                    }
                    if let Some(s) = stream.take() {
                        if st.backlog.len() >= ACCEPT_BACKLOG {
                            st.backlog.pop_front();
                        }
                        st.backlog.push_back((Instant::now(), s));
                    }
                    None
                }
            }
        };
        if let (Some(f), Some(s)) = (forward, stream) {
            let Some(slot) = StreamSlot::acquire(&session, shared.config.max_streams_per_session)
            else {
                debug!("SAM: too many streams, forwarded stream dropped");
                continue;
            };
            let closed = session.closed.subscribe();
            tokio::spawn(async move {
                forward_stream(s, f, closed).await;
                drop(slot);
            });
        }
    }
}

/// Connects an incoming stream to the FORWARD target.
async fn forward_stream<S: SamStream>(stream: S, f: Forward, closed: watch::Receiver<bool>) {
    let tcp = match tokio::time::timeout(FORWARD_CONNECT_TIMEOUT, TcpStream::connect(f.addr)).await
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            debug!(addr = %f.addr, error = %e, "SAM FORWARD: local connect failed");
            return;
        }
        Err(_) => {
            debug!(addr = %f.addr, "SAM FORWARD: local connect timed out");
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let mut tcp = tcp;
    if !f.silent {
        let line = destination_line(&stream, f.version);
        if tcp.write_all(line.as_bytes()).await.is_err() {
            return;
        }
    }
    pipe(tcp, stream, Vec::new(), closed).await;
}

/// Routes the datagrams that arrive for `dest` to its sessions.
async fn datagram_dispatch<B: SamBackend>(
    shared: Arc<Shared<B>>,
    dest: Arc<Dest>,
    mut incoming: mpsc::Receiver<ReceivedDatagram>,
) {
    while let Some(dg) = incoming.recv().await {
        if dg.payload.len() > MAX_RAW_DATAGRAM as usize {
            continue;
        }
        let target = lock(&shared.registry).route_datagram(&dest, dg.protocol, dg.to_port);
        let Some(session) = target else {
            debug!(
                protocol = dg.protocol,
                port = dg.to_port,
                "SAM: datagram for no session"
            );
            continue;
        };
        match &session.deliver {
            Deliver::Udp(addr) => {
                if let Some(udp) = &shared.udp {
                    let packet = forward_packet(&dg, session.version, session.header);
                    if let Err(e) = udp.send_to(&packet, addr).await {
                        debug!(%addr, error = %e, "SAM: forwarding a datagram failed");
                    }
                }
            }
            Deliver::Control(tx) => {
                if tx.try_send(dg).is_err() {
                    debug!("SAM: control socket slow, datagram dropped");
                }
            }
            Deliver::None => {}
        }
    }
}

/// Reads datagrams from the UDP port and sends them from the named sessions.
async fn udp_loop<B: SamBackend>(shared: Arc<Shared<B>>, udp: Arc<UdpSocket>) {
    let mut buf = vec![0u8; UDP_BUFFER];
    let in_flight = Arc::new(Semaphore::new(shared.config.max_udp_in_flight));
    loop {
        let (n, from) = match udp.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(e) => {
                debug!(error = %e, "SAM UDP receive failed");
                continue;
            }
        };
        let packet = buf.get(..n).unwrap_or_default();
        let (header, payload) = match parse_udp(packet) {
            Ok(r) => r,
            Err(e) => {
                debug!(%from, error = %e, "SAM UDP: bad datagram dropped");
                continue;
            }
        };
        let session = lock(&shared.registry)
            .sessions
            .get(&header.nickname)
            .cloned();
        let Some(session) = session else {
            debug!(%from, "SAM UDP: unknown session, datagram dropped");
            continue;
        };
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            debug!("SAM UDP: too many datagrams in flight, dropped");
            continue;
        };
        let payload = payload.to_vec();
        let shared = shared.clone();
        tokio::spawn(async move {
            let ports = PortOptions {
                from_port: header.from_port,
                to_port: header.to_port,
                protocol: header.protocol,
            };
            if let Err(e) =
                send_datagram(&shared, &session, &header.destination, ports, payload).await
            {
                debug!(error = %e, "SAM UDP: datagram not sent");
            }
            drop(permit);
        });
    }
}
