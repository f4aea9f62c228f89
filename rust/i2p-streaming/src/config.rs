//! Tunables of connections and of the stream manager, with the defaults of
//! streaming-api.md ("Options and Defaults", "Other Parameters") or, where the
//! two implementations differ, of i2pd 2.45.1 (`libi2pd/Streaming.h`,
//! `Destination.h`), which is the interop reference.

use std::time::Duration;

use crate::congestion::{INITIAL_WINDOW, MAX_WINDOW};
use crate::rtt::INITIAL_RTO;

/// "i2p.streaming.maxMessageSize" default: the largest payload, chosen "to fit
/// precisely into two 1K I2NP tunnel messages". i2pd's STREAMING_MTU.
pub const DEFAULT_MTU: u16 = 1730;
/// The MTU recommended for ECIES (ratchet) sessions (proposal 155); i2pd's
/// STREAMING_MTU_RATCHETS, which i2pd advertises and uses on ratchet sessions.
pub const RATCHET_MTU: u16 = 1812;
/// "MIN_MESSAGE_SIZE = 512 (minimum MTU)": a peer's smaller value is raised to it.
pub const MIN_MTU: u16 = 512;
/// Largest MTU this crate will use or advertise.
pub const MAX_MTU: u16 = 16_384;

/// Per-connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamConfig {
    /// Our maximum payload, advertised as MAX_PACKET_SIZE in the SYN; we send at
    /// most the smaller of it and the peer's ("Clients must use the minimum of the
    /// sent and received MTU"). Clamped to [512, 16384].
    pub max_packet_size: u16,
    /// Initial send window in packets ("i2p.streaming.initialWindowSize" = 6).
    pub initial_window: u32,
    /// Maximum send window in packets ("i2p.streaming.maxWindowSize" = 128).
    pub max_window: u32,
    /// RTO before the first RTT sample ("i2p.streaming.initialRTO" = 9000 ms).
    pub initial_rto: Duration,
    /// Retransmission timeouts in a row (no new ACK in between) after which the
    /// connection is reset. i2pd: MAX_NUM_RESEND_ATTEMPTS = 6 (Java: 8).
    pub max_resends: u32,
    /// Time for the SYN to be answered ("i2p.streaming.connectTimeout" = 5 min).
    pub connect_timeout: Duration,
    /// Upper bound of the delayed-ACK timer. i2pd: min(RTT/10, 200 ms), at least
    /// 2 ms ("i2p.streaming.initialAckDelay" default 200 in i2pd).
    pub ack_delay: Duration,
    /// Time without sending after which a keepalive (a plain ACK) is sent
    /// ("i2p.streaming.inactivityTimeout" = 90 s, action "send").
    pub inactivity_timeout: Duration,
    /// If set, the connection is reset when nothing was received for this long.
    /// Off by default: i2pd sends no keepalives, so an idle but healthy i2pd
    /// connection would be cut.
    pub idle_timeout: Option<Duration>,
    /// After our CLOSE is sent, the longest we wait (since the last packet
    /// received) for the peer's CLOSE and the ACK of ours.
    pub close_timeout: Duration,
    /// Bytes the application may queue for sending and that are not yet in a
    /// packet ("i2p.streaming.bufferSize" = 64K).
    pub send_buffer: usize,
    /// In-order bytes held for the application before the peer is choked (delay >
    /// 60000); also the most held ahead of a gap. Packets are dropped only when
    /// twice this is held, in order or not (plus a reserve of one maximum payload,
    /// 4096 or the MTU, for the next in-order packet).
    ///
    /// Java I2P holds one full window ("INBOUND_BUFFER_SIZE = maxMessageSize *
    /// (maxWindowSize + 2)") and chokes. i2pd 2.45.1 ignores the choke: a packet we
    /// ACKed frees its window even if the application has not read it. With one
    /// window we dropped thousands of packets at i2pd's 128-packet window, and
    /// i2pd, which resends only on its timer (9 s after the second try), took
    /// minutes to recover (the end-to-end benchmark: 174 s for 20 MB). Two windows:
    /// the application may fall a whole window behind before we choke.
    pub receive_buffer: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            max_packet_size: DEFAULT_MTU,
            initial_window: INITIAL_WINDOW,
            max_window: MAX_WINDOW,
            initial_rto: INITIAL_RTO,
            max_resends: 6,
            connect_timeout: Duration::from_secs(5 * 60),
            ack_delay: Duration::from_millis(200),
            inactivity_timeout: Duration::from_secs(90),
            idle_timeout: None,
            close_timeout: Duration::from_secs(60),
            send_buffer: 64 * 1024,
            receive_buffer: usize::from(DEFAULT_MTU) * (2 * MAX_WINDOW as usize + 2),
        }
    }
}

impl StreamConfig {
    /// The MTU we advertise, clamped to [`MIN_MTU`], [`MAX_MTU`].
    pub fn mtu(&self) -> u16 {
        self.max_packet_size.clamp(MIN_MTU, MAX_MTU)
    }
}

/// Settings of a [`StreamManager`](crate::StreamManager) (one local destination).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// Defaults of new connections, outbound (unless `connect` is given others)
    /// and inbound.
    pub stream: StreamConfig,
    /// Connections of all kinds at once ("i2p.streaming.maxConcurrentStreams";
    /// unlimited in Java, bounded here).
    pub max_connections: usize,
    /// Connections with one remote destination at once.
    pub max_connections_per_peer: usize,
    /// Inbound connections not yet taken by `accept` (i2pd:
    /// MAX_PENDING_INCOMING_BACKLOG = 128).
    pub accept_backlog: usize,
    /// How long an inbound connection may wait to be accepted before it is reset
    /// (i2pd: PENDING_INCOMING_TIMEOUT = 10 s).
    pub accept_timeout: Duration,
    /// How long packets that arrive before their SYN are kept (i2pd: 10 s).
    pub pre_syn_timeout: Duration,
    /// Remote streams whose pre-SYN packets are kept at once.
    pub pre_syn_streams: usize,
    /// Pre-SYN packets kept per remote stream (the initial window).
    pub pre_syn_packets_per_stream: usize,
    /// Pre-SYN payload bytes kept in all.
    pub pre_syn_bytes: usize,
    /// RESETs sent for packets to unknown streams (and limit refusals), per second.
    pub resets_per_second: u32,
    /// SYNs and pings whose signature is checked, per second (the rest dropped).
    pub syns_per_second: u32,
    /// Whether pings are answered ("i2p.streaming.answerPings" = true).
    pub answer_pings: bool,
    /// Our pings awaiting a pong at once.
    pub max_pending_pings: usize,
    /// How long a ping waits for its pong.
    pub ping_timeout: Duration,
    /// Events kept for the application; beyond, new events are dropped and counted.
    pub max_events: usize,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            stream: StreamConfig::default(),
            max_connections: 256,
            max_connections_per_peer: 32,
            accept_backlog: 128,
            accept_timeout: Duration::from_secs(10),
            pre_syn_timeout: Duration::from_secs(10),
            pre_syn_streams: 32,
            pre_syn_packets_per_stream: 8,
            pre_syn_bytes: 64 * 1024,
            resets_per_second: 10,
            syns_per_second: 100,
            answer_pings: true,
            max_pending_pings: 16,
            ping_timeout: Duration::from_secs(30),
            max_events: 4096,
        }
    }
}
