//! The core's side of local destinations: adding them, keeping their LeaseSets
//! fresh and stored, what comes out of their inbound tunnels, and remote LeaseSet
//! lookups with a bounded cache (network-database.md, "LeaseSet Storage to
//! Floodfills", "LeaseSet Lookup").

use std::collections::HashMap;
use std::time::Duration;

use i2p_netdb::{IncomingStore, Key, LookupKind, StoreEntry};
use i2p_wire::i2np::{DatabaseStore, Payload};
use i2p_wire::{BlindedAddress, Hash, I2npMessage, LeaseSet2};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tracing::{debug, info};

use super::{now, random_msg_id, unix_ms, Core};
use crate::destinations::{DestinationInfo, DestinationSpec, LocalDestination, LookupError};
use crate::status::DestinationStatus;
use crate::tunnels::PoolKey;

/// Most remote LeaseSets kept.
const MAX_LEASESETS: usize = 4096;
/// Most callers waiting for one LeaseSet, and for all of them.
const MAX_WAITERS_PER_KEY: usize = 64;
const MAX_WAITING_KEYS: usize = 1024;
/// A remote LeaseSet is fetched again for stalled streams at most this often.
pub(super) const LEASESET_REFRESH: Duration = Duration::from_secs(30);
/// Floodfills a LeaseSet is stored at, closest first.
const STORE_CANDIDATES: usize = 4;

/// What the core keeps for destinations.
#[derive(Default)]
pub(crate) struct DestState {
    pub(super) by_id: std::collections::BTreeMap<u32, LocalDestination>,
    next_id: u32,
    /// Remote LeaseSets, verified, by destination hash.
    pub(super) leasesets: HashMap<Hash, LeaseSet2>,
    waiters: HashMap<Hash, Vec<oneshot::Sender<Result<LeaseSet2, LookupError>>>>,
    /// End-to-end state of each destination (garlic sessions, streams).
    pub(super) runtime: HashMap<u32, super::streams::DestRuntime>,
    /// Encrypted LeaseSets being looked up: the address that opens the one stored
    /// under each blinded hash.
    blinded_lookups: HashMap<Hash, BlindedAddress>,
    /// Destination hashes of the addresses whose LeaseSet we opened, and those
    /// addresses, by signing key.
    blinded_known: HashMap<[u8; 32], (Hash, BlindedAddress)>,
    /// When each remote LeaseSet was last fetched again for a stalled stream.
    refreshed: HashMap<Hash, Instant>,
}

pub(crate) type LookupReply = oneshot::Sender<Result<LeaseSet2, LookupError>>;

impl Core {
    /// Starts running a destination: its client pool, then its LeaseSet.
    /// `None` if a destination with the same keys already runs.
    pub(crate) fn add_destination(&mut self, spec: DestinationSpec) -> Option<DestinationInfo> {
        let hash = spec.keys.destination().hash();
        if self.dests.by_id.values().any(|d| d.hash() == hash) {
            info!(target: "gousse::dest", name = %spec.name, "destination already running");
            return None;
        }
        let id = self.dests.next_id;
        self.dests.next_id += 1;
        let now_std = Instant::now().into_std();
        self.tunnels.add_client_pool(id, spec.pool, now_std);
        self.dests
            .runtime
            .insert(id, super::streams::DestRuntime::new(&spec.keys));
        let d = LocalDestination::new(spec.name, spec.keys, spec.publish, spec.encrypted_leaseset);
        let info = DestinationInfo {
            id,
            hash: d.hash(),
            b32: d.b32(),
            b33: d.b33(),
        };
        info!(target: "gousse::dest", name = %d.name, b32 = %info.b32, b33 = ?info.b33, "destination added");
        self.dests.by_id.insert(id, d);
        let mut out = Vec::new();
        self.tunnels
            .handle_timeout(now_std, unix_ms(), &self.routers, &mut out);
        self.run_outs(out);
        Some(info)
    }

