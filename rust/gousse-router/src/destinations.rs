//! Local destinations: their keys, their LeaseSet2 built from their client pool's
//! inbound tunnels, and its publication to the closest floodfills
//! (network-database.md, "LeaseSet Storage to Floodfills"; common-structures.rst,
//! "LeaseSet2"). Synchronous and driven by the core, which owns the tunnels and the
//! netDb; the time is an argument.
//!
//! Publication, as i2pd and Java I2P do it: the DatabaseStore goes out one of the
//! destination's own outbound tunnels, garlic-encrypted to the floodfill, with a
//! reply token and one of the destination's inbound tunnels as the reply path. The
//! floodfill's DeliveryStatus coming back through that tunnel confirms the store; if
//! it does not come in time, the next closest floodfill is tried.

use std::time::{Duration, Instant};

use i2p_wire::encrypted_leaseset::date_string;
use i2p_wire::i2np::{DatabaseStore, ReplyPath};
use i2p_wire::{
    BlindedAddress, DestinationKeys, EncryptedLeaseSet, EncryptionKey, Hash, Lease2, LeaseSet2,
    Mapping,
};
use tracing::{debug, info};

/// A store not confirmed after this long is tried at the next floodfill.
const STORE_TIMEOUT: Duration = Duration::from_secs(10);
/// Least time between two publications of a changed LeaseSet (i2pd waits 20 s,
/// `PUBLISH_MIN_INTERVAL`).
const MIN_PUBLISH_INTERVAL: Duration = Duration::from_secs(20);
/// A LeaseSet is rebuilt and stored again when it has less than this left.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(3 * 60);
/// Floodfills tried in one round; after a round without a confirmation, the next
/// starts over from the closest after [`STORE_ROUND_PAUSE`].
const MAX_STORE_ATTEMPTS: usize = 4;
/// Pause between rounds of stores that were all unconfirmed.
const STORE_ROUND_PAUSE: Duration = Duration::from_secs(30);
/// A LeaseSet2 says it expires when its last lease does, at most this long after it
/// was published (common-structures.rst: "expires ... about 660 (11 minutes)").
const MAX_EXPIRES_S: u32 = 660;

/// A destination for the router to run: its keys and its tunnels.
#[derive(Debug)]
pub struct DestinationSpec {
    /// A name for people (the tunnel's or the session's).
    pub name: String,
    /// Its keys.
    pub keys: DestinationKeys,
    /// Its client tunnel pool (i2cp-overview.md options).
    pub pool: i2p_tunnel::pool::PoolConfig,
    /// Whether its LeaseSet is published to floodfills (servers do, clients need not).
    pub publish: bool,
    /// Publish it as an encrypted LeaseSet (type 5) under the day's blinded key,
    /// found only by those who know the `b33` address (i2cp `leaseSetType = 5`).
    pub encrypted_leaseset: bool,
}

/// A destination the router runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationInfo {
    /// The router's id for it.
    pub id: u32,
    /// Its hash.
    pub hash: Hash,
    /// Its `.b32.i2p` address.
    pub b32: String,
    /// Its `b33` address, when it publishes an encrypted LeaseSet.
    pub b33: Option<String>,
}

/// Why a LeaseSet lookup failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The floodfills asked did not have it.
    #[error("no LeaseSet found for {0}")]
    NotFound(String),
    /// The lookup could not start.
    #[error("LeaseSet lookup for {0} could not start: {1}")]
    CannotStart(String, String),
    /// The router stopped.
    #[error("the router is stopping")]
    Stopped,
}

/// Why a stream could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// No LeaseSet for the remote.
    #[error(transparent)]
    Lookup(#[from] crate::destinations::LookupError),
    /// The remote answered the SYN with a reset (nothing listens on that port).
    #[error("the destination refused the stream")]
    Reset,
    /// The remote did not answer in time.
    #[error("the destination did not answer: {0}")]
    Timeout(String),
    /// Limits of our side.
    #[error("cannot open a stream: {0}")]
    Local(String),
}

