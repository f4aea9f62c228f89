#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod form;
mod hosts;
mod page;
mod server;

pub use gousse_router::Status;
pub use gousse_router::TransitLimits;
pub use hosts::{
    HostEntry, HostsAdd, HostsSearch, HOSTS_PAGE_ROWS, MAX_HOSTS_BODY_BYTES, MAX_HOSTS_LIMIT,
    MAX_QUERY_CHARS,
};
pub use page::{human_bytes, human_duration, render_page};
pub use server::{
    serve, Console, ControlFuture, StatusSource, TransitControl, CONNECTION_LIFETIME,
    HEADER_READ_TIMEOUT, MAX_BODY_BYTES, MAX_CONNECTIONS, MAX_HEADERS, MAX_HEADER_BYTES,
    MAX_SHARE_KBPS, MAX_TRANSIT_TUNNELS,
};

/// Errors of the console.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    /// The listening socket could not be bound (address in use, no permission, ...).
    #[error("cannot bind the console to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}
