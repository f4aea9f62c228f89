#![doc = include_str!("../README.md")]

pub mod key;
pub mod netdb;
pub mod table;
pub mod types;

pub use key::{next_midnight_ms, routing_key, Distance, Key, RouterHash, RoutingKey};
pub use netdb::{Error, LookupStart, NetDb, NetDbConfig};
pub use table::{closest, RejectReason, RouterSummary, StoreOutcome};
pub use types::{
    Action, Event, IncomingLookup, IncomingStore, LookupAnswer, LookupKind, Now, QueryId,
    ReplyPath, StoreEntry, StoreReply,
};
