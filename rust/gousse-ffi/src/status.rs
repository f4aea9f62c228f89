//! The status record and the router's life-cycle states, as Kotlin sees them.

use crate::sharing::SharingStatus;

/// Where the router is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RouterState {
    /// Not started, or stopped.
    Stopped,
    /// `start` is running.
    Starting,
    /// Running.
    Running,
    /// `stop` is running.
    Stopping,
    /// The last `start` failed (the status's `error` says why); `start` may be tried
    /// again.
    Failed,
}

impl std::fmt::Display for RouterState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Stopped => "stopped",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Failed => "failed",
        })
    }
}

/// A snapshot of the router. Counts are of now, totals since this run's start,
/// except `shared_bytes_today`.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RouterStatus {
    /// Life-cycle state.
    pub state: RouterState,
    /// Why the last start failed, if it did.
    pub error: Option<String>,
    /// Our router hash, I2P base64; empty until the first start.
    pub router_hash: String,
    /// Gousse's version.
    pub version: String,
    /// Network id.
    pub net_id: u8,
    /// Seconds since this run's start; 0 when not running.
    pub uptime_s: u64,
    /// RouterInfos in our netDb.
    pub known_routers: u64,
    /// Of those, floodfills.
    pub known_floodfills: u64,
    /// NTCP2 sessions peers opened to us.
    pub sessions_inbound: u64,
    /// NTCP2 sessions we opened.
    pub sessions_outbound: u64,
    /// Our exploratory inbound tunnels.
    pub exploratory_inbound: u64,
    /// Our exploratory outbound tunnels.
    pub exploratory_outbound: u64,
    /// Our client inbound tunnels.
    pub client_inbound: u64,
    /// Our client outbound tunnels.
    pub client_outbound: u64,
    /// Tunnels other routers built through us.
    pub transit_tunnels: u64,
    /// Transit build requests we refused this run.
    pub transit_rejected: u64,
    /// Bytes read from peers this run.
    pub bytes_received: u64,
    /// Bytes written to peers this run.
    pub bytes_sent: u64,
    /// Bytes per second read, over the last status period.
    pub rate_in_bps: u64,
    /// Bytes per second written, over the last status period.
    pub rate_out_bps: u64,
    /// Bytes relayed for transit tunnels this run.
    pub transit_bytes: u64,
    /// Bytes relayed for transit tunnels since 00:00 UTC today, over every run of
    /// this router object (not kept across process restarts).
    pub shared_bytes_today: u64,
    /// The router accepts new transit tunnels now (the limit in force in the router,
    /// which follows the sharing decision within moments).
    pub transit_accepting: bool,
    /// The transit bandwidth share in force in the router, bytes per second each way.
    pub transit_share_bytes_per_s: u64,
    /// Our published NTCP2 address, `ip:port`, if any.
    pub ntcp2_address: Option<String>,
    /// The sharing policy's decision.
    pub sharing: SharingStatus,
}

/// `usize` count to the API's `u64`.
pub(crate) fn n(x: usize) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}
