#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod aead;
pub mod aes;
pub mod ed25519;
pub mod hash;
pub mod noise;
pub mod red25519;
pub mod rsa;
pub mod siphash;
pub mod x25519;

pub use zeroize::{Zeroize, Zeroizing};

/// Errors of this crate: all of them mean "these bytes are not what they claim".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An AEAD tag did not verify (wrong key, nonce, associated data or tampering).
    #[error("AEAD authentication failed")]
    AeadTag,
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A key had the wrong length or was not a valid point.
    #[error("invalid key: {0}")]
    BadKey(&'static str),
    /// Input had a length the operation cannot take.
    #[error("invalid length: {0}")]
    BadLength(&'static str),
    /// An X.509 certificate could not be read.
    #[error("invalid certificate: {0}")]
    BadCertificate(String),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Fills `buf` with bytes from the operating system's CSPRNG.
pub fn random_bytes(buf: &mut [u8]) {
    use rand::RngCore;
    rand::rngs::OsRng.fill_bytes(buf);
}

/// A uniformly random integer in `0..bound` (`bound` > 0) from the OS CSPRNG.
pub fn random_below(bound: u64) -> u64 {
    use rand::Rng;
    rand::rngs::OsRng.gen_range(0..bound.max(1))
}

/// Compares two byte strings in constant time (for tags, tokens and keys).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