/// A datagram that arrived for a local destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedDatagram {
    /// The I2CP protocol: 17 (Datagram1), 18 (raw), 19 (Datagram2), 20 (Datagram3).
    pub protocol: u8,
    /// The sender, verified (Datagram1 and Datagram2).
    pub from: Option<i2p_wire::Destination>,
    /// The sender's hash: verified with `from`; as claimed for Datagram3; none for raw.
    pub from_hash: Option<Hash>,
    /// The sender's port.
    pub from_port: u16,
    /// Our port it was sent to.
    pub to_port: u16,
    /// The data.
    pub payload: Vec<u8>,
}

/// A datagram for a local destination to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingDatagram {
    /// The remote destination.
    pub to: Hash,
    /// The I2CP protocol: 17 (Datagram1, signed), 18 (raw), 19 (Datagram2), 20
    /// (Datagram3).
    pub protocol: u8,
    /// Our port.
    pub from_port: u16,
    /// The remote's port.
    pub to_port: u16,
    /// The data.
    pub payload: Vec<u8>,
}

/// A store in flight.
#[derive(Debug)]
struct PendingStore {
    token: u32,
    floodfill: Hash,
    sent: Instant,
}

/// One local destination.
pub(crate) struct LocalDestination {
    /// Its name (from the tunnels file or the SAM session), for people.
    pub(crate) name: String,
    keys: DestinationKeys,
    /// Whether its LeaseSet is stored at floodfills (servers); clients only send it
    /// along with their messages.
    publish: bool,
    /// Publish the LeaseSet encrypted (type 5).
    encrypt: bool,
    leaseset: Option<LeaseSet2>,
    /// The encrypted form of `leaseset`, what is stored at floodfills when `encrypt`.
    encrypted: Option<EncryptedLeaseSet>,
    /// When `leaseset` was built.
    built: Option<Instant>,
    /// When we last sent a store.
    last_store: Option<Instant>,
    store: Option<PendingStore>,
    /// Floodfills tried for the current LeaseSet.
    tried: Vec<Hash>,
    /// The floodfill that confirmed the current LeaseSet.
    confirmed_by: Option<Hash>,
    /// Stores confirmed, all LeaseSets together.
    pub(crate) stores_confirmed: u64,
}

/// What the core must send for a destination.
#[derive(Debug)]
pub(crate) struct StoreRequest {
    /// The floodfill.
    pub(crate) floodfill: Hash,
    /// The store, reply path included.
    pub(crate) store: DatabaseStore,
}

impl LocalDestination {
    pub(crate) fn new(name: String, keys: DestinationKeys, publish: bool, encrypt: bool) -> Self {
        Self {
            name,
            keys,
            publish,
            encrypt,
            leaseset: None,
            encrypted: None,
            built: None,
            last_store: None,
            store: None,
            tried: Vec::new(),
            confirmed_by: None,
            stores_confirmed: 0,
        }
    }

    pub(crate) fn hash(&self) -> Hash {
        self.keys.destination().hash()
    }

    pub(crate) fn keys(&self) -> &DestinationKeys {
        &self.keys
    }

    pub(crate) fn b32(&self) -> String {
        self.keys.destination().b32_address()
    }

    /// The `b33` address, if the destination publishes an encrypted LeaseSet.
    pub(crate) fn b33(&self) -> Option<String> {
        if !self.encrypt {
            return None;
        }
        BlindedAddress::from_destination(self.keys.destination())
            .ok()
            .map(|a| a.to_host())
    }

    /// The netDb key its LeaseSet is stored under: the destination hash, or the
    /// day's blinded hash for an encrypted LeaseSet.
    pub(crate) fn store_key(&self) -> Hash {
        match &self.encrypted {
            Some(e) if self.encrypt => e.store_hash(),
            _ => self.hash(),
        }
    }

    /// The current LeaseSet, if the destination has inbound tunnels.
    pub(crate) fn leaseset(&self) -> Option<&LeaseSet2> {
        self.leaseset.as_ref()
    }

    /// Whether its LeaseSet is stored at floodfills.
    pub(crate) fn publishes(&self) -> bool {
        self.publish
    }

    /// Whether a floodfill confirmed storing the current LeaseSet.
    pub(crate) fn published(&self) -> bool {
        self.confirmed_by.is_some()
    }

