//! Gousse's router runtime: the only layer that reads a clock or owns a socket.
//!
//! [`Router::start`] creates or loads the router's keys (`router.keys`, 0600), opens
//! the netDb store (`netdb.sqlite`), reseeds if the netDb is nearly empty, binds the
//! NTCP2 listener, and spawns the core task (netDb and session table) and the
//! listener. See docs/ARCHITECTURE.md.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod addr;
pub mod bandwidth;
pub mod config;
mod core;
mod counters;
pub mod destinations;
pub mod i2ptunnel;
pub mod keys;
pub mod naming;
pub mod our_info;
pub mod peers;
mod persist;
pub mod proxies;
pub mod sam;
pub mod status;
pub mod stream_io;
mod transport;
mod tunnels;
pub mod tunnels_conf;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use i2p_netdb::{NetDb, NetDbConfig, RouterHash};
use i2p_wire::router_info::{RouterInfo, UncheckedRouterInfo};
use i2p_wire::Hash;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use bandwidth::TransitLimits;
pub use config::RouterConfig;
pub use status::{DestinationStatus, SessionCounts, Status, TunnelCounts, TunnelInfo};

use crate::core::{now, summarize, unix_ms, Core, CoreCmd, CoreParts, OurInfo};
use crate::counters::Counters;
use crate::keys::RouterKeys;
use crate::persist::{record, Persister};
use crate::transport::{TransportCtx, TransportEvent};

/// Name of the netDb database inside the data directory.
pub const NETDB_FILE: &str = "netdb.sqlite";
/// Our current RouterInfo, written in the data directory on every publication.
pub const ROUTER_INFO_FILE: &str = "router.info";
/// Store key of the NTCP2 port picked for a config with port 0.
const PORT_STATE_KEY: &str = "ntcp2.port";

/// Why a router could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The data directory could not be created or used.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The key file could not be read or written.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// The netDb database could not be opened.
    #[error("netDb store: {0}")]
    Store(#[from] gousse_store::Error),
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The NTCP2 port could not be bound.
    #[error("binding NTCP2 on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Our RouterInfo could not be built.
    #[error("building our RouterInfo: {0}")]
    RouterInfo(#[from] i2p_wire::Error),
}

/// A running router. Cheap to share behind an `Arc`; [`Router::shutdown`] stops it.
pub struct Router {
    status: Arc<Mutex<Status>>,
    started: std::time::Instant,
    commands: mpsc::Sender<CoreCmd>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    router_hash: Hash,
    ntcp2_addr: SocketAddr,
    handle: i2ptunnel::RouterHandle,
    book: naming::SharedBook,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("router_hash", &self.router_hash.to_base64())
            .finish()
    }
}

