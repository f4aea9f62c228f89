//! What the SAM bridge needs from the router: the [`SamBackend`] trait.
//!
//! The bridge (see [`crate::server`]) speaks the SAM protocol to applications and calls
//! this trait for everything that touches I2P: running a destination with its tunnel
//! pool, opening and accepting streams, sending and receiving datagrams, and resolving
//! names. The router implements it over its destinations; the tests implement it in
//! memory.

use std::future::Future;

use i2p_wire::{Destination, DestinationKeys, Hash};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::command::Style;

/// I2CP protocol number of repliable datagrams (Datagram1; i2cp.md, datagrams.rst).
pub const PROTO_DATAGRAM: u8 = 17;
/// I2CP protocol number of raw datagrams (the RAW default).
pub const PROTO_RAW: u8 = 18;
/// I2CP protocol number of Datagram2.
pub const PROTO_DATAGRAM2: u8 = 19;
/// I2CP protocol number of Datagram3.
pub const PROTO_DATAGRAM3: u8 = 20;
/// I2CP protocol number of streaming.
pub const PROTO_STREAMING: u8 = 6;

/// What a SESSION CREATE asks of the destination it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOptions {
    /// The SAM session ID (for people and logs).
    pub name: String,
    /// The session's STYLE (PRIMARY for a primary session).
    pub style: Style,
    /// The I2CP, tunnel (`inbound.*`, `outbound.*`), streaming (`i2p.*`) and `crypto.*`
    /// options of the SESSION CREATE line, in order ([`crate::Options::i2cp`]).
    pub i2cp: Vec<(String, String)>,
}

/// One I2P stream, for the bridge: read and write it like a TCP socket.
pub trait SamStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The full destination at the other end (written on the ACCEPT / FORWARD line).
    fn remote_destination(&self) -> Destination;
    /// The remote's I2CP port (FROM_PORT of an accepted stream); 0 if unknown.
    fn remote_port(&self) -> u16 {
        0
    }
    /// Our I2CP port the remote connected to (TO_PORT of an accepted stream, used to
    /// route it to a PRIMARY's subsession); 0 if unknown.
    fn local_port(&self) -> u16 {
        0
    }
}

/// Who sent a received datagram.
// A datagram is handled one at a time; boxing the destination would only make the
// backend's code noisier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatagramFrom {
    /// A raw datagram (protocol 18 or any other non-repliable protocol): nobody.
    Anonymous,
    /// A repliable datagram whose signature the backend checked (Datagram1 / Datagram2).
    Destination(Destination),
    /// A Datagram3: the unauthenticated sender hash.
    Hash(Hash),
}

/// A datagram that arrived for one of the session destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedDatagram {
    /// The sender, as far as the protocol says.
    pub from: DatagramFrom,
    /// The sender's I2CP port.
    pub from_port: u16,
    /// Our I2CP port it was sent to.
    pub to_port: u16,
    /// The I2CP protocol (17, 18, 19, 20 or any raw protocol number).
    pub protocol: u8,
    /// The application payload (without the repliable datagram's header).
    pub payload: Vec<u8>,
}

/// Why the backend could not do something; mapped to a SAM RESULT by the bridge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The destination is already running (RESULT=DUPLICATED_DEST).
    #[error("destination already in use")]
    DuplicateDestination,
    /// No LeaseSet found for the remote (RESULT=CANT_REACH_PEER on connect,
    /// KEY_NOT_FOUND on lookup).
    #[error("peer not found: {0}")]
    PeerNotFound(String),
    /// The remote refused or did not answer (RESULT=CANT_REACH_PEER).
    #[error("cannot reach peer: {0}")]
    CantReachPeer(String),
    /// Timed out (RESULT=TIMEOUT).
    #[error("timeout: {0}")]
    Timeout(String),
    /// The session's destination is gone (router stopping, destination removed).
    #[error("session destination is closed")]
    Closed,
    /// Anything else (RESULT=I2P_ERROR).
    #[error("{0}")]
    Other(String),
}

/// The router as the SAM bridge sees it. Implemented by the router over its
/// destinations; every method may be called concurrently from many connections.
///
/// A destination added with [`SamBackend::add_destination`] is identified by the `u32`
/// the backend returns; the bridge removes it when the session's control socket closes.
pub trait SamBackend: Send + Sync + 'static {
    /// An I2P stream.
    type Stream: SamStream;

    /// Runs a destination with these keys and options (builds its tunnels, publishes
    /// its LeaseSet) and returns its id once it can be used. The keys are those of
    /// the SESSION CREATE (a private key blob or a new TRANSIENT one, always Ed25519).
    fn add_destination(
        &self,
        keys: DestinationKeys,
        options: SessionOptions,
    ) -> impl Future<Output = Result<u32, BackendError>> + Send;

    /// Stops running a destination (its streams close).
    fn remove_destination(&self, id: u32) -> impl Future<Output = ()> + Send;

    /// Opens a stream from destination `id` to `remote` (its LeaseSet looked up as
    /// needed), from our I2CP port `from_port` to its `to_port` (0: any).
    fn connect(
        &self,
        id: u32,
        remote: Hash,
        from_port: u16,
        to_port: u16,
    ) -> impl Future<Output = Result<Self::Stream, BackendError>> + Send;

    /// Streams that remotes open to destination `id`. Called once per destination;
    /// the bridge routes them to ACCEPTs, FORWARDs and subsessions.
    fn listen(
        &self,
        id: u32,
    ) -> impl Future<Output = Result<mpsc::Receiver<Self::Stream>, BackendError>> + Send;

    /// Sends one datagram from destination `id` to `to`. `protocol` is 17 (repliable,
    /// Datagram1: the backend adds our destination and signature), 18 or another raw
    /// protocol (payload as is), 19 (Datagram2) or 20 (Datagram3).
    fn send_datagram(
        &self,
        id: u32,
        to: Hash,
        protocol: u8,
        from_port: u16,
        to_port: u16,
        payload: Vec<u8>,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Datagrams that arrive for destination `id` (all protocols but streaming). Called
    /// once per destination that has datagram (sub)sessions.
    fn datagrams(
        &self,
        id: u32,
    ) -> impl Future<Output = Result<mpsc::Receiver<ReceivedDatagram>, BackendError>> + Send;

    /// The full destination of `hash`, from its LeaseSet (cached or looked up).
    /// `Ok(None)` if not found.
    fn lookup_destination(
        &self,
        hash: Hash,
    ) -> impl Future<Output = Result<Option<Destination>, BackendError>> + Send;

    /// The address book entry of a host name such as `example.i2p`, if any.
    fn address_book(&self, name: &str) -> impl Future<Output = Option<Destination>> + Send;
}
