//! One streaming connection as a sans-IO state machine (streaming-api.md,
//! "Implementation Details"; streaming.rst, "Packet Format").
//!
//! Read first: streaming-api.md "Setup", "Transmit/Receive Windows and Choking",
//! "Close"; RFC 6298 for the RTO ([`crate::rtt`]); [`crate::congestion`] for the
//! window. i2pd 2.45.1 (`libi2pd/Streaming.cpp`) is the interop reference; where
//! this code follows it rather than the spec, the comment says so.
//!
//! The connection never signs: it hands out `Outgoing` packets marked "sign"
//! (and "include FROM"), which the [`StreamManager`](crate::StreamManager)
//! completes with the local destination's key. It does verify what the peer
//! signed, with the peer's key it was created with.
//!
//! Sequence numbers: our SYN (or SYN reply) is 0, data and CLOSE packets count up
//! from 1; plain ACKs carry 0. Every packet we send carries ackThrough and NACKs
//! (selective: "All packets up to and including this sequence number are ACKed,
//! EXCEPT for those listed in NACKs"), or NO_ACK before we received anything.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use i2p_crypto::ed25519::VerifyingKey;
use i2p_wire::identity::Destination;
use i2p_wire::Hash;

use crate::config::{StreamConfig, MAX_MTU, MIN_MTU};
use crate::congestion::CongestionController;
use crate::event::{CloseReason, Event, Ports, StreamId};
use crate::flags::Flags;
use crate::packet::Packet;
use crate::rtt::RttEstimator;

/// How far ahead of the next expected sequence number a packet may be and still be
/// kept: 256, so that every gap fits in the 255 NACKs an ACK can carry
/// (streaming-api.md: "Max window sizes over 256 are not recommended").
pub const RECEIVE_WINDOW: u32 = 256;

/// "Two NACKs of a packet is a request for a 'fast retransmit' of that packet."
pub const FAST_RETRANSMIT_NACKS: u32 = 2;

/// Delay option value that means "choke" ("60001 or higher ... indicates
/// 'choking' or a receive window of zero").
pub const CHOKE_DELAY: u16 = 60_001;

/// Largest delay option that is an ACK-delay request rather than a choke.
const MAX_ACK_DELAY_REQUEST: u16 = 60_000;

/// i2pd's MIN_SEND_ACK_TIMEOUT: its delayed-ACK timer is never shorter; below it we
/// ACK at once (see `schedule_ack`).
const MIN_ACK_DELAY: Duration = Duration::from_millis(2);

/// Packets in a row that carry the unchoke (delay <= 60000) after we unchoke:
/// "The unchoking endpoint should send several packets with this field set".
const UNCHOKE_REPEATS: u8 = 3;

/// How long the peer may resend what we hold, with nothing new arriving, before
/// we take it that our ACKs do not reach it (at least twice the RTT).
const ACK_PATH_QUIET: Duration = Duration::from_secs(1);

/// Largest payload accepted from a peer whatever MTU we advertised: i2pd sends
/// up to its own MTU (1812 on ratchet sessions) without reading ours, and its
/// packets are at most 4096 bytes (MAX_PACKET_SIZE).
pub const MIN_ACCEPTED_PAYLOAD: usize = 4096;

/// How long a finished connection keeps unread data for the application.
pub const LINGER: Duration = Duration::from_secs(10);

/// A packet the connection wants sent, before the manager signs it.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The packet, signature not yet set.
    pub(crate) packet: Packet,
    /// SIGNATURE_INCLUDED: sign with the local destination's key.
    pub(crate) sign: bool,
    /// FROM_INCLUDED: put the local destination in.
    pub(crate) include_from: bool,
}

/// A packet in flight, kept until acknowledged.
#[derive(Debug, Clone)]
struct Sent {
    /// SYNCHRONIZE / CLOSE bits of the packet.
    kind: Flags,
    payload: Vec<u8>,
    first_sent: Instant,
    last_sent: Instant,
    transmissions: u32,
    nacks: u32,
    fast_retransmitted: bool,
}

/// A packet received ahead of a gap.
#[derive(Debug, Clone)]
struct Segment {
    payload: Vec<u8>,
    close: bool,
}

/// Numbers the application or a test may look at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Bytes written by the application, not yet put in a packet.
    pub send_buffered: usize,
    /// Packets sent and not acknowledged.
    pub in_flight: usize,
    /// Payload bytes of the packets in flight.
    pub in_flight_bytes: usize,
    /// In-order bytes waiting for `read`.
    pub recv_buffered: usize,
    /// Packets received ahead of a gap.
    pub out_of_order_packets: usize,
    /// Their payload bytes.
    pub out_of_order_bytes: usize,
    /// Send window, packets.
    pub window: u32,
    /// Slow-start threshold, packets.
    pub ssthresh: u32,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// Smoothed RTT, once sampled.
    pub srtt: Option<Duration>,
    /// Payload size we send (the negotiated MTU).
    pub mtu: u16,
    /// Packets retransmitted so far.
    pub retransmissions: u64,
    /// Received packets dropped (out of window, over a bound, bad signature).
    pub dropped: u64,
    /// Of those, packets too far ahead ([`RECEIVE_WINDOW`] past the next expected).
    pub dropped_beyond_window: u64,
    /// Of those, packets ahead of a gap for which we had no room.
    pub dropped_ahead_no_room: u64,
    /// Of those, in-order packets for which we had no room.
    pub dropped_in_order_no_room: u64,
    /// Sequence-numbered packets received (not plain ACKs), duplicates included.
    pub packets_received: u64,
    /// Of those, packets already received: the peer resent them (a loss, or our
    /// ACK came after its retransmission timeout).
    pub duplicates_received: u64,
    /// Plain ACK packets sent.
    pub acks_sent: u64,
    /// The peer choked us (delay option > 60000) and has not unchoked.
    pub choked_by_peer: bool,
    /// We choked the peer (receive buffer full).
    pub choking_peer: bool,
}

/// One connection. Created by the manager for `connect` (outbound) or for a
/// verified SYN (inbound).
#[derive(Debug)]
pub(crate) struct Connection {
    local_id: u32,
    /// The peer's receiveStreamId, our sendStreamId; 0 until its SYN (reply).
    remote_id: u32,
    remote: Destination,
    remote_hash: Hash,
    /// Key that checks the peer's signatures: its Ed25519 key, or the transient
    /// key of its offline signature.
    remote_key: VerifyingKey,
    pub(crate) ports: Ports,
    outbound: bool,
    cfg: StreamConfig,
    created: Instant,
    established: bool,
    terminal: Option<CloseReason>,
    terminal_at: Option<Instant>,
    pub(crate) end_reported: bool,

