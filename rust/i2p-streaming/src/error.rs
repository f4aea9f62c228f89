//! The error type of this crate.

/// Everything that can go wrong parsing, writing, signing or verifying a streaming
/// [`Packet`](crate::Packet).
///
/// Parse errors name the field being read (`field`), in the spec's words
/// (streaming.rst, "Packet Format"), so a log line says what a peer sent wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The packet ended while `field` was being read.
    #[error("streaming packet truncated in {field}: {needed} more byte(s) needed")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// How many more bytes it needed.
        needed: usize,
    },
    /// The option size field claims more bytes than the packet has left.
    #[error("option size {option_size} exceeds the {remaining} byte(s) left in the packet")]
    OptionSizeTooLarge {
        /// The option size field.
        option_size: u16,
        /// The bytes left after it.
        remaining: usize,
    },
    /// The option data ended while `field` (an option required by a flag) was read.
    #[error("option data too short for {field}: {needed} more byte(s) needed")]
    OptionsTruncated {
        /// The option being read.
        field: &'static str,
        /// How many more bytes it needed.
        needed: usize,
    },
    /// The FROM_INCLUDED Destination did not parse.
    #[error("FROM destination")]
    From(#[source] i2p_wire::Error),
    /// A signature type whose key or signature length is unknown, so the option
    /// that depends on it cannot be delimited.
    #[error("unknown signature type {sig_type} for {field}")]
    UnknownSignatureType {
        /// Which length was needed.
        field: &'static str,
        /// The signature type code.
        sig_type: u16,
    },
    /// OFFLINE_SIGNATURE without FROM_INCLUDED: streaming.rst, "FROM_INCLUDED must
    /// also be set" (the offline signature's length comes from the FROM key type).
    #[error("OFFLINE_SIGNATURE without FROM_INCLUDED")]
    OfflineSignatureWithoutFrom,
    /// A field of a packet being written has a length the wire cannot carry or that
    /// contradicts its signature type.
    #[error("cannot write packet: {0}")]
    Unwritable(&'static str),
    /// A signature type this crate cannot sign or verify (only EdDSA_SHA512_Ed25519,
    /// type 7, is supported).
    #[error("unsupported signature type {0}")]
    UnsupportedSignatureType(u16),
    /// [`Packet::verify`](crate::Packet::verify) on a packet without a signature.
    #[error("packet has no signature")]
    NotSigned,
    /// The packet carries a FROM destination other than the one given to verify.
    #[error("FROM destination differs from the verifying destination")]
    FromMismatch,
    /// The offline signature (of the transient key by the destination) did not verify.
    #[error("bad offline signature")]
    BadOfflineSignature,
    /// The packet signature did not verify.
    #[error("bad packet signature")]
    BadSignature,
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
