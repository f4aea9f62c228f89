//! Tunnel messages, sans-IO (tunnel-message.rst, tunnel-implementation.md, i2np.rst
//! "TunnelData" and "TunnelGateway").
//!
//! * [`TunnelData`] and [`TunnelGateway`]: the two I2NP messages (types 18 and 19)
//!   that carry tunnel traffic, parsed and serialized.
//! * [`HopCipher`] and [`TunnelLayers`]: the layered AES-256 encryption with double
//!   IV encryption ("Participant processing", "Gateway processing").
//! * [`Fragmenter`]: the gateway's fragmentation and packing of I2NP messages with
//!   their [`Delivery`] instructions into 1008-byte cleartext blocks.
//! * [`Reassembler`]: the endpoint's parsing of decrypted blocks ([`parse_block`]) and
//!   bounded reassembly of fragmented messages.
//!
//! How a router uses it, per role:
//! * outbound gateway (our outbound tunnel): [`Fragmenter::push`] then
//!   [`Fragmenter::flush`] with the first hop's receive tunnel id, then
//!   [`TunnelLayers::encrypt_outbound`] over every hop, send to the first hop.
//! * transit participant: [`HopCipher::process`], set the next tunnel id, forward.
//! * transit inbound gateway: [`TunnelGateway::parse`], [`Fragmenter`] as above
//!   (delivery [`Delivery::Local`]), then [`HopCipher::process`] on each block.
//! * transit outbound endpoint: [`HopCipher::process`], then [`Reassembler::receive`];
//!   deliver by [`Delivery::Tunnel`] / [`Delivery::Router`].
//! * inbound endpoint (our inbound tunnel): [`TunnelLayers::decrypt_inbound`], then
//!   [`Reassembler::receive`].

mod delivery;
mod endpoint;
mod gateway;
mod layer;
mod wire;

pub use delivery::{parse_block, parse_instructions, Delivery, Fragment};
pub use endpoint::{Delivered, Reassembler, ReassemblyConfig, ReassemblyStats};
pub use gateway::Fragmenter;
pub use layer::{HopCipher, TunnelLayers};
pub use wire::{TunnelData, TunnelGateway};

/// Length of a TunnelData message body: tunnel id, IV, encrypted data (i2np.rst,
/// "TunnelData": "total size: 1028 Bytes").
pub const TUNNEL_DATA_LEN: usize = 1028;
/// Length of the IV of a TunnelData message.
pub const IV_LEN: usize = 16;
/// Length of the encrypted part of a TunnelData message.
pub const ENCRYPTED_LEN: usize = 1008;
/// Room for delivery instructions and fragments in one block: 1008 minus the 4-byte
/// checksum and the zero byte.
pub const MAX_BLOCK_PAYLOAD: usize = ENCRYPTED_LEN - 4 - 1;
/// Highest follow-on fragment number (tunnel-message.rst: "the 6 bit fragment number
/// from 1 to 63").
pub const MAX_FRAGMENT_NUMBER: u8 = 63;
/// Largest I2NP message (standard 16-byte header form) a tunnel can carry.
pub const MAX_MESSAGE_LEN: usize = 16 + 65535;

/// Errors of tunnel message handling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A TunnelData/TunnelGateway message or an I2NP message inside did not parse.
    #[error("tunnel message: {0}")]
    Wire(#[from] i2p_wire::Error),
    /// The decrypted block has no zero byte after the checksum.
    #[error("tunnel message: no zero byte after the padding")]
    NoZeroByte,
    /// The checksum of the decrypted block did not match (wrong keys or tampering).
    #[error("tunnel message: checksum mismatch")]
    BadChecksum,
    /// Delivery instructions that cannot be valid.
    #[error("tunnel message delivery instructions: {0}")]
    BadInstructions(&'static str),
    /// An I2NP message too large to fragment into at most 64 fragments.
    #[error("I2NP message of {0} bytes does not fit in 64 tunnel fragments")]
    MessageTooLarge(usize),
}

/// Result with this module's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests;
