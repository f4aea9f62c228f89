//! The router's tunnels (tunnel-implementation.md, tunnel-creation-ecies.rst): our
//! exploratory pool and one client pool per local destination, the builds in flight,
//! the tunnels we use, and the transit tunnels other routers build through us. Driven by the core task; everything here is
//! synchronous and takes the time as an argument, so the core stays the one owner.
//!
//! What goes out is returned as [`Out`] values: messages for the core to send to a
//! router (dialing it if needed), or messages that came out of our own inbound
//! tunnels for the core to handle locally.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use i2p_tunnel::build::{
    build_tunnel, BuildOutcome, BuildPlan, BuildRequestHandler, Hop, HopRole, PendingBuild,
    ReplyCode, ReplyPath, TransitAction, TunnelId,
};
use i2p_tunnel::message::{
    Delivery, Fragmenter, HopCipher, Reassembler, ReassemblyConfig, TunnelData, TunnelGateway,
    TunnelLayers,
};
use i2p_tunnel::pool::{
    Direction, PoolAction, PoolConfig, PoolTunnelId, TunnelPool, BUILD_TIMEOUT, TUNNEL_LIFETIME,
};
use i2p_wire::i2np::{DeliveryStatus, Payload};
use i2p_wire::{Hash, I2npMessage, Mapping, MessageType, RouterInfo};
use tracing::{debug, info};

use crate::bandwidth::{TokenBucket, TransitLimits};
use crate::peers::{self, TunnelStats};
use crate::status::TunnelInfo;

/// Lifetime we give the I2NP messages we originate in tunnels.
const MESSAGE_LIFETIME_MS: u64 = 60_000;
/// Transit tunnels live as long as the creator said ("the only supported value is
/// 600" seconds) plus a little slack for clock differences.
const TRANSIT_LIFETIME: Duration = Duration::from_secs(600 + 30);
/// Longest our first builds wait for a floodfill to confirm storing our RouterInfo.
const WAIT_FOR_PUBLICATION: Duration = Duration::from_secs(30);
/// Longest outbound builds wait for an inbound tunnel before using a zero-hop reply.
const WAIT_FOR_INBOUND: Duration = Duration::from_secs(60);
/// How often builds that could not start are retried.
const RETRY_DEFERRED: Duration = Duration::from_secs(2);

/// Something for the core to do.
#[derive(Debug)]
pub(crate) enum Out {
    /// Send this message to that router.
    Send(Hash, I2npMessage),
    /// A message came out of an inbound tunnel of a local destination's pool.
    ForDestination(u32, I2npMessage),
    /// A message came out of one of our inbound tunnels (or was addressed to us):
    /// handle it as the core handles messages from peers, with no peer.
    Local(I2npMessage),
    /// A tunnel build finished: record these per-hop outcomes in the profiles.
    Profile(Vec<(Hash, gousse_store::TunnelBuildOutcome)>),
    /// A test of a local destination's tunnels failed: those tunnels are no longer
    /// used or published, so its stalled streams may resend by other paths.
    RouteChanged(u32),
}

/// Which pool a tunnel belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum PoolKey {
    /// The router's own: netDb traffic, tunnel build replies, tests.
    Exploratory,
    /// A local destination's client tunnels (by the destination's id).
    Client(u32),
}

/// One of our tunnels, named by its pool and its id there.
type TunnelKey = (PoolKey, PoolTunnelId);

/// One of our tunnels.
struct OurTunnel {
    direction: Direction,
    /// Hops, gateway first. Empty for a zero-hop tunnel.
    hops: Vec<Hash>,
    /// Inbound: the tunnel id at the gateway (where others send). Outbound: the id at
    /// the first hop (where we send).
    first_tunnel: u32,
    /// Inbound: the id we receive on, as the endpoint.
    our_tunnel: u32,
    layers: TunnelLayers,
    reassembler: Reassembler,
    expires: Instant,
}

impl OurTunnel {
    fn first_hop(&self) -> Option<Hash> {
        self.hops.first().copied()
    }
}

/// A build waiting for its reply.
struct Pending {
    key: TunnelKey,
    build: PendingBuild,
    direction: Direction,
    hops: Vec<Hash>,
    /// Tunnel id at the first hop (outbound) or at the gateway (inbound).
    first_tunnel: u32,
    /// Inbound: the id we will receive on.
    our_tunnel: u32,
    started: Instant,
}

/// A tunnel someone built through us.
struct Transit {
    role: HopRole,
    cipher: HopCipher,
    next_router: Hash,
    next_tunnel: u32,
    expires: Instant,
    /// OBEP only.
    reassembler: Option<Reassembler>,
    /// IBGW only.
    fragmenter: Option<Fragmenter>,
}

/// Counters people see.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TunnelCounters {
    pub(crate) transit_bytes: u64,
    pub(crate) transit_dropped_bandwidth: u64,
    pub(crate) transit_rejected: u64,
    pub(crate) transit_accepted: u64,
    pub(crate) bad_tunnel_messages: u64,
    pub(crate) tests_ok: u64,
}

/// The router's tunnels.
pub(crate) struct Tunnels {
    our_hash: Hash,
    allow_private: bool,
    handler: BuildRequestHandler,
    pools: BTreeMap<PoolKey, TunnelPool>,
    ours: HashMap<TunnelKey, OurTunnel>,
    /// Our inbound endpoints by the id we receive on.
    inbound_by_id: HashMap<u32, TunnelKey>,
    /// Builds by reply message id.
    pending: HashMap<u32, Pending>,
    /// Outbound builds by the tag of their garlic-wrapped reply.
    pending_by_tag: HashMap<[u8; 8], u32>,
    /// A zero-hop inbound tunnel: outbound builds' replies come here until we have
    /// real inbound tunnels.
    zero_hop_reply: u32,
    transit: HashMap<u32, Transit>,
    limits: TransitLimits,
    bucket_in: TokenBucket,
    bucket_out: TokenBucket,
    /// Tunnel tests by the DeliveryStatus message id: the pool, outbound, inbound.
    tests: HashMap<u32, (PoolKey, PoolTunnelId, PoolTunnelId)>,
    /// When a build could not start (too few peers known yet), the pool is asked
    /// again at this time; such builds are not counted as failures.
    next_retry: Option<Instant>,
    /// Builds wait until a floodfill has stored our RouterInfo (or this deadline
    /// passes): the last hop of an inbound tunnel and the endpoint of an outbound one
    /// must find us in the netDb to send the reply.
    build_after: Option<Instant>,
    created: Instant,
    pub(crate) stats: HashMap<Hash, TunnelStats>,
    pub(crate) counters: TunnelCounters,
}

