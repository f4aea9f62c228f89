//! The known-router table: one [`RouterSummary`] per router hash, an index of
//! floodfills, an age index for expiry and eviction, and k-closest selection.
//!
//! Spec: network-database.md, "RouterInfo Expiration" (the policy this table
//! follows, see [`max_age_ms`]) and "Kademlia Closeness Metric".

use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::time::Duration;

use crate::key::{Distance, RouterHash, RoutingKey};

/// What the netDb needs to know of a RouterInfo. The router derives it from a
/// parsed RouterInfo whose signature it has checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterSummary {
    /// SHA-256 of the RouterIdentity.
    pub hash: RouterHash,
    /// The RouterInfo's `published` date, unix milliseconds.
    pub published_ms: u64,
    /// The caps option contains `f` (network-database.md, "Floodfill").
    pub floodfill: bool,
    /// The RouterInfo has an NTCP2 address we can connect to.
    pub reachable: bool,
    /// The `netId` option matches ours.
    pub net_id_ok: bool,
}

/// What happened to a RouterInfo offered to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreOutcome {
    /// A router we did not know.
    New,
    /// A newer `published` replaced our copy.
    Updated,
    /// Our copy is as new or newer; nothing changed.
    NotNewer,
    /// Refused; nothing changed.
    Rejected(RejectReason),
}

impl StoreOutcome {
    /// The table changed (the router should persist the RouterInfo bytes).
    pub fn is_stored(self) -> bool {
        matches!(self, StoreOutcome::New | StoreOutcome::Updated)
    }
}

/// Why a RouterInfo was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The `netId` differs from ours.
    WrongNetId,
    /// The DatabaseStore key is not the RouterInfo's hash.
    KeyMismatch,
    /// A store of a RouterInfo we neither asked for nor know, and we are not a
    /// floodfill.
    Unsolicited,
    /// The table is full and everything in it is newer.
    TableFull,
    /// Someone else offered our own RouterInfo.
    OurOwn,
    /// A LeaseSet: this crate keeps no LeaseSets.
    NotARouterInfo,
}

/// Below this many routers nothing expires (network-database.md: "There is no
/// expiration if there are 25 or less RouterInfos"), so a small test network is
/// never emptied.
pub const MIN_ROUTERS_KEPT: usize = 25;

/// No expiry during the first hour of uptime (network-database.md: "as the
/// persistent stored data may be old").
pub const NO_EXPIRY_UPTIME: Duration = Duration::from_secs(3600);

const HOUR_MS: u64 = 3_600_000;

/// The age after which a RouterInfo is dropped, for a table of `n` routers.
///
/// Our rule, fitted to the figures network-database.md gives for the Java
/// router: 72 h up to 120 routers, falling linearly to 30 h at 300 routers,
/// then `30 h * 300 / n` (so that the table tends to a steady size), never
/// below 8 h: RouterInfos are republished about hourly and refreshed by our own
/// lookups, so 8 h is a generous margin while keeping memory bounded on phones.
/// A floodfill uses 1 h for all ("valid RouterInfos will be frequently
/// republished to them").
pub fn max_age_ms(n: usize, floodfill: bool) -> u64 {
    if floodfill {
        return HOUR_MS;
    }
    let n = n as u64;
    if n <= 120 {
        72 * HOUR_MS
    } else if n < 300 {
        72 * HOUR_MS - (42 * HOUR_MS) * (n - 120) / 180
    } else {
        (30 * HOUR_MS * 300 / n).max(8 * HOUR_MS)
    }
}

/// The `k` hashes closest to `target` among `candidates` (filtered by `keep`),
/// closest first. O(n log k): a bounded max-heap, no full sort.
pub fn closest<'a, I, F>(
    target: &RoutingKey,
    candidates: I,
    k: usize,
    mut keep: F,
) -> Vec<RouterHash>
where
    I: IntoIterator<Item = &'a RouterHash>,
    F: FnMut(&RouterHash) -> bool,
{
    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<(Distance, RouterHash)> = BinaryHeap::with_capacity(k + 1);
    for h in candidates {
        if !keep(h) {
            continue;
        }
        let d = target.distance(h);
        if heap.len() < k {
            heap.push((d, *h));
        } else if let Some(top) = heap.peek() {
            if d < top.0 {
                heap.pop();
                heap.push((d, *h));
            }
        }
    }
    let mut v = heap.into_vec();
    v.sort_unstable();
    v.into_iter().map(|(_, h)| h).collect()
}

/// The table of known routers.
#[derive(Debug)]
pub(crate) struct RouterTable {
    routers: HashMap<RouterHash, RouterSummary>,
    floodfills: HashSet<RouterHash>,
    /// (published_ms, hash), oldest first; our own entry is not in it.
    by_age: BTreeSet<(u64, RouterHash)>,
    our: RouterHash,
    max: usize,
}

