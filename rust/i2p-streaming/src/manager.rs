//! The streaming endpoint of one local destination: demultiplexes packets to
//! connections, accepts SYNs, answers pings, signs what goes out (streaming-api.md,
//! "Setup", "Ping / Pong"; streaming.rst, "Replay prevention").
//!
//! Sans-IO (style Q2): every input carries `now`; after any input or command,
//! drain [`poll_transmit`](StreamManager::poll_transmit) until `None`, re-arm the
//! timer from [`poll_timeout`](StreamManager::poll_timeout), then drain
//! [`poll_event`](StreamManager::poll_event). `now` never goes backwards.
//!
//! Everything a peer can grow is bounded: connections (in all, per peer), the
//! accept queue, packets that arrive before their SYN, pings, RESETs and pongs
//! sent (rate-limited), signature checks of SYNs and pings (rate-limited), events.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use i2p_crypto::ed25519::{SigningKey, VerifyingKey};
use i2p_wire::identity::Destination;
use i2p_wire::Hash;

use crate::config::{ManagerConfig, StreamConfig};
use crate::connection::{Connection, Outgoing, StreamStats};
use crate::event::{CloseReason, Event, Ports, StreamError, StreamId};
use crate::flags::Flags;
use crate::packet::{OfflineSignature, Packet};

/// "The payload in the ping, up to a maximum of 32 bytes, is returned in the pong."
pub const MAX_PING_PAYLOAD: usize = 32;

/// Control packets (RESETs, pongs, pings) waiting to be sent.
const MAX_CONTROL_QUEUE: usize = 64;

/// Stream IDs of removed connections, whose stray packets get no RESET.
const RECENTLY_CLOSED: usize = 256;
const RECENTLY_CLOSED_TIME: Duration = Duration::from_secs(60);

/// A packet to hand to the layer below (I2CP / garlic), protocol 6 (streaming).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// Destination hash of the recipient.
    pub remote: Hash,
    /// Source (`local`) and destination (`remote`) ports.
    pub ports: Ports,
    /// The serialized, signed-where-needed streaming packet.
    pub payload: Vec<u8>,
}

/// Counters of what the manager dropped or refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStats {
    /// Packets that did not parse.
    pub malformed: u64,
    /// SYNs dropped: bad or missing signature or FROM, wrong replay hash, rate.
    pub syns_dropped: u64,
    /// SYNs refused with a RESET (or silently, when RESETs were rate-limited)
    /// because of limits.
    pub syns_refused: u64,
    /// RESETs sent for packets to unknown streams.
    pub resets_sent: u64,
    /// RESETs not sent because of the rate limit.
    pub resets_suppressed: u64,
    /// Packets that arrived before their SYN and were dropped (over a bound or
    /// expired).
    pub pre_syn_dropped: u64,
    /// Packets dropped because their sender was not the connection's peer.
    pub wrong_sender: u64,
    /// Pings answered.
    pub pongs_sent: u64,
    /// Events dropped because the application did not drain them.
    pub events_dropped: u64,
    /// Packets that could not be signed or written (a bug if nonzero).
    pub unwritable: u64,
}

/// A one-second fixed-window counter.
#[derive(Debug, Clone)]
struct RateLimiter {
    per_second: u32,
    window_start: Option<Instant>,
    count: u32,
}

impl RateLimiter {
    fn new(per_second: u32) -> Self {
        Self {
            per_second,
            window_start: None,
            count: 0,
        }
    }

    fn allow(&mut self, now: Instant) -> bool {
        match self.window_start {
            Some(s) if now < s + Duration::from_secs(1) => {}
            _ => {
                self.window_start = Some(now);
                self.count = 0;
            }
        }
        if self.count < self.per_second {
            self.count += 1;
            true
        } else {
            false
        }
    }
}

/// Packets for a remote stream whose SYN has not arrived yet.
#[derive(Debug)]
struct PreSyn {
    sender: Option<Hash>,
    ports: Ports,
    packets: Vec<Packet>,
    bytes: usize,
    expires: Instant,
}