fn random_u32() -> u32 {
    u32::try_from(i2p_crypto::random_below(u64::from(u32::MAX)))
        .unwrap_or(1)
        .max(1)
}

impl Tunnels {
    pub(crate) fn new(
        our_hash: Hash,
        static_key: i2p_crypto::x25519::StaticSecret,
        allow_private: bool,
        limits: TransitLimits,
        exploratory: PoolConfig,
        stats: HashMap<Hash, TunnelStats>,
        now: Instant,
    ) -> Self {
        Self {
            our_hash,
            allow_private,
            handler: BuildRequestHandler::new(static_key, our_hash),
            pools: [(PoolKey::Exploratory, TunnelPool::new(exploratory, now))].into(),
            ours: HashMap::new(),
            inbound_by_id: HashMap::new(),
            pending: HashMap::new(),
            pending_by_tag: HashMap::new(),
            zero_hop_reply: TunnelId::random().0,
            transit: HashMap::new(),
            bucket_in: TokenBucket::new(limits.share_bytes_per_s, now),
            bucket_out: TokenBucket::new(limits.share_bytes_per_s, now),
            limits,
            tests: HashMap::new(),
            next_retry: None,
            build_after: Some(now + WAIT_FOR_PUBLICATION),
            created: now,
            stats,
            counters: TunnelCounters::default(),
        }
    }

    // ----- getters for the status -----

    /// A pool's established tunnels: (inbound, outbound).
    pub(crate) fn counts(&self, key: PoolKey) -> (usize, usize) {
        self.pools.get(&key).map_or((0, 0), |p| {
            (
                p.tunnels(Direction::Inbound).len(),
                p.tunnels(Direction::Outbound).len(),
            )
        })
    }

    /// Build success over the last 10 minutes, all pools together.
    pub(crate) fn build_success_pct(&self, now: Instant) -> Option<u8> {
        let (ok, failed) = self.build_counts(now);
        let total = ok + failed;
        (total > 0).then(|| u8::try_from(ok * 100 / total).unwrap_or(100))
    }

    /// Builds that succeeded and failed over the last 10 minutes, all pools together.
    pub(crate) fn build_counts(&self, now: Instant) -> (usize, usize) {
        self.pools
            .values()
            .map(|p| p.build_counts(now))
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }

    /// Build requests dropped (malformed, not for us, undecryptable, stale, replayed,
    /// unsupported), and of those the replays.
    pub(crate) fn dropped_build_requests(&self) -> (u64, u64) {
        let c = self.handler.counters();
        (
            c.malformed + c.not_for_us + c.decrypt_failed + c.stale + c.replayed + c.unsupported,
            c.replayed,
        )
    }

    /// Bytes held by partial messages in reassembly, over all tunnels.
    pub(crate) fn reassembly_bytes(&self) -> usize {
        self.ours
            .values()
            .map(|t| t.reassembler.partial_bytes())
            .sum::<usize>()
            + self
                .transit
                .values()
                .filter_map(|t| t.reassembler.as_ref())
                .map(|r| r.partial_bytes())
                .sum::<usize>()
    }

    /// Tunnel tests passed and failed, all pools together.
    pub(crate) fn test_counts(&self) -> (u64, u64) {
        self.pools
            .values()
            .map(TunnelPool::test_counts)
            .fold((0, 0), |(a, b), (c, d)| (a + c, b + d))
    }

    pub(crate) fn transit_count(&self) -> usize {
        self.transit.len()
    }

    pub(crate) fn limits(&self) -> TransitLimits {
        self.limits
    }

    pub(crate) fn list(&self, now: Instant) -> Vec<TunnelInfo> {
        let mut v: Vec<TunnelInfo> = self
            .ours
            .iter()
            .map(|((pool, _), t)| TunnelInfo {
                direction: match t.direction {
                    Direction::Inbound => "inbound".into(),
                    Direction::Outbound => "outbound".into(),
                },
                pool: match pool {
                    PoolKey::Exploratory => "exploratory".into(),
                    PoolKey::Client(id) => format!("client {id}"),
                },
                hops: t.hops.iter().map(|h| h.to_base64()).collect(),
                expires_in_s: t.expires.saturating_duration_since(now).as_secs(),
            })
            .collect();
        v.sort_by(|a, b| {
            (&a.pool, &a.direction, a.expires_in_s).cmp(&(&b.pool, &b.direction, b.expires_in_s))
        });
        v
    }

    /// An exploratory inbound tunnel others can reach us through: (gateway, tunnel id
    /// at it).
    pub(crate) fn reply_tunnel(&self) -> Option<(Hash, u32)> {
        self.inbound_gateways(PoolKey::Exploratory)
            .into_iter()
            .map(|(gw, tunnel, _)| (gw, tunnel))
            .next()
    }

    /// A pool's inbound tunnels as leases: (gateway, tunnel id at it, expiry), the
    /// latest expiry first.
    pub(crate) fn inbound_gateways(&self, key: PoolKey) -> Vec<(Hash, u32, Instant)> {
        let Some(pool) = self.pools.get(&key) else {
            return Vec::new();
        };
        let mut v: Vec<_> = pool
            .usable(Direction::Inbound)
            .into_iter()
            .filter_map(|id| self.ours.get(&(key, id)))
            .map(|t| {
                (
                    t.first_hop().unwrap_or(self.our_hash),
                    t.first_tunnel,
                    t.expires,
                )
            })
            .collect();
        v.sort_by_key(|t| std::cmp::Reverse(t.2));
        v
    }

