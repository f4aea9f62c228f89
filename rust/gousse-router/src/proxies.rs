//! The HTTP and SOCKS proxies (gousse-proxy) over the router: a shared client
//! destination for their streams, and the address book for names, as i2pd's proxies
//! share one local destination.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use gousse_addressbook::{AddressBook, Resolved};
use gousse_proxy::{AddHostError, ConnectError, I2pBackend, ResolveError, Target};
use i2p_wire::Hash;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::info;

use crate::destinations::{self, LookupError};
use crate::i2ptunnel::RouterHandle;
use crate::stream_io::I2pStream;

/// The proxies' view of the router.
pub struct ProxyBackend {
    handle: RouterHandle,
    /// The shared client destination the proxies' streams come from.
    dest: u32,
    book: Arc<Mutex<AddressBook>>,
}

impl ProxyBackend {
    /// Streams from destination `dest`, names from `book`.
    pub fn new(handle: RouterHandle, dest: u32, book: Arc<Mutex<AddressBook>>) -> Self {
        Self { handle, dest, book }
    }
}

fn now_ms() -> u64 {
    crate::core::unix_ms()
}

impl I2pBackend for ProxyBackend {
    type Stream = I2pStream;

    async fn resolve(&self, host: &str) -> Result<Target, ResolveError> {
        let resolved = self
            .book
            .lock()
            .map_err(|_| ResolveError::Failed("address book unavailable".into()))?
            .resolve(host)
            .map_err(|e| ResolveError::Failed(e.to_string()))?;
        match resolved {
            Resolved::Destination(d) => Ok(Target::Destination(d)),
            Resolved::Hash(h) => Ok(Target::Hash(h)),
            Resolved::NotFound => Err(ResolveError::NotFound),
            other => Err(ResolveError::Failed(format!("{other:?}"))),
        }
    }

    async fn connect(&self, target: &Target, port: u16) -> Result<I2pStream, ConnectError> {
        let hash = match target {
            Target::Hash(h) => Hash(*h),
            Target::Destination(bytes) => {
                <i2p_wire::Destination as i2p_wire::Readable>::from_bytes(bytes)
                    .map_err(|e| ConnectError::Other(format!("bad destination: {e}")))?
                    .hash()
            }
            Target::Blinded(address) => self
                .handle
                .lookup_blinded(address.clone())
                .await
                .map_err(|e| match e {
                    LookupError::NotFound(_) => ConnectError::LeaseSetNotFound,
                    other => ConnectError::Other(other.to_string()),
                })?
                .hash(),
        };
        self.handle
            .connect_stream(self.dest, hash, port)
            .await
            .map_err(|e| match e {
                destinations::ConnectError::Lookup(LookupError::NotFound(_)) => {
                    ConnectError::LeaseSetNotFound
                }
                destinations::ConnectError::Reset => ConnectError::Refused,
                destinations::ConnectError::Timeout(_) => ConnectError::Unreachable,
                other => ConnectError::Other(other.to_string()),
            })
    }

    async fn add_host(&self, host: &str, destination: &[u8]) -> Result<(), AddHostError> {
        self.book
            .lock()
            .map_err(|_| AddHostError("address book unavailable".into()))?
            .replace(host, destination, "addresshelper", now_ms())
            .map_err(|e| AddHostError(e.to_string()))
    }
}

/// The proxies' sockets, bound before anything else starts so that a port in use
/// is an error at start.
pub(crate) struct ProxySockets {
    http: Option<TcpListener>,
    socks: Option<TcpListener>,
}

impl ProxySockets {
    /// Binds the proxies that have an address; `None` when no proxy is configured.
    pub(crate) async fn bind(
        http: Option<SocketAddr>,
        socks: Option<SocketAddr>,
    ) -> Result<Option<Self>, crate::StartError> {
        if http.is_none() && socks.is_none() {
            return Ok(None);
        }
        let bind = |addr: Option<SocketAddr>| async move {
            match addr {
                Some(addr) => TcpListener::bind(addr)
                    .await
                    .map(Some)
                    .map_err(|source| crate::StartError::Bind { addr, source }),
                None => Ok(None),
            }
        };
        Ok(Some(Self {
            http: bind(http).await?,
            socks: bind(socks).await?,
        }))
    }

    /// Serves the proxies, their streams from destination `dest`.
    pub(crate) fn spawn(
        self,
        handle: RouterHandle,
        dest: u32,
        book: Arc<Mutex<AddressBook>>,
    ) -> Vec<JoinHandle<()>> {
        let backend = Arc::new(ProxyBackend::new(handle, dest, book));
        let mut tasks = Vec::new();
        if let Some(l) = self.http {
            info!(target: "gousse::proxy", addr = ?l.local_addr().ok(), "HTTP proxy listening");
            let proxy = gousse_proxy::HttpProxy::new(backend.clone(), Default::default());
            tasks.push(tokio::spawn(proxy.serve(l)));
        }
        if let Some(l) = self.socks {
            info!(target: "gousse::proxy", addr = ?l.local_addr().ok(), "SOCKS proxy listening");
            let proxy = gousse_proxy::SocksProxy::new(backend, Default::default());
            tasks.push(tokio::spawn(proxy.serve(l)));
        }
        tasks
    }
}
