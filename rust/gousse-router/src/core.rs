//! The core task: owns the netDb state machine ([`i2p_netdb::NetDb`]), the RouterInfos
//! it refers to, and the table of NTCP2 sessions. It turns I2NP messages from sessions
//! into netDb inputs (i2np.rst, "DatabaseStore", "DatabaseLookup",
//! "DatabaseSearchReply", "DeliveryStatus") and netDb actions into I2NP messages.
//!
//! Architecture invariant: the only owner of this state; everything else talks to it
//! through channels.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use i2p_netdb::{
    Action, Event as NetDbEvent, IncomingLookup, IncomingStore, Key, LookupAnswer, LookupKind,
    NetDb, Now, ReplyPath, RouterHash, RouterSummary, StoreEntry, StoreReply,
};
use i2p_ntcp2::TerminationReason;
use i2p_wire::i2np::{
    DatabaseLookup, DatabaseSearchReply, DatabaseStore, DeliveryStatus, LookupType,
};
use i2p_wire::i2np::{I2npMessage, Payload};
use i2p_wire::router_info::{RouterInfo, UncheckedRouterInfo};
use i2p_wire::Hash;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::bandwidth::TransitLimits;
use crate::counters::Counters;
use crate::persist::{record, PersistCmd, Persister};
use crate::status::{SessionCounts, Status};
use crate::transport::{spawn_dial, ConnId, SessionCmd, TransportCtx, TransportEvent};
use crate::tunnels::{Out, PoolKey, Tunnels};

mod dest;
pub(crate) mod streams;
use i2p_garlic::{Clove, DeliveryInstructions, RouterGarlic};
use i2p_tunnel::message::Delivery;
use i2p_wire::i2np::{ReplyEncryption, ReplyKey};

/// Most messages held for a peer we are dialing.
const MAX_PENDING_PER_PEER: usize = 32;
/// Most peers with held messages.
const MAX_PENDING_PEERS: usize = 512;
/// I2NP message lifetime we give our messages.
const MESSAGE_LIFETIME: Duration = Duration::from_secs(60);
/// How often our RouterInfo is re-signed with a fresh `published` date.
const RESIGN_INTERVAL: Duration = Duration::from_secs(20 * 60);
/// Transport events handled in a row, after the one that woke the core, before the
/// streams answer what came.
const EVENT_BATCH: usize = 64;
/// How long such a batch may take: the ACKs of what came wait for it, and i2pd's
/// sender resends what goes unacknowledged for 1.5 times its mean RTT (a few
/// milliseconds on a fast path). On a slow CPU a batch is cut short.
const EVENT_BATCH_TIME: Duration = Duration::from_millis(2);
/// RouterInfos dated further than this in the future are refused
/// (network-database.md, "RouterInfo Expiration": clock skew allowance).
const MAX_FUTURE_PUBLISHED_MS: u64 = 2 * 60 * 1000;

fn random_msg_id() -> u32 {
    u32::try_from(i2p_crypto::random_below(u64::from(u32::MAX))).unwrap_or(1)
}

pub(crate) fn now() -> Now {
    Now::new(Instant::now().into_std(), unix_ms())
}

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What the core needs to (re)build our RouterInfo.
pub(crate) struct OurInfo {
    pub(crate) keys: Arc<crate::keys::RouterKeys>,
    pub(crate) published_addr: Option<std::net::SocketAddr>,
    pub(crate) net_id: u8,
    pub(crate) floodfill: bool,
    pub(crate) tx: watch::Sender<Arc<RouterInfo>>,
    /// Where our current RouterInfo is written (`router.info`, as i2pd and Java I2P do),
    /// for people and for seeding other routers by hand.
    pub(crate) file: std::path::PathBuf,
}

struct SessionEntry {
    conn: ConnId,
    cmd: mpsc::Sender<SessionCmd>,
    inbound: bool,
}

/// Commands from the [`crate::Router`] handle.
#[derive(Debug)]
pub(crate) enum CoreCmd {
    /// Close every session, flush the store, stop.
    Shutdown,
    /// New transit limits, in force at once.
    SetTransitLimits(TransitLimits),
    /// Run a destination.
    AddDestination(
        Box<crate::destinations::DestinationSpec>,
        tokio::sync::oneshot::Sender<Option<crate::destinations::DestinationInfo>>,
    ),
    /// Stop running the destination with this id.
    RemoveDestination(u32),
    /// Find a remote destination's LeaseSet.
    LookupLeaseSet(Hash, dest::LookupReply),
    /// Find and open the encrypted LeaseSet of a `b33` address.
    LookupBlinded(Box<i2p_wire::BlindedAddress>, dest::LookupReply),
    /// Accepted streams of a destination go to this channel.
    Listen(u32, mpsc::Sender<crate::stream_io::I2pStream>),
    /// Datagrams to a destination go to this channel.
    ListenDatagrams(u32, mpsc::Sender<crate::destinations::ReceivedDatagram>),
    /// Send a datagram from a destination.
    SendDatagram(u32, Box<crate::destinations::OutgoingDatagram>),
    /// Open a stream from a destination to the one of this LeaseSet, from and to
    /// these ports.
    ConnectStream(
        u32,
        Box<i2p_wire::LeaseSet2>,
        (u16, u16),
        tokio::sync::oneshot::Sender<
            Result<crate::stream_io::I2pStream, crate::destinations::ConnectError>,
        >,
    ),
}

