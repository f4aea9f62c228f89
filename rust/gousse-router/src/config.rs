//! What a router is built from: the options of `gousse run` and of the `[router]`
//! table of the TOML config, after the binary has merged them.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// The real network's id (common-structures.rst, RouterInfo option `netId`).
pub const MAIN_NET_ID: u8 = 2;

/// Router configuration.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RouterConfig {
    /// Keys, SQLite database and logs live here.
    pub data_dir: PathBuf,
    /// Network id: 2 for the real network, anything else for a private one.
    pub net_id: u8,
    /// Address to bind and publish for NTCP2; `None` binds all and publishes nothing
    /// until an address is known.
    pub host: Option<IpAddr>,
    /// NTCP2 port; 0 picks a random port once and keeps it in the data directory.
    pub port: u16,
    /// Act as a floodfill.
    pub floodfill: bool,
    /// Local reseed sources: directories of `routerInfo-*.dat`, `.zip` or `.su3` files.
    pub reseed_from: Vec<PathBuf>,
    /// HTTPS reseed servers. Empty means the real network's list when `net_id` is 2,
    /// and none on any other network.
    pub reseed_urls: Vec<String>,
    /// Reseed at start when the netDb holds fewer RouterInfos than this (i2pd's
    /// `reseed.threshold`, 25 by default).
    pub reseed_threshold: usize,
    /// Extra directory of trusted reseed signer certificates (`*.crt`), beside the
    /// bundled ones.
    pub reseed_certificates: Option<PathBuf>,
    /// Accept and publish non-public addresses (test networks).
    pub allow_private_addresses: bool,
    /// Local web console and JSON status API; `None` disables it.
    pub console: Option<SocketAddr>,
    /// Upper bound on NTCP2 sessions, inbound and outbound together.
    pub max_sessions: usize,
    /// Relay other routers' tunnels (transit). Changeable at run time.
    pub accept_transit: bool,
    /// Most transit tunnels at once.
    pub max_transit_tunnels: usize,
    /// Bandwidth shared with transit tunnels, KB/s each way; also sets the bandwidth
    /// class in our published caps.
    pub transit_share_kbps: u64,
    /// Hops of exploratory tunnels (i2pd's `exploratory.inbound.length`), 0-7.
    pub exploratory_length: usize,
    /// Exploratory tunnels kept each way (`exploratory.inbound.quantity`), 1-16.
    pub exploratory_quantity: usize,
    /// Client and server tunnels file, as i2pd's `tunnels.conf` (see
    /// [`crate::tunnels_conf`]).
    pub tunnels: Option<PathBuf>,
    /// HTTP proxy into I2P (i2ptunnel.md; 127.0.0.1:4444 on a normal run); `None`: off.
    pub http_proxy: Option<SocketAddr>,
    /// SOCKS5 proxy into I2P (127.0.0.1:4447 on a normal run); `None`: off.
    pub socks_proxy: Option<SocketAddr>,
    /// SAMv3 bridge (samv3.md; 127.0.0.1:7656 on a normal run, datagrams on the UDP
    /// port below it); `None`: off.
    pub sam: Option<SocketAddr>,
    /// Hops of the proxies' client tunnels, each way (i2pd's `inbound.length` of its
    /// shared local destination), 0-7.
    pub proxy_tunnel_length: usize,
    /// Address book feeds (subscription.rst), fetched over I2P every 12 hours; `None`:
    /// the real network's usual feeds on the real network, none on others.
    pub subscriptions: Option<Vec<String>>,
}

impl RouterConfig {
    /// The transit limits this configuration asks for.
    pub fn transit_limits(&self) -> crate::bandwidth::TransitLimits {
        crate::bandwidth::TransitLimits {
            accept: self.accept_transit,
            max_tunnels: self.max_transit_tunnels,
            share_bytes_per_s: self.transit_share_kbps.saturating_mul(1024),
        }
    }
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("gousse-data"),
            net_id: MAIN_NET_ID,
            host: None,
            port: 0,
            floodfill: false,
            reseed_from: Vec::new(),
            reseed_urls: Vec::new(),
            reseed_threshold: 25,
            reseed_certificates: None,
            allow_private_addresses: false,
            console: Some(SocketAddr::from(([127, 0, 0, 1], 7070))),
            max_sessions: 256,
            accept_transit: true,
            max_transit_tunnels: 500,
            transit_share_kbps: 256,
            exploratory_length: 2,
            exploratory_quantity: 2,
            tunnels: None,
            http_proxy: None,
            socks_proxy: None,
            sam: None,
            proxy_tunnel_length: 3,
            subscriptions: None,
        }
    }
}