impl RouterTable {
    pub(crate) fn new(our: RouterHash, max: usize) -> Self {
        Self {
            routers: HashMap::new(),
            floodfills: HashSet::new(),
            by_age: BTreeSet::new(),
            our,
            max: max.max(MIN_ROUTERS_KEPT),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.routers.len()
    }

    pub(crate) fn floodfill_count(&self) -> usize {
        self.floodfills.len()
    }

    pub(crate) fn get(&self, h: &RouterHash) -> Option<&RouterSummary> {
        self.routers.get(h)
    }

    pub(crate) fn contains(&self, h: &RouterHash) -> bool {
        self.routers.contains_key(h)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &RouterSummary> {
        self.routers.values()
    }

    /// Adds or updates; newer `published` wins. Returns the outcome and the
    /// hash evicted to make room, if any.
    pub(crate) fn insert(&mut self, s: RouterSummary) -> (StoreOutcome, Option<RouterHash>) {
        if !s.net_id_ok {
            return (StoreOutcome::Rejected(RejectReason::WrongNetId), None);
        }
        if let Some(old) = self.routers.get(&s.hash).copied() {
            if s.published_ms <= old.published_ms {
                return (StoreOutcome::NotNewer, None);
            }
            self.remove(&s.hash);
            self.put(s);
            return (StoreOutcome::Updated, None);
        }
        let mut evicted = None;
        if self.routers.len() >= self.max && s.hash != self.our {
            match self.eviction_candidate() {
                Some((published, victim)) if published < s.published_ms => {
                    self.remove(&victim);
                    evicted = Some(victim);
                }
                _ => return (StoreOutcome::Rejected(RejectReason::TableFull), None),
            }
        }
        self.put(s);
        (StoreOutcome::New, evicted)
    }

    /// Eviction rule when full: the oldest-published non-floodfill; if all are
    /// floodfills, the oldest floodfill. Floodfills are kept longer because
    /// every lookup and publish needs them. Never our own entry.
    fn eviction_candidate(&self) -> Option<(u64, RouterHash)> {
        let non_ff = self
            .by_age
            .iter()
            .find(|(_, h)| !self.floodfills.contains(h))
            .copied();
        non_ff.or_else(|| self.by_age.iter().next().copied())
    }

    fn put(&mut self, s: RouterSummary) {
        if s.floodfill {
            self.floodfills.insert(s.hash);
        }
        if s.hash != self.our {
            self.by_age.insert((s.published_ms, s.hash));
        }
        self.routers.insert(s.hash, s);
    }

    pub(crate) fn remove(&mut self, h: &RouterHash) -> Option<RouterSummary> {
        let s = self.routers.remove(h)?;
        self.floodfills.remove(h);
        self.by_age.remove(&(s.published_ms, s.hash));
        Some(s)
    }

    /// Drops RouterInfos older than [`max_age_ms`], oldest first, never going
    /// below [`MIN_ROUTERS_KEPT`], never our own, never during the first hour
    /// of uptime. Returns the removed hashes.
    pub(crate) fn expire(
        &mut self,
        now_ms: u64,
        uptime: Duration,
        floodfill_mode: bool,
    ) -> Vec<RouterHash> {
        let mut gone = Vec::new();
        if uptime < NO_EXPIRY_UPTIME {
            return gone;
        }
        let limit = max_age_ms(self.routers.len(), floodfill_mode);
        while self.routers.len() > MIN_ROUTERS_KEPT {
            let Some(&(published, h)) = self.by_age.iter().next() else {
                break;
            };
            if now_ms.saturating_sub(published) <= limit {
                break;
            }
            self.remove(&h);
            gone.push(h);
        }
        gone
    }

    /// Closest `k` reachable floodfills to `target`, except `our` and those
    /// `skip` rejects.
    pub(crate) fn closest_floodfills<F>(
        &self,
        target: &RoutingKey,
        k: usize,
        mut skip: F,
    ) -> Vec<RouterHash>
    where
        F: FnMut(&RouterHash) -> bool,
    {
        let our = self.our;
        closest(target, self.floodfills.iter(), k, |h| {
            *h != our && self.routers.get(h).is_some_and(|s| s.reachable) && !skip(h)
        })
    }

    /// Closest `k` non-floodfill routers to `target`, except `our` and those
    /// `skip` rejects.
    pub(crate) fn closest_non_floodfills<F>(
        &self,
        target: &RoutingKey,
        k: usize,
        mut skip: F,
    ) -> Vec<RouterHash>
    where
        F: FnMut(&RouterHash) -> bool,
    {
        let our = self.our;
        closest(target, self.routers.keys(), k, |h| {
            *h != our && !self.floodfills.contains(h) && !skip(h)
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;
    use crate::key::{routing_key, Key};
    use proptest::prelude::*;

    fn h(n: u8) -> RouterHash {
        RouterHash(i2p_crypto::hash::sha256(&[n]))
    }

    fn s(n: u8, published_ms: u64, floodfill: bool) -> RouterSummary {
        RouterSummary {
            hash: h(n),
            published_ms,
            floodfill,
            reachable: true,
            net_id_ok: true,
        }
    }

    #[test]
    fn newer_published_wins() {
        let mut t = RouterTable::new(h(0), 100);
        assert_eq!(t.insert(s(1, 10, false)).0, StoreOutcome::New);
        assert_eq!(t.insert(s(1, 10, true)).0, StoreOutcome::NotNewer);
        assert_eq!(t.floodfill_count(), 0);
        assert_eq!(t.insert(s(1, 11, true)).0, StoreOutcome::Updated);
        assert_eq!(t.floodfill_count(), 1);
        assert_eq!(t.insert(s(1, 12, false)).0, StoreOutcome::Updated);
        assert_eq!(t.floodfill_count(), 0);
        assert_eq!(t.len(), 1);
        let mut bad = s(2, 1, false);
        bad.net_id_ok = false;
        assert_eq!(
            t.insert(bad).0,
            StoreOutcome::Rejected(RejectReason::WrongNetId)
        );
    }

    #[test]
    fn full_table_evicts_oldest_non_floodfill() {
        let mut t = RouterTable::new(h(0), 30);
        t.insert(s(1, 5, true)); // oldest, but a floodfill
        for n in 2..=30 {
            t.insert(s(n, 100 + u64::from(n), false));
        }
        assert_eq!(t.len(), 30);
        let (o, ev) = t.insert(s(99, 1000, false));
        assert_eq!(o, StoreOutcome::New);
        assert_eq!(ev, Some(h(2)));
        assert!(t.contains(&h(1)));
        assert_eq!(t.len(), 30);
        // Older than everything evictable: refused.
        assert_eq!(
            t.insert(s(98, 1, false)).0,
            StoreOutcome::Rejected(RejectReason::TableFull)
        );
    }

    #[test]
    fn expiry_keeps_floor_own_entry_and_first_hour() {
        let day = 24 * HOUR_MS;
        let now = 10 * day;
        let mut t = RouterTable::new(h(0), 1000);
        t.insert(s(0, 0, false)); // ours, ancient
        for n in 1..=40 {
            t.insert(s(n, u64::from(n), false)); // all ancient
        }
        assert!(t.expire(now, Duration::from_secs(60), false).is_empty());
        let gone = t.expire(now, Duration::from_secs(7200), false);
        assert_eq!(gone.len(), 41 - MIN_ROUTERS_KEPT);
        assert_eq!(t.len(), MIN_ROUTERS_KEPT);
        assert!(t.contains(&h(0)));
        assert!(
            gone.contains(&h(1)) && !gone.contains(&h(40)),
            "oldest go first"
        );
        // Fresh ones stay.
        let mut t = RouterTable::new(h(0), 1000);
        for n in 1..=40 {
            t.insert(s(n, now - HOUR_MS, false));
        }
        assert!(t.expire(now, Duration::from_secs(7200), false).is_empty());
        assert_eq!(
            t.expire(now, Duration::from_secs(7200), true).len(),
            0,
            "1 h is not over 1 h"
        );
        assert_eq!(
            t.expire(now + 1, Duration::from_secs(7200), true).len(),
            40 - MIN_ROUTERS_KEPT
        );
    }

    #[test]
    fn max_age_follows_spec_figures() {
        assert_eq!(max_age_ms(50, false), 72 * HOUR_MS);
        assert_eq!(max_age_ms(300, false), 30 * HOUR_MS);
        assert!(max_age_ms(200, false) < 72 * HOUR_MS && max_age_ms(200, false) > 30 * HOUR_MS);
        assert_eq!(max_age_ms(100_000, false), 8 * HOUR_MS);
        assert_eq!(max_age_ms(10, true), HOUR_MS);
    }

    proptest! {
        #[test]
        fn closest_matches_brute_force(
            seeds in proptest::collection::hash_set(any::<[u8; 32]>(), 0..300),
            target in any::<[u8; 32]>(),
            k in 0usize..20,
            day in 0u64..30_000,
            excl_mod in 2usize..7,
        ) {
            let hashes: Vec<RouterHash> = seeds.iter().map(|b| RouterHash(*b)).collect();
            let rk = routing_key(&Key(target), day * crate::key::DAY_MS);
            let excluded: HashSet<RouterHash> =
                hashes.iter().step_by(excl_mod).copied().collect();
            let got = closest(&rk, hashes.iter(), k, |h| !excluded.contains(h));
            let mut all: Vec<RouterHash> = hashes.iter().filter(|h| !excluded.contains(h)).copied().collect();
            all.sort_by_key(|h| rk.distance(h));
            all.truncate(k);
            prop_assert_eq!(got, all);
        }
    }
}
