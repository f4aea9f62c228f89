//! Counters shared by the router's tasks (relaxed atomics: figures for people, not
//! for synchronisation).

use std::sync::atomic::AtomicU64;

/// Router-wide counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    /// Connections refused because the session limit was reached.
    pub(crate) sessions_refused: AtomicU64,
    /// Messages dropped because a session's queue was full or it closed.
    pub(crate) messages_dropped: AtomicU64,
    /// Peer messages that failed to parse or verify.
    pub(crate) bad_messages: AtomicU64,
    /// Of those, garlic messages to a local destination that it could not decrypt.
    pub(crate) destination_garlic_undecryptable: AtomicU64,
}
