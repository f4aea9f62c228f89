#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Tests may unwrap (preamble: "tests may unwrap").
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod block;
pub mod clove;
mod error;
pub mod keytag;
pub mod ratchet;
mod replay;
pub mod router;

pub use block::{check_order, parse_blocks, write_blocks, Block, BlockType, MessageKind};
pub use clove::{Clove, DeliveryInstructions};
pub use error::{Error, Path, Result};
pub use i2p_crypto::x25519::{PublicKey, StaticSecret};
pub use i2p_crypto::Zeroizing;
pub use keytag::{unwrap_with_key_tag, wrap_with_key_tag, ReplyTagStore};
pub use ratchet::{
    DestinationGarlic, Incoming, IncomingKind, Outgoing, RatchetConfig, RatchetError, RatchetPath,
    RatchetResult, RatchetStats,
};
pub use router::{wrap_for_router, Decrypted, GarlicConfig, GarlicStats, Origin, RouterGarlic};
