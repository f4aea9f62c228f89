//! The error type of this crate.

/// Which decryption path a failure happened on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Path {
    /// A one-time key+tag reply (i2np.rst, DatabaseLookup "Reply Encryption";
    /// ecies-routers.rst, "Reply encryption").
    ReplyTag,
    /// The anonymous one-shot Noise "N" message to a router (ecies-routers.rst,
    /// "Request Encryption").
    NewSession,
}

/// Errors of garlic parsing, decryption and encryption.
///
/// None of them carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that do not follow the format of `object`.
    #[error("malformed {object}: {reason}")]
    Malformed {
        /// What was being parsed.
        object: &'static str,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A block list that breaks ecies.rst "Block Ordering Rules".
    #[error("block ordering rule broken: {0}")]
    BlockOrder(&'static str),
    /// Something to write does not fit the format's length fields.
    #[error("too large: {0}")]
    TooLarge(&'static str),
    /// The ChaCha20-Poly1305 tag did not verify (wrong key, or tampering).
    #[error("garlic authentication failed on the {0:?} path")]
    Auth(Path),
    /// The first 8 bytes are not the expected reply tag.
    #[error("reply tag does not match")]
    TagMismatch,
    /// An X25519 public key that gives an all-zero shared secret.
    #[error("invalid X25519 key: {0}")]
    BadKey(&'static str),
    /// A New Session ephemeral key seen before (ecies.rst, "DateTime": "Bob must
    /// implement a Bloom filter or other mechanism to prevent replay attacks").
    #[error("replayed New Session message")]
    Replay,
    /// A New Session payload without the DateTime block ecies-routers.rst requires.
    #[error("New Session payload has no DateTime block")]
    MissingDateTime,
    /// A DateTime block too far from our clock.
    #[error("DateTime {timestamp} is too far from now ({now_s})")]
    Stale {
        /// The sender's timestamp, seconds since the epoch.
        timestamp: u32,
        /// Our time, seconds since the epoch.
        now_s: u64,
    },
}

impl Error {
    pub(crate) fn malformed(object: &'static str, reason: &'static str) -> Self {
        Error::Malformed { object, reason }
    }
}

impl From<i2p_wire::Error> for Error {
    fn from(e: i2p_wire::Error) -> Self {
        match e {
            i2p_wire::Error::Truncated { object, .. } => Error::malformed(object, "truncated"),
            i2p_wire::Error::ExtraBytes { object, .. } => {
                Error::malformed(object, "trailing bytes")
            }
            i2p_wire::Error::Invalid { object, reason } => Error::malformed(object, reason),
            _ => Error::malformed("I2NP message", "invalid"),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
