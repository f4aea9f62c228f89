#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Tests may unwrap (preamble: "tests may unwrap").
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
pub mod flags;
pub mod packet;

pub use error::{Error, Result};
pub use flags::Flags;
pub use i2p_wire::identity::Destination;
pub use packet::{
    OfflineSignature, Packet, ED25519_SIGNATURE_LEN, MIN_HEADER_LEN, REPLAY_PREVENTION_NACK_COUNT,
};
