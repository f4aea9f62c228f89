//! In-memory simulation of a small I2P network with virtual time: the simulated
//! floodfills answer the node's actions by the rules of network-database.md
//! and i2np.rst, written here independently of the crate (brute-force sorts).

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use i2p_netdb::{
    Action, Event, IncomingStore, Key, LookupKind, NetDb, NetDbConfig, Now, RouterHash,
    RouterSummary, StoreEntry,
};

/// 2026-11-26T12:00:00Z.
const T0_MS: u64 = 1_795_694_400_000;
const LATENCY: Duration = Duration::from_millis(80);

fn h(n: u16) -> RouterHash {
    RouterHash(i2p_crypto::hash::sha256(&n.to_be_bytes()))
}

/// The routing key and distance, from the spec's formula.
fn dist(key: &[u8; 32], router: &RouterHash, unix_ms: u64) -> [u8; 32] {
    let days = unix_ms / 86_400_000;
    // Civil date by counting days (slow, obviously right).
    let (mut y, mut d) = (1970u64, days);
    loop {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let len = if leap { 366 } else { 365 };
        if d < len {
            break;
        }
        d -= len;
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    let date = format!("{y:04}{:02}{:02}", m + 1, d + 1);
    let mut buf = key.to_vec();
    buf.extend_from_slice(date.as_bytes());
    let rk = i2p_crypto::hash::sha256(&buf);
    let mut out = [0u8; 32];
    for i in 0..32 {
        out[i] = rk[i] ^ router.0[i];
    }
    out
}

enum Msg {
    Store {
        from: RouterHash,
        summary: RouterSummary,
    },
    Search {
        from: RouterHash,
        key: Key,
        peers: Vec<RouterHash>,
    },
    Status {
        token: u32,
    },
}

struct Sim {
    now: Now,
    node: NetDb,
    our: RouterHash,
    routers: HashMap<RouterHash, RouterSummary>,
    /// What each floodfill knows.
    knows: HashMap<RouterHash, HashSet<RouterHash>>,
    dead: HashSet<RouterHash>,
    inbox: Vec<(Instant, Msg)>,
    stores: Vec<(RouterHash, Key)>,
    events: Vec<Event>,
    lookups_sent: usize,
}

impl Sim {
    /// `n` routers, the first `ffs` of them floodfills; every floodfill knows
    /// everyone; the node knows only floodfill 1.
    fn new(n: u16, ffs: u16) -> Self {
        Self::build(n, ffs, true)
    }

    fn build(n: u16, ffs: u16, explore: bool) -> Self {
        let now = Now::new(Instant::now(), T0_MS);
        let mut routers = HashMap::new();
        for i in 1..=n {
            let s = RouterSummary {
                hash: h(i),
                published_ms: T0_MS - 600_000,
                floodfill: i <= ffs,
                reachable: true,
                net_id_ok: true,
            };
            routers.insert(s.hash, s);
        }
        let all: HashSet<RouterHash> = routers.keys().copied().collect();
        let knows = (1..=ffs).map(|i| (h(i), all.clone())).collect();
        let our = h(0);
        let mut cfg = NetDbConfig::new(our);
        cfg.explore = explore;
        let node = NetDb::new(cfg, now);
        let mut sim = Sim {
            now,
            node,
            our,
            routers,
            knows,
            dead: HashSet::new(),
            inbox: Vec::new(),
            stores: Vec::new(),
            events: Vec::new(),
            lookups_sent: 0,
        };
        let seed = sim.routers[&h(1)];
        let _ = sim.node.add_router(now, seed);
        sim
    }

    fn is_ff(&self, r: &RouterHash) -> bool {
        self.routers.get(r).is_some_and(|s| s.floodfill)
    }

    /// Answers one action as the simulated network would.
    fn act(&mut self, a: Action) {
        let at = self.now.instant + LATENCY;
        match a {
            Action::SendLookup {
                to,
                key,
                kind,
                exclude,
                ..
            } => {
                self.lookups_sent += 1;
                if !self.is_ff(&to) || self.dead.contains(&to) {
                    return;
                }
                let known = &self.knows[&to];
                let rh = RouterHash(key.0);
                let excl: HashSet<RouterHash> = exclude.iter().copied().collect();
                let msg = if kind == LookupKind::Exploratory {
                    // Non-floodfills close to the key, at most 16.
                    let mut v: Vec<RouterHash> = known
                        .iter()
                        .filter(|r| !self.is_ff(r) && !excl.contains(r) && **r != to)
                        .copied()
                        .collect();
                    v.sort_by_key(|r| dist(&key.0, r, self.now.unix_ms));
                    v.truncate(16);
                    Msg::Search {
                        from: to,
                        key,
                        peers: v,
                    }
                } else if kind != LookupKind::LeaseSet && known.contains(&rh) {
                    Msg::Store {
                        from: to,
                        summary: self.routers[&rh],
                    }
                } else {
                    // The 3 closest floodfills it knows, not excluded.
                    let mut v: Vec<RouterHash> = known
                        .iter()
                        .filter(|r| self.is_ff(r) && !excl.contains(r) && **r != to)
                        .copied()
                        .collect();
                    v.sort_by_key(|r| dist(&key.0, r, self.now.unix_ms));
                    v.truncate(3);
                    Msg::Search {
                        from: to,
                        key,
                        peers: v,
                    }
                };
                self.inbox.push((at, msg));
            }
            Action::SendStore {
                to,
                key,
                reply_token,
            } => {
                if !self.is_ff(&to) || self.dead.contains(&to) {
                    return;
                }
                self.stores.push((to, key));
                self.inbox.push((at, Msg::Status { token: reply_token }));
            }
            Action::Persist { hash } => assert!(self.routers.contains_key(&hash)),
            Action::Forget { hashes } => panic!("nothing should expire: {hashes:?}"),
            other => panic!("a non-floodfill node should not {other:?}"),
        }
    }

    /// Runs the network for `d` of virtual time.
    fn run(&mut self, d: Duration) {
        let end = self.now.instant + d;
        loop {
            while let Some(a) = self.node.poll_action() {
                self.act(a);
            }
            while let Some(e) = self.node.poll_event() {
                self.events.push(e);
            }
            let timer = self.node.poll_timeout().unwrap_or(end);
            let next_msg = self.inbox.iter().map(|(t, _)| *t).min();
            let next = next_msg.map_or(timer, |m| m.min(timer));
            if next > end {
                self.now = self
                    .now
                    .advance(end.saturating_duration_since(self.now.instant));
                return;
            }
            self.now = self
                .now
                .advance(next.saturating_duration_since(self.now.instant));
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) =
                self.inbox.drain(..).partition(|(t, _)| *t <= now.instant);
            self.inbox = later;
            for (_, m) in due {
                match m {
                    Msg::Store { from, summary } => {
                        let _ = self.node.handle_database_store(
                            now,
                            IncomingStore {
                                key: Key::from(summary.hash),
                                entry: StoreEntry::RouterInfo(summary),
                                reply: None,
                                from: Some(from),
                            },
                        );
                    }
                    Msg::Search { from, key, peers } => {
                        self.node.handle_search_reply(now, from, key, &peers)
                    }
                    Msg::Status { token } => {
                        assert!(self.node.handle_delivery_status(now, token));
                    }
                }
            }
            if timer <= now.instant {
                self.node.handle_timeout(now);
            }
        }
    }

    fn closest_ff_to_us(&self) -> Vec<RouterHash> {
        let mut v: Vec<RouterHash> = self
            .routers
            .values()
            .filter(|s| s.floodfill)
            .map(|s| s.hash)
            .collect();
        v.sort_by_key(|r| dist(&self.our.0, r, self.now.unix_ms));
        v
    }

    fn publish_ours(&mut self) {
        let ours = RouterSummary {
            hash: self.our,
            published_ms: self.now.unix_ms,
            floodfill: false,
            reachable: true,
            net_id_ok: true,
        };
        self.node.set_our_router_info(self.now, ours).unwrap();
    }
}