impl Router {
    /// Starts a router: keys, netDb, reseed if needed, NTCP2 listener, core task.
    pub async fn start(config: RouterConfig) -> Result<Router, StartError> {
        let data_dir = config.data_dir.clone();
        let tunnel_defs = match &config.tunnels {
            Some(path) => read_tunnels_file(path)?,
            None => Vec::new(),
        };
        create_data_dir(&data_dir)?;
        // Destination keys are read (or created) before anything runs, so that a bad
        // key file stops the start with its error.
        let mut destinations = Vec::with_capacity(tunnel_defs.len());
        for def in tunnel_defs {
            let keys = match &def.keys {
                Some(file) => {
                    let (keys, created) =
                        keys::load_or_create_destination_keys(&data_dir.join(file))?;
                    if created {
                        info!(target: "gousse::router", tunnel = %def.name, file, "new destination keys");
                    }
                    keys
                }
                None => i2p_wire::DestinationKeys::generate(),
            };
            // Client tunnels' local ports are bound now, so that a port in use
            // stops the start with a clear error.
            let listener = match &def.kind {
                tunnels_conf::TunnelKind::Client { address, port, .. } => {
                    let addr = SocketAddr::new(*address, *port);
                    let l = std::net::TcpListener::bind(addr)
                        .and_then(|l| l.set_nonblocking(true).map(|()| l))
                        .and_then(tokio::net::TcpListener::from_std)
                        .map_err(|source| StartError::Bind { addr, source })?;
                    Some(l)
                }
                tunnels_conf::TunnelKind::Server { .. } => None,
            };
            destinations.push((
                destinations::DestinationSpec {
                    name: def.name.clone(),
                    keys,
                    pool: def.pool.clone(),
                    publish: def.is_server(),
                    encrypted_leaseset: def.encrypted_leaseset,
                },
                def,
                listener,
            ));
        }
        let (keys, created) = RouterKeys::load_or_create(&data_dir)?;
        let keys = Arc::new(keys);
        let our_hash = our_info::our_identity(&keys).hash();
        info!(target: "gousse::router", router = %our_hash, new_identity = created, "starting");

        let mut store = gousse_store::Store::open(data_dir.join(NETDB_FILE))?;
        let port = match config.port {
            0 => pick_port(&mut store)?,
            p => p,
        };
        if let Some(host) = config.host {
            if !config.allow_private_addresses && !addr::is_public(host) {
                return Err(StartError::Config(format!(
                    "--host {host} is not a public address; use --allow-private-addresses for a test network"
                )));
            }
        }
        let loaded = store.load_router_infos()?;
        let tunnel_stats: HashMap<Hash, peers::TunnelStats> = store
            .profiles()?
            .into_iter()
            .map(|p| {
                let s = peers::TunnelStats {
                    ok: p.tunnel_ok,
                    rejected: p.tunnel_reject,
                    timed_out: p.tunnel_timeout,
                };
                (Hash(p.hash), s)
            })
            .collect();
        let persist = Persister::start(store).map_err(|source| StartError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;

        // The netDb, from SQLite first.
        let mut ndb_cfg = NetDbConfig::new(RouterHash(our_hash.0));
        ndb_cfg.floodfill = config.floodfill;
        let mut netdb = NetDb::new(ndb_cfg, now());
        let mut routers: HashMap<Hash, Arc<RouterInfo>> = HashMap::new();
        let from_store = add_verified(
            &mut netdb,
            &mut routers,
            loaded.into_iter().map(|r| r.bytes),
            config.net_id,
            &our_hash,
            None,
        );
        info!(target: "gousse::netdb", routers = from_store, "netDb loaded from {}", NETDB_FILE);
        if netdb.router_count() < config.reseed_threshold {
            let got = reseed(&config).await;
            let added = add_verified(
                &mut netdb,
                &mut routers,
                got.into_iter(),
                config.net_id,
                &our_hash,
                Some(&persist),
            );
            info!(target: "gousse::netdb", routers = added, "reseeded");
        }

        // NTCP2.
        let bind = transport::bind_addr(config.host, port);
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| StartError::Bind { addr: bind, source })?;
        let published_addr = config.host.map(|h| SocketAddr::new(h, port));
        let limits = config.transit_limits();
        let class = bandwidth::bandwidth_class(limits.share_bytes_per_s);
        let first_ri = our_info::build(
            &keys,
            published_addr,
            config.net_id,
            config.floodfill,
            class,
            unix_ms(),
        )?;
        let (ri_tx, ri_rx) = watch::channel(Arc::new(first_ri));
        let counters = Arc::new(Counters::default());
        let (ev_tx, ev_rx) = mpsc::channel::<TransportEvent>(1024);
        let ntcp2_config = i2p_ntcp2::Config {
            net_id: config.net_id,
            ..Default::default()
        };
        let ctx = Arc::new(TransportCtx {
            config: ntcp2_config,
            keys: keys.clone(),
            our_hash,
            our_router_info: ri_rx,
            replay: i2p_ntcp2::ReplayFilter::shared(
                i2p_ntcp2::replay::DEFAULT_REPLAY_CAPACITY,
                i2p_ntcp2::replay::DEFAULT_REPLAY_WINDOW,
            ),
            events: ev_tx,
            counters: counters.clone(),
            net_id: config.net_id,
            allow_private: config.allow_private_addresses,
            slots: Arc::new(Semaphore::new(config.max_sessions.max(1))),
            next_conn: Default::default(),
        });

        let status = Arc::new(Mutex::new(Status {
            version: env!("CARGO_PKG_VERSION").to_string(),
            net_id: config.net_id,
            router_hash: our_hash.to_base64(),
            ntcp2_address: published_addr.map(|a| a.to_string()),
            floodfill: config.floodfill,
            ..Status::default()
        }));
        let our = OurInfo {
            keys: keys.clone(),
            published_addr,
            net_id: config.net_id,
            floodfill: config.floodfill,
            tx: ri_tx,
            file: data_dir.join(ROUTER_INFO_FILE),
        };
        let tunnels = tunnels::Tunnels::new(
            our_hash,
            keys.x25519.clone(),
            config.allow_private_addresses,
            limits,
            i2p_tunnel::pool::PoolConfig {
                inbound_length: config.exploratory_length,
                outbound_length: config.exploratory_length,
                inbound_quantity: config.exploratory_quantity,
                outbound_quantity: config.exploratory_quantity,
                inbound_backups: 0,
                outbound_backups: 0,
            },
            tunnel_stats,
            std::time::Instant::now(),
        );
        let core = Core::new(CoreParts {
            netdb,
            routers,
            ctx: ctx.clone(),
            persist,
            counters,
            our,
            status: status.clone(),
            tunnels,
        });
        let (cmd_tx, cmd_rx) = mpsc::channel(8);
        let proxy_sockets =
            proxies::ProxySockets::bind(config.http_proxy, config.socks_proxy).await?;
        let book = naming::open(&data_dir, &data_dir.join(NETDB_FILE))?;
        let subscriptions: Vec<String> = match &config.subscriptions {
            Some(list) => list.clone(),
            None if config.net_id == config::MAIN_NET_ID => naming::DEFAULT_SUBSCRIPTIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            None => Vec::new(),
        };
        naming::subscribe(&book, &subscriptions);
        let handle = i2ptunnel::RouterHandle::new(cmd_tx.clone());
        let sam_server = match config.sam {
            Some(addr) => Some(sam::bind(addr, handle.clone(), book.clone()).await?),
            None => None,
        };
        let core_task = tokio::spawn(core.run(ev_rx, cmd_rx));
        let listener_task = tokio::spawn(transport::run_listener(listener, ctx));
        let mut tasks = vec![core_task, listener_task];
        if let Some(server) = sam_server {
            tasks.push(sam::spawn(server));
        }
        // Server tunnels with the same key file share one destination, each on its
        // I2P port (i2pd's `inport`): (key file, destination id, routes).
        let mut servers: Vec<(Option<String>, u32, Vec<i2ptunnel::ServerRoute>)> = Vec::new();
        for (spec, def, listener) in destinations {
            let name = spec.name.clone();
            if let tunnels_conf::TunnelKind::Server {
                host,
                port,
                http,
                inport,
            } = def.kind
            {
                let route = i2ptunnel::ServerRoute {
                    name: name.clone(),
                    local: SocketAddr::new(host, port),
                    http,
                    inport,
                };
                let shared = servers
                    .iter_mut()
                    .find(|(keys, _, _)| keys.is_some() && *keys == def.keys);
                if let Some((_, _, routes)) = shared {
                    info!(target: "gousse::router", tunnel = %name, inport, "server tunnel shares its destination with another");
                    routes.push(route);
                    continue;
                }
                let Some(d) = handle.add_destination(spec).await else {
                    continue;
                };
                info!(target: "gousse::router", tunnel = %name, b32 = %d.b32, "tunnel destination running");
                servers.push((def.keys, d.id, vec![route]));
                continue;
            }
            let Some(d) = handle.add_destination(spec).await else {
                continue;
            };
            info!(target: "gousse::router", tunnel = %name, b32 = %d.b32, "tunnel destination running");
            if let (
                tunnels_conf::TunnelKind::Client {
                    destination,
                    destination_port,
                    ..
                },
                Some(listener),
            ) = (def.kind, listener)
            {
                match i2ptunnel::resolve_static(&destination) {
                    Ok(remote) => tasks.push(i2ptunnel::spawn_client(
                        handle.clone(),
                        book.clone(),
                        d.id,
                        name,
                        listener,
                        remote,
                        destination_port,
                    )),
                    Err(e) => {
                        warn!(target: "gousse::router", tunnel = %name, "client tunnel not started: {e}")
                    }
                }
            }
        }
        for (_, dest, routes) in servers {
            tasks.push(i2ptunnel::spawn_server(handle.clone(), dest, routes));
        }
        // One client destination for the proxies and the address book's feeds, as
        // i2pd's shared local destination.
        if proxy_sockets.is_some() || !subscriptions.is_empty() {
            let len = config.proxy_tunnel_length.min(7);
            let spec = destinations::DestinationSpec {
                name: "proxies".into(),
                keys: i2p_wire::DestinationKeys::generate(),
                pool: i2p_tunnel::pool::PoolConfig {
                    inbound_length: len,
                    outbound_length: len,
                    ..i2p_tunnel::pool::PoolConfig::client()
                },
                publish: false,
                encrypted_leaseset: false,
            };
            if let Some(d) = handle.add_destination(spec).await {
                if let Some(sockets) = proxy_sockets {
                    tasks.extend(sockets.spawn(handle.clone(), d.id, book.clone()));
                }
                if !subscriptions.is_empty() {
                    tasks.push(naming::spawn_subscriptions(
                        book.clone(),
                        handle.clone(),
                        d.id,
                    ));
                }
            }
        }
        info!(target: "gousse::router", ntcp2 = %bind, published = ?published_addr, "router running");
        Ok(Router {
            status,
            started: std::time::Instant::now(),
            commands: cmd_tx,
            tasks: Mutex::new(tasks),
            handle,
            book,
            router_hash: our_hash,
            ntcp2_addr: published_addr.unwrap_or(bind),
        })
    }

