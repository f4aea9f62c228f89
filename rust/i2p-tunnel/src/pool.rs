//! Tunnel pools, sans-IO: how many tunnels of which length a pool keeps, when to build
//! replacements, when tunnels expire, and when to test them (tunnel-implementation.md,
//! "Tunnel Pooling", "Tunnel Testing"; i2cp-overview.md for the options `length`,
//! `quantity`, `backupQuantity`). Peer choice and the build crypto are the driver's:
//! the pool says "build an inbound tunnel of 2 hops" and is told how it went.
//!
//! Call order: after any input, drain [`TunnelPool::poll_action`], then arm one timer
//! from [`TunnelPool::poll_timeout`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// "Tunnels themselves are short-lived (10 minutes)" (tunnel-implementation.md).
pub const TUNNEL_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Replacements are built this long before a tunnel expires.
pub const REBUILD_BEFORE_EXPIRY: Duration = Duration::from_secs(90);
/// A build with no reply after this long has failed. The spec gives no figure; i2pd
/// waits 30 s (`TUNNEL_CREATION_TIMEOUT`), and a busy hop on a phone-class machine can
/// take several seconds, so we do the same.
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the tunnels are tested. Each round pairs every outbound tunnel with an
/// inbound one and tests the pairs at once, as i2pd does every 15 s or so
/// (`TUNNEL_MANAGE_INTERVAL`), so a broken tunnel is found within a minute.
pub const TEST_INTERVAL: Duration = Duration::from_secs(20);
/// A tunnel test with no answer after this long has failed.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A tunnel failing this many tests in a row is dropped and replaced.
pub const MAX_TEST_FAILURES: u32 = 2;
/// [`TunnelPool::test_soon`] starts a test at most this often.
pub const TEST_SPACING: Duration = Duration::from_secs(5);
/// Builds in flight per direction, beyond what is missing: "build more than needed"
/// keeps a pool full when some builds fail.
const EXTRA_BUILDS: usize = 1;

/// Direction of a tunnel, seen from its creator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Messages come to us through it; we are its endpoint.
    Inbound,
    /// We send through it; we are its gateway.
    Outbound,
}

/// Settings of one pool (i2cp-overview.md names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// `inbound.length`: hops, 0-7.
    pub inbound_length: usize,
    /// `outbound.length`: hops, 0-7.
    pub outbound_length: usize,
    /// `inbound.quantity`: tunnels kept, 1-16.
    pub inbound_quantity: usize,
    /// `outbound.quantity`.
    pub outbound_quantity: usize,
    /// `inbound.backupQuantity`: extra tunnels kept ready, 0-3.
    pub inbound_backups: usize,
    /// `outbound.backupQuantity`.
    pub outbound_backups: usize,
}

impl PoolConfig {
    /// The exploratory pool: 2 hops each way, 2 tunnels each way.
    pub fn exploratory() -> Self {
        Self {
            inbound_length: 2,
            outbound_length: 2,
            inbound_quantity: 2,
            outbound_quantity: 2,
            inbound_backups: 0,
            outbound_backups: 0,
        }
    }

    /// A client pool with the I2CP defaults: 3 hops, 2 tunnels each way.
    pub fn client() -> Self {
        Self {
            inbound_length: 3,
            outbound_length: 3,
            ..Self::exploratory()
        }
    }

    /// Clamps every option into the range the spec allows.
    pub fn clamped(mut self) -> Self {
        self.inbound_length = self.inbound_length.min(7);
        self.outbound_length = self.outbound_length.min(7);
        self.inbound_quantity = self.inbound_quantity.clamp(1, 16);
        self.outbound_quantity = self.outbound_quantity.clamp(1, 16);
        self.inbound_backups = self.inbound_backups.min(3);
        self.outbound_backups = self.outbound_backups.min(3);
        self
    }