/// A removed connection. After a normal close it keeps what is needed to ACK a
/// retransmitted CLOSE: peer, ports, the peer's stream ID, our last ackThrough.
#[derive(Debug)]
struct RecentlyClosed {
    id: u32,
    at: Instant,
    time_wait: Option<(Hash, Ports, u32, u32)>,
}

#[derive(Debug)]
struct PendingPing {
    remote: Hash,
    sent: Instant,
}

/// The streaming endpoint of one local destination. See the module doc.
pub struct StreamManager {
    local: Destination,
    local_hash: Hash,
    key: SigningKey,
    offline: Option<OfflineSignature>,
    cfg: ManagerConfig,
    conns: BTreeMap<u32, Connection>,
    /// Inbound connections by the peer's receiveStreamId (its follow-on packets
    /// before our SYN reply carry sendStreamId 0). Like i2pd, one per ID.
    inbound_by_remote_id: HashMap<u32, u32>,
    accept_queue: VecDeque<(u32, Instant)>,
    pre_syn: HashMap<u32, PreSyn>,
    pre_syn_bytes: usize,
    control: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Readable / Writable events queued, to send each at most once.
    queued_rw: HashSet<(u32, bool)>,
    pings: HashMap<u32, PendingPing>,
    reset_limiter: RateLimiter,
    syn_limiter: RateLimiter,
    recently_closed: VecDeque<RecentlyClosed>,
    cursor: u32,
    stats: ManagerStats,
}