    /// A snapshot of the router's state.
    pub fn status(&self) -> Status {
        let mut st = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        st.uptime_s = self.started.elapsed().as_secs();
        st
    }

    /// Our router hash.
    pub fn router_hash(&self) -> Hash {
        self.router_hash
    }

    /// The NTCP2 address we listen on (the published one if any).
    pub fn ntcp2_addr(&self) -> SocketAddr {
        self.ntcp2_addr
    }

    /// Changes the transit limits at once: fewer tunnels or a smaller share apply to
    /// new requests and traffic; `accept: false` refuses new transit tunnels while the
    /// existing ones drain until they expire.
    pub async fn set_transit_limits(&self, limits: TransitLimits) {
        let _ = self.commands.send(CoreCmd::SetTransitLimits(limits)).await;
    }

    /// The address book.
    pub fn address_book(&self) -> naming::SharedBook {
        self.book.clone()
    }

    /// A handle to the router's destinations and streams, for proxies, SAM and
    /// tunnels.
    pub fn handle(&self) -> i2ptunnel::RouterHandle {
        self.handle.clone()
    }

    /// Runs a destination: builds its client tunnels and, if asked, publishes its
    /// LeaseSet2 to the floodfills.
    pub async fn add_destination(
        &self,
        spec: destinations::DestinationSpec,
    ) -> Option<destinations::DestinationInfo> {
        self.handle.add_destination(spec).await
    }

