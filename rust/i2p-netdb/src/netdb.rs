//! The netDb state machine: lookups, exploration, publishing, floodfill duties.
//!
//! Read first: network-database.md, "Storage, Verification, and Lookup
//! Mechanics" (all of it), then i2np.rst on DatabaseLookup and
//! DatabaseSearchReply. Deterministic: no sockets, no tasks, no clock reads;
//! every input carries [`Now`], every output is polled.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use crate::key::{next_midnight_ms, routing_key, Key, RouterHash, RoutingKey};
use crate::table::{RejectReason, RouterSummary, RouterTable, StoreOutcome};
use crate::types::{
    Action, Event, IncomingLookup, IncomingStore, LookupAnswer, LookupKind, Now, QueryId,
    StoreEntry,
};

/// i2np.rst, DatabaseSearchReply: "Recommended maximum number of hashes to
/// return: 16". We read no more than this from any reply, whatever its `num`.
pub const MAX_REPLY_PEERS: usize = 16;

/// i2np.rst, DatabaseSearchReply: "Typical number of hashes returned: 3".
pub const SEARCH_REPLY_FLOODFILLS: usize = 3;

/// network-database.md, "Flooding": "several (currently 3) floodfill routers
/// closest to the routing key".
pub const FLOOD_COUNT: usize = 3;

/// network-database.md, "Flooding": "Floodfills must never flood ... a
/// RouterInfo published more than one hour ago."
pub const FLOOD_MAX_AGE_MS: u64 = 3_600_000;

/// i2np.rst, DatabaseLookup `size`: "valid range: 0-512".
pub const MAX_EXCLUDE: usize = 512;

/// How many hashes our exploratory and floodfill-search lookups exclude.
const EXPLORE_EXCLUDE: usize = 64;

/// Unknown hashes one lookup waits for (fetches in flight for it).
const MAX_PENDING: usize = 16;

/// Queued RouterInfo fetches (hashes named in search replies).
const MAX_FETCH_QUEUE: usize = 512;

/// Failure records kept (peer-choice rule).
const MAX_FAILURES: usize = 4096;

/// Floodfill-choice rule: a floodfill that failed (timeout or unreachable) in
/// this window, and has not answered since, is chosen only when no other is left.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(10 * 60);

/// Store attempts per publishing round before waiting [`PUBLISH_RETRY`].
pub const MAX_STORE_ATTEMPTS: usize = 3;

/// Wait after a failed publishing round, or when no floodfill is known.
pub const PUBLISH_RETRY: Duration = Duration::from_secs(60);

/// After UTC midnight, wait this long before republishing, so that a wall
/// clock a little behind has crossed midnight too.
const MIDNIGHT_SLACK: Duration = Duration::from_secs(2);

/// How often expiry runs.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

/// Below this many floodfills, each exploration round also searches for floodfills.
pub const FLOODFILLS_WANTED: usize = 20;

/// Tunables. [`NetDbConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct NetDbConfig {
    /// Our router hash.
    pub our_hash: RouterHash,
    /// We are a floodfill (answer lookups, accept and flood stores).
    pub floodfill: bool,
    /// Most routers kept in the table.
    pub max_routers: usize,
    /// Most lookups in flight (user lookups, fetches, explorations together);
    /// internal ones use at most three quarters of it.
    pub max_lookups: usize,
    /// Queries in parallel for a user lookup (network-database.md: "the two
    /// 'good' ... floodfill routers closest to the requested key, in parallel").
    pub lookup_parallelism: usize,
    /// Per-query timeout.
    pub query_timeout: Duration,
    /// Total lookup timeout.
    pub lookup_timeout: Duration,
    /// Most floodfills asked by one lookup.
    pub max_queries_per_lookup: usize,
    /// Wait for the DeliveryStatus of a store of our RouterInfo.
    pub store_timeout: Duration,
    /// Republish interval. The spec gives none; floodfills drop RouterInfos
    /// after an hour ("RouterInfo Expiration"), so it must stay well below that.
    pub republish_interval: Duration,
    /// Run exploration.
    pub explore: bool,
}

impl NetDbConfig {
    /// Defaults for a router with hash `our_hash`, not a floodfill.
    pub fn new(our_hash: RouterHash) -> Self {
        Self {
            our_hash,
            floodfill: false,
            max_routers: 4000,
            max_lookups: 32,
            lookup_parallelism: 2,
            query_timeout: Duration::from_secs(5),
            lookup_timeout: Duration::from_secs(30),
            max_queries_per_lookup: 8,
            store_timeout: Duration::from_secs(10),
            republish_interval: Duration::from_secs(30 * 60),
            explore: true,
        }
    }
}

/// Errors of the commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `max_lookups` lookups are in flight; try later.
    #[error("too many lookups in flight")]
    TooManyLookups,
    /// Exploratory lookups are started by the netDb itself.
    #[error("exploratory lookups cannot be requested")]
    ExploratoryLookup,
    /// `set_our_router_info` got a RouterInfo that is not ours.
    #[error("not our RouterInfo")]
    NotOurRouterInfo,
}

/// How a [`NetDb::lookup`] call was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupStart {
    /// A new lookup.
    Started,
    /// A lookup for that key was already running; its end will be reported once.
    Joined,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// Requested by the driver: events are emitted.
    User,
    /// A RouterInfo named in a search reply.
    Fetch,
    /// Exploration (random key, exploratory flag).
    Explore,
    /// Floodfill discovery: RouterInfo lookup of a random key, excluding the
    /// floodfills we know, so the reply names floodfills we do not know.
    FloodfillSearch,
}

#[derive(Debug)]
struct Query {
    id: QueryId,
    peer: RouterHash,
    deadline: Instant,
}

#[derive(Debug)]
struct Lookup {
    kind: LookupKind,
    purpose: Purpose,
    deadline: Instant,
    parallelism: usize,
    max_queries: usize,
    queried: Vec<RouterHash>,
    outstanding: Vec<Query>,
    /// Asked first (for fetches: the floodfill that named the hash).
    preferred: Option<RouterHash>,
    /// Unknown routers named by replies, being fetched, that may be floodfills
    /// closer to the key: the lookup waits for them before giving up.
    pending: Vec<RouterHash>,
    /// Fixed exclude list (exploration and floodfill search).
    exclude: Vec<RouterHash>,
    /// A reply named a router we did not know.
    productive: bool,
}

impl Lookup {
    /// A lookup with nothing asked yet.
    fn new(
        kind: LookupKind,
        purpose: Purpose,
        deadline: Instant,
        parallelism: usize,
        max_queries: usize,
    ) -> Self {
        Lookup {
            kind,
            purpose,
            deadline,
            parallelism,
            max_queries,
            queried: Vec::new(),
            outstanding: Vec::new(),
            preferred: None,
            pending: Vec::new(),
            exclude: Vec::new(),
            productive: false,
        }
    }
}

#[derive(Debug)]
struct StoreAttempt {
    to: RouterHash,
    token: u32,
    deadline: Instant,
}

#[derive(Debug, Default)]
struct Publish {
    ours: Option<RouterSummary>,
    next_at: Option<Instant>,
    attempt: Option<StoreAttempt>,
    tried: Vec<RouterHash>,
    /// The floodfill that last confirmed our store.
    confirmed_at: Option<RouterHash>,
    /// The last round found no floodfill at all.
    starved: bool,
}

#[derive(Debug)]
struct Explore {
    next_at: Instant,
    backoff: u32,
    /// The last round was skipped for want of a floodfill.
    starved: bool,
}

/// The network database logic. See the crate documentation for the call order.
#[derive(Debug)]
pub struct NetDb {
    cfg: NetDbConfig,
    started: Instant,
    table: RouterTable,
    lookups: HashMap<Key, Lookup>,
    worklist: Vec<Key>,
    fetch_queue: VecDeque<(RouterHash, Option<RouterHash>)>,
    fetch_queued: HashSet<RouterHash>,
    failures: HashMap<RouterHash, Instant>,
    next_query: u64,
    publish: Publish,
    explore: Explore,
    next_expiry: Instant,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

/// Base exploration interval for a table of `n` routers: exploration is
/// frequent while we know few routers and slows down as the table fills.
pub fn exploration_interval(n: usize) -> Duration {
    Duration::from_secs(match n {
        0..=99 => 10,
        100..=499 => 60,
        500..=1999 => 5 * 60,
        _ => 15 * 60,
    })
}

/// Longest wait between exploration rounds, whatever the backoff.
pub const MAX_EXPLORATION_INTERVAL: Duration = Duration::from_secs(30 * 60);

impl NetDb {
    /// A netDb with an empty table, started at `now`.
    pub fn new(cfg: NetDbConfig, now: Now) -> Self {
        let table = RouterTable::new(cfg.our_hash, cfg.max_routers);
        Self {
            started: now.instant,
            table,
            lookups: HashMap::new(),
            worklist: Vec::new(),
            fetch_queue: VecDeque::new(),
            fetch_queued: HashSet::new(),
            failures: HashMap::new(),
            next_query: 1,
            publish: Publish::default(),
            explore: Explore {
                next_at: now.instant,
                backoff: 0,
                starved: false,
            },
            next_expiry: now.instant + EXPIRY_INTERVAL,
            actions: VecDeque::new(),
            events: VecDeque::new(),
            cfg,
        }
    }

