//! The NTCP2 driver (ntcp2.rst): the listener, outbound dials, and one task per TCP
//! connection that feeds an [`i2p_ntcp2::Session`] with socket bytes and clock ticks
//! and writes what it emits (style.md Q4: the async side is a thin driver).
//!
//! Sessions talk to the core task only through channels: [`TransportEvent`]s up,
//! [`SessionCmd`]s down.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use i2p_ntcp2::{
    CloseReason, Event, InboundParams, OutboundParams, Session, SharedReplayFilter, State,
    TerminationReason,
};
use i2p_wire::router_info::{RouterInfo, UncheckedRouterInfo};
use i2p_wire::Hash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::counters::Counters;
use crate::keys::RouterKeys;

/// Identifies one TCP connection (a peer may briefly have two).
pub(crate) type ConnId = u64;

/// Commands from the core to one session.
#[derive(Debug)]
pub(crate) enum SessionCmd {
    /// An I2NP message in the NTCP2 block form (9-byte short header, then body).
    I2np(Vec<u8>),
    /// Close with a Termination block.
    Close(TerminationReason),
}

/// Events from sessions to the core.
#[derive(Debug)]
pub(crate) enum TransportEvent {
    /// The data phase began; `router_info` is the peer's verified RouterInfo (Bob side)
    /// or the one we dialed (Alice side).
    Established {
        conn: ConnId,
        router_info: Arc<RouterInfo>,
        inbound: bool,
        cmd: mpsc::Sender<SessionCmd>,
    },
    /// An outbound dial failed before the data phase.
    DialFailed { peer: Hash, reason: String },
    /// An I2NP message in the NTCP2 block form.
    I2np { peer: Hash, msg: Vec<u8> },
    /// A RouterInfo block in the data phase (unverified bytes) from `peer`.
    RouterInfo { peer: Option<Hash>, bytes: Vec<u8> },
    /// The connection is gone.
    Closed { conn: ConnId, peer: Option<Hash> },
}

/// What every session task needs.
pub(crate) struct TransportCtx {
    pub(crate) config: i2p_ntcp2::Config,
    pub(crate) keys: Arc<RouterKeys>,
    pub(crate) our_hash: Hash,
    pub(crate) our_router_info: watch::Receiver<Arc<RouterInfo>>,
    pub(crate) replay: SharedReplayFilter,
    pub(crate) events: mpsc::Sender<TransportEvent>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) net_id: u8,
    /// Dial non-public addresses (test networks).
    pub(crate) allow_private: bool,
    /// Bounds the number of connections, inbound and outbound together.
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) next_conn: std::sync::atomic::AtomicU64,
}

/// Capacity of each session's command queue; when full, the core drops the message
/// and counts it (the peer is too slow).
pub(crate) const SESSION_CMD_QUEUE: usize = 256;
/// How long a TCP connect may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Read buffer per connection.
const READ_BUF: usize = 16 * 1024;

impl TransportCtx {
    fn conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}

/// Accepts NTCP2 connections until the listener fails or the task is aborted.
pub(crate) async fn run_listener(listener: TcpListener, ctx: Arc<TransportCtx>) {
    loop {
        let (stream, peer_addr) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                warn!(target: "gousse::ntcp2", "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = ctx.slots.clone().try_acquire_owned() else {
            debug!(target: "gousse::ntcp2", %peer_addr, "session limit reached, refusing inbound");
            ctx.counters
                .sessions_refused
                .fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        let ctx2 = ctx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let session = Session::new_inbound(
                ctx2.config.clone(),
                InboundParams {
                    local_static_key: ctx2.keys.x25519.clone(),
                    local_router_hash: ctx2.our_hash.0,
                    local_iv: ctx2.keys.ntcp2_iv,
                    replay_filter: ctx2.replay.clone(),
                },
                Instant::now().into_std(),
                SystemTime::now(),
            );
            let conn = ctx2.conn_id();
            debug!(target: "gousse::ntcp2", %peer_addr, conn, "inbound connection");
            drive(stream, session, conn, None, &ctx2).await;
        });
    }
}

/// Dials `peer` (whose RouterInfo we hold) and drives the session.
pub(crate) fn spawn_dial(peer: Arc<RouterInfo>, ctx: Arc<TransportCtx>) {
    let hash = peer.hash();
    let Ok(permit) = ctx.slots.clone().try_acquire_owned() else {
        ctx.counters
            .sessions_refused
            .fetch_add(1, Ordering::Relaxed);
        let events = ctx.events.clone();
        tokio::spawn(async move {
            let _ = events
                .send(TransportEvent::DialFailed {
                    peer: hash,
                    reason: "session limit reached".into(),
                })
                .await;
        });
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(reason) = dial(peer, &ctx).await {
            debug!(target: "gousse::ntcp2", peer = %hash, "dial failed: {reason}");
            let _ = ctx
                .events
                .send(TransportEvent::DialFailed { peer: hash, reason })
                .await;
        }
    });
}