    /// Finds the LeaseSet2 of the destination with this hash (cached, else looked up
    /// at the floodfills through our tunnels).
    pub async fn lookup_leaseset(
        &self,
        hash: Hash,
    ) -> Result<i2p_wire::LeaseSet2, destinations::LookupError> {
        self.handle.lookup_leaseset(hash).await
    }

    /// Stops the router: sessions are closed with a Termination block, pending netDb
    /// writes are flushed. Waits at most `deadline`.
    pub async fn shutdown_within(&self, deadline: Duration) {
        let _ = self.commands.send(CoreCmd::Shutdown).await;
        let tasks: Vec<JoinHandle<()>> = match self.tasks.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let mut iter = tasks.into_iter();
        if let Some(core) = iter.next() {
            if tokio::time::timeout(deadline, core).await.is_err() {
                warn!(target: "gousse::router", "core did not stop within {deadline:?}");
            }
        }
        for t in iter {
            t.abort();
        }
    }

    /// [`Router::shutdown_within`] ten seconds.
    pub async fn shutdown(&self) {
        self.shutdown_within(Duration::from_secs(10)).await
    }
}

/// Reads and checks the tunnels file.
fn read_tunnels_file(path: &Path) -> Result<Vec<tunnels_conf::TunnelDef>, StartError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| StartError::Config(format!("tunnels file {}: {e}", path.display())))?;
    tunnels_conf::parse(&text).map_err(|e| StartError::Config(format!("{}: {e}", path.display())))
}