    // Send side.
    next_seq: u32,
    syn_sent: bool,
    send_buf: VecDeque<u8>,
    write_blocked: bool,
    sent: BTreeMap<u32, Sent>,
    /// Sequence numbers to resend, in order.
    retransmit: BTreeMap<u32, ()>,
    cc: CongestionController,
    rtt: RttEstimator,
    rto_deadline: Option<Instant>,
    consecutive_timeouts: u32,
    remote_mtu: Option<u16>,
    choked_by_peer: bool,
    probe_deadline: Option<Instant>,
    probe_allowed: bool,
    local_close: bool,
    close_seq: Option<u32>,
    close_acked: bool,
    close_deadline: Option<Instant>,
    reset_pending: bool,
    /// After a normal close: one more plain ACK, for the peer's CLOSE.
    final_ack: bool,

    // Receive side.
    recv_next: u32,
    recv_buf: VecDeque<u8>,
    ooo: BTreeMap<u32, Segment>,
    ooo_bytes: usize,
    remote_closed: bool,
    ack_now: bool,
    ack_deadline: Option<Instant>,
    choking_peer: bool,
    unchoke_repeats: u8,
    /// When a packet last brought something new (in order or ahead of a gap).
    last_progress: Instant,
    /// Times since then that the peer resent what we hold although we had ACKed
    /// it, each at least [`ACK_PATH_QUIET`] after the one before.
    ack_path_stalls: u32,
    ack_path_stalled_at: Option<Instant>,

    // Liveness.
    last_received: Instant,
    /// When we last sent anything: a keepalive goes out after the inactivity
    /// timeout without sending, so that each side hears from the other (a peer
    /// of ours then never hits its idle timeout on a healthy link).
    last_sent: Instant,

    retransmissions: u64,
    dropped: u64,
    dropped_beyond_window: u64,
    dropped_ahead_no_room: u64,
    dropped_in_order_no_room: u64,
    packets_received: u64,
    duplicates_received: u64,
    acks_sent: u64,
    events: Vec<Event>,
}

impl Connection {
    /// An outbound connection to `remote` (whose Ed25519 key is `remote_key`); its
    /// SYN goes out at the next `poll_transmit`.
    pub(crate) fn outbound(
        now: Instant,
        local_id: u32,
        remote: Destination,
        remote_key: VerifyingKey,
        ports: Ports,
        cfg: StreamConfig,
    ) -> Self {
        Self::new(now, local_id, 0, remote, remote_key, ports, cfg, true)
    }

    /// An inbound connection for a SYN already verified by the manager; feed that
    /// SYN with [`handle_packet`](Self::handle_packet) and `verified = true`.
    pub(crate) fn inbound(
        now: Instant,
        local_id: u32,
        syn: &Packet,
        remote: Destination,
        remote_key: VerifyingKey,
        ports: Ports,
        cfg: StreamConfig,
    ) -> Self {
        let mut c = Self::new(
            now,
            local_id,
            syn.receive_stream_id,
            remote,
            remote_key,
            ports,
            cfg,
            false,
        );
        c.established = true;
        c
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        now: Instant,
        local_id: u32,
        remote_id: u32,
        remote: Destination,
        remote_key: VerifyingKey,
        ports: Ports,
        cfg: StreamConfig,
        outbound: bool,
    ) -> Self {
        let remote_hash = remote.hash();
        Self {
            local_id,
            remote_id,
            remote_hash,
            remote,
            remote_key,
            ports,
            outbound,
            cc: CongestionController::new(cfg.initial_window, cfg.max_window),
            rtt: RttEstimator::new(cfg.initial_rto),
            cfg,
            created: now,
            established: false,
            terminal: None,
            terminal_at: None,
            end_reported: false,
            next_seq: 0,
            syn_sent: false,
            send_buf: VecDeque::new(),
            write_blocked: false,
            sent: BTreeMap::new(),
            retransmit: BTreeMap::new(),
            rto_deadline: None,
            consecutive_timeouts: 0,
            remote_mtu: None,
            choked_by_peer: false,
            probe_deadline: None,
            probe_allowed: false,
            local_close: false,
            close_seq: None,
            close_acked: false,
            close_deadline: None,
            reset_pending: false,
            final_ack: false,
            recv_next: 0,
            recv_buf: VecDeque::new(),
            ooo: BTreeMap::new(),
            ooo_bytes: 0,
            remote_closed: false,
            ack_now: false,
            ack_deadline: None,
            choking_peer: false,
            unchoke_repeats: 0,
            last_progress: now,
            ack_path_stalls: 0,
            ack_path_stalled_at: None,
            last_received: now,
            last_sent: now,
            retransmissions: 0,
            dropped: 0,
            dropped_beyond_window: 0,
            dropped_ahead_no_room: 0,
            dropped_in_order_no_room: 0,
            packets_received: 0,
            duplicates_received: 0,
            acks_sent: 0,
            events: Vec::new(),
        }
    }

    fn id(&self) -> StreamId {
        StreamId(self.local_id)
    }

    /// The peer's destination hash.
    pub(crate) fn remote_hash(&self) -> &Hash {
        &self.remote_hash
    }

    /// The peer's destination.
    pub(crate) fn remote(&self) -> &Destination {
        &self.remote
    }

    /// The peer's receiveStreamId (0 until known).
    pub(crate) fn remote_id(&self) -> u32 {
        self.remote_id
    }

    /// True for connections we opened.
    pub(crate) fn is_outbound(&self) -> bool {
        self.outbound
    }

    /// Why it ended, once it has.
    pub(crate) fn terminal(&self) -> Option<CloseReason> {
        self.terminal
    }

    /// Whether the connection has ended and may be forgotten at `now`: no
    /// transmission left, and its data read (or the linger time passed).
    pub(crate) fn is_removable(&self, now: Instant) -> bool {
        let Some(at) = self.terminal_at else {
            return false;
        };
        !self.reset_pending
            && !self.final_ack
            && (self.recv_buf.is_empty() && self.end_reported
                || now >= at + LINGER
                || self.recv_buf.is_empty() && self.terminal != Some(CloseReason::Normal))
    }