    /// Whether we have both directions, so netDb traffic can go through tunnels.
    pub(crate) fn ready(&self) -> bool {
        self.reply_tunnel().is_some() && self.outbound(PoolKey::Exploratory).is_some()
    }

    /// One of a pool's outbound tunnels, chosen at random to spread the load.
    fn outbound(&self, key: PoolKey) -> Option<TunnelKey> {
        self.outbound_avoiding(key, None)
    }

    /// An outbound tunnel of `key` at random, other than `avoid` unless it is the
    /// only one.
    fn outbound_avoiding(&self, key: PoolKey, avoid: Option<PoolTunnelId>) -> Option<TunnelKey> {
        let mut ids: Vec<PoolTunnelId> = self
            .pools
            .get(&key)?
            .usable(Direction::Outbound)
            .into_iter()
            .filter(|id| self.ours.contains_key(&(key, *id)))
            .collect();
        if ids.len() > 1 {
            ids.retain(|id| Some(*id) != avoid);
        }
        let n = u64::try_from(ids.len()).ok().filter(|n| *n > 0)?;
        let pick = usize::try_from(i2p_crypto::random_below(n)).unwrap_or(0);
        ids.get(pick).map(|id| (key, *id))
    }

    /// Like [`Tunnels::send_out_of`], through the outbound tunnel in `pin` while it
    /// is usable, else through one chosen at random (other than `avoid` if there
    /// is another), which `pin` then holds. One path per remote keeps a stream's
    /// packets in order and its RTT steady (i2pd and Java I2P keep one too).
    pub(crate) fn send_out_of_pinned(
        &mut self,
        pool: PoolKey,
        pin: &mut Option<PoolTunnelId>,
        avoid: Option<PoolTunnelId>,
        delivery: Delivery,
        msg: &I2npMessage,
        out: &mut Vec<Out>,
    ) -> bool {
        let pinned = pin.filter(|id| {
            self.ours.contains_key(&(pool, *id))
                && self
                    .pools
                    .get(&pool)
                    .is_some_and(|p| p.is_usable(Direction::Outbound, *id))
        });
        let Some(key) = pinned
            .map(|id| (pool, id))
            .or_else(|| self.outbound_avoiding(pool, avoid))
        else {
            return false;
        };
        *pin = Some(key.1);
        self.send_through(key, delivery, msg, out);
        true
    }

    /// Traffic through a pool's tunnels went unanswered: test them soon.
    pub(crate) fn test_soon(&mut self, key: PoolKey, now: Instant) {
        if let Some(p) = self.pools.get_mut(&key) {
            p.test_soon(now);
        }
    }

    /// Adds a client pool for the local destination `dest`.
    pub(crate) fn add_client_pool(&mut self, dest: u32, cfg: PoolConfig, now: Instant) {
        self.pools
            .insert(PoolKey::Client(dest), TunnelPool::new(cfg.clamped(), now));
    }

    /// Removes a client pool and forgets its tunnels (they expire at their hops).
    pub(crate) fn remove_client_pool(&mut self, dest: u32) {
        let key = PoolKey::Client(dest);
        self.pools.remove(&key);
        self.ours.retain(|(k, _), _| *k != key);
        self.inbound_by_id.retain(|_, (k, _)| *k != key);
        self.pending.retain(|_, p| p.key.0 != key);
        self.tests.retain(|_, (k, _, _)| *k != key);
    }