    // ----- getters -----

    /// Our configuration.
    pub fn config(&self) -> &NetDbConfig {
        &self.cfg
    }

    /// Routers in the table (ours included once set).
    pub fn router_count(&self) -> usize {
        self.table.len()
    }

    /// Floodfills in the table.
    pub fn floodfill_count(&self) -> usize {
        self.table.floodfill_count()
    }

    /// The summary of a known router.
    pub fn get(&self, hash: &RouterHash) -> Option<&RouterSummary> {
        self.table.get(hash)
    }

    /// All known routers, in no particular order.
    pub fn routers(&self) -> impl Iterator<Item = &RouterSummary> {
        self.table.iter()
    }

    /// Lookups in flight (all purposes).
    pub fn lookups_in_flight(&self) -> usize {
        self.lookups.len()
    }

    /// Whether a lookup for `key` is in flight.
    pub fn is_looking_up(&self, key: &Key) -> bool {
        self.lookups.contains_key(key)
    }

    /// The `k` reachable floodfills closest to `key`'s routing key on the UTC
    /// day of `unix_ms`, excluding ourselves and `exclude`.
    pub fn closest_floodfills(
        &self,
        key: &Key,
        unix_ms: u64,
        k: usize,
        exclude: &[RouterHash],
    ) -> Vec<RouterHash> {
        let rk = routing_key(key, unix_ms);
        let ex: HashSet<&RouterHash> = exclude.iter().collect();
        self.table.closest_floodfills(&rk, k, |h| ex.contains(h))
    }

    // ----- commands -----

    /// Adds or updates a RouterInfo the driver got outside a DatabaseStore
    /// (disk, reseed, the NTCP2 handshake's RouterInfo block). Ends a lookup
    /// for it, if one runs.
    pub fn add_router(&mut self, now: Now, summary: RouterSummary) -> StoreOutcome {
        if summary.hash == self.cfg.our_hash {
            return StoreOutcome::Rejected(RejectReason::OurOwn);
        }
        let out = self.accept_router(now, summary);
        self.process(now);
        out
    }

    /// Removes a router (the driver found it invalid or banned). No action.
    pub fn remove_router(&mut self, hash: &RouterHash) -> bool {
        if *hash == self.cfg.our_hash {
            return false;
        }
        self.failures.remove(hash);
        self.table.remove(hash).is_some()
    }

    /// Sets our own RouterInfo (never expires). Publishes it now if it changed,
    /// then every `republish_interval` and after each UTC midnight.
    pub fn set_our_router_info(&mut self, now: Now, summary: RouterSummary) -> Result<(), Error> {
        if summary.hash != self.cfg.our_hash {
            return Err(Error::NotOurRouterInfo);
        }
        let changed = self.publish.ours != Some(summary);
        self.table.remove(&summary.hash);
        let _ = self.table.insert(summary);
        self.publish.ours = Some(summary);
        if changed {
            self.publish.attempt = None;
            self.publish.tried.clear();
            self.publish.next_at = Some(now.instant);
        }
        self.process(now);
        Ok(())
    }

    /// Starts a lookup for `key` (RouterInfo, LeaseSet or Any). Coalesces with
    /// a running lookup for the same key. Its end is reported once, as
    /// [`Event::LookupSucceeded`] or [`Event::LookupFailed`] (possibly before
    /// this returns, e.g. when no floodfill is known).
    pub fn lookup(&mut self, now: Now, key: Key, kind: LookupKind) -> Result<LookupStart, Error> {
        if kind == LookupKind::Exploratory {
            return Err(Error::ExploratoryLookup);
        }
        if let Some(l) = self.lookups.get_mut(&key) {
            if l.purpose != Purpose::User {
                l.purpose = Purpose::User;
                l.parallelism = self.cfg.lookup_parallelism.max(1);
                l.max_queries = self.cfg.max_queries_per_lookup.max(1);
                l.deadline = l.deadline.max(now.instant + self.cfg.lookup_timeout);
                self.worklist.push(key);
                self.process(now);
            }
            return Ok(LookupStart::Joined);
        }
        if self.lookups.len() >= self.cfg.max_lookups {
            return Err(Error::TooManyLookups);
        }
        let l = Lookup::new(
            kind,
            Purpose::User,
            now.instant + self.cfg.lookup_timeout,
            self.cfg.lookup_parallelism.max(1),
            self.cfg.max_queries_per_lookup.max(1),
        );
        self.lookups.insert(key, l);
        self.worklist.push(key);
        self.process(now);
        Ok(LookupStart::Started)
    }

    // ----- inputs -----

    /// An incoming DatabaseStore. Stores RouterInfos (newer wins), ends a
    /// lookup for the key, queues a DeliveryStatus if a reply token was given,
    /// and, when we are a floodfill, floods a new RouterInfo.
    pub fn handle_database_store(&mut self, now: Now, store: IncomingStore) -> StoreOutcome {
        let out = match store.entry {
            StoreEntry::RouterInfo(s) => self.store_router_info(now, &store, s),
            StoreEntry::LeaseSet => {
                if let Some(l) = self.lookups.get(&store.key) {
                    if matches!(l.kind, LookupKind::LeaseSet | LookupKind::Any) {
                        self.credit(&store.key, store.from);
                        self.finish(store.key, true);
                    }
                }
                StoreOutcome::Rejected(RejectReason::NotARouterInfo)
            }
        };
        self.process(now);
        out
    }

    fn store_router_info(
        &mut self,
        now: Now,
        store: &IncomingStore,
        s: RouterSummary,
    ) -> StoreOutcome {
        if Key::from(s.hash) != store.key {
            return StoreOutcome::Rejected(RejectReason::KeyMismatch);
        }
        if s.hash == self.cfg.our_hash {
            return StoreOutcome::Rejected(RejectReason::OurOwn);
        }
        let solicited = self.lookups.contains_key(&store.key);
        let acceptable = self.cfg.floodfill
            || solicited
            || self.table.contains(&s.hash)
            || store.from == Some(s.hash);
        if !acceptable {
            return StoreOutcome::Rejected(RejectReason::Unsolicited);
        }
        if solicited {
            self.credit(&store.key, store.from);
        }
        let out = self.accept_router(now, s);
        if let Some(reply) = store.reply {
            if !matches!(out, StoreOutcome::Rejected(_)) {
                self.actions.push_back(Action::SendDeliveryStatus {
                    msg_id: reply.token,
                    path: reply.path,
                });
            }
            // i2np.rst, DatabaseStore reply token: "A floodfill router is also
            // expected to flood the data to the closest floodfill peers if the
            // token is greater than zero."
            let fresh = now.unix_ms.saturating_sub(s.published_ms) <= FLOOD_MAX_AGE_MS;
            if self.cfg.floodfill && out.is_stored() && fresh {
                let our = self.cfg.our_hash;
                let from = store.from;
                let rk = routing_key(&store.key, now.unix_ms);
                let to = self.table.closest_floodfills(&rk, FLOOD_COUNT, |h| {
                    *h == s.hash || Some(*h) == from || *h == our
                });
                if !to.is_empty() {
                    self.actions.push_back(Action::Flood { to, key: store.key });
                }
            }
        }
        out
    }

    /// Common path for every RouterInfo offered to the table.
    fn accept_router(&mut self, now: Now, s: RouterSummary) -> StoreOutcome {
        let (out, evicted) = self.table.insert(s);
        if let Some(victim) = evicted {
            self.failures.remove(&victim);
            self.actions.push_back(Action::Forget {
                hashes: vec![victim],
            });
        }
        if out.is_stored() {
            self.actions.push_back(Action::Persist { hash: s.hash });
        }
        if !matches!(out, StoreOutcome::Rejected(_)) {
            let key = Key::from(s.hash);
            if let Some(l) = self.lookups.get(&key) {
                if matches!(l.kind, LookupKind::RouterInfo | LookupKind::Any) {
                    self.finish(key, true);
                }
            }
            self.wake_pending(&s.hash);
            if s.floodfill && self.explore.starved {
                self.explore.starved = false;
                self.explore.next_at = now.instant;
            }
            if s.floodfill && self.publish.attempt.is_none() && self.publish.tried.is_empty() {
                if let (Some(ours), Some(next)) = (self.publish.ours, self.publish.next_at) {
                    // A floodfill arrived: a publish that was starved may
                    // proceed; and one closer to our routing key than the one
                    // holding our RouterInfo gets it now (network-database.md,
                    // "Floodfill Selection": we improve our knowledge of the
                    // neighbourhood of what we publish).
                    let rk = routing_key(&Key::from(ours.hash), now.unix_ms);
                    let closer = match self.publish.confirmed_at {
                        Some(c) => rk.distance(&s.hash) < rk.distance(&c),
                        None => false,
                    };
                    if next > now.instant && (self.publish.starved || closer) && s.reachable {
                        self.publish.next_at = Some(now.instant);
                    }
                }
            }
        }
        out
    }