    fn length(&self, d: Direction) -> usize {
        match d {
            Direction::Inbound => self.inbound_length,
            Direction::Outbound => self.outbound_length,
        }
    }

    fn wanted(&self, d: Direction) -> usize {
        match d {
            Direction::Inbound => self.inbound_quantity + self.inbound_backups,
            Direction::Outbound => self.outbound_quantity + self.outbound_backups,
        }
    }
}

/// Names a build or a tunnel within a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolTunnelId(pub u64);

/// What the driver must do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum PoolAction {
    /// Choose `hops` peers and build a tunnel in `direction`; report with
    /// [`TunnelPool::handle_built`] or [`TunnelPool::handle_build_failed`].
    Build {
        /// Its name.
        id: PoolTunnelId,
        /// Which way.
        direction: Direction,
        /// Hops to choose (0: a zero-hop tunnel, we are its only hop).
        hops: usize,
    },
    /// The tunnel expired or failed: forget its state.
    Remove {
        /// The tunnel.
        id: PoolTunnelId,
    },
    /// Send a test message out `outbound` and expect it back through `inbound`;
    /// report with [`TunnelPool::handle_test_result`].
    Test {
        /// The outbound tunnel.
        outbound: PoolTunnelId,
        /// The inbound tunnel.
        inbound: PoolTunnelId,
    },
}

#[derive(Clone, Debug)]
struct Live {
    id: PoolTunnelId,
    direction: Direction,
    built_at: Instant,
    test_failures: u32,
    tested_ok: bool,
}

#[derive(Clone, Debug)]
struct Pending {
    id: PoolTunnelId,
    direction: Direction,
    started: Instant,
}

/// Build outcomes over a sliding window, for the success percentage people see.
#[derive(Clone, Debug, Default)]
struct History {
    outcomes: VecDeque<(Instant, bool)>,
}

/// Window of [`TunnelPool::build_success_pct`].
pub const SUCCESS_WINDOW: Duration = Duration::from_secs(10 * 60);
const MAX_HISTORY: usize = 4096;

/// One pool of tunnels.
#[derive(Debug)]
pub struct TunnelPool {
    cfg: PoolConfig,
    live: Vec<Live>,
    pending: Vec<Pending>,
    actions: VecDeque<PoolAction>,
    next_id: u64,
    next_test: Option<Instant>,
    /// When the last round of tests started.
    last_test: Option<Instant>,
    testing: Vec<(PoolTunnelId, PoolTunnelId, Instant)>,
    history: History,
    tests_ok: u64,
    tests_failed: u64,
    /// The last `now` given to [`TunnelPool::handle_timeout`]: rebuild times up to
    /// it have been acted on and are no longer deadlines.
    handled_until: Instant,
}

impl TunnelPool {
    /// A pool; its first builds are asked for at once.
    pub fn new(cfg: PoolConfig, now: Instant) -> Self {
        let mut p = Self {
            cfg: cfg.clamped(),
            live: Vec::new(),
            pending: Vec::new(),
            actions: VecDeque::new(),
            next_id: 1,
            next_test: Some(now + TEST_INTERVAL),
            last_test: None,
            testing: Vec::new(),
            history: History::default(),
            tests_ok: 0,
            handled_until: now,
            tests_failed: 0,
        };
        p.refill(now);
        p
    }

    /// Its settings.
    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    /// Changes the settings; builds or lets expire tunnels to match.
    pub fn set_config(&mut self, cfg: PoolConfig, now: Instant) {
        self.cfg = cfg.clamped();
        self.refill(now);
    }

    /// Established tunnels in `direction`, newest first.
    pub fn tunnels(&self, direction: Direction) -> Vec<PoolTunnelId> {
        self.newest_first(direction, |_| true)
    }