    /// Rebuilds the LeaseSet if the leases changed or it is getting old. `leases` are
    /// the pool's inbound tunnels: (gateway, tunnel id, end date in unix seconds).
    /// Returns true if a new LeaseSet was built.
    pub(crate) fn refresh(
        &mut self,
        now: Instant,
        now_s: u32,
        leases: &[(Hash, u32, u32)],
    ) -> bool {
        let mut leases: Vec<Lease2> = leases
            .iter()
            .filter(|(_, _, end)| *end > now_s)
            .map(|&(tunnel_gw, tunnel_id, end_date)| Lease2 {
                tunnel_gw,
                tunnel_id,
                end_date,
            })
            .collect();
        leases.sort_by_key(|l| std::cmp::Reverse(l.end_date));
        leases.truncate(i2p_wire::leaseset::MAX_LEASES);
        if leases.is_empty() {
            return false;
        }
        let same_leases = self.leaseset.as_ref().is_some_and(|ls| {
            let mut old: Vec<(Hash, u32)> = ls
                .leases()
                .iter()
                .map(|l| (l.tunnel_gw, l.tunnel_id))
                .collect();
            let mut new: Vec<(Hash, u32)> =
                leases.iter().map(|l| (l.tunnel_gw, l.tunnel_id)).collect();
            old.sort();
            new.sort();
            old == new
        });
        let fresh = self
            .leaseset
            .as_ref()
            .is_some_and(|ls| u64::from(now_s) + REFRESH_BEFORE_EXPIRY.as_secs() < ls.expires());
        // An encrypted LeaseSet's blinded key changes at midnight UTC: a new day, a
        // new one.
        let same_day = self
            .encrypted
            .as_ref()
            .is_none_or(|e| date_string(u64::from(e.published())) == date_string(u64::from(now_s)));
        let fresh = fresh && same_day;
        if same_leases && fresh {
            return false;
        }
        let last_end = leases.iter().map(|l| l.end_date).max().unwrap_or(now_s);
        let expires = last_end.min(now_s.saturating_add(MAX_EXPIRES_S));
        let key = EncryptionKey::x25519(self.keys.encryption_key().public_key());
        match LeaseSet2::new_signed(
            self.keys.destination().clone(),
            now_s,
            expires,
            vec![key],
            leases,
            Mapping::empty(),
            self.keys.signing_key(),
        ) {
            Ok(ls) => {
                debug!(target: "gousse::dest", dest = %self.name, leases = ls.leases().len(), "new LeaseSet2");
                if self.encrypt {
                    let seed = self.keys.signing_key().to_bytes();
                    match EncryptedLeaseSet::encrypt(&ls, &seed, now_s) {
                        Ok(e) => self.encrypted = Some(e),
                        Err(e) => {
                            debug!(target: "gousse::dest", dest = %self.name, "cannot build an encrypted LeaseSet: {e}");
                            return false;
                        }
                    }
                }
                self.leaseset = Some(ls);
                self.built = Some(now);
                self.tried.clear();
                self.confirmed_by = None;
                self.store = None;
                true
            }
            Err(e) => {
                debug!(target: "gousse::dest", dest = %self.name, "cannot build a LeaseSet2: {e}");
                false
            }
        }
    }

