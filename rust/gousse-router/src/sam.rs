//! The SAMv3 bridge (gousse-sam) over the router: its sessions are local
//! destinations, its streams [`I2pStream`]s, its datagrams the router's, its names the
//! address book's.

use std::net::SocketAddr;
use std::sync::Arc;

use gousse_sam::backend::{
    BackendError, DatagramFrom, ReceivedDatagram, SamBackend, SamStream, SessionOptions,
};
use gousse_sam::{SamConfig, SamServer};
use i2p_tunnel::pool::PoolConfig;
use i2p_wire::{Destination, DestinationKeys, Hash};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::destinations::{ConnectError, DestinationSpec, LookupError, OutgoingDatagram};
use crate::i2ptunnel::RouterHandle;
use crate::naming::SharedBook;
use crate::stream_io::I2pStream;

/// Datagrams waiting for the bridge, per session.
const DATAGRAM_QUEUE: usize = 256;

impl SamStream for I2pStream {
    fn remote_destination(&self) -> Destination {
        I2pStream::remote_destination(self).clone()
    }

    fn remote_port(&self) -> u16 {
        I2pStream::remote_port(self)
    }

    fn local_port(&self) -> u16 {
        I2pStream::local_port(self)
    }
}

/// The bridge's view of the router.
pub struct SamRouter {
    handle: RouterHandle,
    book: SharedBook,
}

impl SamRouter {
    /// Sessions become destinations of the router behind `handle`; names resolve in
    /// `book`.
    pub fn new(handle: RouterHandle, book: SharedBook) -> Self {
        Self { handle, book }
    }
}

/// The client pool a session asks for with its i2cp options (i2cp-overview.md:
/// `inbound.length`, `inbound.quantity`, `inbound.backupQuantity`, and the same for
/// outbound); what is missing or not a number keeps the client default.
fn pool_from_options(i2cp: &[(String, String)]) -> PoolConfig {
    let mut pool = PoolConfig::client();
    for (k, v) in i2cp {
        let Ok(n) = v.trim().parse::<usize>() else {
            continue;
        };
        match k.as_str() {
            "inbound.length" => pool.inbound_length = n,
            "outbound.length" => pool.outbound_length = n,
            "inbound.quantity" => pool.inbound_quantity = n,
            "outbound.quantity" => pool.outbound_quantity = n,
            "inbound.backupQuantity" => pool.inbound_backups = n,
            "outbound.backupQuantity" => pool.outbound_backups = n,
            _ => {}
        }
    }
    pool.clamped()
}

fn map_connect(e: ConnectError) -> BackendError {
    match e {
        ConnectError::Lookup(LookupError::NotFound(s)) => BackendError::PeerNotFound(s),
        ConnectError::Lookup(LookupError::Stopped) => BackendError::Closed,
        ConnectError::Reset => BackendError::CantReachPeer("the peer refused the stream".into()),
        ConnectError::Timeout(s) => BackendError::Timeout(s),
        other => BackendError::Other(other.to_string()),
    }
}

impl SamBackend for SamRouter {
    type Stream = I2pStream;

    async fn add_destination(
        &self,
        keys: DestinationKeys,
        options: SessionOptions,
    ) -> Result<u32, BackendError> {
        let publish = !options
            .i2cp
            .iter()
            .any(|(k, v)| k == "i2cp.dontPublishLeaseSet" && v.eq_ignore_ascii_case("true"));
        // i2cp-overview.md: `i2cp.leaseSetType` 3 (LeaseSet2) or 5 (encrypted).
        let encrypted_leaseset = options
            .i2cp
            .iter()
            .any(|(k, v)| k == "i2cp.leaseSetType" && v == "5");
        let spec = DestinationSpec {
            name: format!("SAM {}", options.name),
            keys,
            pool: pool_from_options(&options.i2cp),
            publish,
            encrypted_leaseset,
        };
        self.handle
            .add_destination(spec)
            .await
            .map(|d| d.id)
            .ok_or(BackendError::DuplicateDestination)
    }

    async fn remove_destination(&self, id: u32) {
        self.handle.remove_destination(id).await;
    }

    async fn connect(
        &self,
        id: u32,
        remote: Hash,
        from_port: u16,
        to_port: u16,
    ) -> Result<I2pStream, BackendError> {
        self.handle
            .connect_stream_ports(id, remote, from_port, to_port)
            .await
            .map_err(map_connect)
    }