#[test]
fn node_seeded_with_one_floodfill_discovers_everyone_and_publishes() {
    let mut sim = Sim::new(20, 3);
    sim.publish_ours();
    sim.run(Duration::from_secs(120));
    assert_eq!(sim.node.router_count(), 21, "all 20 routers plus ourselves");
    assert_eq!(sim.node.floodfill_count(), 3);
    // First stored at the only floodfill known (the seed), then, as closer
    // floodfills turn up, at the floodfill closest to our routing key.
    let best = sim.closest_ff_to_us()[0];
    assert_eq!(sim.stores.first(), Some(&(h(1), Key::from(sim.our))));
    assert_eq!(sim.stores.last(), Some(&(best, Key::from(sim.our))));
    assert!(sim.stores.len() <= 3, "{:?}", sim.stores);
    assert!(sim
        .events
        .contains(&Event::StoreConfirmed { floodfill: best }));
    // Exploration slows down once nothing new turns up: the last 10 minutes
    // of a quiet network cost few lookups.
    let before = sim.lookups_sent;
    sim.run(Duration::from_secs(600));
    let spent = sim.lookups_sent - before;
    assert!(spent < 40, "{spent} lookups in 10 idle minutes");
}

#[test]
fn dead_closest_floodfill_store_goes_to_the_next() {
    let mut sim = Sim::new(20, 3);
    let order = sim.closest_ff_to_us();
    // Everyone is reachable through floodfill 1 (the seed), so kill another.
    let dead = if order[0] == h(1) { order[1] } else { order[0] };
    sim.dead.insert(dead);
    sim.run(Duration::from_secs(60));
    sim.publish_ours();
    sim.run(Duration::from_secs(60));
    assert_eq!(sim.node.router_count(), 21);
    let alive: Vec<RouterHash> = order.iter().copied().filter(|r| *r != dead).collect();
    let confirmed: Vec<RouterHash> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::StoreConfirmed { floodfill } => Some(*floodfill),
            _ => None,
        })
        .collect();
    assert_eq!(confirmed.first(), Some(&alive[0]));
    if order[0] == dead {
        // Either the store to it timed out, or earlier lookups to it did and
        // the floodfill-choice rule skipped it.
        assert!(
            sim.events.contains(&Event::StoreFailed { floodfill: dead })
                || sim.events.contains(&Event::FloodfillLookup {
                    floodfill: dead,
                    ok: false
                })
        );
    }
}

