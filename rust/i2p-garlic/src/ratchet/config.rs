//! Settings and counters of [`super::DestinationGarlic`].

use std::time::Duration;

/// Settings of [`super::DestinationGarlic`]. The defaults follow i2pd 2.45.1 where the
/// spec leaves a number open (its constants are named in each field's doc).
#[derive(Debug, Clone)]
pub struct RatchetConfig {
    /// Most sessions held (all states). When full, a new outbound session evicts the
    /// least recently active one; an inbound one evicts the oldest unconfirmed one.
    pub max_sessions: usize,
    /// Most inbound sessions not yet confirmed by Alice's first Existing Session
    /// message. New Session messages cost an attacker nothing but a static key, so
    /// these are capped apart and evict each other, oldest first.
    pub max_unconfirmed_inbound: usize,
    /// Most inbound session tags held for the whole destination (all sessions).
    pub max_tags: usize,
    /// Tags generated ahead of the last received one in a new tag set, and the
    /// smallest look-ahead. i2pd generates 24 (`ECIESX25519_MIN_NUM_GENERATED_TAGS`);
    /// we hold three of its streaming windows (128 messages each) and some: a message whose
    /// tag lies beyond the look-ahead cannot be decrypted, no tag is then used, the
    /// window never moves, and every later message from that session is lost too.
    /// i2pd resends a whole window each time its timer fires and changes lease only
    /// at the second firing, so a window in flight and two resent into a dead lease
    /// are lost before one arrives. In the end-to-end benchmark an eepsite went
    /// silent to us for ten minutes while its tunnels and ours tested fine and our
    /// messages reached it: the signs of this. Memory stays bounded by `max_tags`.
    pub min_lookahead: u16,
    /// Largest look-ahead; it grows as `min + N/4` up to this (i2pd stops at 320,
    /// `ECIESX25519_MAX_NUM_GENERATED_TAGS`).
    pub max_lookahead: u16,
    /// How far behind the highest received index tags are kept for late messages
    /// (i2pd: 320).
    pub keep_behind: u16,
    /// Reply tags generated per New Session sent (i2pd
    /// `ECIESX25519_NSR_NUM_GENERATED_TAGS` = 12).
    pub nsr_tags: u16,
    /// Most New Session messages awaiting a reply per session (each new one drops the
    /// oldest's reply tags).
    pub max_ns_attempts: usize,
    /// An outbound tag set starts a DH ratchet (sends a Next Key block) once this
    /// many messages were sent with it (i2pd `ECIESX25519_TAGSET_MAX_NUM_TAGS` =
    /// 8192; the hard limit is 65534).
    pub send_ratchet_after: u16,
    /// Most receive tag sets per session; older ones are dropped first.
    pub max_receive_tagsets: usize,
    /// A session with no message sent or received for this long is dropped (i2pd:
    /// 600 s receive, 480 s send).
    pub session_idle_timeout: Duration,
    /// How long a New Session waits for its reply before its reply tags go.
    pub ns_reply_timeout: Duration,
    /// How long Bob waits for Alice's first Existing Session after replying.
    pub nsr_confirm_timeout: Duration,
    /// How long an inbound tag set, or a replaced session, stays usable for late
    /// messages ("delete the old tagset after a short time, about 3 minutes"; i2pd
    /// `ECIESX25519_PREVIOUS_TAGSET_EXPIRATION_TIMEOUT` = 180 s).
    pub previous_tagset_lifetime: Duration,
    /// Largest accepted distance between a New Session DateTime and our clock.
    pub max_clock_skew: Duration,
    /// Bound on remembered New Session ephemeral keys (replay detection); each is kept
    /// for twice `max_clock_skew`.
    pub replay_capacity: usize,
    /// Most ACKs owed to a peer (ACK Request blocks received and not yet answered).
    pub max_pending_acks: usize,
}

impl Default for RatchetConfig {
    fn default() -> Self {
        RatchetConfig {
            max_sessions: 1024,
            max_unconfirmed_inbound: 256,
            max_tags: 1 << 17,
            min_lookahead: 400,
            max_lookahead: 1024,
            keep_behind: 320,
            nsr_tags: 12,
            max_ns_attempts: 4,
            send_ratchet_after: 8192,
            max_receive_tagsets: 3,
            session_idle_timeout: Duration::from_secs(600),
            ns_reply_timeout: Duration::from_secs(60),
            nsr_confirm_timeout: Duration::from_secs(180),
            previous_tagset_lifetime: Duration::from_secs(180),
            max_clock_skew: Duration::from_secs(300),
            replay_capacity: 16384,
            max_pending_acks: 32,
        }
    }
}

pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Counters of [`super::DestinationGarlic`]. No secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RatchetStats {
    /// New Session messages sent (bound).
    pub ns_sent: u64,
    /// One-time (unbound) New Session messages sent.
    pub one_time_sent: u64,
    /// New Session Replies sent.
    pub nsr_sent: u64,
    /// Existing Session messages sent.
    pub es_sent: u64,
    /// Bound New Session messages accepted.
    pub ns_received: u64,
    /// Unbound New Session messages accepted.
    pub one_time_received: u64,
    /// New Session Replies accepted.
    pub nsr_received: u64,
    /// Existing Session messages accepted.
    pub es_received: u64,
    /// Messages that did not authenticate.
    pub auth_failed: u64,
    /// Messages too short, with a bad representative, bad blocks or block order.
    pub malformed: u64,
    /// New Session messages refused as replays.
    pub replayed: u64,
    /// New Session messages refused for their DateTime.
    pub stale: u64,
    /// DH ratchets completed for our outbound tag sets.
    pub send_ratchets: u64,
    /// DH ratchets done for inbound tag sets.
    pub receive_ratchets: u64,
    /// Sessions dropped to make room.
    pub sessions_evicted: u64,
    /// Sessions dropped for idleness or an unanswered handshake.
    pub sessions_expired: u64,
    /// Termination blocks received.
    pub terminations_received: u64,
    /// Tags not generated because `max_tags` was reached.
    pub tags_refused_full: u64,
}