    /// Whether outbound builds have waited long enough for an inbound tunnel and may
    /// fall back to the zero-hop reply path.
    fn waited_for_inbound(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.created) >= WAIT_FOR_INBOUND
    }

    /// A floodfill confirmed storing our RouterInfo: others can reach us, builds may
    /// start.
    pub(crate) fn our_router_info_published(&mut self) {
        self.build_after = None;
    }

    // ----- limits -----

    pub(crate) fn set_limits(&mut self, limits: TransitLimits, now: Instant) {
        self.bucket_in.set_rate(limits.share_bytes_per_s, now);
        self.bucket_out.set_rate(limits.share_bytes_per_s, now);
        self.limits = limits;
        info!(target: "gousse::tunnels", ?limits, "transit limits changed");
    }

    // ----- timers -----

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let transit = self.transit.values().map(|t| t.expires).min();
        let pending = self
            .pending
            .values()
            .map(|p| p.started + BUILD_TIMEOUT)
            .min();
        let pools = self
            .pools
            .values()
            .filter_map(TunnelPool::poll_timeout)
            .min();
        [pools, transit, pending, self.next_retry]
            .into_iter()
            .flatten()
            .min()
    }

    /// Timers; then the pool's actions, which need the routers we know.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        now_ms: u64,
        routers: &HashMap<Hash, Arc<RouterInfo>>,
        out: &mut Vec<Out>,
    ) {
        // Builds with no reply.
        let expired: Vec<u32> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.started + BUILD_TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        for id in expired {
            if let Some(p) = self.pending.remove(&id) {
                self.pending_by_tag.retain(|_, v| *v != id);
                let hops: Vec<String> = p.hops.iter().map(|h| h.to_base64()).collect();
                info!(target: "gousse::tunnels", direction = ?p.direction, ?hops, "tunnel build timed out");
                let profile = p
                    .hops
                    .iter()
                    .map(|h| {
                        self.stats.entry(*h).or_default().timed_out += 1;
                        (*h, gousse_store::TunnelBuildOutcome::TimedOut)
                    })
                    .collect();
                out.push(Out::Profile(profile));
                self.pool_built(p.key, false, now);
            }
        }
        self.transit.retain(|_, t| t.expires > now);
        for t in self.ours.values_mut() {
            t.reassembler.expire(now_ms);
        }
        for t in self.transit.values_mut() {
            if let Some(r) = t.reassembler.as_mut() {
                r.expire(now_ms);
            }
        }
        if self.next_retry.is_some_and(|t| now >= t) {
            self.next_retry = None;
        }
        let keys: Vec<PoolKey> = self.pools.keys().copied().collect();
        for key in keys {
            if let Some(pool) = self.pools.get_mut(&key) {
                pool.handle_timeout(now);
            }
            self.drain_pool(key, now, now_ms, routers, out);
        }
        out.extend(self.log_failed_tests().into_iter().map(Out::RouteChanged));
    }

    /// Forgets the tests the pool has given up on, saying which tunnels failed.
    /// Returns the local destinations whose tunnels failed, each once.
    fn log_failed_tests(&mut self) -> Vec<u32> {
        let pools = &self.pools;
        let mut failed = Vec::new();
        self.tests.retain(|_, &mut (k, o, i)| {
            let waiting = pools.get(&k).is_some_and(|p| p.is_testing(o, i));
            if !waiting {
                failed.push(((k, o), (k, i)));
            }
            waiting
        });
        let hops = |id: TunnelKey| {
            self.ours
                .get(&id)
                .map(|t| t.hops.iter().map(|h| h.to_base64()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        let mut dests = Vec::new();
        for (o, i) in failed {
            info!(target: "gousse::tunnels", outbound = ?hops(o), inbound = ?hops(i), "tunnel test failed");
            if let PoolKey::Client(d) = o.0 {
                dests.push(d);
            }
        }
        dests.sort_unstable();
        dests.dedup();
        dests
    }

    #[allow(clippy::too_many_arguments)]
    fn try_build(
        &mut self,
        key: TunnelKey,
        direction: Direction,
        hops: usize,
        now: Instant,
        now_ms: u64,
        routers: &HashMap<Hash, Arc<RouterInfo>>,
        out: &mut Vec<Out>,
    ) {
        if let Err(why) = self.start_build(key, direction, hops, now, now_ms, routers, out) {
            debug!(target: "gousse::tunnels", pool = ?key.0, "cannot build a tunnel yet: {why}");
            if let Some(pool) = self.pools.get_mut(&key.0) {
                pool.cancel_build(key.1);
            }
            self.next_retry.get_or_insert(now + RETRY_DEFERRED);
        }
    }

    fn drain_pool(
        &mut self,
        pool: PoolKey,
        now: Instant,
        now_ms: u64,
        routers: &HashMap<Hash, Arc<RouterInfo>>,
        out: &mut Vec<Out>,
    ) {
        while let Some(action) = self.pools.get_mut(&pool).and_then(TunnelPool::poll_action) {
            match action {
                PoolAction::Build {
                    id,
                    direction,
                    hops,
                } => self.try_build((pool, id), direction, hops, now, now_ms, routers, out),
                PoolAction::Remove { id } => {
                    if let Some(t) = self.ours.remove(&(pool, id)) {
                        self.inbound_by_id.remove(&t.our_tunnel);
                    }
                    self.tests
                        .retain(|_, (k, o, i)| *k != pool || (*o != id && *i != id));
                }
                PoolAction::Test { outbound, inbound } => {
                    self.start_test(pool, outbound, inbound, now_ms, out)
                }
            }
        }
    }

    /// Tells the pool how a build went, and takes its actions.
    fn pool_built(&mut self, key: TunnelKey, ok: bool, now: Instant) {
        if let Some(pool) = self.pools.get_mut(&key.0) {
            if ok {
                pool.handle_built(now, key.1);
            } else {
                pool.handle_build_failed(now, key.1);
            }
        }
    }

    // ----- our builds -----

    #[allow(clippy::too_many_arguments)]
    fn start_build(
        &mut self,
        key: TunnelKey,
        direction: Direction,
        n: usize,
        now: Instant,
        now_ms: u64,
        routers: &HashMap<Hash, Arc<RouterInfo>>,
        out: &mut Vec<Out>,
    ) -> Result<(), String> {
        if n > 0 && self.build_after.is_some_and(|t| now < t) {
            return Err("waiting until a floodfill stores our RouterInfo".into());
        }
        if n == 0 {
            // A zero-hop tunnel: we are its only hop. Inbound, others send to us as its
            // gateway (TunnelGateway with our tunnel id); outbound, we deliver directly.
            let our_tunnel = TunnelId::random().0;
            let t = OurTunnel {
                direction,
                hops: Vec::new(),
                first_tunnel: our_tunnel,
                our_tunnel,
                layers: TunnelLayers::new(Vec::new()),
                reassembler: Reassembler::new(ReassemblyConfig::default()),
                expires: now + TUNNEL_LIFETIME,
            };
            if direction == Direction::Inbound {
                self.inbound_by_id.insert(our_tunnel, key);
            }
            self.ours.insert(key, t);
            self.pool_built(key, true, now);
            return Ok(());
        }
        let exclude: HashSet<Hash> = [self.our_hash].into();
        let cands = peers::candidates(
            routers
                .values()
                .filter(|ri| usable_hop(ri, self.allow_private))
                .map(|ri| {
                    (
                        ri.hash(),
                        crate::transport::dialable(ri).map(|(a, _, _)| a.ip()),
                    )
                }),
            &self.stats,
        );
        let chosen = peers::select_hops(&cands, n, &exclude, !self.allow_private, peers::os_random)
            .ok_or_else(|| format!("{} usable peers for {n} hops", cands.len()))?;
        let mut hops = Vec::with_capacity(n);
        for h in &chosen {
            let ri = routers.get(h).ok_or("hop vanished")?;
            let static_key = ri
                .identity()
                .x25519_public_key()
                .ok_or("hop without an X25519 key")?;
            hops.push(Hop {
                router: *h,
                static_key,
                receive_tunnel: TunnelId::random(),
                options: Mapping::empty(),
            });
        }
        let our_tunnel = TunnelId::random();
        let reply = match direction {
            Direction::Inbound => ReplyPath::Inbound {
                our_router: self.our_hash,
                our_tunnel,
            },
            Direction::Outbound => {
                // Replies come back through one of our inbound tunnels, as i2pd and
                // Java I2P do: wait for one rather than have the endpoint reach us
                // directly (a zero-hop path) while we are still unknown to most routers.
                let (router, tunnel) = match self.reply_tunnel() {
                    Some(t) => t,
                    None if self.waited_for_inbound(now) => (self.our_hash, self.zero_hop_reply),
                    None => return Err("waiting for an inbound tunnel for the reply".into()),
                };
                ReplyPath::Outbound {
                    reply_router: router,
                    reply_tunnel: TunnelId(tunnel),
                }
            }
        };
        let reply_message_id = random_u32();
        let plan = BuildPlan {
            hops: hops.clone(),
            reply,
            reply_message_id,
            now_ms,
            expiration_ms: now_ms + MESSAGE_LIFETIME_MS,
        };
        let (outgoing, pending) = build_tunnel(&plan).map_err(|e| format!("build message: {e}"))?;
        if let Some(k) = pending.garlic_reply_key() {
            self.pending_by_tag.insert(k.tag, reply_message_id);
        }
        self.pending.insert(
            reply_message_id,
            Pending {
                key,
                build: pending,
                direction,
                hops: chosen.clone(),
                first_tunnel: hops.first().map(|h| h.receive_tunnel.0).unwrap_or(0),
                our_tunnel: our_tunnel.0,
                started: now,
            },
        );
        // Outbound builds go straight to the first hop. Inbound builds go through one of
        // our outbound tunnels when we have one (so the first hop does not learn we
        // built it), else directly.
        match (direction, self.outbound(PoolKey::Exploratory)) {
            (Direction::Inbound, Some(ob)) => self.send_through(
                ob,
                Delivery::Router(outgoing.first_hop),
                &outgoing.message,
                out,
            ),
            _ => out.push(Out::Send(outgoing.first_hop, outgoing.message)),
        }
        debug!(target: "gousse::tunnels", pool = ?key.0, ?direction, hops = n, "tunnel build sent");
        Ok(())
    }

    fn finish_build(
        &mut self,
        reply_id: u32,
        outcome: Result<BuildOutcome, String>,
        now: Instant,
        out: &mut Vec<Out>,
    ) {
        let Some(p) = self.pending.remove(&reply_id) else {
            return;
        };
        self.pending_by_tag.retain(|_, v| *v != reply_id);
        let latency_ms =
            u64::try_from(now.saturating_duration_since(p.started).as_millis()).unwrap_or(u64::MAX);
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                self.counters.bad_tunnel_messages += 1;
                debug!(target: "gousse::tunnels", "unreadable build reply: {e}");
                self.pool_built(p.key, false, now);
                return;
            }
        };
        let mut profile = Vec::new();
        for hop in &outcome.hops {
            let s = self.stats.entry(hop.router).or_default();
            if hop.reply == ReplyCode::ACCEPT {
                s.ok += 1;
                profile.push((
                    hop.router,
                    gousse_store::TunnelBuildOutcome::Accepted { latency_ms },
                ));
            } else {
                s.rejected += 1;
                profile.push((hop.router, gousse_store::TunnelBuildOutcome::Rejected));
            }
        }
        out.push(Out::Profile(profile));
        if !outcome.built {
            let codes: Vec<u8> = outcome.hops.iter().map(|h| h.reply.0).collect();
            info!(target: "gousse::tunnels", pool = ?p.key.0, direction = ?p.direction, ?codes, "tunnel build rejected");
            self.pool_built(p.key, false, now);
            return;
        }
        let ciphers: Vec<HopCipher> = outcome
            .hops
            .iter()
            .map(|h| HopCipher::from_keys(&h.layer))
            .collect();
        let t = OurTunnel {
            direction: p.direction,
            hops: p.hops.clone(),
            first_tunnel: p.first_tunnel,
            our_tunnel: p.our_tunnel,
            layers: TunnelLayers::new(ciphers),
            reassembler: Reassembler::new(ReassemblyConfig::default()),
            expires: now + TUNNEL_LIFETIME,
        };
        if !self.pools.contains_key(&p.key.0) {
            return; // its destination went away
        }
        if p.direction == Direction::Inbound {
            self.inbound_by_id.insert(p.our_tunnel, p.key);
        }
        info!(target: "gousse::tunnels", pool = ?p.key.0, direction = ?p.direction, hops = p.hops.len(), latency_ms, "tunnel built");
        self.ours.insert(p.key, t);
        self.pool_built(p.key, true, now);
    }

    // ----- tunnel tests -----

    fn start_test(
        &mut self,
        pool: PoolKey,
        outbound: PoolTunnelId,
        inbound: PoolTunnelId,
        now_ms: u64,
        out: &mut Vec<Out>,
    ) {
        let Some((gw, tid)) = self
            .ours
            .get(&(pool, inbound))
            .and_then(|t| t.first_hop().map(|g| (g, t.first_tunnel)))
        else {
            return;
        };
        let msg_id = random_u32();
        debug!(target: "gousse::tunnels", msg_id, "testing a tunnel pair");
        let ds = DeliveryStatus {
            msg_id,
            timestamp_ms: now_ms,
        };
        let msg = I2npMessage::from_payload(
            msg_id,
            now_ms + MESSAGE_LIFETIME_MS,
            &Payload::DeliveryStatus(ds),
        );
        self.tests.insert(msg_id, (pool, outbound, inbound));
        self.send_through(
            (pool, outbound),
            Delivery::Tunnel {
                tunnel_id: tid,
                gateway: gw,
            },
            &msg,
            out,
        );
    }

    /// A DeliveryStatus that came out of one of our inbound tunnels: a tunnel test's?
    pub(crate) fn handle_delivery_status(&mut self, now: Instant, msg_id: u32) -> bool {
        debug!(target: "gousse::tunnels", msg_id, known = self.tests.contains_key(&msg_id), "DeliveryStatus");
        match self.tests.remove(&msg_id) {
            Some((k, o, i)) => {
                self.counters.tests_ok += 1;
                if let Some(pool) = self.pools.get_mut(&k) {
                    pool.handle_test_result(now, o, i, true);
                }
                true
            }
            None => false,
        }
    }

    // ----- sending through our tunnels -----

    /// Sends `msg` out of our outbound tunnel `id` with `delivery` at its endpoint.
    fn send_through(
        &mut self,
        id: TunnelKey,
        delivery: Delivery,
        msg: &I2npMessage,
        out: &mut Vec<Out>,
    ) {
        let Some(t) = self.ours.get(&id) else { return };
        let Some(first) = t.first_hop() else {
            // Zero-hop outbound tunnel: we are its endpoint.
            match delivery {
                Delivery::Router(h) => out.push(Out::Send(h, msg.clone())),
                Delivery::Tunnel { tunnel_id, gateway } => out.push(Out::Send(
                    gateway,
                    tunnel_gateway_message(tunnel_id, msg.clone(), crate::core::unix_ms()),
                )),
                Delivery::Local => out.push(Out::Local(msg.clone())),
            }
            return;
        };
        let mut frag = Fragmenter::new();
        if frag.push(&delivery, msg).is_err() {
            return;
        }
        for mut block in frag.flush(t.first_tunnel) {
            t.layers.encrypt_outbound(&mut block);
            out.push(Out::Send(first, tunnel_data_message(&block)));
        }
    }

    /// Sends `msg` through an exploratory outbound tunnel to `delivery`; false if we
    /// have none.
    pub(crate) fn send_out(
        &mut self,
        delivery: Delivery,
        msg: &I2npMessage,
        out: &mut Vec<Out>,
    ) -> bool {
        self.send_out_of(PoolKey::Exploratory, delivery, msg, out)
    }

    /// Sends `msg` through an outbound tunnel of `pool` to `delivery`; false if the
    /// pool has none.
    pub(crate) fn send_out_of(
        &mut self,
        pool: PoolKey,
        delivery: Delivery,
        msg: &I2npMessage,
        out: &mut Vec<Out>,
    ) -> bool {
        match self.outbound(pool) {
            Some(id) => {
                self.send_through(id, delivery, msg, out);
                true
            }
            None => false,
        }
    }

    // ----- incoming tunnel traffic -----

    /// Handles a tunnel-related message from the router `from`. Returns false if the
    /// message is not a tunnel message.
    pub(crate) fn handle_message(
        &mut self,
        from: Option<Hash>,
        msg: &I2npMessage,
        now: Instant,
        now_ms: u64,
        out: &mut Vec<Out>,
    ) -> bool {
        match msg.msg_type {
            MessageType::TUNNEL_DATA => self.on_tunnel_data(&msg.payload, now, now_ms, out),
            MessageType::TUNNEL_GATEWAY => self.on_tunnel_gateway(&msg.payload, now, out),
            MessageType::SHORT_TUNNEL_BUILD | MessageType::VARIABLE_TUNNEL_BUILD => {
                if self.pending.contains_key(&msg.msg_id) {
                    let outcome = self.pending[&msg.msg_id]
                        .build
                        .handle_reply_message(msg)
                        .map_err(|e| e.to_string());
                    self.finish_build(msg.msg_id, outcome, now, out);
                } else {
                    self.on_build_request(from, msg, now, now_ms, out);
                }
            }
            MessageType::OUTBOUND_TUNNEL_BUILD_REPLY | MessageType::VARIABLE_TUNNEL_BUILD_REPLY => {
                if let Some(p) = self.pending.get(&msg.msg_id) {
                    let outcome = p.build.handle_reply_message(msg).map_err(|e| e.to_string());
                    self.finish_build(msg.msg_id, outcome, now, out);
                }
            }
            MessageType::GARLIC => {
                let tag = i2p_tunnel::build::garlic::tag_of(&msg.payload);
                let Some(id) = tag.and_then(|t| self.pending_by_tag.get(&t).copied()) else {
                    return false;
                };
                if let Some(p) = self.pending.get(&id) {
                    let outcome = p
                        .build
                        .handle_garlic_reply(&msg.payload)
                        .map_err(|e| e.to_string());
                    self.finish_build(id, outcome, now, out);
                }
            }
            _ => return false,
        }
        true
    }

    fn on_build_request(
        &mut self,
        from: Option<Hash>,
        msg: &I2npMessage,
        now: Instant,
        now_ms: u64,
        out: &mut Vec<Out>,
    ) {
        let req = match self.handler.handle(msg.msg_type, &msg.payload, now_ms) {
            Ok(r) => r,
            Err(e) => {
                debug!(target: "gousse::tunnels", ?from, "build request dropped: {e}");
                return;
            }
        };
        let receive = req.record.receive_tunnel.0;
        let accept = self.limits.accept
            && self.transit.len() < self.limits.max_tunnels
            && self.limits.share_bytes_per_s > 0
            && !self.transit.contains_key(&receive);
        let code = if accept {
            ReplyCode::ACCEPT
        } else {
            ReplyCode::REJECT_BANDWIDTH
        };
        let role = req.role;
        let cipher = HopCipher::from_keys(&req.layer);
        let next_router = req.record.next_ident;
        let next_tunnel = req.record.next_tunnel.0;
        let action = match req.reply(code, now_ms) {
            Ok(a) => a,
            Err(e) => {
                debug!(target: "gousse::tunnels", "build reply: {e}");
                return;
            }
        };
        if accept {
            self.counters.transit_accepted += 1;
            self.transit.insert(
                receive,
                Transit {
                    role,
                    cipher,
                    next_router,
                    next_tunnel,
                    expires: now + TRANSIT_LIFETIME,
                    reassembler: (role == HopRole::OutboundEndpoint)
                        .then(|| Reassembler::new(ReassemblyConfig::default())),
                    fragmenter: (role == HopRole::InboundGateway).then(Fragmenter::new),
                },
            );
            debug!(target: "gousse::tunnels", ?role, transit = self.transit.len(), "transit tunnel accepted");
        } else {
            self.counters.transit_rejected += 1;
        }
        match action {
            TransitAction::Forward { to, message } => out.push(Out::Send(to, message)),
            TransitAction::ReplyToGateway {
                to,
                tunnel,
                message,
            } => out.push(Out::Send(
                to,
                tunnel_gateway_message(tunnel.0, message, now_ms),
            )),
            TransitAction::LocalReply { tunnel, message } => {
                self.gateway_into(tunnel.0, &message, now, out);
            }
        }
    }

    fn on_tunnel_data(&mut self, payload: &[u8], now: Instant, now_ms: u64, out: &mut Vec<Out>) {
        let mut td = match TunnelData::parse(payload) {
            Ok(td) => td,
            Err(_) => {
                self.counters.bad_tunnel_messages += 1;
                return;
            }
        };
        if let Some(t) = self.transit.get_mut(&td.tunnel_id) {
            if !self.bucket_in.try_take(payload.len() as u64, now) {
                self.counters.transit_dropped_bandwidth += 1;
                return;
            }
            t.cipher.process(&mut td);
            match t.role {
                HopRole::Participant => {
                    if !self.bucket_out.try_take(payload.len() as u64, now) {
                        self.counters.transit_dropped_bandwidth += 1;
                        return;
                    }
                    td.tunnel_id = t.next_tunnel;
                    self.counters.transit_bytes += payload.len() as u64;
                    debug!(target: "gousse::tunnels", next = t.next_tunnel, "participant forwards");
                    out.push(Out::Send(t.next_router, tunnel_data_message(&td)));
                }
                HopRole::OutboundEndpoint => {
                    let delivered = match t.reassembler.as_mut().map(|r| r.receive(&td, now_ms)) {
                        Some(Ok(d)) => d,
                        Some(Err(e)) => {
                            debug!(target: "gousse::tunnels", tunnel = td.tunnel_id, "OBEP: {e}");
                            self.counters.bad_tunnel_messages += 1;
                            return;
                        }
                        None => return,
                    };
                    debug!(target: "gousse::tunnels", n = delivered.len(), "OBEP delivers");
                    self.counters.transit_bytes += payload.len() as u64;
                    for d in delivered {
                        let len = d.message.payload.len() as u64 + 16;
                        if !self.bucket_out.try_take(len, now) {
                            self.counters.transit_dropped_bandwidth += 1;
                            continue;
                        }
                        match d.delivery {
                            Delivery::Router(h) => out.push(Out::Send(h, d.message)),
                            Delivery::Tunnel { tunnel_id, gateway } => out.push(Out::Send(
                                gateway,
                                tunnel_gateway_message(tunnel_id, d.message, now_ms),
                            )),
                            Delivery::Local => self.counters.bad_tunnel_messages += 1,
                        }
                    }
                }
                HopRole::InboundGateway => self.counters.bad_tunnel_messages += 1,
            }
            return;
        }
        if let Some(id) = self.inbound_by_id.get(&td.tunnel_id).copied() {
            let Some(t) = self.ours.get_mut(&id) else {
                return;
            };
            t.layers.decrypt_inbound(&mut td);
            match t.reassembler.receive(&td, now_ms) {
                Ok(delivered) => {
                    for d in delivered {
                        if d.delivery == Delivery::Local {
                            if id.0 != PoolKey::Exploratory {
                                debug!(target: "gousse::tunnels", pool = ?id.0, msg_type = d.message.msg_type.0, len = d.message.payload.len(), "client tunnel delivers");
                            }
                            out.push(local_out(id.0, d.message));
                        } else {
                            self.counters.bad_tunnel_messages += 1;
                        }
                    }
                }
                Err(_) => self.counters.bad_tunnel_messages += 1,
            }
            return;
        }
        debug!(target: "gousse::tunnels", tunnel = td.tunnel_id, "TunnelData for an unknown tunnel");
        self.counters.bad_tunnel_messages += 1;
    }

    fn on_tunnel_gateway(&mut self, payload: &[u8], now: Instant, out: &mut Vec<Out>) {
        let tg = match TunnelGateway::parse(payload) {
            Ok(tg) => tg,
            Err(_) => {
                self.counters.bad_tunnel_messages += 1;
                return;
            }
        };
        // Our zero-hop reply tunnel, or a zero-hop inbound tunnel of a pool: for us.
        if tg.tunnel_id == self.zero_hop_reply {
            out.push(Out::Local(tg.message));
            return;
        }
        if let Some(key) = self
            .inbound_by_id
            .get(&tg.tunnel_id)
            .filter(|k| self.ours.get(k).is_some_and(|t| t.hops.is_empty()))
        {
            out.push(local_out(key.0, tg.message));
            return;
        }
        self.gateway_into(tg.tunnel_id, &tg.message, now, out);
    }

    /// As the inbound gateway of transit tunnel `tunnel`: sends `msg` down it.
    fn gateway_into(&mut self, tunnel: u32, msg: &I2npMessage, now: Instant, out: &mut Vec<Out>) {
        let Some(t) = self.transit.get_mut(&tunnel) else {
            debug!(target: "gousse::tunnels", tunnel, "TunnelGateway for an unknown tunnel");
            self.counters.bad_tunnel_messages += 1;
            return;
        };
        debug!(target: "gousse::tunnels", tunnel, "IBGW sends");
        let Some(frag) = t.fragmenter.as_mut() else {
            self.counters.bad_tunnel_messages += 1;
            return;
        };
        if frag.push(&Delivery::Local, msg).is_err() {
            self.counters.bad_tunnel_messages += 1;
            return;
        }
        for mut block in frag.flush(t.next_tunnel) {
            if !self
                .bucket_out
                .try_take(i2p_tunnel::message::TUNNEL_DATA_LEN as u64, now)
            {
                self.counters.transit_dropped_bandwidth += 1;
                continue;
            }
            t.cipher.process(&mut block);
            self.counters.transit_bytes += i2p_tunnel::message::TUNNEL_DATA_LEN as u64;
            out.push(Out::Send(t.next_router, tunnel_data_message(&block)));
        }
    }
}