    /// The tunnels in `direction` to send through or publish, newest first: those
    /// whose last test failed are left out while others remain. A failed test most
    /// often means a hop is gone (i2pd, too, stops using a tunnel at its first
    /// failed test); the next test or its expiry settles it.
    pub fn usable(&self, direction: Direction) -> Vec<PoolTunnelId> {
        let skip_failed = self.any_sound(direction);
        self.newest_first(direction, |t| !skip_failed || t.test_failures == 0)
    }

    /// Whether `id` is among [`TunnelPool::usable`] in `direction`.
    pub fn is_usable(&self, direction: Direction, id: PoolTunnelId) -> bool {
        self.live
            .iter()
            .find(|t| t.id == id && t.direction == direction)
            .is_some_and(|t| t.test_failures == 0 || !self.any_sound(direction))
    }

    /// Whether a tunnel in `direction` has not failed its last test.
    fn any_sound(&self, direction: Direction) -> bool {
        self.live
            .iter()
            .any(|t| t.direction == direction && t.test_failures == 0)
    }

    fn newest_first(
        &self,
        direction: Direction,
        keep: impl Fn(&Live) -> bool,
    ) -> Vec<PoolTunnelId> {
        let mut v: Vec<&Live> = self
            .live
            .iter()
            .filter(|t| t.direction == direction && keep(t))
            .collect();
        v.sort_by_key(|t| std::cmp::Reverse(t.built_at));
        v.into_iter().map(|t| t.id).collect()
    }

    /// Traffic through the pool went unanswered: test its tunnels now rather than
    /// at the next [`TEST_INTERVAL`], unless a round started within
    /// [`TEST_SPACING`].
    pub fn test_soon(&mut self, now: Instant) {
        if self.last_test.is_some_and(|t| now < t + TEST_SPACING) {
            return;
        }
        self.next_test = Some(self.next_test.map_or(now, |t| t.min(now)));
    }

    /// Builds in flight.
    pub fn pending_builds(&self) -> usize {
        self.pending.len()
    }

    /// Percentage of builds that succeeded over the last [`SUCCESS_WINDOW`], if any
    /// ended there.
    pub fn build_success_pct(&self, now: Instant) -> Option<u8> {
        let recent: Vec<bool> = self
            .history
            .outcomes
            .iter()
            .filter(|(t, _)| now.saturating_duration_since(*t) <= SUCCESS_WINDOW)
            .map(|(_, ok)| *ok)
            .collect();
        if recent.is_empty() {
            return None;
        }
        let ok = recent.iter().filter(|b| **b).count();
        u8::try_from(ok * 100 / recent.len()).ok()
    }

    /// Build successes and failures over the last [`SUCCESS_WINDOW`].
    pub fn build_counts(&self, now: Instant) -> (usize, usize) {
        let mut c = (0, 0);
        for (t, ok) in &self.history.outcomes {
            if now.saturating_duration_since(*t) <= SUCCESS_WINDOW {
                if *ok {
                    c.0 += 1
                } else {
                    c.1 += 1
                }
            }
        }
        c
    }

    /// The build `id` succeeded.
    pub fn handle_built(&mut self, now: Instant, id: PoolTunnelId) {
        if let Some(i) = self.pending.iter().position(|p| p.id == id) {
            let p = self.pending.swap_remove(i);
            self.record(now, true);
            self.live.push(Live {
                id,
                direction: p.direction,
                built_at: now,
                test_failures: 0,
                tested_ok: false,
            });
        }
        self.refill(now);
    }

    /// The build `id` failed (rejected, or no reply).
    pub fn handle_build_failed(&mut self, now: Instant, id: PoolTunnelId) {
        if let Some(i) = self.pending.iter().position(|p| p.id == id) {
            self.pending.swap_remove(i);
            self.record(now, false);
        }
        self.refill(now);
    }

    /// The build `id` could not even start (e.g. too few peers known): forget it
    /// without counting a failure. It is asked for again at the next
    /// [`TunnelPool::handle_timeout`].
    pub fn cancel_build(&mut self, id: PoolTunnelId) {
        self.pending.retain(|p| p.id != id);
    }

