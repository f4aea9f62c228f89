//! Errors of the destination ratchet. None carries key material or plaintext.

/// Which message kind failed to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RatchetPath {
    /// A New Session message (bound or not).
    NewSession,
    /// A New Session Reply (its tag matched one of our reply tag sets).
    NewSessionReply,
    /// An Existing Session message (its tag matched an inbound tag set).
    ExistingSession,
}

/// Errors of [`super::DestinationGarlic`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatchetError {
    /// A format, block-order, key or DateTime error shared with the router garlic
    /// (including [`crate::Error::Replay`] and [`crate::Error::Stale`]).
    #[error(transparent)]
    Garlic(#[from] crate::Error),
    /// The ChaCha20-Poly1305 tag did not verify.
    #[error("authentication failed on the {0:?} path")]
    Auth(RatchetPath),
    /// An Elligator2 representative that decodes to no key (ecies.rst "2a)").
    #[error("invalid Elligator2 representative")]
    BadRepresentative,
    /// No Elligator2-encodable ephemeral key found (probability about 2^-128).
    #[error("could not generate an Elligator2-encodable key")]
    KeyGeneration,
    /// The session limit is reached and no session may be evicted for this one.
    #[error("too many sessions")]
    SessionLimit,
    /// The message's tag is ours, but it belongs to a session or tag set that is
    /// going away (terminated, or replaced).
    #[error("session closed")]
    SessionClosed,
}

/// Result with [`RatchetError`].
pub type RatchetResult<T> = std::result::Result<T, RatchetError>;