pub(crate) struct Core {
    pub(crate) netdb: NetDb,
    pub(crate) routers: HashMap<Hash, Arc<RouterInfo>>,
    sessions: HashMap<Hash, SessionEntry>,
    dialing: HashMap<Hash, Vec<Vec<u8>>>,
    pub(crate) ctx: Arc<TransportCtx>,
    pub(crate) persist: Persister,
    pub(crate) counters: Arc<Counters>,
    pub(crate) our: OurInfo,
    pub(crate) status: Arc<Mutex<Status>>,
    stores_confirmed: u64,
    pub(crate) tunnels: Tunnels,
    garlic: RouterGarlic,
    /// netDb messages we sent through tunnels, and directly.
    netdb_via_tunnels: u64,
    netdb_direct: u64,
    dests: dest::DestState,
    /// Applications' stream activity: (destination, stream). At most one in flight
    /// per stream (coalesced in the stream's shared state), so bounded by the streams.
    stream_notes: mpsc::UnboundedSender<(u32, i2p_streaming::StreamId)>,
    stream_notes_rx: Option<mpsc::UnboundedReceiver<(u32, i2p_streaming::StreamId)>>,
}

/// What [`Core::new`] is made from.
pub(crate) struct CoreParts {
    pub(crate) netdb: NetDb,
    pub(crate) routers: HashMap<Hash, Arc<RouterInfo>>,
    pub(crate) ctx: Arc<TransportCtx>,
    pub(crate) persist: Persister,
    pub(crate) counters: Arc<Counters>,
    pub(crate) our: OurInfo,
    pub(crate) status: Arc<Mutex<Status>>,
    pub(crate) tunnels: Tunnels,
}

impl Core {
    pub(crate) fn new(parts: CoreParts) -> Self {
        let CoreParts {
            netdb,
            routers,
            ctx,
            persist,
            counters,
            our,
            status,
            tunnels,
        } = parts;
        let garlic = RouterGarlic::new(our.keys.x25519.clone());
        let (stream_notes, stream_notes_rx) = mpsc::unbounded_channel();
        Self {
            netdb,
            routers,
            sessions: HashMap::new(),
            dialing: HashMap::new(),
            ctx,
            persist,
            counters,
            our,
            status,
            stores_confirmed: 0,
            garlic,
            tunnels,
            netdb_via_tunnels: 0,
            netdb_direct: 0,
            dests: dest::DestState::default(),
            stream_notes,
            stream_notes_rx: Some(stream_notes_rx),
        }
    }

