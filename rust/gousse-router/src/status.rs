//! The router's status snapshot: what `/api/status` answers and the console shows.

/// NTCP2 session counts.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SessionCounts {
    /// Sessions a peer opened to us.
    pub inbound: usize,
    /// Sessions we opened.
    pub outbound: usize,
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
}
