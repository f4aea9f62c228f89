//! The vocabulary between the netDb state machine and its driver: time,
//! inputs (incoming messages in digested form), actions and events.
//!
//! Message names are i2np.rst's: DatabaseStore, DatabaseLookup,
//! DatabaseSearchReply, DeliveryStatus. The driver encodes and decodes them.

use std::time::{Duration, Instant};

use crate::key::{Key, RouterHash};
use crate::table::RouterSummary;

/// The current time, as the driver read it: a monotonic instant for timers and
/// unix milliseconds for dates (routing keys, `published` ages).
/// `instant` never goes backwards between calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// Monotonic time.
    pub instant: Instant,
    /// Wall-clock time, milliseconds since 1970-01-01 UTC.
    pub unix_ms: u64,
}

impl Now {
    /// Both clocks at once.
    pub fn new(instant: Instant, unix_ms: u64) -> Self {
        Self { instant, unix_ms }
    }

    /// Both clocks moved forward by `d` (fake clocks in tests and simulations).
    pub fn advance(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            instant: self.instant + d,
            unix_ms: self.unix_ms.saturating_add(ms),
        }
    }
}

/// Identifies one DatabaseLookup we sent, so that the driver can report that it
/// could not be delivered. Replies carry no ID: they are matched by key and peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub u64);

/// The lookup type flags of a DatabaseLookup (i2np.rst, DatabaseLookup, flag
/// bits 3-2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LookupKind {
    /// `10`: RouterInfo lookup.
    RouterInfo,
    /// `01`: LeaseSet lookup (any LeaseSet variant).
    LeaseSet,
    /// `11`: exploration: "return RouterInfo or DatabaseSearchReplyMessage
    /// containing non-floodfill routers only".
    Exploratory,
    /// `00`: ANY lookup (deprecated for sending; still answered).
    Any,
}

impl LookupKind {
    /// The two-bit value for flag bits 3-2.
    pub fn flag_bits(self) -> u8 {
        match self {
            LookupKind::Any => 0b00,
            LookupKind::LeaseSet => 0b01,
            LookupKind::RouterInfo => 0b10,
            LookupKind::Exploratory => 0b11,
        }
    }

    /// From the two-bit value of flag bits 3-2 (only the low two bits count).
    pub fn from_flag_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b01 => LookupKind::LeaseSet,
            0b10 => LookupKind::RouterInfo,
            0b11 => LookupKind::Exploratory,
            _ => LookupKind::Any,
        }
    }
}

/// Where a reply goes: to a router directly (`tunnel_id == None`), or to the
/// inbound gateway `gateway` of tunnel `tunnel_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyPath {
    /// Router to send to (the requester, or the reply tunnel's gateway).
    pub gateway: RouterHash,
    /// Tunnel at that gateway, if any.
    pub tunnel_id: Option<u32>,
}

/// The reply fields of a DatabaseStore with a nonzero reply token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreReply {
    /// Nonzero reply token: the Message ID of the DeliveryStatus to send.
    pub token: u32,
    /// Where to send it (reply_tunnelId 0 means directly to the gateway).
    pub path: ReplyPath,
}

/// What a DatabaseStore carried, digested by the driver (after signature and
/// netId checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreEntry {
    /// A RouterInfo.
    RouterInfo(RouterSummary),
    /// A LeaseSet of any type; only used to end LeaseSet lookups here.
    LeaseSet,
}

/// An incoming DatabaseStore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncomingStore {
    /// The store's key (a real hash).
    pub key: Key,
    /// The entry.
    pub entry: StoreEntry,
    /// The reply fields if the reply token is nonzero. i2np.rst: "For security,
    /// the reply fields are ignored if the message is received down a tunnel":
    /// the driver passes `None` then.
    pub reply: Option<StoreReply>,
    /// The router that sent it over a direct connection; `None` if it came down
    /// a tunnel.
    pub from: Option<RouterHash>,
}

/// An incoming DatabaseLookup, digested by the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingLookup {
    /// The key looked up.
    pub key: Key,
    /// The lookup type.
    pub kind: LookupKind,
    /// Where the answer goes (from the `from` and reply_tunnelId fields).
    pub reply: ReplyPath,
    /// excludedPeers (the driver's parser enforces i2np.rst's 0-512 range).
    pub exclude: Vec<RouterHash>,
}

/// How to answer an [`IncomingLookup`]; returned in place because the driver
/// holds the reply-encryption context of that message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum LookupAnswer {
    /// Send a DatabaseStore of the entry with this key (reply token 0).
    Store {
        /// The entry's key.
        key: Key,
    },
    /// Send a DatabaseSearchReply; its `from` field is our hash.
    SearchReply {
        /// The key looked up.
        key: Key,
        /// The peer hashes to list.
        peers: Vec<RouterHash>,
    },
    /// Send nothing.
    Drop,
}

/// What the driver must do. Sending to a router opens a connection if needed;
/// if that fails, the driver calls `NetDb::handle_send_failed`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Action {
    /// Send a DatabaseLookup directly to `to` (deliveryFlag 0, `from` = our
    /// hash, no reply encryption).
    SendLookup {
        /// Our name for this query.
        query: QueryId,
        /// The floodfill asked.
        to: RouterHash,
        /// The key looked up.
        key: Key,
        /// Lookup type flags.
        kind: LookupKind,
        /// excludedPeers (at most 512).
        exclude: Vec<RouterHash>,
    },
    /// Send a DatabaseStore of our own RouterInfo to the floodfill `to`, with
    /// this nonzero reply token and reply_tunnelId 0, reply gateway = our hash
    /// (network-database.md, "RouterInfo Storage to Floodfills").
    SendStore {
        /// The floodfill.
        to: RouterHash,
        /// Our router hash.
        key: Key,
        /// Nonzero reply token; the DeliveryStatus comes back with it as Message ID.
        reply_token: u32,
    },
    /// Flood: send a DatabaseStore of the entry `key`, reply token 0, to each
    /// of `to`, over direct connections (network-database.md, "Flooding").
    Flood {
        /// The floodfills.
        to: Vec<RouterHash>,
        /// The entry's key.
        key: Key,
    },
    /// Send a DeliveryStatus with Message ID `msg_id` (the store's reply token).
    SendDeliveryStatus {
        /// The reply token.
        msg_id: u32,
        /// Where to.
        path: ReplyPath,
    },
    /// The RouterInfo with this hash was added or updated: keep its bytes.
    Persist {
        /// Its hash.
        hash: RouterHash,
    },
    /// These RouterInfos left the table (expired or evicted): drop their bytes.
    Forget {
        /// Their hashes.
        hashes: Vec<RouterHash>,
    },
}

/// What happened, for the driver to report or record (peer profiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Event {
    /// A lookup requested with `NetDb::lookup` found its key.
    LookupSucceeded {
        /// The key.
        key: Key,
    },
    /// A lookup requested with `NetDb::lookup` gave up.
    LookupFailed {
        /// The key.
        key: Key,
    },
    /// A floodfill answered one of our lookups (`ok`), or did not in time or
    /// could not be reached (`!ok`). Profile input.
    FloodfillLookup {
        /// The floodfill.
        floodfill: RouterHash,
        /// Whether it answered.
        ok: bool,
    },
    /// A floodfill confirmed the store of our RouterInfo (DeliveryStatus).
    StoreConfirmed {
        /// The floodfill.
        floodfill: RouterHash,
    },
    /// A floodfill did not confirm the store of our RouterInfo in time.
    StoreFailed {
        /// The floodfill.
        floodfill: RouterHash,
    },
}