/// What came out of an inbound tunnel of `pool`: the router's, or a destination's.
fn local_out(pool: PoolKey, msg: I2npMessage) -> Out {
    match pool {
        PoolKey::Exploratory => Out::Local(msg),
        PoolKey::Client(dest) => Out::ForDestination(dest, msg),
    }
}

/// A router we may put in our tunnels: reachable over NTCP2, with an X25519 identity.
fn usable_hop(ri: &RouterInfo, allow_private: bool) -> bool {
    let Some((addr, _, _)) = crate::transport::dialable(ri) else {
        return false;
    };
    ri.identity().x25519_public_key().is_some()
        && (allow_private || crate::addr::is_public(addr.ip()))
        && !ri
            .caps()
            .is_some_and(|c| c.contains('U') || c.contains('H'))
}

fn tunnel_data_message(td: &TunnelData) -> I2npMessage {
    I2npMessage::new(
        MessageType::TUNNEL_DATA,
        random_u32(),
        crate::core::unix_ms() + MESSAGE_LIFETIME_MS,
        td.to_bytes().to_vec(),
    )
}

pub(crate) fn tunnel_gateway_message(
    tunnel_id: u32,
    message: I2npMessage,
    now_ms: u64,
) -> I2npMessage {
    let tg = TunnelGateway { tunnel_id, message };
    I2npMessage::new(
        MessageType::TUNNEL_GATEWAY,
        random_u32(),
        now_ms + MESSAGE_LIFETIME_MS,
        tg.to_bytes().unwrap_or_default(),
    )
}