/// The NTCP2 address we would dial for `ri`: a published one (host, port, IV) that
/// speaks version 2, with its static key (ntcp2.rst, "Published Router Info").
pub(crate) fn dialable(ri: &RouterInfo) -> Option<(SocketAddr, [u8; 16], [u8; 32])> {
    ri.ntcp2_addresses()
        .map(|(_, p)| p)
        .filter(|p| p.version.split(',').any(|v| v.trim() == "2"))
        .find_map(|p| Some((p.addr?, p.iv?, p.static_key)))
}

async fn dial(peer: Arc<RouterInfo>, ctx: &Arc<TransportCtx>) -> Result<(), String> {
    let (addr, iv, static_key) = dialable(&peer).ok_or("no published NTCP2 address")?;
    if !ctx.allow_private && !crate::addr::is_public(addr.ip()) {
        return Err(format!("{addr} is not a public address"));
    }
    let stream = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connect to {addr} timed out"))?
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let our_ri = ctx.our_router_info.borrow().clone();
    let session = Session::new_outbound(
        ctx.config.clone(),
        OutboundParams {
            remote_static_key: static_key,
            remote_iv: iv,
            remote_router_hash: peer.hash().0,
            local_static_key: ctx.keys.x25519.clone(),
            local_router_info: our_ri.as_bytes().to_vec(),
        },
        Instant::now().into_std(),
        SystemTime::now(),
    )
    .map_err(|e| format!("handshake setup: {e}"))?;
    let conn = ctx.conn_id();
    debug!(target: "gousse::ntcp2", peer = %peer.hash(), %addr, conn, "outbound connection");
    if !drive(stream, session, conn, Some(peer), ctx).await {
        return Err("handshake failed".into());
    }
    Ok(())
}

/// Checks Alice's RouterInfo from message 3 (ntcp2.rst, "SessionConfirmed": Bob
/// "must verify the signature" and that the `s` of an NTCP2 address equals her static
/// key). Returns the reason to terminate with if it fails.
fn check_peer_router_info(
    bytes: &[u8],
    peer_static: &[u8; 32],
    net_id: u8,
) -> Result<RouterInfo, (TerminationReason, String)> {
    let ri = UncheckedRouterInfo::parse(bytes)
        .map_err(|e| {
            (
                TerminationReason::MESSAGE_3_ERROR,
                format!("RouterInfo: {e}"),
            )
        })?
        .verify()
        .map_err(|e| {
            (
                TerminationReason::RI_SIGNATURE_VERIFICATION_FAIL,
                format!("RouterInfo: {e}"),
            )
        })?;
    if ri.net_id().unwrap_or(2) != u32::from(net_id) {
        return Err((
            TerminationReason::MESSAGE_3_ERROR,
            format!("RouterInfo of network {:?}", ri.net_id()),
        ));
    }
    if !ri
        .ntcp2_addresses()
        .any(|(_, p)| &p.static_key == peer_static)
    {
        return Err((
            TerminationReason::S_PARAMETER_MISMATCH,
            "static key mismatch".into(),
        ));
    }
    Ok(ri)
}