fn create_data_dir(dir: &Path) -> Result<(), StartError> {
    let err = |source| StartError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(err)
}

/// A random port in I2P's usual range (9000-31000), chosen once and kept.
fn pick_port(store: &mut gousse_store::Store) -> Result<u16, StartError> {
    if let Some(p) = store
        .state(PORT_STATE_KEY)?
        .and_then(|v| v.parse::<u16>().ok())
    {
        return Ok(p);
    }
    let p = 9000 + u16::try_from(i2p_crypto::random_below(22000)).unwrap_or(0);
    store.set_state(PORT_STATE_KEY, &p.to_string())?;
    Ok(p)
}

/// Parses, verifies and adds RouterInfos; returns how many were added. Those from a
/// reseed are also persisted.
fn add_verified(
    netdb: &mut NetDb,
    routers: &mut HashMap<Hash, Arc<RouterInfo>>,
    items: impl Iterator<Item = Vec<u8>>,
    net_id: u8,
    our_hash: &Hash,
    persist: Option<&Persister>,
) -> usize {
    let mut added = 0;
    for bytes in items {
        let ri = match UncheckedRouterInfo::parse(&bytes).and_then(|u| u.verify()) {
            Ok(ri) => ri,
            Err(e) => {
                warn!(target: "gousse::netdb", "skipping a RouterInfo: {e}");
                continue;
            }
        };
        if &ri.hash() == our_hash || ri.net_id().unwrap_or(2) != u32::from(net_id) {
            continue;
        }
        let outcome = netdb.add_router(now(), summarize(&ri, net_id));
        if outcome.is_stored() {
            if let Some(p) = persist {
                p.send(persist::PersistCmd::Put(record(&ri, unix_ms())));
            }
            routers.insert(ri.hash(), Arc::new(ri));
            added += 1;
        }
    }
    // Actions queued by add_router (Persist) are for the core; the ones we need were
    // sent above.
    while netdb.poll_action().is_some() {}
    added
}

/// Gathers RouterInfos from the configured reseed sources (blocking I/O, off the
/// runtime's threads).
async fn reseed(config: &RouterConfig) -> Vec<Vec<u8>> {
    use gousse_reseed::{ReseedOptions, Source};
    let mut sources: Vec<Source> = config
        .reseed_from
        .iter()
        .map(|p| {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            match ext.as_str() {
                "su3" => Source::Su3File(p.clone()),
                "zip" => Source::Zip(p.clone()),
                _ => Source::Dir(p.clone()),
            }
        })
        .collect();
    if config.reseed_urls.is_empty() {
        if config.net_id == config::MAIN_NET_ID {
            let mut urls = Source::default_urls();
            // Spread the load over the servers, as i2pd and Java I2P do.
            let n = urls.len();
            if n > 1 {
                urls.rotate_left(usize::try_from(i2p_crypto::random_below(n as u64)).unwrap_or(0));
            }
            sources.extend(urls);
        }
    } else {
        sources.extend(config.reseed_urls.iter().cloned().map(Source::Url));
    }
    let mut opts = ReseedOptions::default();
    opts.http.net_id = config.net_id;
    if let Some(dir) = &config.reseed_certificates {
        match opts.clone().with_certificate_dir(dir) {
            Ok(o) => opts = o,
            Err(e) => warn!(target: "gousse::reseed", "certificates in {}: {e}", dir.display()),
        }
    }
    let result =
        tokio::task::spawn_blocking(move || gousse_reseed::reseed(&sources, &opts, usize::MAX))
            .await
            .unwrap_or_default();
    for r in &result.reports {
        match &r.error {
            Some(e) => warn!(target: "gousse::reseed", "{}: {e}", r.source),
            None => {
                info!(target: "gousse::reseed", source = %r.source, taken = r.taken, skipped = r.skipped.len(), "reseed source read")
            }
        }
    }
    result.router_infos
}