    async fn listen(&self, id: u32) -> Result<mpsc::Receiver<I2pStream>, BackendError> {
        self.handle.listen(id).await.ok_or(BackendError::Closed)
    }

    async fn send_datagram(
        &self,
        id: u32,
        to: Hash,
        protocol: u8,
        from_port: u16,
        to_port: u16,
        payload: Vec<u8>,
    ) -> Result<(), BackendError> {
        self.handle
            .send_datagram(
                id,
                OutgoingDatagram {
                    to,
                    protocol,
                    from_port,
                    to_port,
                    payload,
                },
            )
            .await;
        Ok(())
    }

    async fn datagrams(&self, id: u32) -> Result<mpsc::Receiver<ReceivedDatagram>, BackendError> {
        let mut from_router = self
            .handle
            .datagrams(id)
            .await
            .ok_or(BackendError::Closed)?;
        let (tx, rx) = mpsc::channel(DATAGRAM_QUEUE);
        tokio::spawn(async move {
            while let Some(d) = from_router.recv().await {
                let from = match (d.from, d.from_hash) {
                    (Some(dest), _) => DatagramFrom::Destination(dest),
                    (None, Some(h)) => DatagramFrom::Hash(h),
                    (None, None) => DatagramFrom::Anonymous,
                };
                let dg = ReceivedDatagram {
                    from,
                    from_port: d.from_port,
                    to_port: d.to_port,
                    protocol: d.protocol,
                    payload: d.payload,
                };
                // Full: the datagram is dropped, as datagrams may be.
                if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(dg) {
                    return;
                }
            }
        });
        Ok(rx)
    }

    async fn lookup_destination(&self, hash: Hash) -> Result<Option<Destination>, BackendError> {
        match self.handle.lookup_leaseset(hash).await {
            Ok(ls) => Ok(Some(ls.destination().clone())),
            Err(LookupError::NotFound(_)) => Ok(None),
            Err(LookupError::Stopped) => Err(BackendError::Closed),
            Err(e) => Err(BackendError::Other(e.to_string())),
        }
    }

    async fn address_book(&self, name: &str) -> Option<Destination> {
        let resolved = self.book.lock().ok()?.resolve(name).ok()?;
        match resolved {
            gousse_addressbook::Resolved::Destination(d) => {
                <Destination as i2p_wire::Readable>::from_bytes(&d).ok()
            }
            gousse_addressbook::Resolved::EncryptedB32(address) => self
                .handle
                .lookup_blinded(address)
                .await
                .ok()
                .map(|ls| ls.destination().clone()),
            _ => None,
        }
    }
}

/// Binds the bridge (TCP at `addr`, UDP datagrams at the port below it, as 7656 and
/// 7655) so that a port in use is an error at start.
pub(crate) async fn bind(
    addr: SocketAddr,
    handle: RouterHandle,
    book: SharedBook,
) -> Result<SamServer<SamRouter>, crate::StartError> {
    let udp = addr
        .port()
        .checked_sub(1)
        .map(|p| SocketAddr::new(addr.ip(), p));
    let config = SamConfig {
        tcp: addr,
        udp,
        ..SamConfig::default()
    };
    SamServer::bind(config, Arc::new(SamRouter::new(handle, book)))
        .await
        .map_err(|source| crate::StartError::Bind { addr, source })
}

/// Serves the bridge.
pub(crate) fn spawn(server: SamServer<SamRouter>) -> JoinHandle<()> {
    info!(target: "gousse::sam", addr = ?server.local_addr(), "SAM bridge listening");
    tokio::spawn(async move {
        if let Err(e) = server.run().await {
            warn!(target: "gousse::sam", "SAM bridge stopped: {e}");
        }
    })
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn session_options_shape_the_pool() {
        let o = |pairs: &[(&str, &str)]| {
            pool_from_options(
                &pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(o(&[]), PoolConfig::client());
        let p = o(&[
            ("inbound.length", "1"),
            ("outbound.length", "9"),
            ("inbound.quantity", "x"),
        ]);
        assert_eq!((p.inbound_length, p.outbound_length), (1, 7));
        assert_eq!(p.inbound_quantity, PoolConfig::client().inbound_quantity);
    }
}
