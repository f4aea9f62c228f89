//! ECIES-X25519-AEAD-Ratchet for destinations (ecies.rst): New Session (bound, with
//! the sender's static key, or one-time), New Session Reply, Existing Session, tag
//! sets, DH ratchets, ACKs, Termination, expiry and limits. Sans-IO.
//!
//! Read first: ecies.rst "1b) New session format (with binding)", "1g) New Session
//! Reply format", "4) Ratchets" and "DH RATCHET MESSAGE FLOW". Where the spec is open,
//! the code follows i2pd 2.45.1 (`ECIESX25519AEADRatchetSession.cpp`, `Garlic.cpp`,
//! `Elligator.cpp`), and says so.
//!
//! Modules, bottom up:
//!
//! * [`elligator2`] (over a small private field module): `ENCODE_ELG2` / `DECODE_ELG2`.
//! * `kdf`: every KDF by its spec name; `tagset`: outbound and inbound tag sets.
//! * `handshake`: the three message formats as pure functions of explicit keys.
//! * `session`: one peer's state machine (handshake phase, DH ratchets, ACKs).
//! * `manager`: [`DestinationGarlic`], what a destination calls.

mod config;
pub mod elligator2;
mod error;
mod field;
mod handshake;
mod kdf;
mod manager;
mod session;
mod tagset;

pub use config::{RatchetConfig, RatchetStats};
pub use error::{RatchetError, RatchetPath, RatchetResult};
pub use handshake::{ES_OVERHEAD, NSR_OVERHEAD, NS_OVERHEAD};
pub use kdf::PROTOCOL_NAME;
pub use manager::{DestinationGarlic, Incoming, IncomingKind, Outgoing};

#[cfg(test)]
mod tests;