    /// An incoming DatabaseSearchReply for `key` from the router `from` (the
    /// peer it came from directly; the message's own `from` field is
    /// unauthenticated). Replies to lookups we did not send to `from` are ignored.
    pub fn handle_search_reply(
        &mut self,
        now: Now,
        from: RouterHash,
        key: Key,
        peers: &[RouterHash],
    ) {
        let our = self.cfg.our_hash;
        let Some(l) = self.lookups.get_mut(&key) else {
            return;
        };
        if !l.queried.contains(&from) {
            return;
        }
        if let Some(pos) = l.outstanding.iter().position(|q| q.peer == from) {
            l.outstanding.swap_remove(pos);
        }
        self.failures.remove(&from);
        self.events.push_back(Event::FloodfillLookup {
            floodfill: from,
            ok: true,
        });
        let purpose = l.purpose;
        let mut to_fetch = Vec::new();
        for h in peers.iter().take(MAX_REPLY_PEERS) {
            if *h == our || Key::from(*h) == key || self.table.contains(h) {
                continue;
            }
            l.productive = true;
            if purpose == Purpose::Fetch {
                // A fetch does not chain further fetches: bounded work per hash.
                continue;
            }
            to_fetch.push(*h);
        }
        for h in to_fetch {
            let queued = self.enqueue_fetch(h, Some(from));
            if purpose == Purpose::User && queued {
                if let Some(l) = self.lookups.get_mut(&key) {
                    if l.pending.len() < MAX_PENDING && !l.pending.contains(&h) {
                        l.pending.push(h);
                    }
                }
            }
        }
        match purpose {
            Purpose::Explore | Purpose::FloodfillSearch => self.finish(key, true),
            Purpose::User | Purpose::Fetch => self.worklist.push(key),
        }
        self.process(now);
    }

    /// An incoming DeliveryStatus. Returns true if it was ours (the
    /// confirmation of a store of our RouterInfo).
    pub fn handle_delivery_status(&mut self, now: Now, msg_id: u32) -> bool {
        let Some(a) = &self.publish.attempt else {
            return false;
        };
        if a.token != msg_id {
            return false;
        }
        let to = a.to;
        self.publish.attempt = None;
        self.publish.tried.clear();
        self.publish.confirmed_at = Some(to);
        self.failures.remove(&to);
        self.events
            .push_back(Event::StoreConfirmed { floodfill: to });
        self.publish.next_at = Some(self.next_publish_time(now));
        self.process(now);
        true
    }

    /// The driver could not deliver to `peer` (connection failed): its queries
    /// and our store to it fail now instead of at their timeout.
    pub fn handle_send_failed(&mut self, now: Now, peer: RouterHash) {
        let keys: Vec<Key> = self.lookups.keys().copied().collect();
        let mut had_queries = false;
        for key in keys {
            let Some(l) = self.lookups.get_mut(&key) else {
                continue;
            };
            let before = l.outstanding.len();
            l.outstanding.retain(|q| q.peer != peer);
            if l.outstanding.len() != before {
                had_queries = true;
                self.worklist.push(key);
            }
        }
        if had_queries {
            self.note_failure(now, peer);
        } else {
            self.record_failure(now, peer);
        }
        if self.publish.attempt.as_ref().is_some_and(|a| a.to == peer) {
            self.fail_store_attempt(now);
        }
        self.process(now);
    }

    /// The driver could not send the DatabaseLookup `query` (encoding or
    /// connection failure): that query fails now.
    pub fn handle_query_failed(&mut self, now: Now, query: QueryId) {
        let mut failed = None;
        for (k, l) in self.lookups.iter_mut() {
            if let Some(pos) = l.outstanding.iter().position(|q| q.id == query) {
                failed = Some((*k, l.outstanding.swap_remove(pos).peer));
                break;
            }
        }
        if let Some((key, peer)) = failed {
            self.note_failure(now, peer);
            self.worklist.push(key);
            self.process(now);
        }
    }

    /// An incoming DatabaseLookup. Floodfills answer: the RouterInfo if known,
    /// else the closest floodfills not excluded; for exploration, non-floodfill
    /// routers close to the key. A non-floodfill answers only lookups of its
    /// own RouterInfo and drops the rest.
    pub fn handle_lookup(&mut self, now: Now, lookup: &IncomingLookup) -> LookupAnswer {
        let key = lookup.key;
        let ri_kind = matches!(lookup.kind, LookupKind::RouterInfo | LookupKind::Any);
        if !self.cfg.floodfill {
            let ours = key == Key::from(self.cfg.our_hash) && self.publish.ours.is_some();
            return if ours && ri_kind {
                LookupAnswer::Store { key }
            } else {
                LookupAnswer::Drop
            };
        }
        let mut exclude: HashSet<RouterHash> =
            lookup.exclude.iter().take(MAX_EXCLUDE).copied().collect();
        // i2np.rst, excludedPeers: "if excludedPeers includes a hash of all
        // zeroes, the request is exploratory".
        let exploratory =
            lookup.kind == LookupKind::Exploratory || exclude.remove(&RouterHash([0; 32]));
        let rk = routing_key(&key, now.unix_ms);
        if exploratory {
            let peers = self
                .table
                .closest_non_floodfills(&rk, MAX_REPLY_PEERS, |h| exclude.contains(h));
            return LookupAnswer::SearchReply { key, peers };
        }
        if ri_kind {
            if let Some(s) = self.table.get(&RouterHash::from(key)) {
                if s.reachable || s.hash == self.cfg.our_hash {
                    return LookupAnswer::Store { key };
                }
            }
        }
        let peers = self
            .table
            .closest_floodfills(&rk, SEARCH_REPLY_FLOODFILLS, |h| exclude.contains(h));
        LookupAnswer::SearchReply { key, peers }
    }

    /// Timers: query and lookup timeouts, store timeout, republish, exploration,
    /// expiry. Call when [`NetDb::poll_timeout`]'s instant is reached.
    pub fn handle_timeout(&mut self, now: Now) {
        let keys: Vec<Key> = self.lookups.keys().copied().collect();
        for key in keys {
            let Some(l) = self.lookups.get_mut(&key) else {
                continue;
            };
            let mut timed_out = Vec::new();
            l.outstanding.retain(|q| {
                let keep = q.deadline > now.instant;
                if !keep {
                    timed_out.push(q.peer);
                }
                keep
            });
            let over = l.deadline <= now.instant;
            for p in timed_out {
                self.note_failure(now, p);
                self.worklist.push(key);
            }
            if over {
                self.finish(key, false);
            }
        }
        if self
            .publish
            .attempt
            .as_ref()
            .is_some_and(|a| a.deadline <= now.instant)
        {
            self.fail_store_attempt(now);
        }
        if self.next_expiry <= now.instant {
            self.next_expiry = now.instant + EXPIRY_INTERVAL;
            let uptime = now.instant.saturating_duration_since(self.started);
            let gone = self.table.expire(now.unix_ms, uptime, self.cfg.floodfill);
            if !gone.is_empty() {
                for h in &gone {
                    self.failures.remove(h);
                }
                self.actions.push_back(Action::Forget { hashes: gone });
            }
        }
        self.process(now);
    }

    // ----- outputs -----

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the driver, in order.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When to call [`NetDb::handle_timeout`] next. Always `Some`: exploration
    /// and expiry are periodic.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = self.next_expiry;
        if self.cfg.explore {
            t = t.min(self.explore.next_at);
        }
        for l in self.lookups.values() {
            t = t.min(l.deadline);
            for q in &l.outstanding {
                t = t.min(q.deadline);
            }
        }
        if let Some(a) = &self.publish.attempt {
            t = t.min(a.deadline);
        } else if let (Some(_), Some(n)) = (self.publish.ours, self.publish.next_at) {
            t = t.min(n);
        }
        Some(t)
    }

    // ----- internals -----

    fn next_id(&mut self) -> QueryId {
        let id = QueryId(self.next_query);
        self.next_query = self.next_query.wrapping_add(1);
        id
    }

    fn note_failure(&mut self, now: Now, peer: RouterHash) {
        self.events.push_back(Event::FloodfillLookup {
            floodfill: peer,
            ok: false,
        });
        self.record_failure(now, peer);
    }

