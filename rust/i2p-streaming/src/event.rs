//! What the stream manager tells the application: events, close reasons, errors.

use std::time::Duration;

use i2p_wire::Hash;

/// A stream, named by our receiveStreamId (streaming.rst, "Packet Format": random,
/// greater than zero, constant for the life of the connection). Unique among a
/// manager's live connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

/// I2CP ports of a stream (i2cp.rst, "ports"): carried by the layer below, not
/// by streaming packets. `local` is ours, `remote` the peer's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Ports {
    /// Our port (source port of what we send).
    pub local: u16,
    /// The peer's port (destination port of what we send).
    pub remote: u16,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Both sides sent CLOSE and ours was acknowledged.
    Normal,
    /// The peer sent a (signed) RESET.
    ResetByPeer,
    /// The application called `reset`.
    ResetLocally,
    /// The SYN was not answered within the connect timeout or the resend limit.
    ConnectTimeout,
    /// Too many retransmission timeouts without an acknowledgment.
    RetransmitTimeout,
    /// Nothing received within the idle timeout.
    IdleTimeout,
    /// The close handshake did not finish within the close timeout.
    CloseTimeout,
    /// Not accepted by the application within the accept timeout.
    AcceptTimeout,
    /// The manager refused or dropped it (limits, or a sequence number overflow).
    Refused,
}

/// Something the application should know; drained with `poll_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A new inbound connection waits in the accept queue.
    Incoming(StreamId),
    /// Our outbound connection got its SYN reply.
    Connected(StreamId),
    /// Data arrived, or the peer closed (then `read` ends with `Finished`).
    Readable(StreamId),
    /// Room in the send buffer after a `write` accepted less than offered.
    Writable(StreamId),
    /// The connection ended. Data already received can still be read until the
    /// buffer is drained (or the linger time passes).
    Closed {
        /// The stream.
        id: StreamId,
        /// Why.
        reason: CloseReason,
    },
    /// The route to the peer looks broken: a retransmission timeout fired (what we
    /// sent went unacknowledged for a whole RTO, streaming.rst "Retransmissions"),
    /// or the peer keeps resending what we hold and nothing new comes (our ACKs do
    /// not reach it). The layer below may want to pick another path, fetch the
    /// peer's LeaseSet again or send ours along.
    Stalled {
        /// The stream.
        id: StreamId,
        /// The peer.
        remote: Hash,
        /// Stalls in a row, this one included.
        timeouts: u32,
    },
    /// The answer to one of our pings.
    Pong {
        /// The id `ping` returned.
        ping: u32,
        /// Who answered.
        remote: Hash,
        /// Round-trip time.
        rtt: Duration,
        /// The payload echoed back.
        payload: Vec<u8>,
    },
    /// A ping got no answer within the ping timeout.
    PingTimeout {
        /// The id `ping` returned.
        ping: u32,
    },
}

/// Errors of the application-facing calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// No such stream (never existed, or removed after it ended).
    #[error("unknown stream")]
    UnknownStream,
    /// The peer closed its direction and everything was read (end of stream).
    #[error("stream finished")]
    Finished,
    /// Writing after `close`.
    #[error("stream closed for writing")]
    WriteClosed,
    /// The connection ended abnormally.
    #[error("connection closed: {0:?}")]
    Closed(CloseReason),
    /// A limit of the manager (connections in all, per peer).
    #[error("connection limit reached")]
    Limit,
    /// The remote destination's signature type cannot be verified here (only
    /// Ed25519 is supported), so its SYN reply could not be authenticated.
    #[error("unsupported remote signature type")]
    UnsupportedDestination,
}
