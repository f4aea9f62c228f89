//! End-to-end traffic of local destinations: ECIES-X25519-AEAD-Ratchet garlic in
//! and out (ecies.rst), I2CP payloads in Data messages (i2cp-overview.md), and the
//! streaming protocol (streaming.rst) bridged to the application's [`I2pStream`]s.
//!
//! Outgoing, a streaming packet becomes an I2CP payload (protocol 6, ports), in a
//! Data message, in a garlic clove for local delivery at the remote destination,
//! with our LeaseSet in a second clove when the remote has not seen the current one
//! (so that it can answer, as i2pd and Java I2P expect), encrypted with the ratchet
//! to the remote's X25519 key from its LeaseSet, and sent out one of the
//! destination's outbound tunnels to one of the remote's leases.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use i2p_garlic::ratchet::DestinationGarlic;
use i2p_garlic::{Clove, DeliveryInstructions, MessageKind, PublicKey};
use i2p_streaming::{Event, ManagerConfig, Ports, StreamId, StreamManager, Transmit};
use i2p_tunnel::message::Delivery;
use i2p_wire::datagram::{Datagram1, Datagram2, Datagram3};
use i2p_wire::i2cp_payload::{
    I2cpPayload, MAX_PAYLOAD_LEN, PROTOCOL_DATAGRAM, PROTOCOL_DATAGRAM2, PROTOCOL_DATAGRAM3,
    PROTOCOL_RAW, PROTOCOL_STREAMING,
};
use i2p_wire::i2np::{Data, DatabaseStore, Payload};
use i2p_wire::{DestinationKeys, Hash, I2npMessage, LeaseSet2, MessageType};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::debug;

use super::{random_msg_id, unix_ms, Core};
use crate::destinations::{ConnectError, OutgoingDatagram, ReceivedDatagram};
use crate::stream_io::{I2pStream, StreamShared};
use crate::tunnels::PoolKey;

/// Streaming packets held per remote while its LeaseSet is looked up.
const MAX_WAITING_PER_REMOTE: usize = 64;
/// Remotes with held packets.
const MAX_WAITING_REMOTES: usize = 256;
/// Our LeaseSet is sent again to a remote after this long, even if unchanged.
const LEASESET_RESEND: Duration = Duration::from_secs(5 * 60);
/// Lifetime of the I2NP messages we send end to end.
const MESSAGE_LIFETIME_MS: u64 = 60_000;

/// What a local destination needs to talk end to end.
pub(crate) struct DestRuntime {
    /// Our destination's hash (Datagram2s are signed over it).
    local: Hash,
    garlic: DestinationGarlic,
    streams: StreamManager,
    /// Application ends of streams.
    app: HashMap<StreamId, Arc<StreamShared>>,
    /// Where accepted streams go (a server tunnel, a SAM session).
    acceptor: Option<mpsc::Sender<I2pStream>>,
    /// Outbound streams waiting for the SYN reply.
    connecting: HashMap<StreamId, oneshot::Sender<Result<I2pStream, ConnectError>>>,
    /// Payloads waiting for a remote's LeaseSet.
    waiting: HashMap<Hash, Vec<I2cpPayload>>,
    /// Payloads waiting for our own first LeaseSet.
    held: Vec<(Hash, I2cpPayload)>,
    /// Where received datagrams go (a SAM session, a UDP tunnel).
    datagrams: Option<mpsc::Sender<ReceivedDatagram>>,
    /// When we last sent our LeaseSet to a remote, and which one (its `published`).
    leaseset_sent: HashMap<Hash, (Instant, u32)>,
    /// Remote destinations by their LeaseSet's X25519 key (who sent a garlic).
    by_key: HashMap<[u8; 32], Hash>,
    /// The path to each remote we send to, kept while it works.
    paths: HashMap<Hash, RemotePath>,
    /// A tunnel test failed since the last tick: stalled streams resend once the
    /// LeaseSet follows.
    pub(super) route_changed: bool,
    /// Messages came in since the streams last ran.
    pump_due: bool,
}