    /// Runs until shutdown.
    pub(crate) async fn run(
        mut self,
        mut events: mpsc::Receiver<TransportEvent>,
        mut commands: mpsc::Receiver<CoreCmd>,
    ) {
        let mut resign_at = Instant::now() + RESIGN_INTERVAL;
        let mut status_tick = tokio::time::interval(Duration::from_secs(1));
        let Some(mut stream_notes) = self.stream_notes_rx.take() else {
            return;
        };
        self.publish_ours();
        self.drain_netdb();
        // The pool asks for its first builds at once.
        let mut out = Vec::new();
        self.tunnels.handle_timeout(
            Instant::now().into_std(),
            unix_ms(),
            &self.routers,
            &mut out,
        );
        self.run_outs(out);
        loop {
            let deadline = self
                .netdb
                .poll_timeout()
                .map(Instant::from_std)
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(60))
                .min(resign_at)
                .min(
                    self.tunnels
                        .poll_timeout()
                        .map(Instant::from_std)
                        .unwrap_or(resign_at),
                )
                .min(self.streams_deadline().unwrap_or(resign_at));
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(ev) => {
                        self.on_transport_event(ev);
                        // Take what else has arrived before the streams answer: a
                        // burst of streaming packets then gets one ACK.
                        let batch_start = std::time::Instant::now();
                        for _ in 0..EVENT_BATCH {
                            if batch_start.elapsed() >= EVENT_BATCH_TIME {
                                break;
                            }
                            match events.try_recv() {
                                Ok(ev) => self.on_transport_event(ev),
                                Err(_) => break,
                            }
                        }
                    }
                    None => break,
                },
                cmd = commands.recv() => match cmd {
                    Some(CoreCmd::Shutdown) | None => break,
                    Some(CoreCmd::SetTransitLimits(l)) => {
                        self.tunnels.set_limits(l, Instant::now().into_std());
                        // The bandwidth class in our caps follows the share.
                        self.publish_ours();
                    }
                    Some(CoreCmd::AddDestination(spec, reply)) => {
                        let _ = reply.send(self.add_destination(*spec));
                    }
                    Some(CoreCmd::RemoveDestination(id)) => self.remove_destination(id),
                    Some(CoreCmd::LookupLeaseSet(hash, reply)) => self.lookup_leaseset(hash, reply),
                    Some(CoreCmd::LookupBlinded(address, reply)) => self.lookup_blinded(*address, reply),
                    Some(CoreCmd::Listen(id, to)) => self.listen(id, to),
                    Some(CoreCmd::ListenDatagrams(id, to)) => self.listen_datagrams(id, to),
                    Some(CoreCmd::SendDatagram(id, dg)) => self.send_datagram(id, *dg),
                    Some(CoreCmd::ConnectStream(id, ls, ports, reply)) => {
                        self.connect_stream(id, *ls, ports, reply)
                    }
                },
                Some((id, sid)) = stream_notes.recv() => self.on_stream_io(id, sid),
                _ = tokio::time::sleep_until(deadline) => {
                    let mut out = Vec::new();
                    self.tunnels.handle_timeout(Instant::now().into_std(), unix_ms(), &self.routers, &mut out);
                    self.run_outs(out);
                    self.netdb.handle_timeout(now());
                    self.tick_streams();
                    if Instant::now() >= resign_at {
                        resign_at = Instant::now() + RESIGN_INTERVAL;
                        self.publish_ours();
                    }
                }
                _ = status_tick.tick() => {
                    self.tick_destinations();
                    self.update_status();
                }
            }
            self.pump_due_streams();
            self.drain_netdb();
        }
        info!(target: "gousse::router", "shutting down: closing {} sessions", self.sessions.len());
        for (_, s) in self.sessions.drain() {
            let _ = s
                .cmd
                .try_send(SessionCmd::Close(TerminationReason::ROUTER_SHUTDOWN));
        }
        self.persist.flush();
    }

    /// Re-signs our RouterInfo with the current time and hands it to the netDb
    /// (which publishes it to the closest floodfills) and to new sessions.
    fn publish_ours(&mut self) {
        let o = &self.our;
        let class = crate::bandwidth::bandwidth_class(self.tunnels.limits().share_bytes_per_s);
        match crate::our_info::build(
            &o.keys,
            o.published_addr,
            o.net_id,
            o.floodfill,
            class,
            unix_ms(),
        ) {
            Ok(ri) => {
                let summary = self.summary(&ri);
                let ri = Arc::new(ri);
                if let Err(e) = write_atomically(&o.file, ri.as_bytes()) {
                    warn!(target: "gousse::router", "writing {}: {e}", o.file.display());
                }
                self.routers.insert(ri.hash(), ri.clone());
                let _ = o.tx.send(ri);
                if let Err(e) = self.netdb.set_our_router_info(now(), summary) {
                    warn!(target: "gousse::netdb", "our RouterInfo: {e}");
                }
            }
            Err(e) => warn!(target: "gousse::router", "building our RouterInfo: {e}"),
        }
    }

    pub(crate) fn summary(&self, ri: &RouterInfo) -> RouterSummary {
        summarize(ri, self.our.net_id)
    }

    /// Verifies and adds a RouterInfo we were given (reseed, SQLite, a session's
    /// message 3 or RouterInfo block). Returns whether the table changed.
    fn learn_router_info(&mut self, ri: RouterInfo, from: Option<RouterHash>) -> bool {
        if ri.published() > unix_ms() + MAX_FUTURE_PUBLISHED_MS {
            return false;
        }
        let summary = self.summary(&ri);
        let store = IncomingStore {
            key: Key(ri.hash().0),
            entry: StoreEntry::RouterInfo(summary),
            reply: None,
            from,
        };
        self.keep_if_stored(ri, store)
    }

    fn keep_if_stored(&mut self, ri: RouterInfo, store: IncomingStore) -> bool {
        let outcome = self.netdb.handle_database_store(now(), store);
        if outcome.is_stored() {
            self.routers.insert(ri.hash(), Arc::new(ri));
            true
        } else {
            false
        }
    }

    fn on_transport_event(&mut self, ev: TransportEvent) {
        match ev {
            TransportEvent::Established {
                conn,
                router_info,
                inbound,
                cmd,
            } => {
                let peer = router_info.hash();
                debug!(target: "gousse::ntcp2", %peer, inbound, "session established");
                self.persist.send(PersistCmd::Connect {
                    hash: peer.0,
                    ok: true,
                    at_ms: unix_ms(),
                });
                if inbound {
                    // Alice's RouterInfo from message 3 was verified by the driver.
                    let ri = (*router_info).clone();
                    self.learn_router_info(ri, Some(RouterHash(peer.0)));
                }
                if let Some(old) = self
                    .sessions
                    .insert(peer, SessionEntry { conn, cmd, inbound })
                {
                    // Keep the newer connection; the older one closes.
                    let _ = old
                        .cmd
                        .try_send(SessionCmd::Close(TerminationReason::NORMAL));
                }
                if let Some(held) = self.dialing.remove(&peer) {
                    for msg in held {
                        self.send_raw(peer, msg);
                    }
                }
            }
            TransportEvent::DialFailed { peer, reason } => {
                debug!(target: "gousse::ntcp2", %peer, "dial failed: {reason}");
                self.persist.send(PersistCmd::Connect {
                    hash: peer.0,
                    ok: false,
                    at_ms: unix_ms(),
                });
                if let Some(held) = self.dialing.remove(&peer) {
                    self.counters
                        .messages_dropped
                        .fetch_add(held.len() as u64, Ordering::Relaxed);
                }
                self.netdb.handle_send_failed(now(), RouterHash(peer.0));
            }
            TransportEvent::Closed { conn, peer } => {
                if let Some(p) = peer {
                    if self.sessions.get(&p).is_some_and(|s| s.conn == conn) {
                        self.sessions.remove(&p);
                    }
                }
            }
            TransportEvent::RouterInfo { peer, bytes } => {
                match UncheckedRouterInfo::parse(&bytes).and_then(|u| u.verify()) {
                    Ok(ri) => {
                        self.learn_router_info(ri, peer.map(|p| RouterHash(p.0)));
                    }
                    Err(e) => {
                        self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                        debug!(target: "gousse::netdb", "bad RouterInfo block: {e}");
                    }
                }
            }
            TransportEvent::I2np { peer, msg } => self.on_i2np(peer, &msg),
        }
    }

    fn on_i2np(&mut self, peer: Hash, bytes: &[u8]) {
        let msg = match I2npMessage::parse_short(bytes) {
            Ok(m) => m,
            Err(e) => {
                self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                debug!(target: "gousse::i2np", %peer, "dropping malformed message: {e}");
                return;
            }
        };
        let mut out = Vec::new();
        if self.tunnels.handle_message(
            Some(peer),
            &msg,
            Instant::now().into_std(),
            unix_ms(),
            &mut out,
        ) {
            self.run_outs(out);
            return;
        }
        let payload = match msg.parse_payload() {
            Ok(p) => p,
            Err(e) => {
                self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                debug!(target: "gousse::i2np", %peer, "dropping malformed message: {e}");
                return;
            }
        };
        let from = RouterHash(peer.0);
        match payload {
            Payload::DatabaseStore(store) => self.on_database_store(from, store),
            Payload::DatabaseSearchReply(reply) => {
                debug!(target: "gousse::netdb", %peer, key = %reply.key, peers = reply.peers.len(), "search reply");
                let peers: Vec<RouterHash> = reply.peers.iter().map(|h| RouterHash(h.0)).collect();
                self.netdb
                    .handle_search_reply(now(), from, Key(reply.key.0), &peers);
            }
            Payload::DeliveryStatus(ds) => {
                if !self
                    .tunnels
                    .handle_delivery_status(Instant::now().into_std(), ds.msg_id)
                {
                    self.netdb.handle_delivery_status(now(), ds.msg_id);
                }
            }
            Payload::DatabaseLookup(lookup) => self.on_database_lookup(from, lookup),
            Payload::Garlic(_) => self.on_garlic(Some(peer), &msg.payload),
            other => {
                debug!(target: "gousse::i2np", %peer, msg_type = msg.msg_type.0, "not handled yet");
                let _ = other;
            }
        }
    }

    /// A Garlic message for our router (ecies-routers.rst): a reply to one of our
    /// lookups (key+tag) or a one-shot message to our static key; its cloves are
    /// delivered as their instructions say.
    fn on_garlic(&mut self, from: Option<Hash>, body: &[u8]) {
        let cloves = match self.garlic.decrypt(unix_ms(), body) {
            Ok(c) => c,
            Err(e) => {
                self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                debug!(target: "gousse::garlic", ?from, "undecryptable garlic: {e}");
                return;
            }
        };
        let mut out = Vec::new();
        for clove in cloves {
            match clove.delivery {
                DeliveryInstructions::Local => out.push(Out::Local(clove.message)),
                DeliveryInstructions::Router(h) => out.push(Out::Send(h, clove.message)),
                DeliveryInstructions::Tunnel { gateway, tunnel_id } => out.push(Out::Send(
                    gateway,
                    crate::tunnels::tunnel_gateway_message(tunnel_id, clove.message, unix_ms()),
                )),
                _ => {
                    self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        self.run_outs(out);
    }

    fn on_database_store(&mut self, from: RouterHash, store: DatabaseStore) {
        let reply = store.reply.map(|r| StoreReply {
            token: r.token.get(),
            path: ReplyPath {
                gateway: RouterHash(r.gateway.0),
                tunnel_id: (r.tunnel_id != 0).then_some(r.tunnel_id),
            },
        });
        match store.parse_router_info() {
            Ok(unchecked) => {
                if unchecked.hash() != store.key {
                    self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                match unchecked.verify() {
                    Ok(ri) => {
                        if ri.published() > unix_ms() + MAX_FUTURE_PUBLISHED_MS {
                            return;
                        }
                        let summary = self.summary(&ri);
                        let incoming = IncomingStore {
                            key: Key(ri.hash().0),
                            entry: StoreEntry::RouterInfo(summary),
                            reply,
                            from: Some(from),
                        };
                        self.keep_if_stored(ri, incoming);
                    }
                    Err(e) => {
                        self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                        debug!(target: "gousse::netdb", "DatabaseStore with a bad RouterInfo: {e}");
                    }
                }
            }
            Err(_) if store.store_type() != 0 => {
                if self.keep_leaseset(&store) {
                    return;
                }
                let incoming = IncomingStore {
                    key: Key(store.key.0),
                    entry: StoreEntry::LeaseSet,
                    reply,
                    from: Some(from),
                };
                let _ = self.netdb.handle_database_store(now(), incoming);
            }
            Err(e) => {
                self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                debug!(target: "gousse::netdb", "undecodable DatabaseStore: {e}");
            }
        }
    }

    fn on_database_lookup(&mut self, from: RouterHash, lookup: DatabaseLookup) {
        let kind = match lookup.lookup_type {
            LookupType::Any => LookupKind::Any,
            LookupType::LeaseSet => LookupKind::LeaseSet,
            LookupType::RouterInfo => LookupKind::RouterInfo,
            LookupType::Exploration => LookupKind::Exploratory,
        };
        // i2np.rst, DatabaseLookup: with a reply tunnel, `from` is that tunnel's
        // gateway; otherwise the answer goes to the router that asked.
        let reply = match lookup.reply_tunnel_id {
            Some(tid) => ReplyPath {
                gateway: RouterHash(lookup.from.0),
                tunnel_id: Some(tid),
            },
            None => ReplyPath {
                gateway: from,
                tunnel_id: None,
            },
        };
        let incoming = IncomingLookup {
            key: Key(lookup.key.0),
            kind,
            reply,
            exclude: lookup
                .excluded_peers
                .iter()
                .map(|h| RouterHash(h.0))
                .collect(),
        };
        let payload = match self.netdb.handle_lookup(now(), &incoming) {
            LookupAnswer::Store { key } => {
                let Some(ri) = self.routers.get(&Hash(key.0)).cloned() else {
                    return;
                };
                match DatabaseStore::router_info(&ri, None) {
                    Ok(store) => Payload::DatabaseStore(store),
                    Err(_) => return,
                }
            }
            LookupAnswer::SearchReply { key, peers } => {
                Payload::DatabaseSearchReply(DatabaseSearchReply {
                    key: Hash(key.0),
                    peers: peers.iter().map(|p| Hash(p.0)).collect(),
                    from: self.ctx.our_hash,
                })
            }
            _ => return,
        };
        let Some(tid) = reply.tunnel_id else {
            return self.send(Hash(from.0), payload);
        };
        // Through a tunnel the answer may be encrypted for the asker with the key and
        // tag it gave (ecies-routers.rst); ElGamal/AES replies are not supported.
        let now_ms = unix_ms();
        let expires = now_ms + MESSAGE_LIFETIME.as_millis() as u64;
        let mut msg = I2npMessage::from_payload(random_msg_id(), expires, &payload);
        match &lookup.reply_encryption {
            None => {}
            Some(ReplyEncryption::Ecies { key, tags }) => {
                let Some(tag) = tags.first() else { return };
                match i2p_garlic::wrap_with_key_tag(&key.0, tag, &[Clove::local(msg)]) {
                    Ok(body) => {
                        msg = I2npMessage::new(
                            i2p_wire::MessageType::GARLIC,
                            random_msg_id(),
                            expires,
                            body,
                        )
                    }
                    Err(_) => return,
                }
            }
            Some(_) => return,
        }
        self.send_to_tunnel(Hash(reply.gateway.0), tid, msg);
    }

    /// Sends `msg` into the tunnel `tunnel_id` at its gateway: out of one of our
    /// outbound tunnels when we have one (as i2pd does), else directly as a
    /// TunnelGateway message.
    fn send_to_tunnel(&mut self, gateway: Hash, tunnel_id: u32, msg: I2npMessage) {
        let mut out = Vec::new();
        if !self
            .tunnels
            .send_out(Delivery::Tunnel { tunnel_id, gateway }, &msg, &mut out)
        {
            out.push(Out::Send(
                gateway,
                crate::tunnels::tunnel_gateway_message(tunnel_id, msg, unix_ms()),
            ));
        }
        self.run_outs(out);
    }

    /// Carries out what the netDb asked for, and records what it reported.
    fn drain_netdb(&mut self) {
        while let Some(action) = self.netdb.poll_action() {
            self.on_action(action);
        }
        while let Some(ev) = self.netdb.poll_event() {
            self.on_netdb_event(ev);
        }
    }

    fn on_action(&mut self, action: Action) {
        match action {
            Action::SendLookup {
                to,
                key,
                kind,
                exclude,
                ..
            } => {
                let lookup_type = match kind {
                    LookupKind::RouterInfo => LookupType::RouterInfo,
                    LookupKind::LeaseSet => LookupType::LeaseSet,
                    LookupKind::Exploratory => LookupType::Exploration,
                    _ => LookupType::Any,
                };
                debug!(target: "gousse::netdb", to = %Hash(to.0), key = %Hash(key.0), ?kind, "sending lookup");
                let mut lookup = DatabaseLookup {
                    key: Hash(key.0),
                    from: self.ctx.our_hash,
                    reply_tunnel_id: None,
                    lookup_type,
                    excluded_peers: exclude.iter().map(|h| Hash(h.0)).collect(),
                    reply_encryption: None,
                    reserved_flags: 0,
                };
                // ecies-routers.rst / network-database.md: through an outbound tunnel,
                // garlic-encrypted to the floodfill, the reply encrypted to us and sent
                // to one of our inbound tunnels. Direct only while we have no tunnels.
                if let Some((gw, tid)) =
                    self.tunnels.reply_tunnel().filter(|_| self.tunnels.ready())
                {
                    let (k, tag) = self.garlic.expect_reply(unix_ms());
                    lookup.from = gw;
                    lookup.reply_tunnel_id = Some(tid);
                    lookup.reply_encryption = Some(ReplyEncryption::Ecies {
                        key: ReplyKey(*k),
                        tags: vec![tag],
                    });
                    if self.send_via_tunnel(Hash(to.0), Payload::DatabaseLookup(lookup)) {
                        return;
                    }
                    return self.netdb.handle_send_failed(now(), to);
                }
                self.netdb_direct += 1;
                self.send(Hash(to.0), Payload::DatabaseLookup(lookup));
            }
            Action::SendStore {
                to,
                key,
                reply_token,
            } => {
                let Some(ri) = self.routers.get(&Hash(key.0)).cloned() else {
                    return;
                };
                let Some(token) = NonZeroU32::new(reply_token) else {
                    return;
                };
                let via = self.tunnels.reply_tunnel().filter(|_| self.tunnels.ready());
                let reply = match via {
                    Some((gw, tid)) => i2p_wire::i2np::ReplyPath {
                        token,
                        tunnel_id: tid,
                        gateway: gw,
                    },
                    None => i2p_wire::i2np::ReplyPath {
                        token,
                        tunnel_id: 0,
                        gateway: self.ctx.our_hash,
                    },
                };
                match DatabaseStore::router_info(&ri, Some(reply)) {
                    Ok(store) => {
                        debug!(target: "gousse::netdb", floodfill = %Hash(to.0), through_tunnels = via.is_some(), "storing our RouterInfo");
                        if via.is_some() {
                            if !self.send_via_tunnel(Hash(to.0), Payload::DatabaseStore(store)) {
                                self.netdb.handle_send_failed(now(), to);
                            }
                        } else {
                            self.netdb_direct += 1;
                            self.send(Hash(to.0), Payload::DatabaseStore(store));
                        }
                    }
                    Err(e) => warn!(target: "gousse::netdb", "encoding our RouterInfo store: {e}"),
                }
            }
            Action::Flood { to, key } => {
                let Some(ri) = self.routers.get(&Hash(key.0)).cloned() else {
                    return;
                };
                if let Ok(store) = DatabaseStore::router_info(&ri, None) {
                    for ff in to {
                        self.send(Hash(ff.0), Payload::DatabaseStore(store.clone()));
                    }
                }
            }
            Action::SendDeliveryStatus { msg_id, path } => {
                let ds = DeliveryStatus {
                    msg_id,
                    timestamp_ms: unix_ms(),
                };
                match path.tunnel_id {
                    None => self.send(Hash(path.gateway.0), Payload::DeliveryStatus(ds)),
                    Some(tid) => {
                        let expires = unix_ms() + MESSAGE_LIFETIME.as_millis() as u64;
                        let msg = I2npMessage::from_payload(
                            msg_id,
                            expires,
                            &Payload::DeliveryStatus(ds),
                        );
                        self.send_to_tunnel(Hash(path.gateway.0), tid, msg);
                    }
                }
            }
            Action::Persist { hash } => {
                if let Some(ri) = self.routers.get(&Hash(hash.0)) {
                    if hash != RouterHash(self.ctx.our_hash.0) {
                        self.persist.send(PersistCmd::Put(record(ri, unix_ms())));
                    }
                }
            }
            Action::Forget { hashes } => {
                for h in &hashes {
                    self.routers.remove(&Hash(h.0));
                }
                self.persist
                    .send(PersistCmd::Forget(hashes.iter().map(|h| h.0).collect()));
            }
            other => debug!(target: "gousse::netdb", "unhandled action {other:?}"),
        }
    }

    fn on_netdb_event(&mut self, ev: NetDbEvent) {
        match ev {
            NetDbEvent::FloodfillLookup { floodfill, ok } => {
                self.persist.send(PersistCmd::Lookup {
                    hash: floodfill.0,
                    ok,
                    at_ms: unix_ms(),
                });
            }
            NetDbEvent::StoreConfirmed { floodfill } => {
                self.stores_confirmed += 1;
                self.tunnels.our_router_info_published();
                info!(target: "gousse::netdb", floodfill = %Hash(floodfill.0), "floodfill confirmed storing our RouterInfo");
            }
            NetDbEvent::StoreFailed { floodfill } => {
                debug!(target: "gousse::netdb", floodfill = %Hash(floodfill.0), "store of our RouterInfo not confirmed");
            }
            NetDbEvent::LookupFailed { key } => self.leaseset_lookup_failed(Hash(key.0)),
            _ => {}
        }
    }

    /// Sends an I2NP message to router `to` out of one of our outbound tunnels,
    /// garlic-encrypted to its static key so the tunnel's endpoint cannot read it.
    /// False if that cannot be done (no tunnel, unknown router, encoding failure).
    fn send_via_tunnel(&mut self, to: Hash, payload: Payload) -> bool {
        self.send_via_tunnel_of(PoolKey::Exploratory, to, payload)
    }

    /// Like [`send_via_tunnel`](Self::send_via_tunnel), out of a tunnel of `pool`.
    fn send_via_tunnel_of(&mut self, pool: PoolKey, to: Hash, payload: Payload) -> bool {
        let Some(their_key) = self
            .routers
            .get(&to)
            .and_then(|ri| ri.identity().x25519_public_key())
        else {
            return false;
        };
        let now_ms = unix_ms();
        let expires = now_ms + MESSAGE_LIFETIME.as_millis() as u64;
        let inner = I2npMessage::from_payload(random_msg_id(), expires, &payload);
        let body = match self
            .garlic
            .wrap_for_router(now_ms, &their_key, &[Clove::local(inner)])
        {
            Ok(b) => b,
            Err(e) => {
                debug!(target: "gousse::garlic", "wrapping for {to}: {e}");
                return false;
            }
        };
        let garlic = I2npMessage::new(
            i2p_wire::MessageType::GARLIC,
            random_msg_id(),
            expires,
            body,
        );
        let mut out = Vec::new();
        if !self
            .tunnels
            .send_out_of(pool, Delivery::Router(to), &garlic, &mut out)
        {
            return false;
        }
        self.netdb_via_tunnels += 1;
        self.run_outs(out);
        true
    }

    /// Sends an I2NP message to a router, dialing it if needed.
    fn send(&mut self, to: Hash, payload: Payload) {
        let msg_id = random_msg_id();
        let expires = unix_ms() + MESSAGE_LIFETIME.as_millis() as u64;
        let msg = I2npMessage::from_payload(msg_id, expires, &payload);
        match msg.to_short_bytes() {
            Ok(bytes) => self.send_raw(to, bytes),
            Err(e) => warn!(target: "gousse::i2np", "encoding {:?}: {e}", msg.msg_type),
        }
    }

    fn send_raw(&mut self, to: Hash, bytes: Vec<u8>) {
        if to == self.ctx.our_hash {
            return;
        }
        if let Some(s) = self.sessions.get(&to) {
            match s.cmd.try_send(SessionCmd::I2np(bytes)) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.counters
                        .messages_dropped
                        .fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(SessionCmd::I2np(b))) => {
                    // The session ended before its Closed event reached us: dial again.
                    self.sessions.remove(&to);
                    return self.send_raw(to, b);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.sessions.remove(&to);
                    return;
                }
            }
        }
        if let Some(held) = self.dialing.get_mut(&to) {
            if held.len() < MAX_PENDING_PER_PEER {
                held.push(bytes);
            } else {
                self.counters
                    .messages_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let Some(ri) = self.routers.get(&to).cloned() else {
            self.netdb.handle_send_failed(now(), RouterHash(to.0));
            return;
        };
        if self.dialing.len() >= MAX_PENDING_PEERS {
            self.counters
                .messages_dropped
                .fetch_add(1, Ordering::Relaxed);
            self.netdb.handle_send_failed(now(), RouterHash(to.0));
            return;
        }
        self.dialing.insert(to, vec![bytes]);
        spawn_dial(ri, self.ctx.clone());
    }

    /// Carries out what the tunnels asked for.
    fn run_outs(&mut self, outs: Vec<Out>) {
        let mut queue: std::collections::VecDeque<Out> = outs.into();
        // Local deliveries can produce more work; bound the rounds.
        let mut budget = 4096;
        while let Some(o) = queue.pop_front() {
            budget -= 1;
            if budget == 0 {
                break;
            }
            match o {
                Out::Send(to, msg) => match msg.to_short_bytes() {
                    Ok(b) => self.send_raw(to, b),
                    Err(e) => debug!(target: "gousse::i2np", "encoding {:?}: {e}", msg.msg_type),
                },
                Out::RouteChanged(id) => {
                    if let Some(rt) = self.dests.runtime.get_mut(&id) {
                        rt.route_changed = true;
                    }
                }
                Out::Profile(outcomes) => {
                    for (h, outcome) in outcomes {
                        self.persist.send(PersistCmd::TunnelBuild {
                            hash: h.0,
                            outcome,
                            at_ms: unix_ms(),
                        });
                    }
                }
                Out::Local(msg) => {
                    let mut more = Vec::new();
                    if self.tunnels.handle_message(
                        None,
                        &msg,
                        Instant::now().into_std(),
                        unix_ms(),
                        &mut more,
                    ) {
                        queue.extend(more);
                        continue;
                    }
                    self.on_local(msg);
                }
                Out::ForDestination(dest, msg) => self.on_destination_message(dest, msg),
            }
        }
    }

    /// A message that came out of one of our inbound tunnels, for us.
    fn on_local(&mut self, msg: I2npMessage) {
        let payload = match msg.parse_payload() {
            Ok(p) => p,
            Err(_) => {
                self.counters.bad_messages.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        match payload {
            Payload::DeliveryStatus(ds) => {
                if !self
                    .tunnels
                    .handle_delivery_status(Instant::now().into_std(), ds.msg_id)
                {
                    self.netdb.handle_delivery_status(now(), ds.msg_id);
                }
            }
            Payload::DatabaseSearchReply(reply) => {
                // Through a tunnel the sender is unknown; the reply's own `from` is the
                // floodfill we asked (the reply came encrypted to us).
                let peers: Vec<RouterHash> = reply.peers.iter().map(|h| RouterHash(h.0)).collect();
                self.netdb.handle_search_reply(
                    now(),
                    RouterHash(reply.from.0),
                    Key(reply.key.0),
                    &peers,
                );
            }
            Payload::DatabaseStore(store) => self.on_database_store_via_tunnel(store),
            Payload::Garlic(_) => self.on_garlic(None, &msg.payload),
            other => {
                debug!(target: "gousse::tunnels", msg_type = other.msg_type().0, "local message not handled")
            }
        }
        self.drain_netdb();
    }

    fn on_database_store_via_tunnel(&mut self, store: DatabaseStore) {
        // i2np.rst: "the reply fields are ignored if the message is received down a tunnel".
        if self.keep_leaseset(&store) {
            return;
        }
        if let Ok(ri) = store.parse_router_info().and_then(|u| u.verify()) {
            if ri.published() <= unix_ms() + MAX_FUTURE_PUBLISHED_MS {
                let summary = self.summary(&ri);
                let incoming = IncomingStore {
                    key: Key(ri.hash().0),
                    entry: StoreEntry::RouterInfo(summary),
                    reply: None,
                    from: None,
                };
                self.keep_if_stored(ri, incoming);
            }
        }
    }

    fn update_status(&mut self) {
        let mut counts = SessionCounts::default();
        for s in self.sessions.values() {
            if s.inbound {
                counts.inbound += 1;
            } else {
                counts.outbound += 1;
            }
        }
        if let Ok(mut st) = self.status.lock() {
            // Our own entry is in the table too; people count the others.
            st.known_routers = self.netdb.router_count().saturating_sub(1);
            st.known_floodfills = self
                .netdb
                .floodfill_count()
                .saturating_sub(usize::from(self.our.floodfill));
            st.active_sessions = counts;
            st.bytes_sent = self.counters.bytes_sent.load(Ordering::Relaxed);
            st.bytes_received = self.counters.bytes_received.load(Ordering::Relaxed);
            st.router_info_stores_confirmed = self.stores_confirmed;
            let now = Instant::now().into_std();
            let (tin, tout) = self.tunnels.counts(crate::tunnels::PoolKey::Exploratory);
            st.tunnels.exploratory_inbound = tin;
            st.tunnels.exploratory_outbound = tout;
            st.tunnel_build_success_pct = self.tunnels.build_success_pct(now);
            let (ok, failed) = self.tunnels.build_counts(now);
            st.tunnel_builds_ok = ok;
            st.tunnel_builds_failed = failed;
            st.transit_tunnels = self.tunnels.transit_count();
            (st.tunnel_tests_ok, st.tunnel_tests_failed) = self.tunnels.test_counts();
            (st.build_requests_dropped, st.build_requests_replayed) =
                self.tunnels.dropped_build_requests();
            st.tunnel_messages_dropped = self.tunnels.counters.bad_tunnel_messages;
            st.peer_messages_dropped = self.counters.messages_dropped.load(Ordering::Relaxed);
            st.destination_garlic_undecryptable = self
                .counters
                .destination_garlic_undecryptable
                .load(Ordering::Relaxed);
            st.reassembly_bytes = self.tunnels.reassembly_bytes();
            let c = self.tunnels.counters;
            st.transit_bytes = c.transit_bytes;
            st.transit_rejected = c.transit_rejected;
            st.transit_dropped = c.transit_dropped_bandwidth;
            st.transit_limits = self.tunnels.limits();
            st.tunnel_list = self.tunnels.list(now);
            st.destinations = self.destination_status();
            st.netdb_through_tunnels = self.tunnels.ready();
            st.netdb_messages_through_tunnels = self.netdb_via_tunnels;
            st.netdb_messages_direct = self.netdb_direct;
        }
    }
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The netDb's view of a RouterInfo.
pub(crate) fn summarize(ri: &RouterInfo, net_id: u8) -> RouterSummary {
    RouterSummary {
        hash: RouterHash(ri.hash().0),
        published_ms: ri.published(),
        floodfill: ri.is_floodfill(),
        reachable: crate::transport::dialable(ri).is_some(),
        net_id_ok: ri.net_id().unwrap_or(2) == u32::from(net_id),
    }
}