    /// After a normal close: the peer's stream ID and the last sequence number we
    /// received, so the manager can still ACK a retransmitted CLOSE once the
    /// connection is gone (TCP's TIME-WAIT).
    pub(crate) fn time_wait(&self) -> Option<(u32, u32)> {
        if self.terminal == Some(CloseReason::Normal) && self.remote_id != 0 && self.recv_next > 0 {
            Some((self.remote_id, self.recv_next - 1))
        } else {
            None
        }
    }

    /// Takes the events produced since the last call.
    pub(crate) fn drain_events(&mut self) -> impl Iterator<Item = Event> + '_ {
        self.events.drain(..)
    }

    /// The payload size we send: the smaller of ours and the peer's, never under
    /// MIN_MTU.
    fn send_mtu(&self) -> usize {
        let ours = self.cfg.mtu();
        let m = match self.remote_mtu {
            Some(theirs) => ours.min(theirs.clamp(MIN_MTU, MAX_MTU)),
            None => ours,
        };
        usize::from(m)
    }

    /// Counters and sizes.
    pub(crate) fn stats(&self) -> StreamStats {
        StreamStats {
            send_buffered: self.send_buf.len(),
            in_flight: self.sent.len(),
            in_flight_bytes: self.sent.values().map(|s| s.payload.len()).sum(),
            recv_buffered: self.recv_buf.len(),
            out_of_order_packets: self.ooo.len(),
            out_of_order_bytes: self.ooo_bytes,
            window: self.cc.window(),
            ssthresh: self.cc.ssthresh(),
            rto: self.rtt.rto(),
            srtt: self.rtt.srtt(),
            mtu: u16::try_from(self.send_mtu()).unwrap_or(u16::MAX),
            retransmissions: self.retransmissions,
            dropped: self.dropped,
            dropped_beyond_window: self.dropped_beyond_window,
            dropped_ahead_no_room: self.dropped_ahead_no_room,
            dropped_in_order_no_room: self.dropped_in_order_no_room,
            packets_received: self.packets_received,
            duplicates_received: self.duplicates_received,
            acks_sent: self.acks_sent,
            choked_by_peer: self.choked_by_peer,
            choking_peer: self.choking_peer,
        }
    }

    // ----- Application side -----

    /// Queues up to the free send-buffer space of `data`; returns how much.
    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        let room = self.cfg.send_buffer.saturating_sub(self.send_buf.len());
        let n = room.min(data.len());
        self.send_buf.extend(data.iter().take(n));
        if n < data.len() {
            self.write_blocked = true;
        }
        n
    }

    /// True once the application may no longer write.
    pub(crate) fn write_closed(&self) -> bool {
        self.local_close || self.terminal.is_some()
    }

    /// Moves in-order received bytes into `buf`.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.recv_buf.len());
        for (dst, src) in buf.iter_mut().zip(self.recv_buf.drain(..n)) {
            *dst = src;
        }
        if self.choking_peer && self.held() <= self.cfg.receive_buffer / 2 {
            // Room again: unchoke.
            self.choking_peer = false;
            self.unchoke_repeats = UNCHOKE_REPEATS;
            self.ack_now = true;
        }
        n
    }

    /// True if nothing is left to read and the peer closed (or we ended).
    pub(crate) fn read_finished(&self) -> bool {
        self.recv_buf.is_empty() && (self.remote_closed || self.terminal.is_some())
    }

    /// Half-close: a CLOSE follows the data already written.
    pub(crate) fn close(&mut self) {
        if self.terminal.is_none() {
            self.local_close = true;
        }
    }

    /// Abort: a signed RESET is sent (if the peer's stream ID is known) and
    /// everything buffered is dropped.
    pub(crate) fn reset(&mut self, now: Instant) {
        if self.terminal.is_some() {
            return;
        }
        self.reset_pending = self.remote_id != 0;
        self.terminate(now, CloseReason::ResetLocally);
    }

    // ----- Network side -----

    /// Checks a signature the peer put on `p`. Packets with FROM or an offline
    /// signature are checked against the peer's destination (taking its transient
    /// key for later packets); others with the key already known.
    fn signature_ok(&mut self, p: &Packet) -> bool {
        if p.from.is_some() || p.offline_signature.is_some() {
            if p.verify(&self.remote).is_err() {
                return false;
            }
            if let Some(off) = &p.offline_signature {
                match VerifyingKey::from_bytes(&off.transient_key) {
                    Ok(k) => self.remote_key = k,
                    Err(_) => return false,
                }
            }
            true
        } else {
            p.verify_with_key(&self.remote_key).is_ok()
        }
    }

    /// Handles a packet addressed to this connection. `verified`: the manager
    /// already checked its signature (an inbound SYN).
    pub(crate) fn handle_packet(&mut self, now: Instant, p: Packet, verified: bool) {
        if self.terminal.is_some() {
            // A retransmitted CLOSE (our last ACK was lost): ACK it again.
            if self.terminal == Some(CloseReason::Normal)
                && !p.is_plain_ack()
                && p.sequence_num < self.recv_next
            {
                self.final_ack = true;
            }
            return;
        }
        let flags = p.flags;
        // "SYNCHRONIZE ... CLOSE ... RESET: SIGNATURE_INCLUDED must also be set."
        let needs_sig = flags.contains(Flags::SYNCHRONIZE)
            || flags.contains(Flags::CLOSE)
            || flags.contains(Flags::RESET);
        if !verified
            && flags.contains(Flags::SYNCHRONIZE)
            && self.recv_next > 0
            && p.sequence_num == 0
            && p.receive_stream_id == self.remote_id
        {
            // A resent SYN (our reply or ACK was lost): ACK again; no need to
            // spend a signature check on it.
            self.ack_now = true;
            return;
        }
        if !verified {
            let ok = if p.signature.is_some() {
                self.signature_ok(&p)
            } else {
                !needs_sig
            };
            if !ok {
                self.dropped += 1;
                return;
            }
        }
        self.last_received = now;
        if self.close_deadline.is_some() {
            self.close_deadline = Some(now + self.cfg.close_timeout);
        }

        // RESET acts at once, whatever its sequence number.
        if flags.contains(Flags::RESET) {
            self.terminate(now, CloseReason::ResetByPeer);
            return;
        }

        if flags.contains(Flags::SYNCHRONIZE) {
            // "starting at 0 in the SYN message".
            if p.receive_stream_id == 0 || p.sequence_num != 0 {
                self.dropped += 1;
                return;
            }
            if self.remote_id == 0 {
                self.remote_id = p.receive_stream_id;
            } else if self.remote_id != p.receive_stream_id {
                self.dropped += 1;
                return;
            }
            if self.remote_mtu.is_none() {
                self.remote_mtu = p.max_packet_size;
            }
            if self.outbound && !self.established {
                self.established = true;
                self.events.push(Event::Connected(self.id()));
            }
        }

        if let Some(d) = p.delay {
            if d > MAX_ACK_DELAY_REQUEST {
                if !self.choked_by_peer {
                    self.choked_by_peer = true;
                    self.probe_deadline = Some(now + self.rtt.rto());
                }
            } else if self.choked_by_peer {
                // Unchoked: what was sent while choked was probably dropped.
                self.choked_by_peer = false;
                self.probe_deadline = None;
                self.consecutive_timeouts = 0;
                let all: Vec<u32> = self.sent.keys().copied().collect();
                for seq in all {
                    self.retransmit.insert(seq, ());
                }
            }
        }

        if !flags.contains(Flags::NO_ACK) && self.syn_sent {
            self.process_ack(now, p.ack_through, &p.nacks);
            if self.terminal.is_some() {
                return;
            }
        }

        if p.is_plain_ack() {
            return;
        }
        self.packets_received += 1;
        let seq = p.sequence_num;
        if !self.established {
            // Data before our SYN is answered: only keep it for later.
            if seq == 0 {
                self.dropped += 1;
                return;
            }
        }
        if seq < self.recv_next {
            // Duplicate: our ACK was lost or late; ACK again now.
            self.on_duplicate(now);
            self.ack_now = true;
            return;
        }
        if seq - self.recv_next >= RECEIVE_WINDOW {
            self.dropped += 1;
            self.dropped_beyond_window += 1;
            return;
        }
        if p.payload.len() > self.max_payload() {
            self.dropped += 1;
            return;
        }
        let close = flags.contains(Flags::CLOSE);
        let requested = p.delay.filter(|d| *d <= MAX_ACK_DELAY_REQUEST);
        if seq == self.recv_next && self.established {
            if !self.accept_in_order(now, p.payload, close) {
                return;
            }
            self.drain_out_of_order(now);
            self.schedule_ack(now, requested);
        } else {
            if !self.ooo.contains_key(&seq) {
                if self.ooo_bytes + p.payload.len() > self.cfg.receive_buffer
                    || self.held() + p.payload.len() > self.hold_limit()
                {
                    self.dropped += 1;
                    self.dropped_ahead_no_room += 1;
                    self.ack_now = true;
                    return;
                }
                self.ooo_bytes += p.payload.len();
                self.ooo.insert(
                    seq,
                    Segment {
                        payload: p.payload,
                        close,
                    },
                );
                self.progressed(now);
            } else {
                self.on_duplicate(now);
            }
            // i2pd: "send NACKs for missing messages ASAP".
            if self.established {
                self.ack_now = true;
            }
        }
        self.check_closed(now);
    }

    /// Largest payload accepted, and the reserve kept for the next in-order
    /// packet above the receive buffer.
    fn max_payload(&self) -> usize {
        usize::from(self.cfg.mtu()).max(MIN_ACCEPTED_PAYLOAD)
    }

    /// Bytes held for the application, in order and not.
    fn held(&self) -> usize {
        self.recv_buf.len() + self.ooo_bytes
    }

    /// Most bytes held before packets are dropped: twice the receive buffer.
    ///
    /// The peer is choked once the application falls a receive buffer behind, but
    /// i2pd 2.45.1 ignores the choke, and after a loss it goes on sending past the
    /// gap at full speed until its timer resends the missing packet: what was
    /// held ahead of the gap then becomes in-order data all at once, and packets
    /// keep coming while the application reads it. Dropping them made i2pd wait
    /// for its timer again, with a halved window and a doubled timeout (the
    /// end-to-end benchmark: runs of 30 to 70 s instead of 4 s). So out-of-order
    /// data may take one receive buffer, in-order data the rest.
    fn hold_limit(&self) -> usize {
        self.cfg.receive_buffer.saturating_mul(2)
    }

    /// Appends an in-order packet's payload if there is room; otherwise drops it.
    /// Chokes the peer once the application is a receive buffer behind. Packets
    /// ahead of a gap stay within the limit; the next in-order packet may use a
    /// reserve of one maximum payload above it, so a full reordering buffer never
    /// blocks the packet that drains it. In all, held bytes stay within twice the
    /// receive buffer plus one maximum payload.
    fn accept_in_order(&mut self, now: Instant, payload: Vec<u8>, close: bool) -> bool {
        if !payload.is_empty()
            && self.held() + payload.len() > self.hold_limit() + self.max_payload()
        {
            self.dropped += 1;
            self.dropped_in_order_no_room += 1;
            self.choking_peer = true;
            self.ack_now = true;
            return false;
        }
        self.deliver(now, payload, close);
        if self.recv_buf.len() > self.cfg.receive_buffer && !self.choking_peer {
            self.choking_peer = true;
            self.ack_now = true;
        }
        true
    }

    fn deliver(&mut self, now: Instant, payload: Vec<u8>, close: bool) {
        let was_empty = self.recv_buf.is_empty();
        self.progressed(now);
        self.recv_buf.extend(payload);
        self.recv_next = self.recv_next.saturating_add(1);
        if close && !self.remote_closed {
            self.remote_closed = true;
            // ACK the CLOSE at once so the peer can finish.
            self.ack_now = true;
            self.events.push(Event::Readable(self.id()));
        } else if was_empty && !self.recv_buf.is_empty() {
            self.events.push(Event::Readable(self.id()));
        }
    }

    /// A packet brought something new: the path our ACKs take works.
    fn progressed(&mut self, now: Instant) {
        self.last_progress = now;
        self.ack_path_stalls = 0;
    }

    /// A packet we already hold came again. Now and then that is a resend that
    /// crossed our ACK; when it goes on with nothing new arriving, the peer's
    /// retransmission timer keeps firing because our ACKs are lost: the tunnels
    /// or the lease they take may be broken. i2pd then changes its own path but
    /// cannot change ours, and resets the stream after six resends (about five
    /// minutes with its backoff). Reported as [`Event::Stalled`], like a stall
    /// of what we send, so that the layer below picks another path.
    fn on_duplicate(&mut self, now: Instant) {
        self.duplicates_received += 1;
        let quiet = self
            .rtt
            .srtt()
            .map_or(ACK_PATH_QUIET, |s| (2 * s).max(ACK_PATH_QUIET));
        let since = self
            .ack_path_stalled_at
            .map_or(self.last_progress, |at| at.max(self.last_progress));
        if self.established && now >= since + quiet {
            self.ack_path_stalls += 1;
            self.ack_path_stalled_at = Some(now);
            self.events.push(Event::Stalled {
                id: self.id(),
                remote: self.remote_hash,
                timeouts: self.ack_path_stalls,
            });
        }
    }

    /// Moves packets that became in order out of the reordering buffer. They
    /// were already acknowledged, so they are taken whatever the buffer holds.
    fn drain_out_of_order(&mut self, now: Instant) {
        while let Some(entry) = self.ooo.first_entry() {
            if *entry.key() != self.recv_next {
                break;
            }
            let seg = entry.remove();
            self.ooo_bytes = self.ooo_bytes.saturating_sub(seg.payload.len());
            self.deliver(now, seg.payload, seg.close);
        }
    }

    /// Arms the delayed ACK: min(RTT/10, ack delay), as i2pd; a DELAY_REQUESTED
    /// of 0 asks for an immediate ACK, a smaller one shortens it.
    ///
    /// i2pd never waits less than 2 ms. We ACK at once instead when RTT/10 is
    /// under that: i2pd's sender resends after 1.5 times its mean RTT, so on a
    /// path of a few milliseconds a 2 ms wait (plus the timer's granularity) made
    /// it resend nearly every packet (the end-to-end benchmark: half of what
    /// reached us were duplicates). The caller coalesces: the router hands a
    /// whole burst of packets over before it polls for transmits.
    fn schedule_ack(&mut self, now: Instant, requested: Option<u16>) {
        if requested == Some(0) {
            self.ack_now = true;
            return;
        }
        let tenth = self.rtt.srtt_or_initial() / 10;
        if tenth < MIN_ACK_DELAY {
            self.ack_now = true;
            return;
        }
        let mut delay = tenth.min(self.cfg.ack_delay);
        if let Some(r) = requested {
            delay = delay.min(Duration::from_millis(u64::from(r)));
        }
        let at = now + delay;
        self.ack_deadline = Some(self.ack_deadline.map_or(at, |d| d.min(at)));
    }

    /// Processes ackThrough and NACKs.
    fn process_ack(&mut self, now: Instant, ack_through: u32, nacks: &[u32]) {
        let Some(highest_sent) = self.next_seq.checked_sub(1) else {
            return;
        };
        if ack_through > highest_sent {
            // i2pd: "Unexpected ackThrough": ignore the whole ACK.
            self.dropped += 1;
            return;
        }
        let acked: Vec<u32> = self
            .sent
            .range(..=ack_through)
            .map(|(s, _)| *s)
            .filter(|s| !nacks.contains(s))
            .collect();
        let mut newly = 0u32;
        let mut sample = None;
        for seq in acked {
            if let Some(s) = self.sent.remove(&seq) {
                newly += 1;
                self.retransmit.remove(&seq);
                if s.transmissions == 1 {
                    // Karn: only packets sent once give a sample.
                    sample = Some(now.saturating_duration_since(s.first_sent));
                }
                if s.kind.contains(Flags::CLOSE) {
                    self.close_acked = true;
                }
            }
        }
        // NACKed packets: a second NACK asks for a fast retransmit.
        for n in nacks {
            if *n >= ack_through {
                continue;
            }
            let next_seq = self.next_seq;
            let mut lost = None;
            if let Some(s) = self.sent.get_mut(n) {
                s.nacks += 1;
                if s.nacks >= FAST_RETRANSMIT_NACKS && !s.fast_retransmitted {
                    s.fast_retransmitted = true;
                    lost = Some(*n);
                }
            }
            if let Some(seq) = lost {
                self.retransmit.insert(seq, ());
                self.cc.on_loss(seq, next_seq);
            }
        }
        if newly > 0 {
            self.cc.on_ack(newly);
            if let Some(r) = sample {
                self.rtt.on_sample(r);
            }
            self.consecutive_timeouts = 0;
            self.rto_deadline = if self.sent.is_empty() {
                None
            } else {
                Some(now + self.rtt.rto())
            };
        }
        self.check_closed(now);
    }

    /// Finishes the connection once both CLOSEs are through.
    fn check_closed(&mut self, now: Instant) {
        // Our CLOSE is the last packet we send; everything before it must be
        // acknowledged too (an ACK of the CLOSE may still NACK data).
        if self.terminal.is_none() && self.close_acked && self.sent.is_empty() && self.remote_closed
        {
            self.terminate(now, CloseReason::Normal);
        }
    }

    fn terminate(&mut self, now: Instant, reason: CloseReason) {
        if self.terminal.is_some() {
            return;
        }
        self.terminal = Some(reason);
        self.terminal_at = Some(now);
        self.final_ack = reason == CloseReason::Normal;
        self.send_buf = VecDeque::new();
        self.sent.clear();
        self.retransmit.clear();
        self.ooo.clear();
        self.ooo_bytes = 0;
        self.rto_deadline = None;
        self.ack_deadline = None;
        self.ack_now = false;
        self.events.push(Event::Closed {
            id: self.id(),
            reason,
        });
    }

    // ----- Output -----

    /// Whether we can put ackThrough in a packet.
    fn can_ack(&self) -> bool {
        self.established && self.remote_id != 0 && (self.recv_next > 0 || !self.ooo.is_empty())
    }

    /// ackThrough and NACKs for what we hold: the highest sequence number
    /// received, and the gaps below it (at most 255, see [`RECEIVE_WINDOW`]).
    fn ack_fields(&self) -> (u32, Vec<u32>) {
        let highest = self
            .ooo
            .last_key_value()
            .map(|(s, _)| *s)
            .unwrap_or(self.recv_next.saturating_sub(1));
        let mut nacks = Vec::new();
        let mut ack_through = highest;
        for s in self.recv_next..highest {
            if !self.ooo.contains_key(&s) {
                if nacks.len() == usize::from(u8::MAX) {
                    // Cannot happen within RECEIVE_WINDOW; i2pd lowers ackThrough.
                    ack_through = s;
                    break;
                }
                nacks.push(s);
            }
        }
        (ack_through, nacks)
    }

    /// A packet with our stream IDs, the ACK fields and the choke state.
    fn header(&mut self, seq: u32) -> Packet {
        let mut p = Packet {
            send_stream_id: self.remote_id,
            receive_stream_id: self.local_id,
            sequence_num: seq,
            resend_delay: u8::try_from(self.rtt.rto().as_secs()).unwrap_or(u8::MAX),
            ..Packet::default()
        };
        if self.can_ack() {
            let (a, n) = self.ack_fields();
            p.ack_through = a;
            p.nacks = n;
            self.ack_now = false;
            self.ack_deadline = None;
        } else {
            p.flags.insert(Flags::NO_ACK);
        }
        if self.choking_peer {
            p.delay = Some(CHOKE_DELAY);
        } else if self.unchoke_repeats > 0 {
            self.unchoke_repeats -= 1;
            p.delay = Some(0);
        }
        p
    }

    fn packet_for(&mut self, seq: u32, kind: Flags, payload: Vec<u8>) -> Outgoing {
        let mut p = self.header(seq);
        p.flags.insert(kind);
        p.payload = payload;
        let syn = kind.contains(Flags::SYNCHRONIZE);
        if syn {
            p.max_packet_size = Some(self.cfg.mtu());
            if self.outbound {
                // Replay prevention (0.9.58): the 8 NACKs carry Bob's hash. With
                // NO_ACK set they are not read as NACKs (i2pd skips the ACK part).
                p.flags.insert(Flags::NO_ACK);
                p.ack_through = 0;
                p.set_replay_hash(&self.remote_hash);
            }
        }
        let sign = syn || kind.contains(Flags::CLOSE) || kind.contains(Flags::RESET);
        Outgoing {
            packet: p,
            sign,
            include_from: syn,
        }
    }

    /// The next packet to send, if any: RESET, SYN, retransmissions, new data or
    /// CLOSE within the window, then a plain ACK or keepalive.
    pub(crate) fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing> {
        if self.terminal.is_some() {
            if self.reset_pending {
                self.reset_pending = false;
                let seq = self.next_seq;
                return Some(self.packet_for(seq, Flags::RESET, Vec::new()));
            }
            if self.final_ack && self.can_ack() {
                self.final_ack = false;
                return Some(self.packet_for(0, Flags::default(), Vec::new()));
            }
            self.final_ack = false;
            return None;
        }
        if !self.syn_sent {
            let n = self.send_mtu().min(self.send_buf.len());
            let payload: Vec<u8> = self.send_buf.drain(..n).collect();
            self.syn_sent = true;
            return Some(self.send_new(now, Flags::SYNCHRONIZE, payload));
        }
        if let Some(out) = self.poll_retransmit(now) {
            return Some(out);
        }
        if let Some(out) = self.poll_new(now) {
            return Some(out);
        }
        let keepalive = self.established
            && self.remote_id != 0
            && now >= self.last_sent + self.cfg.inactivity_timeout;
        let ack_due = self.ack_now || self.ack_deadline.is_some_and(|d| now >= d);
        if ack_due || keepalive {
            if self.can_ack() {
                self.last_sent = now;
                self.acks_sent += 1;
                return Some(self.packet_for(0, Flags::default(), Vec::new()));
            }
            // Nothing to acknowledge yet: disarm, so the timer moves on.
            self.ack_now = false;
            self.ack_deadline = None;
            if keepalive {
                self.last_sent = now;
            }
        }
        None
    }

    /// See [`crate::StreamManager::resend_stalled`]: marks every unacknowledged
    /// packet for resending if the last RTO passed without an ACK. False if not
    /// stalled, choked, ended, or only our CLOSE is left.
    pub(crate) fn resend_if_stalled(&mut self) -> bool {
        if self.terminal.is_some()
            || self.consecutive_timeouts == 0
            || self.choked_by_peer
            || self.only_close_left()
        {
            return false;
        }
        for seq in self.sent.keys() {
            self.retransmit.insert(*seq, ());
        }
        !self.sent.is_empty()
    }

    fn poll_retransmit(&mut self, now: Instant) -> Option<Outgoing> {
        loop {
            let (seq, ()) = self.retransmit.pop_first()?;
            let Some(s) = self.sent.get_mut(&seq) else {
                continue;
            };
            s.transmissions += 1;
            s.last_sent = now;
            let (kind, payload) = (s.kind, s.payload.clone());
            self.retransmissions += 1;
            self.last_sent = now;
            if self.rto_deadline.is_none() {
                self.rto_deadline = Some(now + self.rtt.rto());
            }
            return Some(self.packet_for(seq, kind, payload));
        }
    }

    fn poll_new(&mut self, now: Instant) -> Option<Outgoing> {
        if !self.established || self.remote_id == 0 {
            return None;
        }
        let window = usize::try_from(self.cc.window()).unwrap_or(usize::MAX);
        if self.sent.len() >= window {
            return None;
        }
        if self.choked_by_peer {
            if !self.probe_allowed {
                return None;
            }
            self.probe_allowed = false;
        }
        let close_now = self.local_close && self.send_buf.is_empty() && self.close_seq.is_none();
        if self.send_buf.is_empty() && !close_now {
            return None;
        }
        let out = if close_now {
            // i2pd sends CLOSE as its own packet, without payload.
            self.close_seq = Some(self.next_seq);
            self.close_deadline = Some(now + self.cfg.close_timeout);
            self.send_new(now, Flags::CLOSE, Vec::new())
        } else {
            let n = self.send_mtu().min(self.send_buf.len());
            let payload: Vec<u8> = self.send_buf.drain(..n).collect();
            if self.write_blocked && self.send_buf.len() < self.cfg.send_buffer {
                self.write_blocked = false;
                self.events.push(Event::Writable(self.id()));
            }
            self.send_new(now, Flags::default(), payload)
        };
        Some(out)
    }

    /// Sends a new sequence-numbered packet and keeps it until acknowledged.
    fn send_new(&mut self, now: Instant, kind: Flags, payload: Vec<u8>) -> Outgoing {
        let seq = self.next_seq;
        match self.next_seq.checked_add(1) {
            Some(n) => self.next_seq = n,
            None => {
                // 2^32 packets: end rather than wrap.
                self.reset_pending = self.remote_id != 0;
                self.terminate(now, CloseReason::Refused);
            }
        }
        let out = self.packet_for(seq, kind, payload.clone());
        self.sent.insert(
            seq,
            Sent {
                kind,
                payload,
                first_sent: now,
                last_sent: now,
                transmissions: 1,
                nacks: 0,
                fast_retransmitted: false,
            },
        );
        self.last_sent = now;
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(now + self.rtt.rto());
        }
        out
    }

    // ----- Timers -----

    /// The earliest time `handle_timeout` (or `poll_transmit`) has work.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if let Some(at) = self.terminal_at {
            return if self.reset_pending || self.final_ack {
                Some(at)
            } else {
                Some(at + LINGER)
            };
        }
        let mut t: Option<Instant> = None;
        let mut min = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        min(self.rto_deadline);
        min(self.ack_deadline);
        if self.ack_now || !self.retransmit.is_empty() {
            min(Some(self.last_sent));
        }
        if self.outbound && !self.established {
            min(Some(self.created + self.cfg.connect_timeout));
        }
        min(self.close_deadline);
        if self.choked_by_peer {
            min(self.probe_deadline);
        }
        if self.established {
            min(Some(self.last_sent + self.cfg.inactivity_timeout));
        }
        if let Some(idle) = self.cfg.idle_timeout {
            min(Some(self.last_received + idle));
        }
        t
    }

    /// Runs the timers due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.terminal.is_some() {
            return;
        }
        if self.outbound && !self.established && now >= self.created + self.cfg.connect_timeout {
            self.terminate(now, CloseReason::ConnectTimeout);
            return;
        }
        if let Some(idle) = self.cfg.idle_timeout {
            if now >= self.last_received + idle {
                self.reset_pending = self.remote_id != 0;
                self.terminate(now, CloseReason::IdleTimeout);
                return;
            }
        }
        if self.close_deadline.is_some_and(|d| now >= d) {
            if self.only_close_left() {
                self.terminate(now, CloseReason::Normal);
                return;
            }
            self.reset_pending = self.remote_id != 0;
            self.terminate(now, CloseReason::CloseTimeout);
            return;
        }
        if self.choked_by_peer && self.probe_deadline.is_some_and(|d| now >= d) {
            self.probe_allowed = true;
            self.probe_deadline = Some(now + self.rtt.rto());
        }
        if self.rto_deadline.is_some_and(|d| now >= d) {
            self.on_rto(now);
        }
    }

    /// The peer closed first, all our data is acknowledged, only our CLOSE is not.
    /// i2pd never ACKs a CLOSE that answers its own (it ends its stream once its
    /// CLOSE is acknowledged), so running out of resends or of the close timeout
    /// in this state ends the stream normally, without a RESET.
    fn only_close_left(&self) -> bool {
        self.remote_closed
            && self.sent.len() == 1
            && self.close_seq.is_some_and(|c| self.sent.contains_key(&c))
    }

    /// RFC 6298 5.4-5.6: retransmit, back off, restart the timer; i2pd resends
    /// every packet whose RTO has passed and halves the window.
    fn on_rto(&mut self, now: Instant) {
        if self.sent.is_empty() {
            self.rto_deadline = None;
            return;
        }
        let rto = self.rtt.rto();
        let due: Vec<u32> = self
            .sent
            .iter()
            .filter(|(_, s)| now >= s.last_sent + rto)
            .map(|(seq, _)| *seq)
            .collect();
        if due.is_empty() {
            // Everything was (re)sent recently: wait for the oldest.
            self.rto_deadline = self.sent.values().map(|s| s.last_sent + rto).min();
            return;
        }
        if self.choked_by_peer {
            // The peer's buffer is full: resend only the oldest packet, as a
            // probe ("persist timer"), and do not count it towards the limit.
            if let Some(first) = due.first() {
                self.retransmit.insert(*first, ());
            }
            self.rtt.on_timeout();
            self.rto_deadline = Some(now + self.rtt.rto());
            return;
        }
        self.consecutive_timeouts += 1;
        if self.consecutive_timeouts > self.cfg.max_resends && self.only_close_left() {
            self.terminate(now, CloseReason::Normal);
            return;
        }
        if self.consecutive_timeouts > self.cfg.max_resends {
            let reason = if self.established {
                CloseReason::RetransmitTimeout
            } else {
                CloseReason::ConnectTimeout
            };
            self.reset_pending = self.remote_id != 0;
            self.terminate(now, reason);
            return;
        }
        if let Some(first) = due.first() {
            self.cc.on_loss(*first, self.next_seq);
        }
        // i2pd forgets a stream once its own CLOSE is acknowledged and never
        // acknowledges ours: an unanswered CLOSE says nothing about the route.
        if !self.only_close_left() {
            self.events.push(Event::Stalled {
                id: self.id(),
                remote: self.remote_hash,
                timeouts: self.consecutive_timeouts,
            });
        }
        for seq in due {
            self.retransmit.insert(seq, ());
        }
        self.rtt.on_timeout();
        self.rto_deadline = Some(now + self.rtt.rto());
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_crypto::ed25519::SigningKey;

    fn dest(seed: u8) -> (SigningKey, Destination) {
        let k = SigningKey::from_bytes(&[seed; 32]);
        let d = Destination::new_ed25519(&k.verifying_key());
        (k, d)
    }

    fn established_pair(now: Instant) -> (Connection, SigningKey) {
        established_after(now, Duration::from_millis(100))
    }

    /// An outbound connection whose SYN was answered `rtt` after it went.
    fn established_after(now: Instant, rtt: Duration) -> (Connection, SigningKey) {
        let (bk, bob) = dest(2);
        let mut c = Connection::outbound(
            now,
            100,
            bob,
            bk.verifying_key(),
            Ports::default(),
            StreamConfig::default(),
        );
        let syn = c.poll_transmit(now).unwrap();
        assert!(syn.packet.flags.contains(Flags::SYNCHRONIZE));
        let mut reply = Packet {
            send_stream_id: 100,
            receive_stream_id: 7,
            flags: Flags::SYNCHRONIZE,
            max_packet_size: Some(1812),
            ..Packet::default()
        };
        reply.sign(&bk).unwrap();
        c.handle_packet(now + rtt, reply, false);
        assert!(c.established);
        (c, bk)
    }

    fn data(seq: u32) -> Packet {
        Packet {
            send_stream_id: 100,
            receive_stream_id: 7,
            sequence_num: seq,
            payload: vec![seq as u8; 10],
            ..Packet::default()
        }
    }

    #[test]
    fn fast_paths_are_acked_at_once_slow_ones_after_a_tenth_of_the_rtt() {
        let t0 = Instant::now();
        // 10 ms: a tenth is under i2pd's 2 ms floor: the ACK is due at once.
        let (mut fast, _) = established_after(t0, Duration::from_millis(10));
        let t = t0 + Duration::from_millis(20);
        while fast.poll_transmit(t).is_some() {}
        fast.handle_packet(t, data(1), false);
        fast.handle_packet(t, data(2), false);
        let ack = fast.poll_transmit(t).expect("an ACK at once");
        assert_eq!(ack.packet.ack_through, 2, "one ACK for both");
        assert!(fast.poll_transmit(t).is_none());
        // 100 ms: the ACK waits 10 ms.
        let (mut slow, _) = established_after(t0, Duration::from_millis(100));
        let t = t0 + Duration::from_millis(200);
        while slow.poll_transmit(t).is_some() {}
        slow.handle_packet(t, data(1), false);
        assert!(slow.poll_transmit(t).is_none());
        assert!(slow.poll_transmit(t + Duration::from_millis(9)).is_none());
        let ack = slow.poll_transmit(t + Duration::from_millis(10));
        assert_eq!(ack.map(|a| a.packet.ack_through), Some(1));
    }

    #[test]
    fn syn_carries_replay_hash_and_no_ack() {
        let now = Instant::now();
        let (bk, bob) = dest(2);
        let mut c = Connection::outbound(
            now,
            5,
            bob.clone(),
            bk.verifying_key(),
            Ports::default(),
            StreamConfig::default(),
        );
        c.write(b"hello");
        let out = c.poll_transmit(now).unwrap();
        let p = &out.packet;
        assert!(out.sign && out.include_from);
        assert!(p.flags.contains(Flags::SYNCHRONIZE | Flags::NO_ACK));
        assert_eq!(p.replay_hash(), Some(bob.hash()));
        assert_eq!(
            (p.send_stream_id, p.receive_stream_id, p.sequence_num),
            (0, 5, 0)
        );
        assert_eq!(p.max_packet_size, Some(1730));
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.resend_delay, 9);
    }

    #[test]
    fn received_duplicates_and_acks_are_counted() {
        let now = Instant::now();
        let (mut c, _) = established_pair(now);
        let t = now + Duration::from_millis(200);
        c.handle_packet(t, data(1), false);
        c.handle_packet(t, data(3), false);
        c.handle_packet(t, data(3), false); // again, ahead of the gap
        c.handle_packet(t, data(1), false); // again, already delivered
        let s = c.stats();
        // The SYN reply and the four data packets.
        assert_eq!((s.packets_received, s.duplicates_received), (5, 2));
        while c.poll_transmit(t).is_some() {}
        assert_eq!(c.stats().acks_sent, 1, "one ACK for the lot");
    }

    #[test]
    fn mtu_is_minimum_of_both() {
        let now = Instant::now();
        let (c, _) = established_pair(now);
        // Peer said 1812, we said 1730.
        assert_eq!(c.stats().mtu, 1730);
    }

    #[test]
    fn unsigned_syn_reply_is_ignored() {
        let now = Instant::now();
        let (bk, bob) = dest(2);
        let mut c = Connection::outbound(
            now,
            100,
            bob,
            bk.verifying_key(),
            Ports::default(),
            StreamConfig::default(),
        );
        c.poll_transmit(now).unwrap();
        let forged = Packet {
            send_stream_id: 100,
            receive_stream_id: 7,
            flags: Flags::SYNCHRONIZE,
            ..Packet::default()
        };
        c.handle_packet(now, forged.clone(), false);
        assert!(!c.established);
        let mut wrong = forged;
        wrong.sign(&SigningKey::from_bytes(&[9; 32])).unwrap();
        c.handle_packet(now, wrong, false);
        assert!(!c.established);
        assert_eq!(c.stats().dropped, 2);
    }

    #[test]
    fn bogus_ack_is_ignored() {
        let now = Instant::now();
        let (mut c, _) = established_pair(now);
        c.write(&[1; 100]);
        let out = c.poll_transmit(now).unwrap();
        assert_eq!(out.packet.sequence_num, 1);
        let before = c.stats().in_flight;
        let ack = Packet {
            send_stream_id: 100,
            receive_stream_id: 7,
            ack_through: 1000,
            ..Packet::default()
        };
        c.handle_packet(now, ack, false);
        assert_eq!(c.stats().in_flight, before, "ack beyond what we sent");
    }

    #[test]
    fn two_nacks_trigger_fast_retransmit_and_halve_window() {
        let now = Instant::now();
        let (mut c, _) = established_pair(now);
        // SYN acked by the reply? Reply carried ackThrough 0 without NO_ACK.
        assert_eq!(c.stats().in_flight, 0);
        c.write(&[0; 1730 * 4]);
        for _ in 0..4 {
            c.poll_transmit(now).unwrap();
        }
        let w0 = c.stats().window;
        let ack = |n: &[u32]| Packet {
            send_stream_id: 100,
            receive_stream_id: 7,
            ack_through: 4,
            nacks: n.to_vec(),
            ..Packet::default()
        };
        c.handle_packet(now, ack(&[2]), false);
        assert_eq!(c.stats().in_flight, 1);
        assert!(c.poll_transmit(now).is_none(), "one NACK is not enough");
        c.handle_packet(now, ack(&[2]), false);
        let re = c.poll_transmit(now).unwrap();
        assert_eq!(re.packet.sequence_num, 2);
        assert_eq!(c.stats().retransmissions, 1);
        // Three packets acked in slow start (+3), then halved.
        assert_eq!(c.stats().window, (w0 + 3) / 2);
    }
}