    /// Stops running a destination; its tunnels expire at their hops.
    pub(crate) fn remove_destination(&mut self, id: u32) {
        self.dests.runtime.remove(&id);
        if let Some(d) = self.dests.by_id.remove(&id) {
            info!(target: "gousse::dest", name = %d.name, "destination removed");
            self.tunnels.remove_client_pool(id);
        }
    }

    /// Rebuilds LeaseSets whose tunnels changed and sends the stores that are due.
    pub(crate) fn tick_destinations(&mut self) {
        let now_std = Instant::now().into_std();
        let now_ms = unix_ms();
        let now_s = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        let ids: Vec<u32> = self.dests.by_id.keys().copied().collect();
        for id in ids {
            let pool = PoolKey::Client(id);
            let gateways = self.tunnels.inbound_gateways(pool);
            let leases: Vec<(Hash, u32, u32)> = gateways
                .iter()
                .map(|(gw, tid, expires)| {
                    let left = expires.saturating_duration_since(now_std).as_secs();
                    (
                        *gw,
                        *tid,
                        now_s.saturating_add(u32::try_from(left).unwrap_or(u32::MAX)),
                    )
                })
                .collect();
            let has_outbound = self.tunnels.counts(pool).1 > 0;
            let Some(d) = self.dests.by_id.get_mut(&id) else {
                continue;
            };
            let fresh = d.refresh(now_std, now_s, &leases);
            if fresh || has_outbound {
                // Streams and datagrams held until we had a LeaseSet and an outbound
                // tunnel can go now.
                self.flush_waiting(id);
            }
            // After a failed tunnel test, once the LeaseSet no longer names the
            // tunnels that failed (the resent packets carry it).
            if let Some(rt) = self.dests.runtime.get_mut(&id) {
                if std::mem::take(&mut rt.route_changed) {
                    self.resend_stalled(id, None);
                }
            }
            let Some(d) = self.dests.by_id.get_mut(&id) else {
                continue;
            };
            if !has_outbound {
                continue;
            }
            let closest: Vec<Hash> = self
                .netdb
                .closest_floodfills(&Key(d.store_key().0), now_ms, STORE_CANDIDATES, &[])
                .into_iter()
                .map(|h| Hash(h.0))
                .collect();
            // The reply comes back through one of our inbound tunnels, a different
            // one each time, so that one broken tunnel does not fail every store.
            let pick = u64::try_from(gateways.len()).unwrap_or(0);
            let reply = (pick > 0)
                .then(|| usize::try_from(i2p_crypto::random_below(pick)).unwrap_or(0))
                .and_then(|i| gateways.get(i))
                .map(|(g, t, _)| (*g, *t));
            let token = random_msg_id().max(1);
            if let Some(req) = d.poll_store(now_std, &closest, reply, token) {
                debug!(target: "gousse::dest", name = %d.name, floodfill = %req.floodfill, "storing our LeaseSet");
                if !self.send_via_tunnel_of(pool, req.floodfill, Payload::DatabaseStore(req.store))
                {
                    debug!(target: "gousse::dest", "LeaseSet store could not be sent");
                }
            }
        }
    }

    /// A message that came out of an inbound tunnel of destination `id`.
    pub(crate) fn on_destination_message(&mut self, id: u32, msg: I2npMessage) {
        let payload = match msg.parse_payload() {
            Ok(p) => p,
            Err(e) => {
                self.counters
                    .bad_messages
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                debug!(target: "gousse::dest", "malformed message for a destination: {e}");
                return;
            }
        };
        match payload {
            Payload::DeliveryStatus(ds) => {
                let now_std = Instant::now().into_std();
                if self.tunnels.handle_delivery_status(now_std, ds.msg_id) {
                    return;
                }
                let confirmed = self
                    .dests
                    .by_id
                    .get_mut(&id)
                    .is_some_and(|d| d.handle_delivery_status(ds.msg_id));
                if !confirmed {
                    debug!(target: "gousse::dest", msg_id = ds.msg_id, "unexpected DeliveryStatus");
                }
            }
            Payload::DatabaseStore(store) => {
                self.on_database_store_via_tunnel(store);
                self.drain_netdb();
            }
            Payload::Garlic(_) => self.on_destination_garlic(id, &msg.payload),
            other => {
                debug!(target: "gousse::dest", msg_type = other.msg_type().0, "message for a destination not handled");
            }
        }
    }