#[cfg(test)]
mod test {
    use super::*;

    fn zero_hop_tunnels() -> Tunnels {
        let cfg = PoolConfig {
            inbound_length: 0,
            outbound_length: 0,
            ..PoolConfig::exploratory()
        };
        let mut t = Tunnels::new(
            Hash([1; 32]),
            i2p_crypto::x25519::StaticSecret::random(),
            true,
            TransitLimits::default(),
            cfg,
            HashMap::new(),
            Instant::now(),
        );
        let mut out = Vec::new();
        t.handle_timeout(
            Instant::now(),
            crate::core::unix_ms(),
            &HashMap::new(),
            &mut out,
        );
        assert!(out.is_empty(), "zero-hop tunnels need no build messages");
        t
    }

    #[test]
    fn zero_hop_tunnels_are_built_at_once_and_deliver_directly() {
        let mut t = zero_hop_tunnels();
        let (inbound, outbound) = t.counts(PoolKey::Exploratory);
        assert!(inbound >= 2 && outbound >= 2, "{inbound} {outbound}");
        assert!(t.ready());
        let (gw, tid) = t.reply_tunnel().unwrap();
        assert_eq!(
            gw,
            Hash([1; 32]),
            "we are the gateway of a zero-hop inbound tunnel"
        );
        // Outbound: sent straight to the router named.
        let m = I2npMessage::new(MessageType::DATA, 9, 0, vec![1, 2, 3]);
        let mut out = Vec::new();
        assert!(t.send_out(Delivery::Router(Hash([2; 32])), &m, &mut out));
        assert!(matches!(&out[..], [Out::Send(h, msg)] if *h == Hash([2; 32]) && msg.msg_id == 9));
        // Inbound: a TunnelGateway for it comes out locally.
        let tg = tunnel_gateway_message(tid, m, 0);
        let mut out = Vec::new();
        assert!(t.handle_message(Some(Hash([3; 32])), &tg, Instant::now(), 0, &mut out));
        assert!(matches!(&out[..], [Out::Local(msg)] if msg.msg_id == 9));
    }

