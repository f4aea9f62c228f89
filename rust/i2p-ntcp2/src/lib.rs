#![doc = include_str!("../README.md")]
//!
//! NTCP2 session logic. Deterministic: no sockets, no tasks, no `Instant::now()`.
//! Every input carries `now`; every output is polled. Driver: `gousse-router`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod block;
pub mod frame;
pub mod replay;
mod session;

pub use block::{Block, BlockError, BlockType, OptionsBlock, TerminationReason};
pub use i2p_crypto::x25519::StaticSecret;
pub use replay::{ReplayFilter, SharedReplayFilter};
pub use session::{
    CloseReason, Config, Error, Event, InboundParams, OutboundParams, Role, SendError, Session,
    State, Stats, HANDSHAKE_FIXED_LEN, M3P1_LEN, MAX_HANDSHAKE_PADDING_IN,
    MAX_HANDSHAKE_PADDING_OUT, MAX_M3P2_LEN, MAX_PENDING_BEFORE_ACCEPT, MAX_TRANSMIT, MIN_M3P2_LEN,
    MIN_ROUTER_INFO_LEN, NTCP2_VERSION,
};