    /// Remembers a failure for the floodfill-choice rule; the map is bounded.
    fn record_failure(&mut self, now: Now, peer: RouterHash) {
        if self.failures.len() >= MAX_FAILURES {
            let cutoff = now.instant.checked_sub(FAILURE_BACKOFF);
            self.failures.retain(|_, at| match cutoff {
                Some(c) => *at > c,
                None => true,
            });
            if self.failures.len() >= MAX_FAILURES {
                self.failures.clear();
            }
        }
        self.failures.insert(peer, now.instant);
    }

    /// Credits the floodfill that answered `key` directly with a store.
    fn credit(&mut self, key: &Key, from: Option<RouterHash>) {
        let Some(from) = from else { return };
        let Some(l) = self.lookups.get_mut(key) else {
            return;
        };
        if let Some(pos) = l.outstanding.iter().position(|q| q.peer == from) {
            l.outstanding.swap_remove(pos);
            self.failures.remove(&from);
            self.events.push_back(Event::FloodfillLookup {
                floodfill: from,
                ok: true,
            });
        }
    }

    fn recently_failed(
        failures: &HashMap<RouterHash, Instant>,
        h: &RouterHash,
        now: Instant,
    ) -> bool {
        failures
            .get(h)
            .is_some_and(|at| now.saturating_duration_since(*at) < FAILURE_BACKOFF)
    }

    /// The closest usable floodfill to `rk` not in `skip`; floodfills that
    /// failed recently only if nothing else is left.
    fn pick_floodfill(
        &self,
        rk: &RoutingKey,
        skip: &[RouterHash],
        now: Instant,
    ) -> Option<RouterHash> {
        let fresh = self.table.closest_floodfills(rk, 1, |h| {
            skip.contains(h) || Self::recently_failed(&self.failures, h, now)
        });
        if let Some(h) = fresh.first() {
            return Some(*h);
        }
        self.table
            .closest_floodfills(rk, 1, |h| skip.contains(h))
            .first()
            .copied()
    }

    fn enqueue_fetch(&mut self, h: RouterHash, via: Option<RouterHash>) -> bool {
        if self.fetch_queued.contains(&h) || self.lookups.contains_key(&Key::from(h)) {
            return true;
        }
        if self.fetch_queue.len() >= MAX_FETCH_QUEUE {
            return false;
        }
        self.fetch_queued.insert(h);
        self.fetch_queue.push_back((h, via));
        true
    }

    fn internal_cap(&self) -> usize {
        (self.cfg.max_lookups * 3 / 4).max(1)
    }

    fn internal_count(&self) -> usize {
        self.lookups
            .values()
            .filter(|l| l.purpose != Purpose::User)
            .count()
    }

    fn start_internal(&mut self, key: Key, l: Lookup) {
        self.lookups.insert(key, l);
        self.worklist.push(key);
    }

    fn pump_fetches(&mut self, now: Now) {
        while self.lookups.len() < self.cfg.max_lookups
            && self.internal_count() < self.internal_cap()
        {
            let Some((h, via)) = self.fetch_queue.pop_front() else {
                break;
            };
            self.fetch_queued.remove(&h);
            let key = Key::from(h);
            if self.table.contains(&h) || self.lookups.contains_key(&key) {
                continue;
            }
            let mut l = Lookup::new(
                LookupKind::RouterInfo,
                Purpose::Fetch,
                now.instant + self.cfg.lookup_timeout,
                1,
                3.min(self.cfg.max_queries_per_lookup.max(1)),
            );
            l.preferred = via;
            self.start_internal(key, l);
        }
    }

    /// Sends queries for one lookup while it has room, or ends it when nothing
    /// can come any more.
    fn advance(&mut self, now: Now, key: Key) {
        let our = self.cfg.our_hash;
        let query_timeout = self.cfg.query_timeout;
        let rk = routing_key(&key, now.unix_ms);
        loop {
            let Some(l) = self.lookups.get(&key) else {
                return;
            };
            if l.outstanding.len() >= l.parallelism || l.queried.len() >= l.max_queries {
                break;
            }
            let preferred = l.preferred.filter(|p| *p != our && !l.queried.contains(p));
            let peer = match preferred {
                Some(p) => Some(p),
                None => self.pick_floodfill(&rk, &l.queried, now.instant),
            };
            let Some(peer) = peer else { break };
            let id = self.next_id();
            let Some(l) = self.lookups.get_mut(&key) else {
                return;
            };
            l.preferred = None;
            let exclude = match l.purpose {
                Purpose::Explore | Purpose::FloodfillSearch => l.exclude.clone(),
                Purpose::User | Purpose::Fetch => l.queried.clone(),
            };
            l.queried.push(peer);
            let deadline = (now.instant + query_timeout).min(l.deadline);
            l.outstanding.push(Query { id, peer, deadline });
            let kind = l.kind;
            self.actions.push_back(Action::SendLookup {
                query: id,
                to: peer,
                key,
                kind,
                exclude,
            });
        }
        let Some(l) = self.lookups.get(&key) else {
            return;
        };
        let exhausted = l.queried.len() >= l.max_queries;
        let waiting = !l.pending.is_empty() && !exhausted;
        if l.outstanding.is_empty() && !waiting {
            self.finish(key, false);
        }
    }

    /// Ends a lookup; wakes lookups waiting for that router.
    fn finish(&mut self, key: Key, success: bool) {
        let Some(l) = self.lookups.remove(&key) else {
            return;
        };
        match l.purpose {
            Purpose::User => self.events.push_back(if success {
                Event::LookupSucceeded { key }
            } else {
                Event::LookupFailed { key }
            }),
            Purpose::Explore => {
                if l.productive {
                    self.explore.backoff = 0;
                } else {
                    self.explore.backoff = self.explore.backoff.saturating_add(1).min(8);
                }
            }
            Purpose::FloodfillSearch => {
                if l.productive {
                    self.explore.backoff = 0;
                }
            }
            Purpose::Fetch => {}
        }
        self.wake_pending(&RouterHash::from(key));
    }

    fn wake_pending(&mut self, h: &RouterHash) {
        for (k, l) in self.lookups.iter_mut() {
            if let Some(pos) = l.pending.iter().position(|p| p == h) {
                l.pending.swap_remove(pos);
                self.worklist.push(*k);
            }
        }
    }

    fn fail_store_attempt(&mut self, now: Now) {
        if let Some(a) = self.publish.attempt.take() {
            self.events
                .push_back(Event::StoreFailed { floodfill: a.to });
            self.publish.tried.push(a.to);
            self.record_failure(now, a.to);
        }
    }

    fn next_publish_time(&self, now: Now) -> Instant {
        let to_midnight = next_midnight_ms(now.unix_ms).saturating_sub(now.unix_ms);
        let midnight = now.instant + Duration::from_millis(to_midnight) + MIDNIGHT_SLACK;
        (now.instant + self.cfg.republish_interval).min(midnight)
    }

    fn drive_publish(&mut self, now: Now) {
        let Some(ours) = self.publish.ours else {
            return;
        };
        if self.publish.attempt.is_some() {
            return;
        }
        let Some(next) = self.publish.next_at else {
            return;
        };
        if next > now.instant {
            return;
        }
        if self.publish.tried.len() >= MAX_STORE_ATTEMPTS {
            self.publish.tried.clear();
            self.publish.next_at = Some(now.instant + PUBLISH_RETRY);
            self.publish.starved = false;
            return;
        }
        // network-database.md, "Floodfill Selection": "sent to the floodfill
        // that is closest to the current routing key".
        let rk = routing_key(&Key::from(ours.hash), now.unix_ms);
        let Some(to) = self.pick_floodfill(&rk, &self.publish.tried, now.instant) else {
            self.publish.tried.clear();
            self.publish.next_at = Some(now.instant + PUBLISH_RETRY);
            self.publish.starved = true;
            return;
        };
        self.publish.starved = false;
        // Nonzero reply token.
        let token = u32::try_from(i2p_crypto::random_below(u64::from(u32::MAX))).unwrap_or(0) + 1;
        self.publish.attempt = Some(StoreAttempt {
            to,
            token,
            deadline: now.instant + self.cfg.store_timeout,
        });
        self.actions.push_back(Action::SendStore {
            to,
            key: Key::from(ours.hash),
            reply_token: token,
        });
    }