/// The outbound tunnel and the remote's lease that messages to one remote take.
/// Spreading one stream's packets and ACKs over several paths reorders them and
/// makes its RTT jitter; i2pd's sender resends at 1.5 times its mean RTT, so jitter
/// costs resends and a halved window. A path is kept until one of its ends goes
/// (the tunnel expires or fails a test, the lease nears its end) or a stream over
/// it stalls; the next path then avoids the ends of the one that stalled where
/// there is a choice.
#[derive(Debug, Default, Clone, Copy)]
struct RemotePath {
    outbound: Option<i2p_tunnel::pool::PoolTunnelId>,
    lease: Option<(Hash, u32)>,
    avoid_outbound: Option<i2p_tunnel::pool::PoolTunnelId>,
    avoid_lease: Option<(Hash, u32)>,
}

impl RemotePath {
    /// A new path to be chosen, away from this one.
    fn stalled(self) -> Self {
        Self {
            avoid_outbound: self.outbound.or(self.avoid_outbound),
            avoid_lease: self.lease.or(self.avoid_lease),
            ..Self::default()
        }
    }
}

/// Most remote paths kept per destination.
const MAX_PATHS: usize = 4096;

impl DestRuntime {
    pub(crate) fn new(keys: &DestinationKeys) -> Self {
        Self {
            local: keys.destination().hash(),
            garlic: DestinationGarlic::new(keys.encryption_key().clone()),
            streams: StreamManager::new(
                keys.destination().clone(),
                keys.signing_key().clone(),
                ManagerConfig::default(),
            ),
            app: HashMap::new(),
            acceptor: None,
            connecting: HashMap::new(),
            waiting: HashMap::new(),
            held: Vec::new(),
            datagrams: None,
            leaseset_sent: HashMap::new(),
            by_key: HashMap::new(),
            paths: HashMap::new(),
            route_changed: false,
            pump_due: false,
        }
    }

    /// The next time the streams or the ratchet need attention.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let streams = self.streams.poll_timeout().map(Instant::from_std);
        let garlic = self.garlic.poll_timeout().map(|ms| {
            let now_ms = unix_ms();
            Instant::now() + Duration::from_millis(ms.saturating_sub(now_ms))
        });
        [streams, garlic].into_iter().flatten().min()
    }
}