    /// Sends a small message out of the exploratory pool by `pin` (avoiding
    /// `avoid`); returns whether it went.
    fn send_pinned(
        t: &mut Tunnels,
        pin: &mut Option<PoolTunnelId>,
        avoid: Option<PoolTunnelId>,
        out: &mut Vec<Out>,
    ) -> bool {
        let m = I2npMessage::new(MessageType::DATA, 9, 0, vec![1, 2, 3]);
        let to = Delivery::Router(Hash([2; 32]));
        t.send_out_of_pinned(PoolKey::Exploratory, pin, avoid, to, &m, out)
    }

    #[test]
    fn a_pinned_outbound_tunnel_is_kept_until_it_goes() {
        let mut t = zero_hop_tunnels();
        let mut pin = None;
        let mut out = Vec::new();
        assert!(send_pinned(&mut t, &mut pin, None, &mut out));
        let first = pin.expect("a tunnel was chosen and pinned");
        for _ in 0..20 {
            assert!(send_pinned(&mut t, &mut pin, None, &mut out));
            assert_eq!(pin, Some(first));
        }
        assert_eq!(out.len(), 21);
        // The tunnel goes: another one is chosen and pinned.
        if let Some(p) = t.pools.get_mut(&PoolKey::Exploratory) {
            p.handle_tunnel_failed(Instant::now(), first);
        }
        assert!(send_pinned(&mut t, &mut pin, None, &mut out));
        assert!(pin.is_some_and(|id| id != first));
    }