    /// An encrypted LeaseSet that came down one of our tunnels, the answer to a
    /// lookup of ours: opened with the address we looked up, its LeaseSet2 kept.
    /// False if it is not one, or not one we asked for.
    fn keep_encrypted_leaseset(&mut self, store: &DatabaseStore) -> bool {
        if store.store_type() != i2p_wire::encrypted_leaseset::STORE_TYPE {
            return false;
        }
        let Some(address) = self.dests.blinded_lookups.get(&store.key).cloned() else {
            // Not the answer to a lookup of ours: the netDb handles it as any store.
            return false;
        };
        let opened = store
            .parse_encrypted_lease_set()
            .and_then(|e| e.decrypt(&address));
        match opened {
            Ok(ls) => {
                self.dests.blinded_lookups.remove(&store.key);
                if self.dests.blinded_known.len() >= MAX_LEASESETS {
                    self.dests.blinded_known.clear();
                }
                self.dests
                    .blinded_known
                    .insert(*address.public_key(), (ls.hash(), address));
                debug!(target: "gousse::dest", key = %store.key, dest = %ls.hash(), "encrypted LeaseSet opened");
                self.keep_verified_leaseset(ls, store.key);
            }
            Err(e) => {
                debug!(target: "gousse::dest", key = %store.key, "encrypted LeaseSet refused: {e}");
            }
        }
        true
    }

    /// A LeaseSet2 store that came down one of our tunnels (a lookup's answer):
    /// verified, kept, and the lookup ended. False if it is not a LeaseSet2 or an
    /// encrypted LeaseSet.
    pub(crate) fn keep_leaseset(&mut self, store: &DatabaseStore) -> bool {
        if self.keep_encrypted_leaseset(store) {
            return true;
        }
        let Ok(unchecked) = store.parse_lease_set2() else {
            return false;
        };
        let ls = match unchecked.verify() {
            Ok(ls) => ls,
            Err(e) => {
                debug!(target: "gousse::dest", key = %store.key, "LeaseSet2 refused: {e}");
                return true;
            }
        };
        self.keep_verified_leaseset(ls, store.key);
        true
    }

    /// Keeps a verified LeaseSet2 that was stored under `store_key` (its hash, or a
    /// blinded hash), ends that lookup and answers who waits for it.
    fn keep_verified_leaseset(&mut self, ls: LeaseSet2, store_key: Hash) {
        if ls.is_expired(unix_ms()) {
            return;
        }
        let key = ls.hash();
        let newer = self
            .dests
            .leasesets
            .get(&key)
            .is_none_or(|old| old.published() <= ls.published());
        if newer {
            if self.dests.leasesets.len() >= MAX_LEASESETS
                && !self.dests.leasesets.contains_key(&key)
            {
                let now_ms = unix_ms();
                self.dests.leasesets.retain(|_, l| !l.is_expired(now_ms));
                if self.dests.leasesets.len() >= MAX_LEASESETS {
                    // Drop the one closest to expiry.
                    if let Some(k) = self
                        .dests
                        .leasesets
                        .iter()
                        .min_by_key(|(_, l)| l.expires())
                        .map(|(k, _)| *k)
                    {
                        self.dests.leasesets.remove(&k);
                    }
                }
            }
            debug!(target: "gousse::dest", key = %key, leases = ls.leases().len(), "LeaseSet2 kept");
            let replaced = self
                .dests
                .leasesets
                .insert(key, ls.clone())
                .is_some_and(|old| old.published() < ls.published());
            if replaced {
                // New leases: streams that stalled on the old ones try them now.
                let ids: Vec<u32> = self.dests.runtime.keys().copied().collect();
                for id in ids {
                    self.resend_stalled(id, Some(&key));
                }
            }
        }
        let _ = self.netdb.handle_database_store(
            now(),
            IncomingStore {
                key: Key(store_key.0),
                entry: StoreEntry::LeaseSet,
                reply: None,
                from: None,
            },
        );
        for k in [key, store_key] {
            if let Some(waiters) = self.dests.waiters.remove(&k) {
                for w in waiters {
                    let _ = w.send(Ok(ls.clone()));
                }
            }
        }
    }