    fn drive_explore(&mut self, now: Now) {
        if !self.cfg.explore || self.explore.next_at > now.instant {
            return;
        }
        let n = self.table.len();
        let base = exploration_interval(n);
        let exploring = self
            .lookups
            .values()
            .any(|l| matches!(l.purpose, Purpose::Explore | Purpose::FloodfillSearch));
        let our = self.cfg.our_hash;
        let any_ff = !self
            .table
            .closest_floodfills(&RoutingKey([0; 32]), 1, |_| false)
            .is_empty();
        if exploring || !any_ff || self.internal_count() + 2 > self.internal_cap() {
            self.explore.starved = !any_ff;
            self.explore.next_at = now.instant + base;
            return;
        }
        let shift = self.explore.backoff.min(8);
        let interval = base
            .saturating_mul(1u32 << shift)
            .min(MAX_EXPLORATION_INTERVAL);
        self.explore.next_at = now.instant + interval;
        let deadline =
            now.instant + self.cfg.query_timeout.saturating_mul(2) + Duration::from_secs(1);

        // network-database.md, "Exploration": a lookup for a random key with the
        // exploration flag; "the floodfill will then respond only with
        // non-floodfill routers close to the requested key". The flag makes
        // excluding floodfills unnecessary (the spec calls listing them all
        // impractical); we exclude the known non-floodfills closest to the key,
        // which the floodfill would otherwise name, and ourselves.
        let mut rnd = [0u8; 32];
        i2p_crypto::random_bytes(&mut rnd);
        let key = Key(rnd);
        let rk = routing_key(&key, now.unix_ms);
        let mut exclude = vec![our];
        exclude.extend(
            self.table
                .closest_non_floodfills(&rk, EXPLORE_EXCLUDE - 1, |_| false),
        );
        let mut l = Lookup::new(LookupKind::Exploratory, Purpose::Explore, deadline, 1, 2);
        l.exclude = exclude;
        self.start_internal(key, l);

        // Floodfill discovery (exploration replies list no floodfills): a
        // RouterInfo lookup for a random key excluding the floodfills we know;
        // the DatabaseSearchReply then names floodfills we do not know.
        if self.table.floodfill_count() < FLOODFILLS_WANTED {
            i2p_crypto::random_bytes(&mut rnd);
            let key = Key(rnd);
            let rk = routing_key(&key, now.unix_ms);
            let mut exclude = vec![our];
            exclude.extend(
                self.table
                    .closest_floodfills(&rk, EXPLORE_EXCLUDE - 1, |_| false),
            );
            let mut l = Lookup::new(
                LookupKind::RouterInfo,
                Purpose::FloodfillSearch,
                deadline,
                1,
                2,
            );
            l.exclude = exclude;
            self.start_internal(key, l);
        }
    }