    /// A tunnel died outside the pool's view (e.g. its first hop closed): replace it.
    pub fn handle_tunnel_failed(&mut self, now: Instant, id: PoolTunnelId) {
        if let Some(i) = self.live.iter().position(|t| t.id == id) {
            self.live.swap_remove(i);
            self.forget_tests(id);
            self.actions.push_back(PoolAction::Remove { id });
        }
        self.refill(now);
    }

    /// The outcome of the test asked with [`PoolAction::Test`].
    pub fn handle_test_result(
        &mut self,
        now: Instant,
        outbound: PoolTunnelId,
        inbound: PoolTunnelId,
        ok: bool,
    ) {
        let before = self.testing.len();
        self.testing
            .retain(|&(o, i, _)| (o, i) != (outbound, inbound));
        if self.testing.len() == before {
            // Not a test in flight (answered late, or the tunnels are gone).
            return;
        }
        if ok {
            self.tests_ok += 1;
        } else {
            self.tests_failed += 1;
        }
        for id in [outbound, inbound] {
            if let Some(t) = self.live.iter_mut().find(|t| t.id == id) {
                if ok {
                    t.test_failures = 0;
                    t.tested_ok = true;
                } else {
                    t.test_failures += 1;
                }
            }
        }
        let failed: Vec<PoolTunnelId> = self
            .live
            .iter()
            .filter(|t| t.test_failures >= MAX_TEST_FAILURES)
            .map(|t| t.id)
            .collect();
        for id in failed {
            self.handle_tunnel_failed(now, id);
        }
    }

    /// Tunnel tests passed and failed since the pool was made.
    pub fn test_counts(&self) -> (u64, u64) {
        (self.tests_ok, self.tests_failed)
    }

    /// Whether the test of this pair is still waiting for its answer.
    pub fn is_testing(&self, outbound: PoolTunnelId, inbound: PoolTunnelId) -> bool {
        self.testing
            .iter()
            .any(|&(o, i, _)| (o, i) == (outbound, inbound))
    }

    /// A tunnel that is gone is not judged by the tests it was in.
    fn forget_tests(&mut self, id: PoolTunnelId) {
        self.testing.retain(|&(o, i, _)| o != id && i != id);
    }

    /// Whether a tunnel passed its last test.
    pub fn is_tested(&self, id: PoolTunnelId) -> bool {
        self.live.iter().any(|t| t.id == id && t.tested_ok)
    }