/// Runs one connection to its end. Returns true if the data phase was reached.
async fn drive(
    stream: TcpStream,
    mut session: Session,
    conn: ConnId,
    dialed: Option<Arc<RouterInfo>>,
    ctx: &Arc<TransportCtx>,
) -> bool {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (cmd_tx, mut cmd_rx) = mpsc::channel::<SessionCmd>(SESSION_CMD_QUEUE);
    let mut cmd_tx = Some(cmd_tx);
    let mut rx = vec![0u8; READ_BUF];
    let mut tx = Vec::with_capacity(READ_BUF);
    let mut peer: Option<Arc<RouterInfo>> = dialed;
    let mut established = false;
    let mut cmd_open = true;
    let inbound = session.role() == i2p_ntcp2::Role::Bob;

    'outer: loop {
        let now = Instant::now().into_std();
        // Output in the documented order: transmit, events, then the timer.
        while session.poll_transmit(now, &mut tx).is_some() {}
        if !tx.is_empty() {
            if let Err(e) = wr.write_all(&tx).await {
                debug!(target: "gousse::ntcp2", conn, "write failed: {e}");
                break 'outer;
            }
            ctx.counters
                .bytes_sent
                .fetch_add(tx.len() as u64, Ordering::Relaxed);
            tx.clear();
        }
        while let Some(ev) = session.poll_event() {
            match ev {
                Event::SessionConfirmed {
                    peer_static_key,
                    router_info,
                    ..
                } => match check_peer_router_info(&router_info, &peer_static_key, ctx.net_id) {
                    Ok(ri) => {
                        peer = Some(Arc::new(ri));
                        if let Err(e) = session.accept(now) {
                            debug!(target: "gousse::ntcp2", conn, "accept: {e}");
                        }
                    }
                    Err((reason, why)) => {
                        info!(target: "gousse::ntcp2", conn, "refusing inbound session: {why}");
                        session.terminate(now, reason);
                    }
                },
                Event::Established => {
                    established = true;
                    if let (Some(ri), Some(cmd)) = (peer.clone(), cmd_tx.take()) {
                        let ev = TransportEvent::Established {
                            conn,
                            router_info: ri,
                            inbound,
                            cmd,
                        };
                        if ctx.events.send(ev).await.is_err() {
                            break 'outer;
                        }
                    }
                }
                Event::I2np(msg) => {
                    if let Some(ri) = &peer {
                        let ev = TransportEvent::I2np {
                            peer: ri.hash(),
                            msg,
                        };
                        if ctx.events.send(ev).await.is_err() {
                            break 'outer;
                        }
                    }
                }
                Event::RouterInfo { bytes, .. } => {
                    let peer = peer.as_ref().map(|p| p.hash());
                    let _ = ctx
                        .events
                        .send(TransportEvent::RouterInfo { peer, bytes })
                        .await;
                }
                Event::Terminated { reason, .. } => {
                    debug!(target: "gousse::ntcp2", conn, "peer terminated: {reason:?}");
                }
                Event::Closed { reason } => {
                    log_close(conn, &reason, established);
                }
                Event::DateTime { .. } | Event::Options(_) => {}
            }
        }
        if session.state() == State::Closed {
            // Flush what the close produced (a Termination frame).
            while session.poll_transmit(now, &mut tx).is_some() {}
            if !tx.is_empty() && wr.write_all(&tx).await.is_ok() {
                ctx.counters
                    .bytes_sent
                    .fetch_add(tx.len() as u64, Ordering::Relaxed);
            }
            break;
        }
        let deadline = session
            .poll_timeout()
            .map(Instant::from_std)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            r = rd.read(&mut rx) => match r {
                Ok(0) | Err(_) => {
                    // The peer closed; nothing more can happen on this session.
                    break 'outer;
                }
                Ok(n) => {
                    ctx.counters.bytes_received.fetch_add(n as u64, Ordering::Relaxed);
                    session.handle_bytes(Instant::now().into_std(), &rx[..n]);
                }
            },
            _ = tokio::time::sleep_until(deadline) => {
                session.handle_timeout(Instant::now().into_std());
            }
            cmd = cmd_rx.recv(), if cmd_open => match cmd {
                Some(SessionCmd::I2np(msg)) => {
                    if let Err(e) = session.send_i2np(Instant::now().into_std(), msg) {
                        ctx.counters.messages_dropped.fetch_add(1, Ordering::Relaxed);
                        debug!(target: "gousse::ntcp2", conn, "send dropped: {e}");
                    }
                }
                Some(SessionCmd::Close(reason)) => {
                    session.terminate(Instant::now().into_std(), reason);
                }
                None => {
                    // The core let go of this session (shutdown): say so and close.
                    cmd_open = false;
                    session.terminate(Instant::now().into_std(), TerminationReason::ROUTER_SHUTDOWN);
                }
            },
        }
    }
    let _ = wr.shutdown().await;
    let peer_hash = peer.as_ref().map(|p| p.hash());
    if established {
        let _ = ctx
            .events
            .send(TransportEvent::Closed {
                conn,
                peer: peer_hash,
            })
            .await;
    }
    established
}

fn log_close(conn: ConnId, reason: &CloseReason, established: bool) {
    match reason {
        CloseReason::Error(e) => {
            debug!(target: "gousse::ntcp2", conn, established, "session closed: {e}")
        }
        other => debug!(target: "gousse::ntcp2", conn, established, "session closed: {other:?}"),
    }
}

/// The address we bind: the configured host (or all interfaces) and port.
pub(crate) fn bind_addr(host: Option<std::net::IpAddr>, port: u16) -> SocketAddr {
    SocketAddr::new(host.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])), port)
}