    /// The store to send now, if one is due. `closest` lists floodfills closest to our
    /// key first; `reply` is one of our inbound tunnels (gateway, tunnel id).
    pub(crate) fn poll_store(
        &mut self,
        now: Instant,
        closest: &[Hash],
        reply: Option<(Hash, u32)>,
        token: u32,
    ) -> Option<StoreRequest> {
        if !self.publish || self.confirmed_by.is_some() {
            return None;
        }
        let ls = self.leaseset.as_ref()?;
        if let Some(p) = &self.store {
            if now < p.sent + STORE_TIMEOUT {
                return None;
            }
            debug!(target: "gousse::dest", dest = %self.name, floodfill = %p.floodfill, "LeaseSet store not confirmed");
            self.store = None;
        }
        let round_over = self.tried.len() >= MAX_STORE_ATTEMPTS
            || (!self.tried.is_empty() && closest.iter().all(|h| self.tried.contains(h)));
        if round_over {
            if self.last_store.is_some_and(|t| now < t + STORE_ROUND_PAUSE) {
                return None;
            }
            self.tried.clear();
        }
        if self
            .last_store
            .is_some_and(|t| now < t + MIN_PUBLISH_INTERVAL)
            && self.tried.is_empty()
        {
            return None;
        }
        let floodfill = *closest.iter().find(|h| !self.tried.contains(h))?;
        let (gateway, tunnel_id) = reply?;
        let token = std::num::NonZeroU32::new(token)?;
        let reply = Some(ReplyPath {
            token,
            tunnel_id,
            gateway,
        });
        let store = match (&self.encrypted, self.encrypt) {
            (Some(e), true) => DatabaseStore::encrypted_lease_set(e, reply),
            (None, true) => return None,
            (_, false) => DatabaseStore::lease_set2(ls, reply),
        };
        self.tried.push(floodfill);
        self.last_store = Some(now);
        self.store = Some(PendingStore {
            token: token.get(),
            floodfill,
            sent: now,
        });
        Some(StoreRequest { floodfill, store })
    }

