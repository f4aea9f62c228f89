//! Gousse's router runtime (being written): the only layer that reads a clock or
//! owns a socket. See docs/ARCHITECTURE.md.

pub mod config;
pub mod status;

pub use config::RouterConfig;
pub use status::Status;