impl fmt::Debug for StreamManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The signing key is left out.
        f.debug_struct("StreamManager")
            .field("local", &self.local_hash)
            .field("connections", &self.conns.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn random_id() -> u32 {
    // 1..=u32::MAX: "greater than zero".
    u32::try_from(i2p_crypto::random_below(u64::from(u32::MAX)) + 1).unwrap_or(1)
}

impl StreamManager {
    /// A manager for the local destination `local`, signing with its Ed25519
    /// key `key`.
    pub fn new(local: Destination, key: SigningKey, cfg: ManagerConfig) -> Self {
        let local_hash = local.hash();
        Self {
            local,
            local_hash,
            key,
            offline: None,
            reset_limiter: RateLimiter::new(cfg.resets_per_second),
            syn_limiter: RateLimiter::new(cfg.syns_per_second),
            cfg,
            conns: BTreeMap::new(),
            inbound_by_remote_id: HashMap::new(),
            accept_queue: VecDeque::new(),
            pre_syn: HashMap::new(),
            pre_syn_bytes: 0,
            control: VecDeque::new(),
            events: VecDeque::new(),
            queued_rw: HashSet::new(),
            pings: HashMap::new(),
            recently_closed: VecDeque::new(),
            cursor: 0,
            stats: ManagerStats::default(),
        }
    }

    /// A manager whose destination signs offline: `transient_key` signs packets and
    /// `offline` (the destination's signature of it) goes with every signed packet,
    /// together with FROM (streaming.rst, OFFLINE_SIGNATURE).
    pub fn with_offline_signature(
        local: Destination,
        transient_key: SigningKey,
        offline: OfflineSignature,
        cfg: ManagerConfig,
    ) -> Self {
        let mut m = Self::new(local, transient_key, cfg);
        m.offline = Some(offline);
        m
    }

    /// Our destination's hash.
    pub fn local_hash(&self) -> &Hash {
        &self.local_hash
    }

    /// Counters.
    pub fn stats(&self) -> &ManagerStats {
        &self.stats
    }

    /// Sizes and counters of one stream.
    pub fn stream_stats(&self, id: StreamId) -> Option<StreamStats> {
        self.conns.get(&id.0).map(Connection::stats)
    }

    /// The peer of a stream.
    pub fn remote(&self, id: StreamId) -> Option<&Destination> {
        self.conns.get(&id.0).map(Connection::remote)
    }

    /// The ports of a stream.
    pub fn ports(&self, id: StreamId) -> Option<Ports> {
        self.conns.get(&id.0).map(|c| c.ports)
    }

    /// Streams held (live or ended with unread data).
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Inbound streams waiting for `accept`.
    pub fn accept_queue_len(&self) -> usize {
        self.accept_queue.len()
    }

    /// Packets held for streams whose SYN has not arrived, and their bytes.
    pub fn pre_syn_buffered(&self) -> (usize, usize) {
        (
            self.pre_syn.values().map(|p| p.packets.len()).sum(),
            self.pre_syn_bytes,
        )
    }

    /// Control packets (RESET, pong, ping) waiting for `poll_transmit`.
    pub fn control_queue_len(&self) -> usize {
        self.control.len()
    }

    /// Events waiting for `poll_event`.
    pub fn event_queue_len(&self) -> usize {
        self.events.len()
    }

    fn live_count_with(&self, remote: &Hash) -> usize {
        self.conns
            .values()
            .filter(|c| c.terminal().is_none() && c.remote_hash() == remote)
            .count()
    }

    /// Makes room for one more connection within `max_connections` by forgetting
    /// ended connections whose unread data lingers; false if all are live.
    fn make_room(&mut self, now: Instant) -> bool {
        while self.conns.len() >= self.cfg.max_connections {
            let Some(id) = self
                .conns
                .iter()
                .find(|(_, c)| c.terminal().is_some())
                .map(|(id, _)| *id)
            else {
                return false;
            };
            self.remove(now, id);
        }
        true
    }

    fn new_id(&self) -> u32 {
        loop {
            let id = random_id();
            if !self.conns.contains_key(&id) && !self.recently_closed.iter().any(|r| r.id == id) {
                return id;
            }
        }
    }

    // ----- Application commands -----

    /// Opens a stream to `remote`; the SYN goes out at the next `poll_transmit`.
    /// `cfg`: settings for this stream, or the manager's defaults.
    pub fn connect(
        &mut self,
        now: Instant,
        remote: Destination,
        ports: Ports,
        cfg: Option<StreamConfig>,
    ) -> Result<StreamId, StreamError> {
        let remote_key = remote
            .ed25519_verifying_key()
            .map_err(|_| StreamError::UnsupportedDestination)?;
        if self.live_count_with(&remote.hash()) >= self.cfg.max_connections_per_peer
            || !self.make_room(now)
        {
            return Err(StreamError::Limit);
        }
        let id = self.new_id();
        let cfg = cfg.unwrap_or_else(|| self.cfg.stream.clone());
        let conn = Connection::outbound(now, id, remote, remote_key, ports, cfg);
        self.conns.insert(id, conn);
        Ok(StreamId(id))
    }

    /// Takes the next inbound stream from the accept queue.
    pub fn accept(&mut self) -> Option<StreamId> {
        while let Some((id, _)) = self.accept_queue.pop_front() {
            if self.conns.get(&id).is_some_and(|c| c.terminal().is_none()) {
                return Some(StreamId(id));
            }
        }
        None
    }

    /// Queues up to the free send-buffer space of `data`; returns how much was
    /// taken. A [`Event::Writable`] follows when room frees after a short write.
    pub fn write(&mut self, id: StreamId, data: &[u8]) -> Result<usize, StreamError> {
        let c = self
            .conns
            .get_mut(&id.0)
            .ok_or(StreamError::UnknownStream)?;
        if let Some(reason) = c.terminal() {
            return Err(StreamError::Closed(reason));
        }
        if c.write_closed() {
            return Err(StreamError::WriteClosed);
        }
        Ok(c.write(data))
    }

    /// Reads received bytes in order. `Ok(0)` with a non-empty `buf`: nothing
    /// yet. `Err(Finished)`: the peer closed and everything was read.
    /// `Err(Closed(reason))`: the connection ended abnormally and nothing is left.
    pub fn read(&mut self, id: StreamId, buf: &mut [u8]) -> Result<usize, StreamError> {
        let c = self
            .conns
            .get_mut(&id.0)
            .ok_or(StreamError::UnknownStream)?;
        let n = c.read(buf);
        if n > 0 || buf.is_empty() {
            return Ok(n);
        }
        if c.read_finished() {
            c.end_reported = true;
            let result = match c.terminal() {
                None | Some(CloseReason::Normal) => Err(StreamError::Finished),
                Some(r) => Err(StreamError::Closed(r)),
            };
            return result;
        }
        Ok(0)
    }

    /// Half-closes: CLOSE is sent after the data already written; the stream ends
    /// when the peer's CLOSE has come too and ours is acknowledged.
    pub fn close(&mut self, id: StreamId) -> Result<(), StreamError> {
        let c = self
            .conns
            .get_mut(&id.0)
            .ok_or(StreamError::UnknownStream)?;
        c.close();
        if c.terminal().is_some() {
            c.end_reported = true;
        }
        Ok(())
    }

    /// Aborts: a signed RESET goes to the peer, buffers are dropped.
    pub fn reset(&mut self, now: Instant, id: StreamId) -> Result<(), StreamError> {
        let c = self
            .conns
            .get_mut(&id.0)
            .ok_or(StreamError::UnknownStream)?;
        c.reset(now);
        c.end_reported = true;
        self.after_conn(now, id.0);
        Ok(())
    }

    /// The route to `remote` (to every peer, with `None`) changed: a tunnel that
    /// failed was replaced, or a newer LeaseSet came. Connections whose packets went
    /// unacknowledged for a whole RTO ([`Event::Stalled`]) resend them with the next
    /// `poll_transmit` rather than at their next timeout, which backoff may have put
    /// tens of seconds away. Their RTO backoff is kept. Returns how many resend.
    pub fn resend_stalled(&mut self, remote: Option<&Hash>) -> usize {
        self.conns
            .values_mut()
            .filter(|c| remote.is_none_or(|r| c.remote_hash() == r))
            .filter_map(|c| c.resend_if_stalled().then_some(()))
            .count()
    }

    /// Sends a ping (ECHO, FROM, signed) with up to 32 bytes of `payload`; the
    /// answer comes as [`Event::Pong`] with the returned id.
    pub fn ping(
        &mut self,
        now: Instant,
        remote: &Destination,
        ports: Ports,
        payload: &[u8],
    ) -> Result<u32, StreamError> {
        if self.pings.len() >= self.cfg.max_pending_pings || self.control.len() >= MAX_CONTROL_QUEUE
        {
            return Err(StreamError::Limit);
        }
        let mut id = random_id();
        while self.pings.contains_key(&id) {
            id = random_id();
        }
        // "A ping packet must have the ECHO, SIGNATURE_INCLUDED, and FROM_INCLUDED
        // flags set. The sendStreamId must be greater than zero".
        let p = Packet {
            send_stream_id: id,
            flags: Flags::ECHO,
            payload: payload.iter().take(MAX_PING_PAYLOAD).copied().collect(),
            ..Packet::default()
        };
        let out = Outgoing {
            packet: p,
            sign: true,
            include_from: true,
        };
        let remote_hash = remote.hash();
        let bytes = self.finish(out).ok_or(StreamError::Limit)?;
        self.control.push_back(Transmit {
            remote: remote_hash,
            ports,
            payload: bytes,
        });
        self.pings.insert(
            id,
            PendingPing {
                remote: remote_hash,
                sent: now,
            },
        );
        Ok(id)
    }

    // ----- Output -----

    /// The next packet to send, if any.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        if let Some(t) = self.control.pop_front() {
            return Some(t);
        }
        let ids: Vec<u32> = self
            .conns
            .range(self.cursor.saturating_add(1)..)
            .chain(self.conns.range(..=self.cursor))
            .map(|(k, _)| *k)
            .collect();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            let Some(out) = c.poll_transmit(now) else {
                continue;
            };
            let remote = *c.remote_hash();
            let ports = c.ports;
            self.cursor = id;
            self.after_conn(now, id);
            if let Some(payload) = self.finish(out) {
                return Some(Transmit {
                    remote,
                    ports,
                    payload,
                });
            }
        }
        None
    }

    /// Adds FROM and the signature where the connection asked for them; writes.
    fn finish(&mut self, out: Outgoing) -> Option<Vec<u8>> {
        let mut p = out.packet;
        if out.include_from || (out.sign && self.offline.is_some()) {
            p.from = Some(self.local.clone());
        }
        let result = if out.sign {
            p.offline_signature = self.offline.clone();
            p.sign(&self.key).and_then(|()| p.to_bytes())
        } else {
            p.to_bytes()
        };
        match result {
            Ok(b) => Some(b),
            Err(_) => {
                self.stats.unwritable += 1;
                None
            }
        }
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        let e = self.events.pop_front()?;
        match &e {
            Event::Readable(id) => {
                self.queued_rw.remove(&(id.0, true));
            }
            Event::Writable(id) => {
                self.queued_rw.remove(&(id.0, false));
            }
            _ => {}
        }
        Some(e)
    }

    fn push_event(&mut self, e: Event) {
        let key = match &e {
            Event::Readable(id) => Some((id.0, true)),
            Event::Writable(id) => Some((id.0, false)),
            _ => None,
        };
        if let Some(k) = key {
            if self.queued_rw.contains(&k) {
                return;
            }
        }
        if self.events.len() >= self.cfg.max_events {
            self.stats.events_dropped += 1;
            return;
        }
        if let Some(k) = key {
            self.queued_rw.insert(k);
        }
        self.events.push_back(e);
    }

    /// Collects a connection's events and forgets it if it is finished.
    fn after_conn(&mut self, now: Instant, id: u32) {
        let Some(c) = self.conns.get_mut(&id) else {
            return;
        };
        let evs: Vec<Event> = c.drain_events().collect();
        let removable = c.is_removable(now);
        for e in evs {
            self.push_event(e);
        }
        if removable {
            self.remove(now, id);
        }
    }

    fn remove(&mut self, now: Instant, id: u32) {
        if let Some(c) = self.conns.remove(&id) {
            if !c.is_outbound() && self.inbound_by_remote_id.get(&c.remote_id()) == Some(&id) {
                self.inbound_by_remote_id.remove(&c.remote_id());
            }
            self.accept_queue.retain(|(a, _)| *a != id);
            if self.recently_closed.len() >= RECENTLY_CLOSED {
                self.recently_closed.pop_front();
            }
            let time_wait = c
                .time_wait()
                .map(|(rid, ack)| (*c.remote_hash(), c.ports, rid, ack));
            self.recently_closed.push_back(RecentlyClosed {
                id,
                at: now,
                time_wait,
            });
        }
    }

    // ----- Timers -----

    /// The earliest time `handle_timeout` has work (or output may be due).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut min = |x: Instant| t = Some(t.map_or(x, |t| t.min(x)));
        for c in self.conns.values() {
            if let Some(x) = c.poll_timeout() {
                min(x);
            }
        }
        if let Some((_, at)) = self.accept_queue.front() {
            min(*at + self.cfg.accept_timeout);
        }
        for p in self.pre_syn.values() {
            min(p.expires);
        }
        for p in self.pings.values() {
            min(p.sent + self.cfg.ping_timeout);
        }
        t
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ids: Vec<u32> = self.conns.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.conns.get_mut(&id) {
                c.handle_timeout(now);
            }
            self.after_conn(now, id);
        }
        // Not accepted in time: i2pd closes pending incoming streams after 10 s.
        while let Some(&(id, at)) = self.accept_queue.front() {
            if now < at + self.cfg.accept_timeout {
                break;
            }
            self.accept_queue.pop_front();
            if let Some(c) = self.conns.get_mut(&id) {
                c.reset(now);
                self.after_conn(now, id);
            }
        }
        let expired: Vec<u32> = self
            .pre_syn
            .iter()
            .filter(|(_, p)| now >= p.expires)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            if let Some(p) = self.pre_syn.remove(&k) {
                self.pre_syn_bytes = self.pre_syn_bytes.saturating_sub(p.bytes);
                self.stats.pre_syn_dropped += p.packets.len() as u64;
            }
        }
        let timed_out: Vec<u32> = self
            .pings
            .iter()
            .filter(|(_, p)| now >= p.sent + self.cfg.ping_timeout)
            .map(|(k, _)| *k)
            .collect();
        for ping in timed_out {
            self.pings.remove(&ping);
            self.push_event(Event::PingTimeout { ping });
        }
        while self
            .recently_closed
            .front()
            .is_some_and(|r| now >= r.at + RECENTLY_CLOSED_TIME)
        {
            self.recently_closed.pop_front();
        }
    }

    // ----- Input -----

    /// Handles one streaming packet from the layer below. `from`: the sender's
    /// destination hash if the layer below knows it (then packets for a stream
    /// from anyone else are dropped, and unknown streams can be answered with a
    /// RESET); `ports`: the I2CP ports of the message, `local` being its
    /// destination port.
    pub fn handle_packet(&mut self, now: Instant, from: Option<&Hash>, ports: Ports, bytes: &[u8]) {
        let p = match Packet::parse(bytes) {
            Ok(p) => p,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        // "if the ECHO option is set, then most other flags, options, ackThrough,
        // sequenceNum, NACKs, etc. are ignored."
        if p.flags.contains(Flags::ECHO) {
            if p.send_stream_id == 0 {
                self.handle_pong(now, from, p);
            } else {
                self.handle_ping(now, from, ports, p);
            }
            return;
        }
        if p.send_stream_id != 0 {
            let sid = p.send_stream_id;
            if let Some(c) = self.conns.get_mut(&sid) {
                if from.is_some_and(|f| f != c.remote_hash()) {
                    self.stats.wrong_sender += 1;
                    return;
                }
                c.handle_packet(now, p, false);
                self.after_conn(now, sid);
                return;
            }
            self.unknown_stream(now, from, ports, &p);
            return;
        }
        // sendStreamId 0: a SYN, or a follow-on sent before our SYN reply arrived.
        if let Some(&id) = self.inbound_by_remote_id.get(&p.receive_stream_id) {
            if let Some(c) = self.conns.get_mut(&id) {
                if from.is_some_and(|f| f != c.remote_hash()) {
                    self.stats.wrong_sender += 1;
                    return;
                }
                c.handle_packet(now, p, false);
                self.after_conn(now, id);
            }
            return;
        }
        if p.flags.contains(Flags::SYNCHRONIZE) {
            self.handle_syn(now, from, ports, p);
        } else {
            self.save_pre_syn(now, from, ports, p);
        }
    }

    /// A packet for a stream we do not have: RESET it (rate-limited), unless it
    /// is itself a RESET, or the stream was ours and just closed.
    fn unknown_stream(&mut self, now: Instant, from: Option<&Hash>, ports: Ports, p: &Packet) {
        if p.flags.contains(Flags::RESET) {
            return;
        }
        if let Some(r) = self
            .recently_closed
            .iter()
            .find(|r| r.id == p.send_stream_id)
        {
            // TIME-WAIT: a packet we already received (the peer's CLOSE, our ACK
            // lost) gets its ACK again; anything else is dropped silently.
            if let Some((remote, ports, rid, ack)) = r.time_wait {
                let matches = from.is_none_or(|f| *f == remote);
                if matches
                    && !p.is_plain_ack()
                    && p.sequence_num <= ack
                    && self.control.len() < MAX_CONTROL_QUEUE
                {
                    let ack_packet = Packet {
                        send_stream_id: rid,
                        receive_stream_id: p.send_stream_id,
                        ack_through: ack,
                        ..Packet::default()
                    };
                    let out = Outgoing {
                        packet: ack_packet,
                        sign: false,
                        include_from: false,
                    };
                    if let Some(payload) = self.finish(out) {
                        self.control.push_back(Transmit {
                            remote,
                            ports,
                            payload,
                        });
                    }
                }
            }
            return;
        }
        let Some(remote) = from else {
            return;
        };
        if p.receive_stream_id == 0 {
            return;
        }
        // i2pd takes a non-SYN packet as data only if its sequence number is the
        // next expected; the peer's ackThrough + 1 is our best guess of it.
        let seq = if p.flags.contains(Flags::NO_ACK) {
            1
        } else {
            p.ack_through.saturating_add(1)
        };
        if self.send_reset(
            now,
            *remote,
            ports,
            p.receive_stream_id,
            p.send_stream_id,
            seq,
        ) {
            self.stats.resets_sent += 1;
        }
    }

    /// Queues a signed RESET, if the rate limit and queue bound allow.
    fn send_reset(
        &mut self,
        now: Instant,
        remote: Hash,
        ports: Ports,
        send_stream_id: u32,
        receive_stream_id: u32,
        seq: u32,
    ) -> bool {
        if self.control.len() >= MAX_CONTROL_QUEUE || !self.reset_limiter.allow(now) {
            self.stats.resets_suppressed += 1;
            return false;
        }
        let p = Packet {
            send_stream_id,
            receive_stream_id,
            sequence_num: seq,
            flags: Flags::RESET | Flags::NO_ACK,
            ..Packet::default()
        };
        let out = Outgoing {
            packet: p,
            sign: true,
            include_from: false,
        };
        match self.finish(out) {
            Some(payload) => {
                self.control.push_back(Transmit {
                    remote,
                    ports,
                    payload,
                });
                true
            }
            None => false,
        }
    }

    fn handle_syn(&mut self, now: Instant, from: Option<&Hash>, ports: Ports, p: Packet) {
        if p.receive_stream_id == 0 || p.sequence_num != 0 {
            self.stats.syns_dropped += 1;
            return;
        }
        // Replay prevention: "If the NACK count is 8 and the NACKs field does not
        // match, Bob must drop the packet."
        if p.replay_hash().is_some_and(|h| h != self.local_hash) {
            self.stats.syns_dropped += 1;
            return;
        }
        let Some(remote) = p.from.clone() else {
            self.stats.syns_dropped += 1;
            return;
        };
        let remote_hash = remote.hash();
        if from.is_some_and(|f| *f != remote_hash) {
            self.stats.syns_dropped += 1;
            return;
        }
        if !self.syn_limiter.allow(now) || p.verify(&remote).is_err() {
            self.stats.syns_dropped += 1;
            return;
        }
        let remote_key = match &p.offline_signature {
            Some(off) => VerifyingKey::from_bytes(&off.transient_key).ok(),
            None => remote.ed25519_verifying_key().ok(),
        };
        let Some(remote_key) = remote_key else {
            self.stats.syns_dropped += 1;
            return;
        };
        if self.live_count_with(&remote_hash) >= self.cfg.max_connections_per_peer
            || self.accept_queue.len() >= self.cfg.accept_backlog
            || !self.make_room(now)
        {
            self.stats.syns_refused += 1;
            // i2p.streaming.limitAction default "reset". Our stream ID is 0: none.
            self.send_reset(now, remote_hash, ports, p.receive_stream_id, 0, 1);
            return;
        }
        let id = self.new_id();
        let rsid = p.receive_stream_id;
        let mut conn = Connection::inbound(
            now,
            id,
            &p,
            remote,
            remote_key,
            ports,
            self.cfg.stream.clone(),
        );
        conn.handle_packet(now, p, true);
        if let Some(pre) = self.pre_syn.remove(&rsid) {
            self.pre_syn_bytes = self.pre_syn_bytes.saturating_sub(pre.bytes);
            if pre.sender.is_none_or(|s| s == remote_hash) {
                for q in pre.packets {
                    conn.handle_packet(now, q, false);
                }
            } else {
                self.stats.pre_syn_dropped += pre.packets.len() as u64;
            }
        }
        self.conns.insert(id, conn);
        self.inbound_by_remote_id.insert(rsid, id);
        self.accept_queue.push_back((id, now));
        self.push_event(Event::Incoming(StreamId(id)));
        self.after_conn(now, id);
    }

    /// Keeps a follow-on packet that came before its SYN ("Recipients must buffer
    /// packets received on unknown streams for a short period of time"), within
    /// the bounds of [`ManagerConfig`].
    fn save_pre_syn(&mut self, now: Instant, from: Option<&Hash>, ports: Ports, p: Packet) {
        if p.receive_stream_id == 0 || p.is_plain_ack() || p.flags.contains(Flags::RESET) {
            return;
        }
        let len = p.payload.len();
        let room = self.pre_syn_bytes + len <= self.cfg.pre_syn_bytes;
        if !self.pre_syn.contains_key(&p.receive_stream_id) {
            if self.pre_syn.len() >= self.cfg.pre_syn_streams || !room {
                self.stats.pre_syn_dropped += 1;
                return;
            }
            self.pre_syn.insert(
                p.receive_stream_id,
                PreSyn {
                    sender: from.copied(),
                    ports,
                    packets: Vec::new(),
                    bytes: 0,
                    expires: now + self.cfg.pre_syn_timeout,
                },
            );
        }
        let Some(e) = self.pre_syn.get_mut(&p.receive_stream_id) else {
            return;
        };
        if !room
            || e.packets.len() >= self.cfg.pre_syn_packets_per_stream
            || e.packets.iter().any(|q| q.sequence_num == p.sequence_num)
            || e.sender.as_ref() != from && from.is_some()
            || e.ports != ports
        {
            self.stats.pre_syn_dropped += 1;
            return;
        }
        e.bytes += len;
        e.packets.push(p);
        self.pre_syn_bytes += len;
    }

    fn handle_ping(&mut self, now: Instant, from: Option<&Hash>, ports: Ports, p: Packet) {
        if !self.cfg.answer_pings {
            return;
        }
        let Some(remote) = p.from.as_ref() else {
            return;
        };
        let remote_hash = remote.hash();
        if from.is_some_and(|f| *f != remote_hash)
            || self.control.len() >= MAX_CONTROL_QUEUE
            || !self.syn_limiter.allow(now)
            || p.verify_from().is_err()
        {
            self.stats.syns_dropped += 1;
            return;
        }
        // "The sendStreamId must be zero, and the receiveStreamId is the
        // sendStreamId from the ping."
        let pong = Packet {
            receive_stream_id: p.send_stream_id,
            flags: Flags::ECHO,
            payload: p.payload.iter().take(MAX_PING_PAYLOAD).copied().collect(),
            ..Packet::default()
        };
        let out = Outgoing {
            packet: pong,
            sign: false,
            include_from: false,
        };
        if let Some(payload) = self.finish(out) {
            self.stats.pongs_sent += 1;
            self.control.push_back(Transmit {
                remote: remote_hash,
                ports,
                payload,
            });
        }
    }

    fn handle_pong(&mut self, now: Instant, from: Option<&Hash>, p: Packet) {
        let Some(ping) = self.pings.get(&p.receive_stream_id) else {
            return;
        };
        if from.is_some_and(|f| *f != ping.remote) {
            self.stats.wrong_sender += 1;
            return;
        }
        let remote = ping.remote;
        let rtt = now.saturating_duration_since(ping.sent);
        self.pings.remove(&p.receive_stream_id);
        self.push_event(Event::Pong {
            ping: p.receive_stream_id,
            remote,
            rtt,
            payload: p.payload,
        });
    }
}