    /// A DeliveryStatus came through one of our inbound tunnels: a store's reply?
    pub(crate) fn handle_delivery_status(&mut self, msg_id: u32) -> bool {
        match &self.store {
            Some(p) if p.token == msg_id => {
                info!(target: "gousse::dest", dest = %self.name, floodfill = %p.floodfill, "floodfill confirmed storing our LeaseSet");
                self.confirmed_by = Some(p.floodfill);
                self.store = None;
                self.stores_confirmed += 1;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn dest() -> LocalDestination {
        LocalDestination::new("test".into(), DestinationKeys::generate(), true, false)
    }

    const NOW_S: u32 = 1_800_000_000;

    fn leases(n: u8) -> Vec<(Hash, u32, u32)> {
        (1..=n)
            .map(|i| (Hash([i; 32]), u32::from(i), NOW_S + 600))
            .collect()
    }

    #[test]
    fn leaseset_follows_the_inbound_tunnels() {
        let t0 = Instant::now();
        let mut d = dest();
        assert!(!d.refresh(t0, NOW_S, &[]), "no tunnels, no LeaseSet");
        assert!(d.refresh(t0, NOW_S, &leases(2)));
        let ls = d.leaseset().unwrap().clone();
        assert_eq!(ls.leases().len(), 2);
        assert_eq!(ls.hash(), d.hash());
        assert_eq!(ls.x25519_key(), Some(d.keys.encryption_key().public_key()));
        assert_eq!(ls.expires(), u64::from(NOW_S + 600));
        // It verifies as a peer would check it.
        let parsed = i2p_wire::UncheckedLeaseSet2::parse(&ls.to_bytes()).unwrap();
        parsed.verify().unwrap();
        // Same leases: no new LeaseSet; a new tunnel: a new one.
        assert!(!d.refresh(t0, NOW_S + 10, &leases(2)));
        assert!(d.refresh(t0, NOW_S + 10, &leases(3)));
        // Old leases are not published.
        let stale = [(Hash([9; 32]), 9, NOW_S - 1)];
        assert!(!d.refresh(t0, NOW_S, &stale));
        // Close to expiry: rebuilt.
        assert!(d.refresh(t0, NOW_S + 500, &leases(3)));
    }

    #[test]
    fn stores_go_to_the_closest_floodfill_then_the_next() {
        let t0 = Instant::now();
        let mut d = dest();
        d.refresh(t0, NOW_S, &leases(2));
        let ffs = [Hash([0xf1; 32]), Hash([0xf2; 32])];
        let reply = Some((Hash([1; 32]), 1));
        assert!(
            d.poll_store(t0, &ffs, None, 7).is_none(),
            "needs a reply tunnel"
        );
        let r = d.poll_store(t0, &ffs, reply, 7).unwrap();
        assert_eq!(r.floodfill, ffs[0]);
        assert_eq!(r.store.key, d.hash());
        assert_eq!(r.store.reply.unwrap().token.get(), 7);
        assert!(d.poll_store(t0, &ffs, reply, 8).is_none(), "one at a time");
        // Not confirmed in time: the next floodfill.
        let later = t0 + STORE_TIMEOUT;
        let r = d.poll_store(later, &ffs, reply, 8).unwrap();
        assert_eq!(r.floodfill, ffs[1]);
        assert!(
            !d.handle_delivery_status(7),
            "the old token is no longer waited for"
        );
        assert!(d.handle_delivery_status(8));
        assert!(d.published());
        assert!(d
            .poll_store(later + STORE_TIMEOUT, &ffs, reply, 9)
            .is_none());
        // A new LeaseSet is published again, but not before the minimum interval.
        assert!(d.refresh(later, NOW_S + 20, &leases(3)));
        assert!(!d.published());
        assert!(d.poll_store(later, &ffs, reply, 10).is_none());
        let r = d
            .poll_store(later + MIN_PUBLISH_INTERVAL, &ffs, reply, 10)
            .unwrap();
        assert_eq!(r.floodfill, ffs[0]);
    }

    #[test]
    fn unconfirmed_rounds_start_over_after_a_pause() {
        let t0 = Instant::now();
        let mut d = dest();
        d.refresh(t0, NOW_S, &leases(2));
        let ffs = [Hash([0xf1; 32]), Hash([0xf2; 32])];
        let reply = Some((Hash([1; 32]), 1));
        assert_eq!(d.poll_store(t0, &ffs, reply, 1).unwrap().floodfill, ffs[0]);
        let t1 = t0 + STORE_TIMEOUT;
        assert_eq!(d.poll_store(t1, &ffs, reply, 2).unwrap().floodfill, ffs[1]);
        let t2 = t1 + STORE_TIMEOUT;
        assert!(
            d.poll_store(t2, &ffs, reply, 3).is_none(),
            "every floodfill tried: pause"
        );
        let t3 = t1 + STORE_ROUND_PAUSE;
        let r = d.poll_store(t3, &ffs, reply, 4).unwrap();
        assert_eq!(r.floodfill, ffs[0], "a new round from the closest");
        assert!(d.handle_delivery_status(4));
        assert!(d.published());
    }

    #[test]
    fn encrypted_destinations_store_under_the_blinded_key() {
        let t0 = Instant::now();
        let mut d = LocalDestination::new("hidden".into(), DestinationKeys::generate(), true, true);
        let b33 = d.b33().unwrap();
        assert!(d.refresh(t0, NOW_S, &leases(2)));
        let address = BlindedAddress::parse(&b33).unwrap();
        let date = date_string(u64::from(NOW_S));
        assert_eq!(d.store_key(), address.store_hash(&date).unwrap());
        assert_ne!(d.store_key(), d.hash());
        let r = d
            .poll_store(t0, &[Hash([0xf1; 32])], Some((Hash([1; 32]), 1)), 7)
            .unwrap();
        assert_eq!(r.store.key, d.store_key());
        assert_eq!(r.store.store_type(), 5);
        // What a client that knows only the b33 address does with the store.
        let els = r.store.parse_encrypted_lease_set().unwrap();
        let ls = els.decrypt(&address).unwrap();
        assert_eq!(Some(&ls), d.leaseset());
        // The next day: a new blinded key, so a new LeaseSet even with the same
        // leases.
        let tomorrow = NOW_S + 86_400;
        let later_leases: Vec<_> = leases(2)
            .into_iter()
            .map(|(g, t, _)| (g, t, tomorrow + 600))
            .collect();
        assert!(d.refresh(t0, tomorrow, &later_leases));
        assert_ne!(
            d.store_key(),
            address.store_hash(&date).unwrap(),
            "blinded key rotated"
        );
        // Plain destinations have no b33.
        assert_eq!(dest().b33(), None);
    }

    #[test]
    fn unpublished_destinations_store_nothing() {
        let t0 = Instant::now();
        let mut d =
            LocalDestination::new("client".into(), DestinationKeys::generate(), false, false);
        d.refresh(t0, NOW_S, &leases(1));
        assert!(d.leaseset().is_some());
        assert!(d
            .poll_store(t0, &[Hash([0xf1; 32])], Some((Hash([1; 32]), 1)), 7)
            .is_none());
    }
}