#[test]
fn iterative_lookup_finds_a_router_the_seed_floodfill_does_not_know() {
    // No exploration, so only the lookup can find it.
    let mut sim = Sim::build(20, 3, false);
    let target = h(17);
    // Floodfill 1 knows the floodfills and nothing else.
    let ffs: HashSet<RouterHash> = (1..=3).map(h).collect();
    sim.knows.insert(h(1), ffs);
    sim.node
        .lookup(sim.now, Key::from(target), LookupKind::RouterInfo)
        .unwrap();
    sim.run(Duration::from_secs(30));
    assert!(
        sim.events.contains(&Event::LookupSucceeded {
            key: Key::from(target)
        }),
        "{:?}",
        sim.events
    );
    assert!(sim.node.get(&target).is_some());
    assert_eq!(
        sim.node.floodfill_count(),
        3,
        "learned the other floodfills on the way"
    );
}

#[test]
fn lookup_for_a_router_nobody_knows_fails_in_bounded_time() {
    let mut sim = Sim::new(20, 3);
    let ghost = Key([0x5a; 32]);
    sim.run(Duration::from_secs(30));
    sim.node
        .lookup(sim.now, ghost, LookupKind::RouterInfo)
        .unwrap();
    let before = sim.lookups_sent;
    sim.run(Duration::from_secs(31));
    assert!(sim.events.contains(&Event::LookupFailed { key: ghost }));
    assert!(sim.lookups_sent - before <= 20);
}

#[test]
fn acceptance_shape_eight_routers_two_floodfills() {
    // The shape of the i2pd acceptance network: seeded with one floodfill.
    for _ in 0..5 {
        let mut sim = Sim::new(8, 2);
        sim.publish_ours();
        sim.run(Duration::from_secs(60));
        assert_eq!(sim.node.router_count(), 9);
        assert_eq!(sim.node.floodfill_count(), 2);
        let best = sim.closest_ff_to_us()[0];
        assert!(sim
            .events
            .contains(&Event::StoreConfirmed { floodfill: best }));
    }
}