    /// Timers: build timeouts, expiry, replacements, tests.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.handled_until = self.handled_until.max(now);
        let timed_out: Vec<PoolTunnelId> = self
            .pending
            .iter()
            .filter(|p| now >= p.started + BUILD_TIMEOUT)
            .map(|p| p.id)
            .collect();
        for id in timed_out {
            self.handle_build_failed(now, id);
        }
        let expired: Vec<PoolTunnelId> = self
            .live
            .iter()
            .filter(|t| now >= t.built_at + TUNNEL_LIFETIME)
            .map(|t| t.id)
            .collect();
        for id in expired {
            self.live.retain(|t| t.id != id);
            self.forget_tests(id);
            self.actions.push_back(PoolAction::Remove { id });
        }
        let late: Vec<_> = self
            .testing
            .iter()
            .filter(|(_, _, started)| now >= *started + TEST_TIMEOUT)
            .map(|&(o, i, _)| (o, i))
            .collect();
        for (o, i) in late {
            self.handle_test_result(now, o, i, false);
        }
        if self.next_test.is_some_and(|t| now >= t) {
            self.next_test = Some(now + TEST_INTERVAL);
            self.last_test = Some(now);
            self.start_test(now);
        }
        self.refill(now);
    }

    /// The next instant [`TunnelPool::handle_timeout`] must be called. A tunnel's
    /// rebuild time counts only until it has been handled (the replacement is then
    /// asked for): a past deadline would make the caller wake again at once, and spin
    /// until the tunnel expires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let builds = self.pending.iter().map(|p| p.started + BUILD_TIMEOUT);
        let handled = self.handled_until;
        let expiry = self.live.iter().flat_map(|t| {
            let rebuild = t.built_at + TUNNEL_LIFETIME - REBUILD_BEFORE_EXPIRY;
            [
                (rebuild > handled).then_some(rebuild),
                Some(t.built_at + TUNNEL_LIFETIME),
            ]
            .into_iter()
            .flatten()
        });
        let test = self.testing.iter().map(|(_, _, s)| *s + TEST_TIMEOUT);
        builds.chain(expiry).chain(test).chain(self.next_test).min()
    }

    /// The next action.
    pub fn poll_action(&mut self) -> Option<PoolAction> {
        self.actions.pop_front()
    }

    fn record(&mut self, now: Instant, ok: bool) {
        self.history.outcomes.push_back((now, ok));
        while self.history.outcomes.len() > MAX_HISTORY
            || self
                .history
                .outcomes
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) > SUCCESS_WINDOW)
        {
            self.history.outcomes.pop_front();
        }
    }

    /// Pairs every outbound tunnel with an inbound one (untested tunnels first) and
    /// asks for a test of each pair not already being tested.
    fn start_test(&mut self, now: Instant) {
        let busy = |id: PoolTunnelId, testing: &[(PoolTunnelId, PoolTunnelId, Instant)]| {
            testing.iter().any(|&(o, i, _)| o == id || i == id)
        };
        let candidates = |d: Direction| {
            let mut v: Vec<&Live> = self
                .live
                .iter()
                .filter(|t| t.direction == d && self.cfg.length(d) > 0)
                .filter(|t| !busy(t.id, &self.testing))
                .collect();
            v.sort_by_key(|t| (t.tested_ok, t.built_at));
            v.into_iter().map(|t| t.id).collect::<Vec<_>>()
        };
        let (outs, ins) = (
            candidates(Direction::Outbound),
            candidates(Direction::Inbound),
        );
        for (outbound, inbound) in outs.into_iter().zip(ins) {
            self.testing.push((outbound, inbound, now));
            self.actions
                .push_back(PoolAction::Test { outbound, inbound });
        }
    }

    /// Asks for builds until each direction has what it wants, counting tunnels that
    /// will not expire soon and builds in flight.
    fn refill(&mut self, now: Instant) {
        for d in [Direction::Inbound, Direction::Outbound] {
            let fresh = self
                .live
                .iter()
                .filter(|t| {
                    t.direction == d && now < t.built_at + TUNNEL_LIFETIME - REBUILD_BEFORE_EXPIRY
                })
                .count();
            let inflight = self.pending.iter().filter(|p| p.direction == d).count();
            let wanted = self.cfg.wanted(d);
            let missing = wanted.saturating_sub(fresh);
            let target = if missing == 0 {
                0
            } else {
                missing + EXTRA_BUILDS
            };
            for _ in inflight..target {
                let id = PoolTunnelId(self.next_id);
                self.next_id += 1;
                self.pending.push(Pending {
                    id,
                    direction: d,
                    started: now,
                });
                self.actions.push_back(PoolAction::Build {
                    id,
                    direction: d,
                    hops: self.cfg.length(d),
                });
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn drain(p: &mut TunnelPool) -> Vec<PoolAction> {
        std::iter::from_fn(|| p.poll_action()).collect()
    }

    fn builds(actions: &[PoolAction]) -> Vec<(PoolTunnelId, Direction, usize)> {
        actions
            .iter()
            .filter_map(|a| match a {
                PoolAction::Build {
                    id,
                    direction,
                    hops,
                } => Some((*id, *direction, *hops)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn fills_both_directions_with_one_extra_build() {
        let t0 = Instant::now();
        let mut p = TunnelPool::new(PoolConfig::exploratory(), t0);
        let b = builds(&drain(&mut p));
        assert_eq!(
            b.iter()
                .filter(|(_, d, h)| *d == Direction::Inbound && *h == 2)
                .count(),
            3
        );
        assert_eq!(
            b.iter()
                .filter(|(_, d, h)| *d == Direction::Outbound && *h == 2)
                .count(),
            3
        );
        for (id, _, _) in &b {
            p.handle_built(t0, *id);
        }
        assert_eq!(p.tunnels(Direction::Inbound).len(), 3);
        assert!(drain(&mut p).is_empty(), "full: nothing more to build");
        assert_eq!(p.build_success_pct(t0), Some(100));
    }

    #[test]
    fn failures_are_replaced_and_counted() {
        let t0 = Instant::now();
        let mut p = TunnelPool::new(PoolConfig::exploratory(), t0);
        let b = builds(&drain(&mut p));
        p.handle_build_failed(t0, b[0].0);
        let again = builds(&drain(&mut p));
        assert_eq!(again.len(), 1, "one replacement for the failed build");
        assert_eq!(again[0].1, b[0].1);
        // Timeouts fail the rest.
        p.handle_timeout(t0 + BUILD_TIMEOUT);
        assert_eq!(p.build_counts(t0 + BUILD_TIMEOUT), (0, 7));
        assert_eq!(p.build_success_pct(t0 + BUILD_TIMEOUT), Some(0));
        assert_eq!(builds(&drain(&mut p)).len(), 6);
    }

    #[test]
    fn replacement_before_expiry_then_removal() {
        let t0 = Instant::now();
        let cfg = PoolConfig {
            inbound_quantity: 1,
            outbound_quantity: 1,
            ..PoolConfig::exploratory()
        };
        let mut p = TunnelPool::new(cfg, t0);
        for (id, _, _) in builds(&drain(&mut p)) {
            p.handle_built(t0, id);
        }
        assert_eq!(p.tunnels(Direction::Inbound).len(), 2);
        let rebuild_at = t0 + TUNNEL_LIFETIME - REBUILD_BEFORE_EXPIRY;
        assert!(p.poll_timeout().unwrap() <= rebuild_at);
        p.handle_timeout(rebuild_at);
        // Handled: the next deadline is later, never the past rebuild time (a caller
        // sleeping until it would spin until the tunnels expire).
        assert!(p.poll_timeout().unwrap() > rebuild_at);
        let acts = drain(&mut p);
        // Two tunnels each way are about to expire: one is wanted, plus one extra.
        assert_eq!(builds(&acts).len(), 4);
        p.handle_timeout(t0 + TUNNEL_LIFETIME);
        let removed = drain(&mut p)
            .into_iter()
            .filter(|a| matches!(a, PoolAction::Remove { .. }))
            .count();
        assert_eq!(removed, 4);
        assert!(p.tunnels(Direction::Outbound).is_empty());
    }

    /// A pool with two tunnels each way, built at `t0`.
    fn two_each_way(t0: Instant) -> TunnelPool {
        let cfg = PoolConfig {
            inbound_quantity: 2,
            outbound_quantity: 2,
            inbound_backups: 0,
            outbound_backups: 0,
            ..PoolConfig::exploratory()
        };
        let mut p = TunnelPool::new(cfg, t0);
        let mut built = [0, 0];
        for (id, d, _) in builds(&drain(&mut p)) {
            let n = &mut built[usize::from(d == Direction::Outbound)];
            if *n < 2 {
                *n += 1;
                p.handle_built(t0, id);
            } else {
                p.handle_build_failed(t0, id);
            }
        }
        let _ = drain(&mut p);
        p
    }

    fn tests(actions: &[PoolAction]) -> Vec<(PoolTunnelId, PoolTunnelId)> {
        actions
            .iter()
            .filter_map(|a| match a {
                PoolAction::Test { outbound, inbound } => Some((*outbound, *inbound)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_failed_test_takes_a_tunnel_out_of_use_while_others_remain() {
        let t0 = Instant::now();
        let mut p = two_each_way(t0);
        assert_eq!(p.usable(Direction::Outbound).len(), 2);
        p.handle_timeout(t0 + TEST_INTERVAL);
        let pairs = tests(&drain(&mut p));
        assert_eq!(pairs.len(), 2);
        let (bad_out, bad_in) = pairs[0];
        let now = t0 + TEST_INTERVAL + Duration::from_secs(1);
        p.handle_test_result(now, bad_out, bad_in, false);
        p.handle_test_result(now, pairs[1].0, pairs[1].1, true);
        // Still live (one failure), but not used or published.
        assert_eq!(p.tunnels(Direction::Outbound).len(), 2);
        assert_eq!(p.usable(Direction::Outbound), vec![pairs[1].0]);
        assert_eq!(p.usable(Direction::Inbound), vec![pairs[1].1]);
        // A later pass puts it back.
        p.handle_timeout(t0 + 2 * TEST_INTERVAL);
        for (o, i) in tests(&drain(&mut p)) {
            p.handle_test_result(t0 + 2 * TEST_INTERVAL, o, i, true);
        }
        assert_eq!(p.usable(Direction::Outbound).len(), 2);
    }

    #[test]
    fn with_every_tunnel_failing_all_stay_usable() {
        let t0 = Instant::now();
        let mut p = two_each_way(t0);
        p.handle_timeout(t0 + TEST_INTERVAL);
        for (o, i) in tests(&drain(&mut p)) {
            p.handle_test_result(t0 + TEST_INTERVAL, o, i, false);
        }
        assert_eq!(p.usable(Direction::Outbound).len(), 2);
        assert_eq!(p.usable(Direction::Inbound).len(), 2);
    }

    #[test]
    fn test_soon_tests_at_once_but_not_twice_within_the_spacing() {
        let t0 = Instant::now();
        let mut p = two_each_way(t0);
        let t1 = t0 + Duration::from_secs(3);
        p.test_soon(t1);
        assert_eq!(p.poll_timeout(), Some(t1));
        p.handle_timeout(t1);
        let pairs = tests(&drain(&mut p));
        assert_eq!(pairs.len(), 2);
        for (o, i) in pairs {
            p.handle_test_result(t1, o, i, true);
        }
        // Within TEST_SPACING of that round: no new one before the interval.
        let t2 = t1 + TEST_SPACING - Duration::from_secs(1);
        p.test_soon(t2);
        assert!(p.poll_timeout().is_some_and(|t| t > t2));
        // After it: at once.
        let t3 = t1 + TEST_SPACING;
        p.test_soon(t3);
        assert_eq!(p.poll_timeout(), Some(t3));
    }

    #[test]
    fn tests_pair_tunnels_and_drop_failing_ones() {
        let t0 = Instant::now();
        let cfg = PoolConfig {
            inbound_quantity: 1,
            outbound_quantity: 1,
            ..PoolConfig::exploratory()
        };
        let mut p = TunnelPool::new(cfg, t0);
        // One tunnel each way is built; the extra builds fail.
        let b = builds(&drain(&mut p));
        let mut seen = Vec::new();
        for (id, d, _) in &b {
            if seen.contains(d) {
                p.handle_build_failed(t0, *id);
            } else {
                seen.push(*d);
                p.handle_built(t0, *id);
            }
        }
        assert!(
            builds(&drain(&mut p)).is_empty(),
            "one each way is what is wanted"
        );
        let mut now = t0;
        let mut failures = 0;
        while failures < MAX_TEST_FAILURES {
            now += TEST_INTERVAL;
            p.handle_timeout(now);
            let (o, i) = drain(&mut p)
                .into_iter()
                .find_map(|a| match a {
                    PoolAction::Test { outbound, inbound } => Some((outbound, inbound)),
                    _ => None,
                })
                .expect("a test is asked for");
            p.handle_test_result(now, o, i, false);
            failures += 1;
        }
        assert_eq!(p.test_counts(), (0, u64::from(MAX_TEST_FAILURES)));
        let acts = drain(&mut p);
        assert!(
            acts.iter()
                .filter(|a| matches!(a, PoolAction::Remove { .. }))
                .count()
                >= 2
        );
        assert!(!builds(&acts).is_empty(), "failed tunnels are replaced");
    }

    #[test]
    fn every_pair_is_tested_each_round_and_late_answers_do_not_count() {
        let t0 = Instant::now();
        let mut p = TunnelPool::new(PoolConfig::exploratory(), t0);
        for (id, _, _) in builds(&drain(&mut p)) {
            p.handle_built(t0, id);
        }
        let now = t0 + TEST_INTERVAL;
        p.handle_timeout(now);
        let tests: Vec<_> = drain(&mut p)
            .into_iter()
            .filter_map(|a| match a {
                PoolAction::Test { outbound, inbound } => Some((outbound, inbound)),
                _ => None,
            })
            .collect();
        let want = p
            .tunnels(Direction::Outbound)
            .len()
            .min(p.tunnels(Direction::Inbound).len());
        assert!(want >= 2);
        assert_eq!(tests.len(), want, "one test per pair, all at once");
        let (o, i) = tests[0];
        p.handle_test_result(now, o, i, true);
        p.handle_timeout(now + TEST_TIMEOUT);
        assert_eq!(p.test_counts(), (1, want as u64 - 1));
        let (o, i) = tests[1];
        assert!(!p.is_testing(o, i));
        p.handle_test_result(now + TEST_TIMEOUT, o, i, true);
        assert_eq!(p.test_counts(), (1, want as u64 - 1), "a late answer");
    }

    #[test]
    fn zero_hop_pools_are_not_tested() {
        let t0 = Instant::now();
        let cfg = PoolConfig {
            inbound_length: 0,
            outbound_length: 0,
            ..PoolConfig::exploratory()
        };
        let mut p = TunnelPool::new(cfg, t0);
        for (id, _, hops) in builds(&drain(&mut p)) {
            assert_eq!(hops, 0);
            p.handle_built(t0, id);
        }
        p.handle_timeout(t0 + TEST_INTERVAL);
        assert!(!drain(&mut p)
            .iter()
            .any(|a| matches!(a, PoolAction::Test { .. })));
    }

    #[test]
    fn options_are_clamped() {
        let c = PoolConfig {
            inbound_length: 9,
            inbound_quantity: 0,
            outbound_backups: 7,
            ..PoolConfig::client()
        }
        .clamped();
        assert_eq!(
            (c.inbound_length, c.inbound_quantity, c.outbound_backups),
            (7, 1, 3)
        );
    }
}
#[cfg(test)]
mod test_runtime_like {
    use super::*;
    #[test]
    fn test_comes_after_interval_when_built_late() {
        let t0 = Instant::now();
        let mut p = TunnelPool::new(PoolConfig::exploratory(), t0);
        let acts: Vec<_> = std::iter::from_fn(|| p.poll_action()).collect();
        let t1 = t0 + Duration::from_millis(50);
        for a in acts {
            if let PoolAction::Build { id, .. } = a {
                p.handle_built(t1, id);
            }
        }
        let mut now = t1;
        let mut tested = false;
        for _ in 0..100 {
            now = p.poll_timeout().unwrap().max(now);
            p.handle_timeout(now);
            while let Some(a) = p.poll_action() {
                if matches!(a, PoolAction::Test { .. }) {
                    tested = true;
                }
            }
            if tested {
                break;
            }
        }
        assert!(tested, "no test by {:?}", now - t0);
    }
}
