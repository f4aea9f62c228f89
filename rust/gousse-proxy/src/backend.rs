//! What the proxies need from the router: name resolution, streams to destinations,
//! and saving a name the user confirmed.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};

/// Where a stream goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Only the destination hash (from a `.b32.i2p` name): the router looks up the
    /// LeaseSet, which carries the full destination.
    Hash([u8; 32]),
    /// The serialized destination (from the address book or an address helper).
    Destination(Vec<u8>),
    /// A `b33` address (b32encrypted.rst): the router looks up the encrypted
    /// LeaseSet and opens it.
    Blinded(i2p_wire::BlindedAddress),
}

/// Why a name did not resolve.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The name is not in the address book.
    #[error("not in the address book")]
    NotFound,
    /// The address book could not be read.
    #[error("address book failure: {0}")]
    Failed(String),
}

/// Why a stream could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The destination's LeaseSet was not found in the netDb: the site is probably
    /// offline, or not yet published.
    #[error("the destination's LeaseSet was not found")]
    LeaseSetNotFound,
    /// The LeaseSet was found but the streaming connection did not open.
    #[error("the destination did not answer")]
    Unreachable,
    /// The destination answered with a reset (nothing listening on that port).
    #[error("the destination refused the connection")]
    Refused,
    /// Our own client tunnels are not ready yet.
    #[error("the router's client tunnels are not ready yet")]
    NotReady,
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Why a name could not be saved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not save the name: {0}")]
pub struct AddHostError(pub String);

/// The router side of the proxies. The router implements it over its client
/// destination, its streaming layer and the address book (`gousse-addressbook`).
///
/// Implementations may write `async fn` for each method; the futures must be `Send`.
pub trait I2pBackend: Send + Sync + 'static {
    /// A bidirectional stream to a destination (an I2P streaming connection).
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Resolves a `.i2p` host name (lower case, never a `.b32.i2p` name: the proxies
    /// decode those themselves) through the address book, without the network.
    fn resolve(&self, host: &str) -> impl Future<Output = Result<Target, ResolveError>> + Send;

    /// Opens a stream to `target` on `port` (looking up the LeaseSet if needed). The
    /// proxies bound the wait with their `connect_timeout`.
    fn connect(
        &self,
        target: &Target,
        port: u16,
    ) -> impl Future<Output = Result<Self::Stream, ConnectError>> + Send;

    /// Saves `host` (a valid name, lower case) as `destination` in the address book,
    /// replacing any entry: the user confirmed it on the address helper page.
    fn add_host(
        &self,
        host: &str,
        destination: &[u8],
    ) -> impl Future<Output = Result<(), AddHostError>> + Send;
}