impl Core {
    /// Accepted streams of destination `id` go to `to` from now on.
    pub(crate) fn listen(&mut self, id: u32, to: mpsc::Sender<I2pStream>) {
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            rt.acceptor = Some(to);
        }
    }

    /// Opens a stream from destination `id` to the destination of `ls`.
    pub(crate) fn connect_stream(
        &mut self,
        id: u32,
        ls: LeaseSet2,
        (from_port, to_port): (u16, u16),
        reply: oneshot::Sender<Result<I2pStream, ConnectError>>,
    ) {
        let remote = ls.destination().clone();
        let remote_hash = remote.hash();
        let kept = self.keep_remote(id, &ls);
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            let _ = reply.send(Err(ConnectError::Local("no such destination".into())));
            return;
        };
        if !kept {
            let _ = reply.send(Err(ConnectError::Local(
                "the remote LeaseSet has no X25519 key".into(),
            )));
            return;
        }
        let ports = Ports {
            local: from_port,
            remote: to_port,
        };
        match rt
            .streams
            .connect(Instant::now().into_std(), remote, ports, None)
        {
            Ok(sid) => {
                debug!(target: "gousse::streams", dest = id, remote = %remote_hash, ?sid, "connecting");
                rt.connecting.insert(sid, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(ConnectError::Local(e.to_string())));
            }
        }
        self.pump_streams(id);
    }

    /// Records a remote's LeaseSet key for destination `id`; false without an X25519
    /// key.
    fn keep_remote(&mut self, id: u32, ls: &LeaseSet2) -> bool {
        let Some(key) = ls.x25519_key() else {
            return false;
        };
        let hash = ls.hash();
        self.dests.leasesets.insert(hash, ls.clone());
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            if rt.by_key.len() >= 4096 && !rt.by_key.contains_key(&key) {
                rt.by_key.clear();
            }
            rt.by_key.insert(key, hash);
        }
        true
    }

    /// A garlic message that came out of an inbound tunnel of destination `id`.
    pub(crate) fn on_destination_garlic(&mut self, id: u32, body: &[u8]) {
        let now_ms = unix_ms();
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            return;
        };
        let incoming = match rt.garlic.decrypt(now_ms, body) {
            Ok(i) => i,
            Err(e) => {
                self.counters
                    .bad_messages
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.counters
                    .destination_garlic_undecryptable
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                debug!(target: "gousse::garlic", dest = id, "undecryptable destination garlic: {e}");
                return;
            }
        };
        let remote_key = incoming.remote;
        tracing::trace!(target: "gousse::garlic", dest = id, kind = ?incoming.kind, blocks = incoming.blocks.len(), "garlic in");
        let cloves: Vec<Clove> = incoming.cloves().cloned().collect();
        // LeaseSets first: a bundled LeaseSet tells us who the sender is.
        for clove in &cloves {
            if let Ok(Payload::DatabaseStore(store)) = clove.message.parse_payload() {
                if let Ok(ls) = store.parse_lease_set2().and_then(|u| u.verify()) {
                    if !ls.is_expired(now_ms) {
                        self.keep_remote(id, &ls);
                    }
                }
            }
        }
        let from = remote_key.and_then(|k| {
            self.dests
                .runtime
                .get(&id)
                .and_then(|rt| rt.by_key.get(&k).copied())
        });
        let ours = self.dests.by_id.get(&id).map(|d| d.hash());
        for clove in cloves {
            // i2pd addresses cloves for a destination by its hash (delivery type 1);
            // Java I2P and we use LOCAL.
            let for_us = match clove.delivery {
                DeliveryInstructions::Local => true,
                DeliveryInstructions::Destination(h) => Some(h) == ours,
                _ => false,
            };
            if !for_us {
                debug!(target: "gousse::garlic", dest = id, delivery = ?clove.delivery, "clove not for this destination");
                continue;
            }
            match clove.message.parse_payload() {
                Ok(Payload::Data(Data { data })) => self.on_i2cp_payload(id, from, &data),
                Ok(Payload::DatabaseStore(_)) | Ok(Payload::DeliveryStatus(_)) => {}
                Ok(other) => {
                    debug!(target: "gousse::garlic", msg_type = other.msg_type().0, "clove for a destination ignored")
                }
                Err(e) => debug!(target: "gousse::garlic", "bad clove message: {e}"),
            }
        }
        if incoming.reply_due {
            if let Some(remote) = from {
                self.send_cloves(id, remote, Vec::new());
            }
        }
        // Streams run once the core has taken what arrived with this message (see
        // `pump_due_streams`), so one ACK answers a burst.
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            rt.pump_due = true;
        }
    }

    /// Runs the streams of the destinations that received messages since the last
    /// call. The core calls it once it has no more transport events at hand.
    pub(crate) fn pump_due_streams(&mut self) {
        let due: Vec<u32> = self
            .dests
            .runtime
            .iter_mut()
            .filter_map(|(id, rt)| std::mem::take(&mut rt.pump_due).then_some(*id))
            .collect();
        for id in due {
            self.pump_streams(id);
        }
    }

    /// An I2CP payload for destination `id`.
    fn on_i2cp_payload(&mut self, id: u32, from: Option<Hash>, data: &[u8]) {
        let payload = match I2cpPayload::decode(data, MAX_PAYLOAD_LEN) {
            Ok(p) => p,
            Err(e) => {
                debug!(target: "gousse::streams", "bad I2CP payload: {e}");
                return;
            }
        };
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            return;
        };
        match payload.protocol {
            PROTOCOL_STREAMING => rt.streams.handle_packet(
                Instant::now().into_std(),
                from.as_ref(),
                Ports {
                    local: payload.dest_port,
                    remote: payload.source_port,
                },
                &payload.data,
            ),
            p => {
                let dg = match datagram_in(p, payload.data, &rt.local, unix_ms()) {
                    Ok(Some(d)) => d,
                    Ok(None) => {
                        debug!(target: "gousse::streams", protocol = p, "payload protocol not handled");
                        return;
                    }
                    Err(e) => {
                        debug!(target: "gousse::streams", protocol = p, "datagram refused: {e}");
                        return;
                    }
                };
                let dg = ReceivedDatagram {
                    from_port: payload.source_port,
                    to_port: payload.dest_port,
                    ..dg
                };
                let delivered = rt
                    .datagrams
                    .as_ref()
                    .is_some_and(|tx| tx.try_send(dg).is_ok());
                if !delivered {
                    debug!(target: "gousse::streams", dest = id, "datagram dropped: nobody listens or the queue is full");
                }
            }
        }
    }

    /// Datagrams to destination `id` go to `to` from now on.
    pub(crate) fn listen_datagrams(&mut self, id: u32, to: mpsc::Sender<ReceivedDatagram>) {
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            rt.datagrams = Some(to);
        }
    }

    /// Sends a datagram from destination `id`, signed as its protocol asks.
    pub(crate) fn send_datagram(&mut self, id: u32, dg: OutgoingDatagram) {
        let Some(d) = self.dests.by_id.get(&id) else {
            return;
        };
        let keys = d.keys();
        let data = match dg.protocol {
            PROTOCOL_DATAGRAM => {
                Datagram1::sign(keys.destination().clone(), keys.signing_key(), &dg.payload)
            }
            PROTOCOL_DATAGRAM2 => Datagram2::sign(
                keys.destination().clone(),
                keys.signing_key(),
                &dg.to,
                &dg.payload,
            ),
            PROTOCOL_DATAGRAM3 => Datagram3 {
                from: keys.destination().hash(),
                flags: i2p_wire::datagram::DG3_VERSION,
                options: None,
                payload: dg.payload,
            }
            .to_bytes(),
            _ => dg.payload,
        };
        let payload = I2cpPayload {
            protocol: dg.protocol,
            source_port: dg.from_port,
            dest_port: dg.to_port,
            data,
        };
        self.send_payload(id, dg.to, payload);
        self.flush_waiting(id);
    }

    /// The application touched stream `sid` of destination `id`.
    pub(crate) fn on_stream_io(&mut self, id: u32, sid: StreamId) {
        self.flush_waiting(id);
        if let Some(shared) = self.dests.runtime.get(&id).and_then(|rt| rt.app.get(&sid)) {
            shared.clear_notified();
        }
        self.move_stream_data(id, sid);
        self.pump_streams(id);
    }

    /// Moves bytes between the streaming state machine and the application's buffers.
    fn move_stream_data(&mut self, id: u32, sid: StreamId) {
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            return;
        };
        let Some(shared) = rt.app.get(&sid).cloned() else {
            return;
        };
        // Received data, as far as the application has room.
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let room = shared.receive_room_or_wait().min(buf.len());
            if room == 0 {
                // The application's buffer is full; whatever the streaming layer still
                // holds comes when the application has read (it notifies us).
                break;
            }
            match rt.streams.read(sid, &mut buf[..room]) {
                Ok(0) => break,
                Ok(n) => {
                    shared.push_received(&buf[..n]);
                }
                Err(i2p_streaming::StreamError::Finished) => {
                    shared.set_eof();
                    break;
                }
                Err(e) => {
                    shared.set_error(io::ErrorKind::ConnectionReset, e.to_string());
                    break;
                }
            }
        }
        // Data to send, as far as the send buffer takes it.
        loop {
            let mut failed = None;
            let n =
                shared.consume_outgoing(16 * 1024, |chunk| match rt.streams.write(sid, chunk) {
                    Ok(n) => n,
                    Err(e) => {
                        failed = Some(e);
                        0
                    }
                });
            if let Some(e) = failed {
                shared.set_error(io::ErrorKind::BrokenPipe, e.to_string());
                break;
            }
            if n == 0 {
                break;
            }
        }
        if shared.outgoing_finished() {
            let _ = rt.streams.close(sid);
        }
        if shared.is_dropped() {
            let _ = rt.streams.close(sid);
            rt.app.remove(&sid);
        }
    }

    /// Runs the streams of destination `id`: events to the application, packets out.
    pub(crate) fn pump_streams(&mut self, id: u32) {
        let now = Instant::now().into_std();
        let mut touched = Vec::new();
        let mut transmits = Vec::new();
        let mut stalled = Vec::new();
        {
            let notify = self.stream_notifier(id);
            let Some(rt) = self.dests.runtime.get_mut(&id) else {
                return;
            };
            while let Some(ev) = rt.streams.poll_event() {
                match ev {
                    Event::Incoming(_) => {
                        while let Some(sid) = rt.streams.accept() {
                            let Some(remote) = rt.streams.remote(sid).cloned() else {
                                continue;
                            };
                            let shared = StreamShared::new(notify(sid));
                            let remote_hash = remote.hash();
                            let ports = rt.streams.ports(sid).unwrap_or_default();
                            let stream =
                                I2pStream::new(shared.clone(), remote, (ports.local, ports.remote));
                            let delivered = rt
                                .acceptor
                                .as_ref()
                                .is_some_and(|a| a.try_send(stream).is_ok());
                            if delivered {
                                rt.app.insert(sid, shared);
                                debug!(target: "gousse::streams", dest = id, remote = %remote_hash, "stream accepted");
                            } else {
                                debug!(target: "gousse::streams", dest = id, "no listener: stream reset");
                                let _ = rt.streams.reset(now, sid);
                            }
                        }
                    }
                    Event::Connected(sid) => {
                        debug!(target: "gousse::streams", dest = id, ?sid, "stream connected");
                        if let Some(reply) = rt.connecting.remove(&sid) {
                            let Some(remote) = rt.streams.remote(sid).cloned() else {
                                continue;
                            };
                            let shared = StreamShared::new(notify(sid));
                            let ports = rt.streams.ports(sid).unwrap_or_default();
                            let stream =
                                I2pStream::new(shared.clone(), remote, (ports.local, ports.remote));
                            if reply.send(Ok(stream)).is_ok() {
                                rt.app.insert(sid, shared);
                            } else {
                                let _ = rt.streams.reset(now, sid);
                            }
                        }
                    }
                    Event::Readable(sid) | Event::Writable(sid) => touched.push(sid),
                    Event::Stalled {
                        id: sid,
                        remote,
                        timeouts,
                    } => {
                        debug!(target: "gousse::streams", dest = id, ?sid, %remote, timeouts, "stream stalled");
                        stalled.push(remote);
                    }
                    Event::Closed { id: sid, reason } => {
                        if let Some(s) = rt.streams.stream_stats(sid) {
                            debug!(target: "gousse::streams", dest = id, ?sid, ?reason,
                                received = s.packets_received, duplicates = s.duplicates_received,
                                acks = s.acks_sent, resent = s.retransmissions, dropped = s.dropped,
                                beyond_window = s.dropped_beyond_window,
                                ahead_no_room = s.dropped_ahead_no_room,
                                in_order_no_room = s.dropped_in_order_no_room,
                                srtt = ?s.srtt,
                                "stream closed");
                        } else {
                            debug!(target: "gousse::streams", dest = id, ?sid, ?reason, "stream closed");
                        }
                        if let Some(reply) = rt.connecting.remove(&sid) {
                            let e = match reason {
                                i2p_streaming::CloseReason::ResetByPeer => ConnectError::Reset,
                                other => ConnectError::Timeout(format!("{other:?}")),
                            };
                            let _ = reply.send(Err(e));
                        }
                        touched.push(sid);
                        if let Some(shared) = rt.app.get(&sid) {
                            if !matches!(reason, i2p_streaming::CloseReason::Normal) {
                                // Data received before the end is still read first.
                                shared.set_eof();
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        for remote in stalled {
            self.route_stalled(id, remote);
        }
        for sid in touched {
            self.move_stream_data(id, sid);
        }
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            while let Some(t) = rt.streams.poll_transmit(now) {
                transmits.push(t);
            }
        }
        for t in transmits {
            self.send_stream_packet(id, t);
        }
    }

    /// A stream to `remote` stalled: it went a whole RTO without an acknowledgment,
    /// or the remote keeps resending what we ACKed. One of our tunnels or the lease
    /// we use may lead through a hop that died, or the remote may hold our old
    /// LeaseSet. Our tunnels are tested at once (those that fail
    /// are no longer used or published), our LeaseSet goes with the next message
    /// again, and the remote's is fetched anew from the floodfills (at most every
    /// [`LEASESET_REFRESH`](super::dest::LEASESET_REFRESH)); a newer one replaces
    /// the cached copy, which would otherwise be used until it expires (up to ten
    /// minutes) though the remote may have published new tunnels since. The path to
    /// the remote is chosen again, through another tunnel and lease if we have one.
    fn route_stalled(&mut self, id: u32, remote: Hash) {
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            rt.leaseset_sent.remove(&remote);
            if let Some(path) = rt.paths.get_mut(&remote) {
                *path = path.stalled();
            }
        }
        self.tunnels
            .test_soon(PoolKey::Client(id), Instant::now().into_std());
        self.refresh_leaseset(remote);
    }

    /// Stalled streams of destination `id` (to `remote`, or to anyone) resend now:
    /// their route changed.
    pub(crate) fn resend_stalled(&mut self, id: u32, remote: Option<&Hash>) {
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            return;
        };
        let n = rt.streams.resend_stalled(remote);
        if n > 0 {
            debug!(target: "gousse::streams", dest = id, streams = n, "route changed: stalled streams resend");
            self.pump_streams(id);
        }
    }

    /// A closure that tells the core about application activity on a stream.
    fn stream_notifier(&self, id: u32) -> impl Fn(StreamId) -> crate::stream_io::Notify {
        let tx = self.stream_notes.clone();
        move |sid| {
            let tx = tx.clone();
            Arc::new(move || {
                let _ = tx.send((id, sid));
            })
        }
    }

    /// Sends a streaming packet.
    fn send_stream_packet(&mut self, id: u32, t: Transmit) {
        let payload = I2cpPayload {
            protocol: PROTOCOL_STREAMING,
            source_port: t.ports.local,
            dest_port: t.ports.remote,
            data: t.payload,
        };
        self.send_payload(id, t.remote, payload);
    }

    /// Sends an I2CP payload to `remote`: at once if we have its LeaseSet, else after
    /// looking it up (held, bounded, meanwhile).
    pub(crate) fn send_payload(&mut self, id: u32, remote: Hash, payload: I2cpPayload) {
        let now_ms = unix_ms();
        let ours_ready = self.can_send(id);
        let have = self
            .dests
            .leasesets
            .get(&remote)
            .is_some_and(|ls| !ls.is_expired(now_ms));
        if !ours_ready {
            if let Some(rt) = self.dests.runtime.get_mut(&id) {
                if rt.held.len() < MAX_WAITING_PER_REMOTE * 4 {
                    rt.held.push((remote, payload));
                }
            }
            return;
        }
        if !have {
            let Some(rt) = self.dests.runtime.get_mut(&id) else {
                return;
            };
            let remotes = rt.waiting.len();
            let first = !rt.waiting.contains_key(&remote);
            if first && remotes >= MAX_WAITING_REMOTES {
                return;
            }
            let list = rt.waiting.entry(remote).or_default();
            if list.len() < MAX_WAITING_PER_REMOTE {
                list.push(payload);
            }
            if !first {
                return;
            }
            let (tx, rx) = oneshot::channel();
            self.lookup_leaseset(remote, tx);
            let notes = self.stream_notes.clone();
            tokio::spawn(async move {
                // The lookup's end wakes the destination, which sends what waits (or
                // drops it, if the lookup failed).
                let _ = rx.await;
                let _ = notes.send((id, StreamId(0)));
            });
            return;
        }
        // Streaming packets and raw data often do not compress; datagrams carrying a
        // destination (with its padding) do.
        let compress = matches!(
            payload.protocol,
            i2p_wire::i2cp_payload::PROTOCOL_DATAGRAM | i2p_wire::i2cp_payload::PROTOCOL_DATAGRAM2
        );
        let data = I2npMessage::from_payload(
            random_msg_id(),
            now_ms + MESSAGE_LIFETIME_MS,
            &Payload::Data(Data {
                data: payload.encode(compress),
            }),
        );
        self.send_cloves(id, remote, vec![Clove::local(data)]);
    }

    /// Whether destination `id` can send: it has its LeaseSet (until then the
    /// remote could not answer, and i2pd treats a SYN it could not answer as a
    /// duplicate when it comes again) and an outbound tunnel (a SYN sent before would
    /// be lost and wait a whole RTO, 9 s, to go again). Until then what it sends is
    /// held, bounded, and goes within a second of both being there.
    fn can_send(&self, id: u32) -> bool {
        self.dests
            .by_id
            .get(&id)
            .is_some_and(|d| d.leaseset().is_some())
            && self.tunnels.counts(PoolKey::Client(id)).1 > 0
    }

    /// Sends what was held until the destination could send, and what waited for a
    /// remote's LeaseSet (after a lookup ended).
    pub(crate) fn flush_waiting(&mut self, id: u32) {
        let now_ms = unix_ms();
        if !self.can_send(id) {
            return;
        }
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            return;
        };
        let mut send: Vec<(Hash, I2cpPayload)> = std::mem::take(&mut rt.held);
        let ready: Vec<Hash> = rt.waiting.keys().copied().collect();
        for remote in ready {
            let known = self
                .dests
                .leasesets
                .get(&remote)
                .is_some_and(|ls| !ls.is_expired(now_ms));
            let looking = self.netdb.is_looking_up(&i2p_netdb::Key(remote.0));
            if known || !looking {
                if let Some(list) = rt.waiting.remove(&remote) {
                    if known {
                        send.extend(list.into_iter().map(|p| (remote, p)));
                    }
                }
            }
        }
        for (remote, payload) in send {
            self.send_payload(id, remote, payload);
        }
    }

    /// Garlic-encrypts `cloves` (plus our LeaseSet when due) to `remote` and sends it
    /// out one of the destination's outbound tunnels to one of the remote's leases.
    fn send_cloves(&mut self, id: u32, remote: Hash, mut cloves: Vec<Clove>) {
        let now = Instant::now();
        let now_ms = unix_ms();
        // Without an outbound tunnel nothing can go: stop before the message takes
        // ratchet state or is counted as having carried our LeaseSet. The streaming
        // layer sends again on its timer.
        if self.tunnels.counts(PoolKey::Client(id)).1 == 0 {
            debug!(target: "gousse::streams", dest = id, "no outbound tunnel yet");
            return;
        }
        let Some(ls) = self.dests.leasesets.get(&remote).cloned() else {
            return;
        };
        let Some(key) = ls.x25519_key() else {
            return;
        };
        let now_s = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        let leases: Vec<_> = ls
            .leases()
            .iter()
            .filter(|l| l.end_date > now_s + 10)
            .collect();
        let mut path = self
            .dests
            .runtime
            .get(&id)
            .and_then(|rt| rt.paths.get(&remote).copied())
            .unwrap_or_default();
        let pinned = leases
            .iter()
            .find(|l| path.lease == Some((l.tunnel_gw, l.tunnel_id)))
            .copied();
        let Some(lease) = pinned.or_else(|| {
            let others: Vec<_> = leases
                .iter()
                .filter(|l| path.avoid_lease != Some((l.tunnel_gw, l.tunnel_id)))
                .copied()
                .collect();
            let from = if others.is_empty() { &leases } else { &others };
            let n = u64::try_from(from.len()).unwrap_or(0);
            (n > 0)
                .then(|| usize::try_from(i2p_crypto::random_below(n)).unwrap_or(0))
                .and_then(|i| from.get(i))
                .copied()
        }) else {
            debug!(target: "gousse::streams", %remote, "remote LeaseSet has no live lease");
            return;
        };
        path.lease = Some((lease.tunnel_gw, lease.tunnel_id));
        // Our LeaseSet goes along with every New Session message (the remote cannot
        // answer without it, and the one that carried it may have been lost), and
        // otherwise when the remote has not had the current one.
        let ours = self
            .dests
            .by_id
            .get(&id)
            .and_then(|d| d.leaseset().cloned());
        let Some(rt) = self.dests.runtime.get_mut(&id) else {
            return;
        };
        let new_session = rt.garlic.next_kind(&PublicKey::from(key)) == MessageKind::NewSession;
        let mut leaseset_included = None;
        if let Some(our_ls) = ours {
            let due = new_session
                || rt.leaseset_sent.get(&remote).is_none_or(|(at, published)| {
                    *published != our_ls.published() || now >= *at + LEASESET_RESEND
                });
            if due {
                let store = DatabaseStore::lease_set2(&our_ls, None);
                // First, so that the remote knows where to answer before it reads
                // the message (i2pd handles cloves in order).
                cloves.insert(
                    0,
                    Clove::local(I2npMessage::from_payload(
                        random_msg_id(),
                        now_ms + MESSAGE_LIFETIME_MS,
                        &Payload::DatabaseStore(store),
                    )),
                );
                leaseset_included = Some(our_ls.published());
            }
        }
        let kind = rt.garlic.next_kind(&PublicKey::from(key));
        tracing::trace!(target: "gousse::garlic", dest = id, %remote, ?kind, cloves = cloves.len(), "garlic out");
        let body = match rt.garlic.encrypt(now_ms, &PublicKey::from(key), &cloves) {
            Ok(b) => b,
            Err(e) => {
                debug!(target: "gousse::garlic", %remote, "cannot encrypt to the remote: {e}");
                return;
            }
        };
        let msg = I2npMessage::new(
            MessageType::GARLIC,
            random_msg_id(),
            now_ms + MESSAGE_LIFETIME_MS,
            body,
        );
        let mut out = Vec::new();
        if !self.tunnels.send_out_of_pinned(
            PoolKey::Client(id),
            &mut path.outbound,
            path.avoid_outbound,
            Delivery::Tunnel {
                tunnel_id: lease.tunnel_id,
                gateway: lease.tunnel_gw,
            },
            &msg,
            &mut out,
        ) {
            debug!(target: "gousse::streams", dest = id, "no outbound tunnel yet");
            return;
        }
        if let Some(rt) = self.dests.runtime.get_mut(&id) {
            if let Some(published) = leaseset_included {
                if rt.leaseset_sent.len() >= 4096 {
                    rt.leaseset_sent.clear();
                }
                rt.leaseset_sent.insert(remote, (now, published));
            }
            if rt.paths.len() >= MAX_PATHS && !rt.paths.contains_key(&remote) {
                rt.paths.clear();
            }
            rt.paths.insert(remote, path);
        }
        self.run_outs(out);
    }

    /// Timers of every destination's streams and ratchet.
    pub(crate) fn tick_streams(&mut self) {
        let now_ms = unix_ms();
        let ids: Vec<u32> = self.dests.runtime.keys().copied().collect();
        for id in ids {
            if let Some(rt) = self.dests.runtime.get_mut(&id) {
                rt.garlic.handle_timeout(now_ms);
                // Timers only here: `pump_streams` runs on every packet and must not
                // scan every connection each time.
                rt.streams.handle_timeout(Instant::now().into_std());
            }
            self.flush_waiting(id);
            self.pump_streams(id);
        }
    }

    /// The earliest stream or ratchet timer.
    pub(crate) fn streams_deadline(&self) -> Option<Instant> {
        self.dests
            .runtime
            .values()
            .filter_map(DestRuntime::poll_timeout)
            .min()
    }
}

/// A received datagram payload, parsed and (for Datagram1 and Datagram2) verified;
/// `Ok(None)` for protocols that are not datagrams. Ports are filled by the caller.
fn datagram_in(
    protocol: u8,
    data: Vec<u8>,
    local: &Hash,
    now_ms: u64,
) -> Result<Option<ReceivedDatagram>, i2p_wire::Error> {
    let (from, from_hash, payload) = match protocol {
        PROTOCOL_RAW => (None, None, data),
        PROTOCOL_DATAGRAM => {
            let d = Datagram1::parse(&data)?;
            d.verify()?;
            let h = d.from.hash();
            (Some(d.from), Some(h), d.payload)
        }
        PROTOCOL_DATAGRAM2 => {
            let d = Datagram2::parse(&data)?;
            d.verify(local, now_ms)?;
            let h = d.from.hash();
            (Some(d.from), Some(h), d.payload)
        }
        PROTOCOL_DATAGRAM3 => {
            let d = Datagram3::parse(&data)?;
            (None, Some(d.from), d.payload)
        }
        _ => return Ok(None),
    };
    Ok(Some(ReceivedDatagram {
        protocol,
        from,
        from_hash,
        from_port: 0,
        to_port: 0,
        payload,
    }))
}
