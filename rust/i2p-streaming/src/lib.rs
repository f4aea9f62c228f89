#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Tests may unwrap (preamble: "tests may unwrap").
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod congestion;
pub mod connection;
mod error;
pub mod event;
pub mod flags;
pub mod manager;
pub mod packet;
pub mod rtt;

pub use config::{ManagerConfig, StreamConfig};
pub use connection::StreamStats;
pub use error::{Error, Result};
pub use event::{CloseReason, Event, Ports, StreamError, StreamId};
pub use flags::Flags;
pub use i2p_wire::identity::Destination;
pub use manager::{ManagerStats, StreamManager, Transmit};
pub use packet::{
    OfflineSignature, Packet, ED25519_SIGNATURE_LEN, MIN_HEADER_LEN, REPLAY_PREVENTION_NACK_COUNT,
};

#[cfg(test)]
mod simulation;