    /// Runs everything that became possible: advances woken lookups, starts
    /// queued fetches, publishing and exploration.
    fn process(&mut self, now: Now) {
        self.drive_explore(now);
        // Terminates: each round either empties the worklist (lookups end or
        // wait) or starts fetches, which consume the bounded fetch queue.
        loop {
            self.pump_fetches(now);
            if self.worklist.is_empty() {
                break;
            }
            while let Some(key) = self.worklist.pop() {
                self.advance(now, key);
            }
        }
        self.drive_publish(now);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;
    use crate::types::{ReplyPath, StoreReply};

    /// 2026-11-26T12:00:00Z.
    const T0_MS: u64 = 1_795_694_400_000;

    fn t0() -> Now {
        Now::new(Instant::now(), T0_MS)
    }

    fn h(n: u16) -> RouterHash {
        RouterHash(i2p_crypto::hash::sha256(&n.to_be_bytes()))
    }

    fn ri(n: u16, floodfill: bool) -> RouterSummary {
        RouterSummary {
            hash: h(n),
            published_ms: T0_MS - 60_000,
            floodfill,
            reachable: true,
            net_id_ok: true,
        }
    }

    const OUR: u16 = 0;

    fn db_with(cfg_fn: impl FnOnce(&mut NetDbConfig), ffs: u16, others: u16) -> (NetDb, Now) {
        let now = t0();
        let mut cfg = NetDbConfig::new(h(OUR));
        cfg.explore = false;
        cfg_fn(&mut cfg);
        let mut db = NetDb::new(cfg, now);
        for n in 1..=ffs {
            assert_eq!(db.add_router(now, ri(n, true)), StoreOutcome::New);
        }
        for n in 1000..1000 + others {
            assert_eq!(db.add_router(now, ri(n, false)), StoreOutcome::New);
        }
        drain(&mut db);
        (db, now)
    }

    fn drain(db: &mut NetDb) -> Vec<Action> {
        std::iter::from_fn(|| db.poll_action()).collect()
    }

    fn events(db: &mut NetDb) -> Vec<Event> {
        std::iter::from_fn(|| db.poll_event()).collect()
    }

    fn lookups_sent(actions: &[Action]) -> Vec<(RouterHash, Key, LookupKind, Vec<RouterHash>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::SendLookup {
                    to,
                    key,
                    kind,
                    exclude,
                    ..
                } => Some((*to, *key, *kind, exclude.clone())),
                _ => None,
            })
            .collect()
    }

    /// Brute force: floodfills 1..=n sorted by distance to `key` today.
    fn by_distance(key: &Key, n: u16, unix_ms: u64) -> Vec<RouterHash> {
        let rk = routing_key(key, unix_ms);
        let mut v: Vec<RouterHash> = (1..=n).map(h).collect();
        v.sort_by_key(|x| rk.distance(x));
        v
    }

    fn target() -> Key {
        Key(i2p_crypto::hash::sha256(b"target"))
    }

    #[test]
    fn lookup_asks_two_closest_in_parallel_and_succeeds_on_store() {
        let (mut db, now) = db_with(|_| {}, 10, 0);
        assert_eq!(
            db.lookup(now, target(), LookupKind::RouterInfo),
            Ok(LookupStart::Started)
        );
        let sent = lookups_sent(&drain(&mut db));
        let want = by_distance(&target(), 10, T0_MS);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].0, want[0]);
        assert_eq!(sent[1].0, want[1]);
        assert!(sent
            .iter()
            .all(|s| s.1 == target() && s.2 == LookupKind::RouterInfo));
        assert_eq!(
            sent[1].3,
            vec![want[0]],
            "already-asked floodfills are excluded"
        );

        let found = RouterSummary {
            hash: RouterHash::from(target()),
            ..ri(999, false)
        };
        let out = db.handle_database_store(
            now.advance(Duration::from_millis(300)),
            IncomingStore {
                key: target(),
                entry: StoreEntry::RouterInfo(found),
                reply: None,
                from: Some(want[1]),
            },
        );
        assert_eq!(out, StoreOutcome::New);
        let ev = events(&mut db);
        assert!(ev.contains(&Event::LookupSucceeded { key: target() }));
        assert!(ev.contains(&Event::FloodfillLookup {
            floodfill: want[1],
            ok: true
        }));
        assert_eq!(drain(&mut db), vec![Action::Persist { hash: found.hash }]);
        assert!(!db.is_looking_up(&target()));
        assert!(db.get(&found.hash).is_some());
    }

    #[test]
    fn timeouts_retry_next_closest_until_max_queries() {
        let (mut db, mut now) = db_with(|_| {}, 12, 0);
        db.lookup(now, target(), LookupKind::RouterInfo).unwrap();
        let mut asked = lookups_sent(&drain(&mut db))
            .into_iter()
            .map(|s| s.0)
            .collect::<Vec<_>>();
        let mut failed_events = 0;
        for _ in 0..10 {
            let Some(t) = db.poll_timeout() else { break };
            now = now.advance(t.saturating_duration_since(now.instant));
            db.handle_timeout(now);
            asked.extend(lookups_sent(&drain(&mut db)).into_iter().map(|s| s.0));
            for e in events(&mut db) {
                match e {
                    Event::FloodfillLookup { ok: false, .. } => failed_events += 1,
                    Event::LookupFailed { key } => {
                        assert_eq!(key, target());
                        let want = by_distance(&target(), 12, T0_MS);
                        assert_eq!(asked, want[..8].to_vec(), "the 8 closest, in order");
                        assert_eq!(failed_events, 8);
                        assert!(now.instant - t0().instant <= Duration::from_secs(30));
                        return;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        panic!("lookup never failed");
    }

    #[test]
    fn total_timeout_ends_a_lookup_waiting_for_fetches() {
        let (mut db, now) = db_with(|c| c.max_queries_per_lookup = 8, 2, 0);
        db.lookup(now, target(), LookupKind::RouterInfo).unwrap();
        let sent = lookups_sent(&drain(&mut db));
        assert_eq!(sent.len(), 2);
        // Both answer with unknown routers; we fetch them but nobody answers.
        for s in &sent {
            db.handle_search_reply(now, s.0, target(), &[h(500), h(501)]);
        }
        let fetches = lookups_sent(&drain(&mut db));
        assert_eq!(
            fetches.iter().filter(|f| f.1 == Key::from(h(500))).count(),
            1,
            "one fetch per hash"
        );
        assert!(fetches.iter().all(|f| f.2 == LookupKind::RouterInfo));
        let mut now = now;
        let mut failed = false;
        while let Some(t) = db.poll_timeout() {
            if t > t0().instant + Duration::from_secs(31) {
                break;
            }
            now = now.advance(t.saturating_duration_since(now.instant));
            db.handle_timeout(now);
            let _ = drain(&mut db);
            failed |= events(&mut db).contains(&Event::LookupFailed { key: target() });
        }
        assert!(failed);
        assert!(!db.is_looking_up(&target()));
    }

    #[test]
    fn undeliverable_query_fails_over_at_once() {
        let (mut db, now) = db_with(|_| {}, 5, 0);
        db.lookup(now, target(), LookupKind::RouterInfo).unwrap();
        let acts = drain(&mut db);
        let Some(Action::SendLookup { query, to, .. }) = acts.first().cloned() else {
            panic!()
        };
        db.handle_query_failed(now, query);
        assert_eq!(
            events(&mut db),
            vec![Event::FloodfillLookup {
                floodfill: to,
                ok: false
            }]
        );
        let next = lookups_sent(&drain(&mut db));
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].0, by_distance(&target(), 5, T0_MS)[2]);
        assert!(next[0].3.contains(&to), "the failed one is excluded too");
        // Unknown query IDs change nothing.
        db.handle_query_failed(now, QueryId(u64::MAX));
        assert!(drain(&mut db).is_empty() && events(&mut db).is_empty());
    }

    #[test]
    fn duplicate_lookups_coalesce() {
        let (mut db, now) = db_with(|_| {}, 5, 0);
        assert_eq!(
            db.lookup(now, target(), LookupKind::RouterInfo),
            Ok(LookupStart::Started)
        );
        assert_eq!(
            db.lookup(now, target(), LookupKind::RouterInfo),
            Ok(LookupStart::Joined)
        );
        assert_eq!(lookups_sent(&drain(&mut db)).len(), 2);
        let found = RouterSummary {
            hash: RouterHash::from(target()),
            ..ri(999, false)
        };
        let from = by_distance(&target(), 5, T0_MS)[0];
        let _ = db.handle_database_store(
            now,
            IncomingStore {
                key: target(),
                entry: StoreEntry::RouterInfo(found),
                reply: None,
                from: Some(from),
            },
        );
        let ok = events(&mut db)
            .iter()
            .filter(|e| **e == Event::LookupSucceeded { key: target() })
            .count();
        assert_eq!(ok, 1);
        assert_eq!(db.lookups_in_flight(), 0);
    }

    #[test]
    fn no_floodfill_fails_at_once_and_too_many_lookups_refused() {
        let (mut db, now) = db_with(|c| c.max_lookups = 3, 0, 5);
        db.lookup(now, target(), LookupKind::LeaseSet).unwrap();
        assert_eq!(events(&mut db), vec![Event::LookupFailed { key: target() }]);
        assert_eq!(
            db.lookup(now, target(), LookupKind::Exploratory),
            Err(Error::ExploratoryLookup)
        );
        let (mut db, now) = db_with(|c| c.max_lookups = 3, 3, 0);
        for i in 0..3u8 {
            db.lookup(now, Key([i; 32]), LookupKind::RouterInfo)
                .unwrap();
        }
        assert_eq!(
            db.lookup(now, Key([9; 32]), LookupKind::RouterInfo),
            Err(Error::TooManyLookups)
        );
    }

    #[test]
    fn search_reply_naming_a_closer_floodfill_continues_there() {
        let (mut db, now) = db_with(|c| c.lookup_parallelism = 1, 3, 0);
        db.lookup(now, target(), LookupKind::RouterInfo).unwrap();
        let first = lookups_sent(&drain(&mut db));
        assert_eq!(first.len(), 1);
        let f1 = first[0].0;
        // A floodfill closer to the key than all we know.
        let rk = routing_key(&target(), T0_MS);
        let mut closer = None;
        for n in 100..10_000u16 {
            if rk.distance(&h(n)) < rk.distance(&f1) {
                closer = Some(n);
                break;
            }
        }
        let closer = closer.unwrap();
        db.handle_search_reply(now, f1, target(), &[h(closer)]);
        let acts = drain(&mut db);
        let sent = lookups_sent(&acts);
        // The unknown hash is fetched from the floodfill that named it; the
        // lookup waits for it rather than asking a farther floodfill.
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert!(sent
            .iter()
            .any(|s| s.0 == f1 && s.1 == Key::from(h(closer))));
        let fetched = ri(closer, true);
        let _ = db.handle_database_store(
            now,
            IncomingStore {
                key: Key::from(h(closer)),
                entry: StoreEntry::RouterInfo(fetched),
                reply: None,
                from: Some(f1),
            },
        );
        let _ = drain(&mut db);
        // Second query of the lookup went to the second closest of the
        // original three; now the closer one is known: a reply from the
        // outstanding one moves the lookup to the new floodfill.
        let outstanding: Vec<RouterHash> = sent
            .iter()
            .filter(|s| s.1 == target())
            .map(|s| s.0)
            .collect();
        for p in outstanding.iter().filter(|p| **p != f1) {
            db.handle_search_reply(now, *p, target(), &[]);
        }
        let next = lookups_sent(&drain(&mut db));
        assert!(
            next.iter().any(|s| s.0 == h(closer) && s.1 == target()),
            "{next:?}"
        );
    }

    #[test]
    fn replies_from_unasked_peers_are_ignored_and_floods_stay_bounded() {
        let (mut db, now) = db_with(|_| {}, 3, 0);
        for i in 0..200u16 {
            let _ = db.lookup(
                now,
                Key(i2p_crypto::hash::sha256(&i.to_be_bytes())),
                LookupKind::RouterInfo,
            );
        }
        assert!(db.lookups_in_flight() <= 32);
        let _ = drain(&mut db);
        let many: Vec<RouterHash> = (20_000..25_000u16).map(h).collect();
        let keys: Vec<Key> = db.lookups.keys().copied().collect();
        // Spoofed replies: ignored.
        for k in &keys {
            db.handle_search_reply(now, h(7777), *k, &many);
        }
        assert!(lookups_sent(&drain(&mut db)).is_empty());
        // Real replies with 5000 hashes each.
        for k in &keys {
            for f in 1..=3 {
                db.handle_search_reply(now, h(f), *k, &many);
            }
        }
        let acts = drain(&mut db);
        assert!(db.lookups_in_flight() <= 32);
        assert!(db.fetch_queue.len() <= MAX_FETCH_QUEUE);
        assert!(db.lookups.values().all(|l| l.pending.len() <= MAX_PENDING));
        // At most 16 hashes are read from any reply.
        let distinct: HashSet<Key> = lookups_sent(&acts).iter().map(|s| s.1).collect();
        assert!(distinct
            .iter()
            .all(|k| keys.contains(k) || many[..MAX_REPLY_PEERS].contains(&RouterHash::from(*k))));
    }

    #[test]
    fn failed_floodfill_skipped_then_forgiven() {
        let (mut db, now) = db_with(|c| c.lookup_parallelism = 1, 4, 0);
        db.lookup(now, target(), LookupKind::RouterInfo).unwrap();
        let first = lookups_sent(&drain(&mut db))[0].0;
        db.handle_send_failed(now, first);
        assert!(events(&mut db).contains(&Event::FloodfillLookup {
            floodfill: first,
            ok: false
        }));
        let _ = drain(&mut db);
        // Another key for which `first` is also the closest.
        let mut other = None;
        for i in 0..5000u16 {
            let k = Key(i2p_crypto::hash::sha256(
                &[&i.to_be_bytes()[..], b"o"].concat(),
            ));
            if db.closest_floodfills(&k, T0_MS, 1, &[]) == vec![first] {
                other = Some(k);
                break;
            }
        }
        let other = other.unwrap();
        db.lookup(now, other, LookupKind::RouterInfo).unwrap();
        let sent = lookups_sent(&drain(&mut db));
        assert_ne!(sent[0].0, first, "recently failed floodfill skipped");
        let later = now.advance(FAILURE_BACKOFF + Duration::from_secs(1));
        let third = Key([3; 32]);
        let mut k3 = third;
        for i in 0..5000u16 {
            let k = Key(i2p_crypto::hash::sha256(
                &[&i.to_be_bytes()[..], b"p"].concat(),
            ));
            if db.closest_floodfills(&k, T0_MS, 1, &[]) == vec![first] {
                k3 = k;
                break;
            }
        }
        db.lookup(later, k3, LookupKind::RouterInfo).unwrap();
        let sent = lookups_sent(&drain(&mut db));
        assert!(
            sent.iter().any(|s| s.0 == first && s.1 == k3),
            "forgiven after the backoff"
        );
    }

    fn store_ri(
        db: &mut NetDb,
        now: Now,
        s: RouterSummary,
        token: u32,
        from: RouterHash,
    ) -> StoreOutcome {
        let reply = (token != 0).then_some(StoreReply {
            token,
            path: ReplyPath {
                gateway: from,
                tunnel_id: None,
            },
        });
        db.handle_database_store(
            now,
            IncomingStore {
                key: Key::from(s.hash),
                entry: StoreEntry::RouterInfo(s),
                reply,
                from: Some(from),
            },
        )
    }

    #[test]
    fn publish_to_closest_then_next_on_timeout_and_republish() {
        let (mut db, now) = db_with(|_| {}, 6, 0);
        let ours = RouterSummary {
            published_ms: T0_MS,
            ..ri(OUR, false)
        };
        db.set_our_router_info(now, ours).unwrap();
        let want = by_distance(&Key::from(h(OUR)), 6, T0_MS);
        let acts = drain(&mut db);
        let Some(Action::SendStore {
            to,
            key,
            reply_token,
        }) = acts.first().cloned()
        else {
            panic!("{acts:?}")
        };
        assert_eq!((to, key), (want[0], Key::from(h(OUR))));
        assert_ne!(reply_token, 0);
        // No DeliveryStatus: the next closest after the timeout.
        let later = now.advance(Duration::from_secs(10));
        assert_eq!(db.poll_timeout(), Some(later.instant));
        db.handle_timeout(later);
        assert!(events(&mut db).contains(&Event::StoreFailed { floodfill: want[0] }));
        let acts = drain(&mut db);
        let Some(Action::SendStore {
            to, reply_token, ..
        }) = acts.first().cloned()
        else {
            panic!()
        };
        assert_eq!(to, want[1]);
        assert!(!db.handle_delivery_status(later, reply_token ^ 1));
        assert!(db.handle_delivery_status(later, reply_token));
        assert_eq!(
            events(&mut db),
            vec![Event::StoreConfirmed { floodfill: want[1] }]
        );
        // Republish in 30 minutes (noon + 30 min is before midnight).
        db.handle_timeout(later.advance(Duration::from_secs(29 * 60)));
        assert!(drain(&mut db)
            .iter()
            .all(|a| !matches!(a, Action::SendStore { .. })));
        let t = later.advance(Duration::from_secs(30 * 60));
        db.handle_timeout(t);
        let acts = drain(&mut db);
        assert!(
            matches!(acts.as_slice(), [Action::SendStore { .. }]),
            "{acts:?}"
        );
        // Three failures in a round: wait PUBLISH_RETRY.
        let (mut db, now) = db_with(|_| {}, 6, 0);
        db.set_our_router_info(now, ours).unwrap();
        let mut now = now;
        for _ in 0..3 {
            let acts = drain(&mut db);
            let Some(Action::SendStore { to, .. }) = acts.first().cloned() else {
                panic!()
            };
            db.handle_send_failed(now, to);
        }
        assert!(drain(&mut db).is_empty());
        now = now.advance(PUBLISH_RETRY);
        db.handle_timeout(now);
        assert!(matches!(
            drain(&mut db).as_slice(),
            [Action::SendStore { .. }]
        ));
    }

    #[test]
    fn republish_after_utc_midnight_to_the_new_closest() {
        let now = Now::new(Instant::now(), crate::key::next_midnight_ms(T0_MS) - 60_000);
        let mut cfg = NetDbConfig::new(h(OUR));
        cfg.explore = false;
        let mut db = NetDb::new(cfg, now);
        for n in 1..=40 {
            let _ = db.add_router(
                now,
                RouterSummary {
                    published_ms: now.unix_ms,
                    ..ri(n, true)
                },
            );
        }
        let _ = drain(&mut db);
        let ours = RouterSummary {
            published_ms: now.unix_ms,
            ..ri(OUR, false)
        };
        db.set_our_router_info(now, ours).unwrap();
        let Some(Action::SendStore {
            to, reply_token, ..
        }) = drain(&mut db).first().cloned()
        else {
            panic!()
        };
        assert_eq!(to, by_distance(&Key::from(h(OUR)), 40, now.unix_ms)[0]);
        assert!(db.handle_delivery_status(now, reply_token));
        db.handle_timeout(now.advance(Duration::from_secs(61)));
        assert!(drain(&mut db).is_empty(), "not before midnight + 2 s slack");
        let after = now.advance(Duration::from_secs(62));
        db.handle_timeout(after);
        let Some(Action::SendStore { to, .. }) = drain(&mut db).first().cloned() else {
            panic!()
        };
        assert_eq!(to, by_distance(&Key::from(h(OUR)), 40, after.unix_ms)[0]);
    }

    #[test]
    fn floodfill_answers_lookups_by_the_spec() {
        let (mut db, now) = db_with(|c| c.floodfill = true, 10, 30);
        let path = ReplyPath {
            gateway: h(4242),
            tunnel_id: Some(7),
        };
        // Known RouterInfo: a DatabaseStore.
        let known = Key::from(h(1003));
        let q = IncomingLookup {
            key: known,
            kind: LookupKind::RouterInfo,
            reply: path,
            exclude: vec![],
        };
        assert_eq!(
            db.handle_lookup(now, &q),
            LookupAnswer::Store { key: known }
        );
        // Unknown: the 3 closest floodfills not excluded.
        let want = by_distance(&target(), 10, T0_MS);
        let q = IncomingLookup {
            key: target(),
            kind: LookupKind::RouterInfo,
            reply: path,
            exclude: vec![want[1]],
        };
        assert_eq!(
            db.handle_lookup(now, &q),
            LookupAnswer::SearchReply {
                key: target(),
                peers: vec![want[0], want[2], want[3]]
            }
        );
        // Exploratory (flag, or an all-zero excluded hash): non-floodfills only.
        let rk = routing_key(&target(), T0_MS);
        let mut nff: Vec<RouterHash> = (1000..1030).map(h).collect();
        nff.sort_by_key(|x| rk.distance(x));
        let excl = vec![nff[0]];
        for q in [
            IncomingLookup {
                key: target(),
                kind: LookupKind::Exploratory,
                reply: path,
                exclude: excl.clone(),
            },
            IncomingLookup {
                key: target(),
                kind: LookupKind::RouterInfo,
                reply: path,
                exclude: vec![nff[0], RouterHash([0; 32])],
            },
        ] {
            assert_eq!(
                db.handle_lookup(now, &q),
                LookupAnswer::SearchReply {
                    key: target(),
                    peers: nff[1..=MAX_REPLY_PEERS].to_vec()
                }
            );
        }
        // A non-floodfill drops all but lookups of itself.
        let (mut db, now) = db_with(|_| {}, 10, 30);
        assert_eq!(
            db.handle_lookup(
                now,
                &IncomingLookup {
                    key: known,
                    kind: LookupKind::Any,
                    reply: path,
                    exclude: vec![]
                }
            ),
            LookupAnswer::Drop
        );
        db.set_our_router_info(now, ri(OUR, false)).unwrap();
        let me = Key::from(h(OUR));
        assert_eq!(
            db.handle_lookup(
                now,
                &IncomingLookup {
                    key: me,
                    kind: LookupKind::RouterInfo,
                    reply: path,
                    exclude: vec![]
                }
            ),
            LookupAnswer::Store { key: me }
        );
    }

    #[test]
    fn floodfill_confirms_and_floods_new_fresh_stores() {
        let (mut db, now) = db_with(|c| c.floodfill = true, 10, 0);
        let sender = h(1);
        let newcomer = RouterSummary {
            published_ms: T0_MS - 1000,
            ..ri(777, false)
        };
        assert_eq!(
            store_ri(&mut db, now, newcomer, 1234, sender),
            StoreOutcome::New
        );
        let acts = drain(&mut db);
        let path = ReplyPath {
            gateway: sender,
            tunnel_id: None,
        };
        assert!(acts.contains(&Action::SendDeliveryStatus { msg_id: 1234, path }));
        assert!(acts.contains(&Action::Persist {
            hash: newcomer.hash
        }));
        let rk = routing_key(&Key::from(newcomer.hash), T0_MS);
        let mut want: Vec<RouterHash> = (2..=10).map(h).collect();
        want.sort_by_key(|x| rk.distance(x));
        want.truncate(FLOOD_COUNT);
        assert!(
            acts.contains(&Action::Flood {
                to: want,
                key: Key::from(newcomer.hash)
            }),
            "{acts:?}"
        );
        // Same again: confirmed, not flooded.
        assert_eq!(
            store_ri(&mut db, now, newcomer, 99, sender),
            StoreOutcome::NotNewer
        );
        let acts = drain(&mut db);
        assert_eq!(acts, vec![Action::SendDeliveryStatus { msg_id: 99, path }]);
        // Newer but published over an hour ago: stored, not flooded.
        let stale = RouterSummary {
            published_ms: T0_MS - FLOOD_MAX_AGE_MS - 1,
            ..ri(778, false)
        };
        assert_eq!(store_ri(&mut db, now, stale, 5, sender), StoreOutcome::New);
        assert!(!drain(&mut db)
            .iter()
            .any(|a| matches!(a, Action::Flood { .. })));
        // Token zero: no reply, no flood.
        let quiet = ri(779, false);
        assert_eq!(store_ri(&mut db, now, quiet, 0, sender), StoreOutcome::New);
        assert_eq!(drain(&mut db), vec![Action::Persist { hash: quiet.hash }]);
    }

    #[test]
    fn non_floodfill_refuses_unsolicited_stores() {
        let (mut db, now) = db_with(|_| {}, 3, 0);
        let stranger = ri(555, false);
        assert_eq!(
            store_ri(&mut db, now, stranger, 0, h(1)),
            StoreOutcome::Rejected(RejectReason::Unsolicited)
        );
        // A router storing its own RouterInfo directly is fine.
        assert_eq!(
            store_ri(&mut db, now, stranger, 0, stranger.hash),
            StoreOutcome::New
        );
        // Key mismatch.
        let out = db.handle_database_store(
            now,
            IncomingStore {
                key: target(),
                entry: StoreEntry::RouterInfo(ri(556, false)),
                reply: None,
                from: None,
            },
        );
        assert_eq!(out, StoreOutcome::Rejected(RejectReason::KeyMismatch));
    }

    #[test]
    fn expiry_emits_forget_after_first_hour() {
        let (mut db, now) = db_with(|_| {}, 3, 0);
        for n in 2000..2100u16 {
            let _ = db.add_router(
                now,
                RouterSummary {
                    published_ms: T0_MS - 80 * 3_600_000,
                    ..ri(n, false)
                },
            );
        }
        let _ = drain(&mut db);
        db.handle_timeout(now.advance(Duration::from_secs(120)));
        assert!(
            !drain(&mut db)
                .iter()
                .any(|a| matches!(a, Action::Forget { .. })),
            "first hour: no expiry"
        );
        db.handle_timeout(now.advance(Duration::from_secs(3700)));
        let forgotten: usize = drain(&mut db)
            .iter()
            .map(|a| {
                if let Action::Forget { hashes } = a {
                    hashes.len()
                } else {
                    0
                }
            })
            .sum();
        // Down to the floor of 25, oldest first; the fresh floodfills stay.
        assert_eq!(forgotten, 103 - crate::table::MIN_ROUTERS_KEPT);
        assert_eq!(db.router_count(), crate::table::MIN_ROUTERS_KEPT);
        assert!((1..=3).all(|n| db.get(&h(n)).is_some()));
    }

    #[test]
    fn exploration_sends_flagged_lookups_and_backs_off_when_unproductive() {
        let now = t0();
        let mut db = NetDb::new(NetDbConfig::new(h(OUR)), now);
        for n in 1000..1003 {
            let _ = db.add_router(now, ri(n, false));
        }
        assert!(lookups_sent(&drain(&mut db)).is_empty(), "no floodfill yet");
        // The first floodfill makes exploration possible at once.
        let _ = db.add_router(now, ri(1, true));
        let sent = lookups_sent(&drain(&mut db));
        let explore = sent
            .iter()
            .find(|s| s.2 == LookupKind::Exploratory)
            .expect("exploratory lookup");
        assert_eq!(explore.0, h(1));
        assert!(explore.3.contains(&h(OUR)));
        assert!(
            (1000..1003).all(|n| explore.3.contains(&h(n))),
            "known non-floodfills excluded"
        );
        let ffsearch = sent
            .iter()
            .find(|s| s.2 == LookupKind::RouterInfo)
            .expect("floodfill search");
        assert!(ffsearch.3.contains(&h(1)));
        // The reply names two unknown routers: both are fetched from that floodfill.
        db.handle_search_reply(now, h(1), explore.1, &[h(3000), h(3001), h(1000)]);
        let fetches = lookups_sent(&drain(&mut db));
        let keys: HashSet<Key> = fetches.iter().map(|f| f.1).collect();
        assert_eq!(
            keys,
            [Key::from(h(3000)), Key::from(h(3001))]
                .into_iter()
                .collect()
        );
        assert!(fetches
            .iter()
            .all(|f| f.0 == h(1) && f.2 == LookupKind::RouterInfo));
        db.handle_search_reply(now, h(1), ffsearch.1, &[]);
        // Unproductive rounds push the next exploration further away.
        let mut now = now;
        let mut gaps = Vec::new();
        let mut last = now.instant;
        for _ in 0..6 {
            let t = db.poll_timeout().unwrap();
            now = now.advance(t.saturating_duration_since(now.instant));
            db.handle_timeout(now);
            for s in lookups_sent(&drain(&mut db)) {
                if s.2 == LookupKind::Exploratory {
                    gaps.push(now.instant - last);
                    last = now.instant;
                    db.handle_search_reply(now, s.0, s.1, &[]);
                } else if s.1 != Key::from(h(3000)) && s.1 != Key::from(h(3001)) {
                    db.handle_search_reply(now, s.0, s.1, &[]);
                }
            }
        }
        assert!(gaps.len() >= 3, "{gaps:?}");
        assert!(gaps.windows(2).skip(1).all(|w| w[1] >= w[0]), "{gaps:?}");
        assert!(gaps.last() > gaps.get(1), "{gaps:?}");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u16, bool),
        Lookup(u16),
        Reply(u8, u16, Vec<u16>),
        Store(u16, bool),
        SendFailed(u16),
        Tick(u16),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (1u16..60, any::<bool>()).prop_map(|(n, f)| Op::Add(n, f)),
            (0u16..80).prop_map(Op::Lookup),
            (
                0u8..8,
                0u16..80,
                proptest::collection::vec(0u16..3000, 0..300)
            )
                .prop_map(|(f, k, p)| Op::Reply(f, k, p)),
            (0u16..3000, any::<bool>()).prop_map(|(n, f)| Op::Store(n, f)),
            (1u16..60).prop_map(Op::SendFailed),
            (0u16..20_000).prop_map(Op::Tick),
        ]
    }

    proptest::proptest! {
        /// Any sequence of inputs: no panic, bounds hold, time moves on.
        #[test]
        fn random_inputs_keep_bounds(ops in proptest::collection::vec(op(), 1..120), ff in proptest::bool::ANY) {
            let mut now = t0();
            let mut cfg = NetDbConfig::new(h(OUR));
            cfg.floodfill = ff;
            let mut db = NetDb::new(cfg, now);
            db.set_our_router_info(now, ri(OUR, ff)).unwrap();
            let mut outstanding: Vec<(RouterHash, Key)> = Vec::new();
            for o in ops {
                match o {
                    Op::Add(n, f) => { let _ = db.add_router(now, ri(n, f)); }
                    Op::Lookup(k) => { let _ = db.lookup(now, Key::from(h(k)), LookupKind::RouterInfo); }
                    Op::Reply(i, k, peers) => {
                        let peers: Vec<RouterHash> = peers.into_iter().map(h).collect();
                        let (to, key) = outstanding.get(usize::from(i)).copied().unwrap_or((h(1), Key::from(h(k))));
                        db.handle_search_reply(now, to, key, &peers);
                    }
                    Op::Store(n, f) => {
                        let _ = store_ri(&mut db, now, ri(n, f), u32::from(n), h(1));
                    }
                    Op::SendFailed(n) => db.handle_send_failed(now, h(n)),
                    Op::Tick(ms) => {
                        now = now.advance(Duration::from_millis(u64::from(ms) * 50));
                        db.handle_timeout(now);
                    }
                }
                for a in drain(&mut db) {
                    if let Action::SendLookup { to, key, exclude, .. } = a {
                        proptest::prop_assert!(exclude.len() <= MAX_EXCLUDE);
                        proptest::prop_assert!(to != h(OUR));
                        outstanding.push((to, key));
                    }
                }
                let _ = events(&mut db);
                proptest::prop_assert!(db.lookups_in_flight() <= db.cfg.max_lookups);
                proptest::prop_assert!(db.fetch_queue.len() <= MAX_FETCH_QUEUE);
                proptest::prop_assert!(db.lookups.values().all(|l| l.pending.len() <= MAX_PENDING
                    && l.queried.len() <= l.max_queries));
                proptest::prop_assert!(db.failures.len() <= MAX_FAILURES);
                proptest::prop_assert!(db.router_count() <= db.cfg.max_routers);
                let t = db.poll_timeout().unwrap();
                // A timer in the past is handled in one call, not forever.
                if t <= now.instant {
                    db.handle_timeout(now);
                    let _ = drain(&mut db);
                    let _ = events(&mut db);
                    proptest::prop_assert!(db.poll_timeout().unwrap() > now.instant);
                }
            }
        }
    }
}