    #[test]
    fn a_new_pin_avoids_the_tunnel_of_a_stalled_path() {
        let mut t = zero_hop_tunnels();
        let mut out = Vec::new();
        let mut first = None;
        assert!(send_pinned(&mut t, &mut first, None, &mut out));
        let stalled = first.expect("pinned");
        for _ in 0..20 {
            let mut pin = None;
            assert!(send_pinned(&mut t, &mut pin, Some(stalled), &mut out));
            assert!(pin.is_some_and(|id| id != stalled), "another tunnel");
        }
    }

    #[test]
    fn transit_requests_are_rejected_when_not_accepting() {
        let mut t = zero_hop_tunnels();
        let limits = TransitLimits {
            accept: false,
            ..TransitLimits::default()
        };
        t.set_limits(limits, Instant::now());
        assert_eq!(t.limits(), limits);
        // A garbage build request is dropped and counted, not answered.
        let junk = I2npMessage::new(MessageType::SHORT_TUNNEL_BUILD, 1, 0, vec![4; 1 + 218 * 4]);
        let mut out = Vec::new();
        assert!(t.handle_message(
            Some(Hash([3; 32])),
            &junk,
            Instant::now(),
            crate::core::unix_ms(),
            &mut out
        ));
        assert!(out.is_empty());
        assert_eq!(t.dropped_build_requests().0, 1);
    }
}
