//! Client and server tunnels (i2ptunnel.md) and the handle they, the proxies and the
//! SAM bridge use to reach the router's destinations and streams.
//!
//! - A server tunnel accepts I2P streams on its destination and connects each to its
//!   local TCP server, copying bytes both ways until either side closes.
//! - A client tunnel listens on a local TCP port and opens an I2P stream to its
//!   remote destination for each connection.

use std::net::SocketAddr;
use std::time::Duration;

use i2p_wire::{Hash, LeaseSet2};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::core::CoreCmd;
use crate::destinations::{ConnectError, DestinationInfo, DestinationSpec, LookupError};
use crate::stream_io::I2pStream;

/// Accepted streams waiting for their server tunnel or application.
pub const ACCEPT_BACKLOG: usize = 64;
/// A local server that does not accept within this long fails the stream.
const LOCAL_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// An I2P stream that does not open within this long fails (lookup and SYN).
pub const STREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(90);

/// A cheap, cloneable way to the router's destinations and streams.
#[derive(Clone, Debug)]
pub struct RouterHandle {
    commands: mpsc::Sender<CoreCmd>,
}

impl RouterHandle {
    pub(crate) fn new(commands: mpsc::Sender<CoreCmd>) -> Self {
        Self { commands }
    }

    /// Runs a destination (see [`crate::Router::add_destination`]).
    pub async fn add_destination(&self, spec: DestinationSpec) -> Option<DestinationInfo> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(CoreCmd::AddDestination(Box::new(spec), tx))
            .await
            .ok()?;
        rx.await.ok()
    }

    /// Stops running a destination.
    pub async fn remove_destination(&self, id: u32) {
        let _ = self.commands.send(CoreCmd::RemoveDestination(id)).await;
    }

    /// Finds the LeaseSet2 of a destination (cached, else from the floodfills).
    pub async fn lookup_leaseset(&self, hash: Hash) -> Result<LeaseSet2, LookupError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(CoreCmd::LookupLeaseSet(hash, tx))
            .await
            .map_err(|_| LookupError::Stopped)?;
        rx.await.map_err(|_| LookupError::Stopped)?
    }

    /// Opens a stream from our destination `dest` to the destination `remote`, at its
    /// I2P port `port` (0: any).
    pub async fn connect_stream(
        &self,
        dest: u32,
        remote: Hash,
        port: u16,
    ) -> Result<I2pStream, ConnectError> {
        let attempt = async {
            let ls = self.lookup_leaseset(remote).await?;
            let (tx, rx) = oneshot::channel();
            self.commands
                .send(CoreCmd::ConnectStream(dest, Box::new(ls), port, tx))
                .await
                .map_err(|_| ConnectError::Lookup(LookupError::Stopped))?;
            rx.await
                .map_err(|_| ConnectError::Lookup(LookupError::Stopped))?
        };
        tokio::time::timeout(STREAM_CONNECT_TIMEOUT, attempt)
            .await
            .map_err(|_| ConnectError::Timeout("no answer in time".into()))?
    }

    /// Streams that remotes open to our destination `dest` come out of the returned
    /// channel (the previous listener, if any, gets no more).
    pub async fn listen(&self, dest: u32) -> Option<mpsc::Receiver<I2pStream>> {
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        self.commands.send(CoreCmd::Listen(dest, tx)).await.ok()?;
        Some(rx)
    }
}

/// Runs a server tunnel: every stream to `dest` is connected to `local`.
pub(crate) fn spawn_server(
    handle: RouterHandle,
    dest: u32,
    name: String,
    local: SocketAddr,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(mut incoming) = handle.listen(dest).await else {
            return;
        };
        while let Some(mut stream) = incoming.recv().await {
            let name = name.clone();
            tokio::spawn(async move {
                let remote = stream.remote();
                let tcp = match tokio::time::timeout(
                    LOCAL_CONNECT_TIMEOUT,
                    TcpStream::connect(local),
                )
                .await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %local, "local server: {e}");
                        return;
                    }
                    Err(_) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %local, "local server does not answer");
                        return;
                    }
                };
                debug!(target: "gousse::i2ptunnel", tunnel = %name, %remote, "stream to the local server");
                let mut tcp = tcp;
                match tokio::io::copy_bidirectional(&mut stream, &mut tcp).await {
                    Ok((up, down)) => {
                        debug!(target: "gousse::i2ptunnel", tunnel = %name, up, down, "stream done")
                    }
                    Err(e) => {
                        debug!(target: "gousse::i2ptunnel", tunnel = %name, "stream ended: {e}")
                    }
                }
            });
        }
    })
}

/// Runs a client tunnel: every TCP connection to `listener` gets a stream from `dest`
/// to `remote`.
pub(crate) fn spawn_client(
    handle: RouterHandle,
    dest: u32,
    name: String,
    listener: TcpListener,
    remote: Hash,
    port: u16,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (mut tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    warn!(target: "gousse::i2ptunnel", tunnel = %name, "accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let handle = handle.clone();
            let name = name.clone();
            tokio::spawn(async move {
                match handle.connect_stream(dest, remote, port).await {
                    Ok(mut stream) => {
                        info!(target: "gousse::i2ptunnel", tunnel = %name, %peer, "stream opened");
                        let _ = tokio::io::copy_bidirectional(&mut tcp, &mut stream).await;
                    }
                    Err(e) => {
                        warn!(target: "gousse::i2ptunnel", tunnel = %name, %peer, "cannot reach {}: {e}", remote.to_base32())
                    }
                }
            });
        }
    })
}

/// The hash a client tunnel's `destination` names: a `.b32.i2p` address or a full
/// base64 destination. Host names need the address book.
pub fn resolve_static(destination: &str) -> Result<Hash, String> {
    let d = destination.trim();
    if let Some(b32) = d.strip_suffix(".b32.i2p") {
        let bytes = i2p_wire::base32::decode(b32)
            .map_err(|e| format!("`{d}` is not a valid b32 address: {e}"))?;
        let hash: [u8; 32] = bytes
            .try_into()
            .map_err(|_| format!("`{d}` is not a 52-character b32 address"))?;
        return Ok(Hash(hash));
    }
    if d.ends_with(".i2p") {
        return Err(format!(
            "`{d}`: host names are not resolved here yet; use its .b32.i2p address"
        ));
    }
    let bytes =
        i2p_wire::base64::decode(d).map_err(|e| format!("`{d}`: not a destination: {e}"))?;
    let dest = <i2p_wire::Destination as i2p_wire::Readable>::from_bytes(&bytes)
        .map_err(|e| format!("`{d}`: not a destination: {e}"))?;
    Ok(dest.hash())
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn client_destinations_resolve_or_say_why_not() {
        let keys = i2p_wire::DestinationKeys::generate();
        let dest = keys.destination();
        assert_eq!(resolve_static(&dest.b32_address()), Ok(dest.hash()));
        assert_eq!(resolve_static(&dest.to_base64()), Ok(dest.hash()));
        assert!(resolve_static("zzz.i2p").unwrap_err().contains("b32"));
        assert!(resolve_static("abc.b32.i2p").is_err());
        assert!(resolve_static("not base64 !").is_err());
    }
}