    /// Looks up the LeaseSet of `hash`: from the cache, else from the floodfills
    /// through our tunnels.
    pub(crate) fn lookup_leaseset(&mut self, hash: Hash, reply: LookupReply) {
        let now_ms = unix_ms();
        if let Some(ls) = self
            .dests
            .leasesets
            .get(&hash)
            .filter(|l| !l.is_expired(now_ms))
        {
            let _ = reply.send(Ok(ls.clone()));
            return;
        }
        if let Some(d) = self.dests.by_id.values().find(|d| d.hash() == hash) {
            if let Some(ls) = d.leaseset() {
                let _ = reply.send(Ok(ls.clone()));
                return;
            }
        }
        let b32 = format!("{}.b32.i2p", hash.to_base32());
        self.start_leaseset_lookup(hash, b32, reply);
    }

    /// Looks up the encrypted LeaseSet of a `b33` address under today's blinded hash
    /// and opens it; the answer is its LeaseSet2, kept like any other.
    pub(crate) fn lookup_blinded(&mut self, address: BlindedAddress, reply: LookupReply) {
        let host = address.to_host();
        if address.needs_authorization() {
            let _ = reply.send(Err(LookupError::CannotStart(
                host,
                "this address needs a secret or client authorization, which Gousse does not support yet".into(),
            )));
            return;
        }
        let now_ms = unix_ms();
        if let Some(ls) = self
            .dests
            .blinded_known
            .get(address.public_key())
            .and_then(|(h, _)| self.dests.leasesets.get(h))
            .filter(|l| !l.is_expired(now_ms))
        {
            let _ = reply.send(Ok(ls.clone()));
            return;
        }
        match self.blinded_lookup_key(address) {
            Ok(store_key) => self.start_leaseset_lookup(store_key, host, reply),
            Err(why) => {
                let _ = reply.send(Err(LookupError::CannotStart(host, why)));
            }
        }
    }

    /// Today's blinded hash of `address`, under which its encrypted LeaseSet is
    /// looked up; the address is kept to open the answer.
    fn blinded_lookup_key(&mut self, address: BlindedAddress) -> Result<Hash, String> {
        let date = i2p_wire::encrypted_leaseset::date_string(unix_ms() / 1000);
        let store_key = address.store_hash(&date).map_err(|e| e.to_string())?;
        if !self.dests.blinded_lookups.contains_key(&store_key)
            && self.dests.blinded_lookups.len() >= MAX_WAITING_KEYS
        {
            return Err("too many lookups".into());
        }
        self.dests.blinded_lookups.insert(store_key, address);
        Ok(store_key)
    }

