//! The router's status snapshot: what `/api/status` answers and the console shows.

/// NTCP2 session counts.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SessionCounts {
    /// Sessions a peer opened to us.
    pub inbound: usize,
    /// Sessions we opened.
    pub outbound: usize,
}

/// Our tunnels by pool and direction.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TunnelCounts {
    /// Exploratory inbound tunnels.
    pub exploratory_inbound: usize,
    /// Exploratory outbound tunnels.
    pub exploratory_outbound: usize,
    /// Client (destination) inbound tunnels.
    pub client_inbound: usize,
    /// Client outbound tunnels.
    pub client_outbound: usize,
}

/// One of our tunnels, for the console.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TunnelInfo {
    /// "inbound" or "outbound".
    pub direction: String,
    /// "exploratory" (client pools come with destinations).
    pub pool: String,
    /// Hops, gateway first, router hashes in I2P base64.
    pub hops: Vec<String>,
    /// Seconds until it expires.
    pub expires_in_s: u64,
}

/// A snapshot of the router's state.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Status {
    /// Gousse's version.
    pub version: String,
    /// Network id.
    pub net_id: u8,
    /// Our router hash, I2P base64.
    pub router_hash: String,
    /// Seconds since start.
    pub uptime_s: u64,
    /// RouterInfos in our netDb.
    pub known_routers: usize,
    /// Of those, floodfills.
    pub known_floodfills: usize,
    /// Established NTCP2 sessions.
    pub active_sessions: SessionCounts,
    /// Bytes written to peers since start.
    pub bytes_sent: u64,
    /// Bytes read from peers since start.
    pub bytes_received: u64,
    /// Our published NTCP2 address, `ip:port`, if any.
    pub ntcp2_address: Option<String>,
    /// Whether we act as a floodfill.
    pub floodfill: bool,
    /// Floodfills that confirmed storing our current RouterInfo (DeliveryStatus).
    pub router_info_stores_confirmed: u64,
    /// Our tunnels.
    pub tunnels: TunnelCounts,
    /// Share of our tunnel builds that succeeded over the last 10 minutes, if any ended.
    pub tunnel_build_success_pct: Option<u8>,
    /// Our tunnel builds that succeeded over the last 10 minutes.
    pub tunnel_builds_ok: usize,
    /// Our tunnel builds that failed (rejected or no reply) over the last 10 minutes.
    pub tunnel_builds_failed: usize,
    /// Tests of our tunnels (a message out one tunnel and back in another) passed
    /// since start.
    pub tunnel_tests_ok: u64,
    /// Tunnel tests failed since start.
    pub tunnel_tests_failed: u64,
    /// Tunnels other routers built through us.
    pub transit_tunnels: usize,
    /// Bytes we relayed for transit tunnels since start.
    pub transit_bytes: u64,
    /// Transit build requests we rejected since start.
    pub transit_rejected: u64,
    /// Transit messages dropped by the bandwidth share since start.
    pub transit_dropped: u64,
    /// The transit limits in force.
    pub transit_limits: crate::bandwidth::TransitLimits,
    /// Tunnel build requests dropped (malformed, not for us, undecryptable, stale,
    /// replayed) since start.
    pub build_requests_dropped: u64,
    /// Of those, replays.
    pub build_requests_replayed: u64,
    /// Tunnel messages dropped (bad checksum, impossible fragments, unknown tunnel,
    /// undeliverable) since start.
    pub tunnel_messages_dropped: u64,
    /// Messages to peers dropped since start: a session's queue was full, or it
    /// could not take them.
    #[serde(default)]
    pub peer_messages_dropped: u64,
    /// Garlic messages to our destinations that they could not decrypt, since start.
    #[serde(default)]
    pub destination_garlic_undecryptable: u64,
    /// Bytes held in tunnel message reassembly now (bounded per tunnel).
    pub reassembly_bytes: usize,
    /// Whether netDb lookups and stores go through our tunnels now (else directly).
    pub netdb_through_tunnels: bool,
    /// netDb lookups and stores we sent through tunnels since start.
    pub netdb_messages_through_tunnels: u64,
    /// netDb lookups and stores we sent directly since start (bootstrap).
    pub netdb_messages_direct: u64,
    /// Our tunnels, with their hops.
    pub tunnel_list: Vec<TunnelInfo>,
    /// Local destinations.
    #[serde(default)]
    pub destinations: Vec<DestinationStatus>,
}

/// One local destination, as `/api/status` lists it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct DestinationStatus {
    /// Its name (tunnel or session name).
    pub name: String,
    /// Its `.b32.i2p` address.
    pub b32: String,
    /// Its `b33` address (a longer `.b32.i2p` name) when it publishes an encrypted
    /// LeaseSet: the only address that finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b33: Option<String>,
    /// Client tunnels: inbound.
    pub inbound_tunnels: usize,
    /// Client tunnels: outbound.
    pub outbound_tunnels: usize,
    /// Leases in its current LeaseSet2.
    pub leases: usize,
    /// Whether its LeaseSet is published to floodfills (servers).
    pub publishes: bool,
    /// Whether a floodfill confirmed storing its current LeaseSet.
    pub leaseset_stored: bool,
    /// LeaseSet stores confirmed since start.
    pub leaseset_stores_confirmed: u64,
}