    /// Waits for the LeaseSet stored under `key`, starting its lookup if nobody
    /// else waits for it already. `name` is for error messages.
    fn start_leaseset_lookup(&mut self, hash: Hash, b32: String, reply: LookupReply) {
        let waiting = self.dests.waiters.len();
        let list = match self.dests.waiters.get_mut(&hash) {
            Some(l) => l,
            None if waiting >= MAX_WAITING_KEYS => {
                let _ = reply.send(Err(LookupError::CannotStart(
                    b32,
                    "too many lookups".into(),
                )));
                return;
            }
            None => self.dests.waiters.entry(hash).or_default(),
        };
        if list.len() >= MAX_WAITERS_PER_KEY {
            let _ = reply.send(Err(LookupError::CannotStart(
                b32,
                "too many waiting".into(),
            )));
            return;
        }
        list.push(reply);
        if !self.netdb.is_looking_up(&Key(hash.0)) {
            if let Err(e) = self.netdb.lookup(now(), Key(hash.0), LookupKind::LeaseSet) {
                if let Some(ws) = self.dests.waiters.remove(&hash) {
                    for w in ws {
                        let _ = w.send(Err(LookupError::CannotStart(b32.clone(), e.to_string())));
                    }
                }
                return;
            }
            self.drain_netdb();
        }
    }

    /// Fetches the LeaseSet of `hash` from the floodfills again though we hold one
    /// (see `route_stalled`), at most every [`LEASESET_REFRESH`]; a newer answer
    /// replaces the cached copy. An encrypted LeaseSet is fetched under today's
    /// blinded hash of the address that opened it.
    pub(crate) fn refresh_leaseset(&mut self, hash: Hash) {
        let at = Instant::now();
        let fresh = |t: &Instant| at < *t + LEASESET_REFRESH;
        if self.dests.refreshed.get(&hash).is_some_and(fresh) {
            return;
        }
        if self.dests.refreshed.len() >= MAX_WAITING_KEYS {
            self.dests.refreshed.retain(|_, t| fresh(t));
            if self.dests.refreshed.len() >= MAX_WAITING_KEYS {
                return;
            }
        }
        self.dests.refreshed.insert(hash, at);
        let blinded = self
            .dests
            .blinded_known
            .values()
            .find(|(h, _)| *h == hash)
            .map(|(_, a)| a.clone());
        let key = match blinded {
            Some(address) => match self.blinded_lookup_key(address) {
                Ok(store_key) => store_key,
                Err(_) => return,
            },
            None => hash,
        };
        if self.netdb.is_looking_up(&Key(key.0)) {
            return;
        }
        match self.netdb.lookup(now(), Key(key.0), LookupKind::LeaseSet) {
            Ok(_) => {
                debug!(target: "gousse::dest", dest = %hash, "fetching a LeaseSet again for a stalled stream");
                self.drain_netdb();
            }
            Err(e) => {
                debug!(target: "gousse::dest", dest = %hash, "cannot fetch a LeaseSet again: {e}")
            }
        }
    }

    /// The netDb gave up on a lookup: tell whoever waits for that LeaseSet.
    pub(crate) fn leaseset_lookup_failed(&mut self, key: Hash) {
        let blinded = self.dests.blinded_lookups.remove(&key);
        if let Some(ws) = self.dests.waiters.remove(&key) {
            let b32 = blinded
                .map(|a| a.to_host())
                .unwrap_or_else(|| format!("{}.b32.i2p", key.to_base32()));
            for w in ws {
                let _ = w.send(Err(LookupError::NotFound(b32.clone())));
            }
        }
    }

    /// The destinations for the status.
    pub(crate) fn destination_status(&self) -> Vec<DestinationStatus> {
        self.dests
            .by_id
            .iter()
            .map(|(id, d)| {
                let (inbound, outbound) = self.tunnels.counts(PoolKey::Client(*id));
                DestinationStatus {
                    name: d.name.clone(),
                    b32: d.b32(),
                    b33: d.b33(),
                    inbound_tunnels: inbound,
                    outbound_tunnels: outbound,
                    leases: d.leaseset().map_or(0, |l| l.leases().len()),
                    publishes: d.publishes(),
                    leaseset_stored: d.published(),
                    leaseset_stores_confirmed: d.stores_confirmed,
                }
            })
            .collect()
    }
}
