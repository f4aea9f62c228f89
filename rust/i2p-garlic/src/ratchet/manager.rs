//! [`DestinationGarlic`]: the ECIES-X25519-AEAD-Ratchet layer of one local
//! destination: its sessions by remote static key, one index of every inbound tag,
//! New Session replay detection, limits and expiry.
//!
//! Decryption order (as i2pd's `GarlicDestination::HandleGarlicMessage`): if the first
//! 8 bytes are one of our inbound tags, the message is a New Session Reply or an
//! Existing Session message of that tag's session; otherwise it must be a New Session
//! message to our static key.

use std::collections::HashMap;
use std::fmt;

use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::{PublicKey, StaticSecret};
use i2p_crypto::Zeroizing;

use super::config::{ms, RatchetConfig, RatchetStats};
use super::error::{RatchetError, RatchetPath, RatchetResult};
use super::handshake::{
    ns_ephemeral_key, open_new_session, seal_new_session, Ephemeral, NS_OVERHEAD,
};
use super::kdf::{initial_state, TAG_LEN};
use super::session::{new_session_blocks, Ctx, Phase, Session, TagIndex};
use crate::block::{check_order, parse_blocks, write_blocks, AckEntry, Block, MessageKind};
use crate::clove::Clove;
use crate::error::Error;
use crate::keytag::{garlic_body, garlic_data};
use crate::replay::ReplayCache;

/// How a received message was encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IncomingKind {
    /// A bound New Session: the sender's static key is [`Incoming::remote`], and our
    /// next message to it is a New Session Reply.
    NewSession,
    /// A New Session without a static key ("1c"/"1d", raw datagrams): no session, no
    /// reply possible.
    OneTime,
    /// A New Session Reply to one of our New Session messages.
    NewSessionReply,
    /// An Existing Session message.
    ExistingSession,
}

/// A decrypted garlic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Which message format it came in.
    pub kind: IncomingKind,
    /// The sender's static X25519 key (the encryption key of its LeaseSet), for every
    /// kind but [`IncomingKind::OneTime`]. Authenticated: only the holder of the
    /// matching private key can produce a bound New Session or use the session's keys.
    pub remote: Option<PublicKey>,
    /// All payload blocks, in order (DateTime, Garlic Clove, Next Key, ACK, ...).
    pub blocks: Vec<Block>,
    /// For an Existing Session message: its `(tag set ID, N)`, what an ACK of it
    /// carries.
    pub id: Option<AckEntry>,
    /// We owe the sender a message: an ACK it asked for, our side of a DH ratchet, or
    /// (after a New Session Reply) the first Existing Session that lets Bob switch
    /// from replies to Existing Session messages. If the application has nothing to send, call
    /// [`DestinationGarlic::encrypt`] with no cloves and send the result.
    pub reply_due: bool,
    /// The sender ended the session (Termination block); it is gone.
    pub terminated: bool,
}

impl Incoming {
    /// The Garlic Clove blocks, in order.
    pub fn cloves(&self) -> impl Iterator<Item = &Clove> {
        self.blocks.iter().filter_map(|b| match b {
            Block::GarlicClove(c) => Some(c),
            _ => None,
        })
    }

    /// The `(tag set ID, N)` entries of ACK blocks: our messages the sender confirms.
    pub fn acks(&self) -> impl Iterator<Item = &AckEntry> {
        self.blocks.iter().flat_map(|b| match b {
            Block::Ack(a) => a.as_slice(),
            _ => &[],
        })
    }
}

/// A message built by [`DestinationGarlic::encrypt_detailed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The Garlic message body: `length (4) || data`, the payload of an I2NP type 11
    /// message.
    pub body: Vec<u8>,
    /// Which format was used.
    pub kind: MessageKind,
    /// With `ack_request` on an Existing Session message: the `(tag set ID, N)` the
    /// peer's ACK will carry (see [`Incoming::acks`]).
    pub ack_id: Option<AckEntry>,
}

/// The ECIES-X25519-AEAD-Ratchet garlic layer of one local destination (ecies.rst).
///
/// Sans-IO: no clock, no socket. Every call takes `now_ms`, wall-clock milliseconds
/// since the epoch (New Session DateTime blocks are wall-clock seconds); `now_ms` must
/// not go backwards. Bodies in and out are Garlic message bodies, `length (4) ||
/// data`, exactly the payload of an I2NP Garlic message (type 11).
///
/// Call order: [`encrypt`](Self::encrypt) / [`decrypt`](Self::decrypt) as messages
/// go and come; after each, and when [`poll_timeout`](Self::poll_timeout) is reached,
/// call [`handle_timeout`](Self::handle_timeout).
pub struct DestinationGarlic {
    static_key: StaticSecret,
    public_key: PublicKey,
    init: SymmetricState,
    cfg: RatchetConfig,
    sessions: HashMap<u64, Session>,
    by_remote: HashMap<PublicKey, u64>,
    next_sid: u64,
    tags: TagIndex,
    replay: ReplayCache,
    stats: RatchetStats,
}

impl fmt::Debug for DestinationGarlic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DestinationGarlic")
            .field("public_key", &self.public_key)
            .field("sessions", &self.sessions.len())
            .field("tags", &self.tags.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl DestinationGarlic {
    /// The garlic layer of the destination whose X25519 static (LeaseSet encryption,
    /// crypto type 4) key is `static_key`, with default settings.
    pub fn new(static_key: StaticSecret) -> Self {
        Self::with_config(static_key, RatchetConfig::default())
    }

    /// As [`DestinationGarlic::new`], with `cfg`.
    pub fn with_config(static_key: StaticSecret, cfg: RatchetConfig) -> Self {
        let public_key = static_key.public_key();
        let keep = ms(cfg.max_clock_skew).saturating_mul(2);
        DestinationGarlic {
            init: initial_state(&public_key),
            public_key,
            static_key,
            tags: TagIndex::new(cfg.max_tags),
            replay: ReplayCache::new(cfg.replay_capacity, keep),
            cfg,
            sessions: HashMap::new(),
            by_remote: HashMap::new(),
            next_sid: 1,
            stats: RatchetStats::default(),
        }
    }

    /// Our static public key.
    pub fn public_key(&self) -> PublicKey {
        self.public_key
    }

    /// The counters.
    pub fn stats(&self) -> RatchetStats {
        self.stats
    }

    /// Number of sessions held (including replaced ones kept for late messages).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of inbound tags held, for all sessions.
    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }

    /// True if we have a confirmed session with `remote` (Existing Session messages
    /// flow both ways, or will as soon as Bob hears from us).
    pub fn is_established(&self, remote: &PublicKey) -> bool {
        self.current(remote).is_some_and(Session::is_confirmed)
    }

    /// The format the next [`encrypt`](Self::encrypt) to `remote` will use. A caller
    /// that wants the peer to be able to answer adds its LeaseSet (a DatabaseStore
    /// clove) to New Session messages, as i2pd does.
    pub fn next_kind(&self, remote: &PublicKey) -> MessageKind {
        self.current(remote)
            .map(Session::next_kind)
            .unwrap_or(MessageKind::NewSession)
    }

    fn current(&self, remote: &PublicKey) -> Option<&Session> {
        self.by_remote
            .get(remote)
            .and_then(|sid| self.sessions.get(sid))
    }

    /// Encrypts `cloves` to the destination whose static key is `remote` and returns
    /// the Garlic message body (`length (4) || data`). Chooses the format: New Session
    /// (with our static key, DateTime first) when there is no session or no reply yet,
    /// New Session Reply when the peer started the session and has not yet confirmed
    /// it, Existing Session otherwise, with the ACKs and Next Key blocks we owe.
    /// `cloves` may be empty (an ACK / key-only message).
    pub fn encrypt(
        &mut self,
        now_ms: u64,
        remote: &PublicKey,
        cloves: &[Clove],
    ) -> RatchetResult<Vec<u8>> {
        self.encrypt_detailed(now_ms, remote, cloves, false)
            .map(|o| o.body)
    }

    /// As [`encrypt`](Self::encrypt); with `ack_request`, an Existing Session message
    /// also carries an ACK Request block and [`Outgoing::ack_id`] says which ACK to
    /// expect (New Session and New Session Reply messages cannot carry one).
    pub fn encrypt_detailed(
        &mut self,
        now_ms: u64,
        remote: &PublicKey,
        cloves: &[Clove],
        ack_request: bool,
    ) -> RatchetResult<Outgoing> {
        for _ in 0..2 {
            let sid = match self.by_remote.get(remote) {
                Some(sid) if self.sessions.contains_key(sid) => *sid,
                _ => self.add_outbound(now_ms, remote)?,
            };
            let Some(session) = self.sessions.get_mut(&sid) else {
                continue;
            };
            let mut ctx = Ctx {
                sid,
                now_ms,
                cfg: &self.cfg,
                tags: &mut self.tags,
                stats: &mut self.stats,
                our_static: &self.static_key,
            };
            match session.seal(&mut ctx, cloves, ack_request) {
                Ok(s) => {
                    return Ok(Outgoing {
                        body: garlic_body(&s.data),
                        kind: s.kind,
                        ack_id: s.ack_id,
                    })
                }
                Err(e) => {
                    if session.exhausted {
                        // Tag sets or key IDs used up: start a new session.
                        self.remove_session(sid);
                        continue;
                    }
                    if matches!(session.phase, Phase::NsSent) && session.attempts() == 0 {
                        self.remove_session(sid);
                    }
                    return Err(e);
                }
            }
        }
        Err(RatchetError::SessionClosed)
    }

    /// Encrypts `cloves` as a one-time New Session without our static key ("1d)
    /// One-time format": raw datagrams, no session, no reply). Body as
    /// [`encrypt`](Self::encrypt).
    pub fn encrypt_one_time(
        &mut self,
        now_ms: u64,
        remote: &PublicKey,
        cloves: &[Clove],
    ) -> RatchetResult<Vec<u8>> {
        let payload = Zeroizing::new(write_blocks(&new_session_blocks(now_ms, cloves))?);
        let (data, _) = seal_new_session(Ephemeral::generate()?, remote, None, &payload)?;
        self.stats.one_time_sent += 1;
        Ok(garlic_body(&data))
    }

    /// Ends the session with `remote`: returns an Existing Session message carrying a
    /// Termination block (reason 0, "normal close") if the session is established,
    /// and forgets the session either way.
    pub fn terminate(&mut self, now_ms: u64, remote: &PublicKey) -> RatchetResult<Option<Vec<u8>>> {
        let Some(sid) = self.by_remote.get(remote).copied() else {
            return Ok(None);
        };
        let mut out = None;
        if let Some(session) = self.sessions.get_mut(&sid) {
            if session.is_confirmed() {
                let mut ctx = Ctx {
                    sid,
                    now_ms,
                    cfg: &self.cfg,
                    tags: &mut self.tags,
                    stats: &mut self.stats,
                    our_static: &self.static_key,
                };
                let term = session.seal_termination(&mut ctx)?;
                out = Some(garlic_body(&term));
            }
        }
        self.remove_session(sid);
        Ok(out)
    }

    fn alloc_sid(&mut self) -> u64 {
        let sid = self.next_sid;
        self.next_sid = self.next_sid.wrapping_add(1).max(1);
        sid
    }

    fn add_outbound(&mut self, now_ms: u64, remote: &PublicKey) -> RatchetResult<u64> {
        if self.sessions.len() >= self.cfg.max_sessions.max(1) {
            // Least recently active first.
            let victim = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.last_activity())
                .map(|(k, _)| *k)
                .ok_or(RatchetError::SessionLimit)?;
            self.remove_session(victim);
            self.stats.sessions_evicted += 1;
        }
        let sid = self.alloc_sid();
        self.sessions
            .insert(sid, Session::new_outbound(*remote, now_ms));
        self.by_remote.insert(*remote, sid);
        Ok(sid)
    }

    /// A session replaced by a newer one with the same peer: kept for late messages
    /// if it may still get some (confirmed; replied to, and so maybe chosen by Alice;
    /// or our own New Session awaiting a reply, when both sides opened at once), else
    /// dropped.
    fn retire_or_remove(&mut self, sid: u64, now_ms: u64) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            if s.is_confirmed() || s.has_replied() || (s.outbound && s.attempts() > 0) {
                s.retired_ms = Some(now_ms);
                if self.by_remote.get(&s.remote) == Some(&sid) {
                    self.by_remote.remove(&s.remote);
                }
            } else {
                self.remove_session(sid);
            }
        }
    }

    fn remove_session(&mut self, sid: u64) {
        if let Some(mut s) = self.sessions.remove(&sid) {
            s.drop_all_tags(&mut self.tags, sid);
            if self.by_remote.get(&s.remote) == Some(&sid) {
                self.by_remote.remove(&s.remote);
            }
        }
    }

    /// Decrypts a Garlic message body (`length (4) || data`) addressed to this
    /// destination. Errors are typed and counted ([`RatchetStats`]); a failed message
    /// changes no session state (its tag, if any, stays valid).
    pub fn decrypt(&mut self, now_ms: u64, garlic_body: &[u8]) -> RatchetResult<Incoming> {
        let r = self.decrypt_inner(now_ms, garlic_body);
        if let Err(e) = &r {
            let c = match e {
                RatchetError::Auth(_) => &mut self.stats.auth_failed,
                RatchetError::Garlic(Error::Replay) => &mut self.stats.replayed,
                RatchetError::Garlic(Error::Stale { .. } | Error::MissingDateTime) => {
                    &mut self.stats.stale
                }
                _ => &mut self.stats.malformed,
            };
            *c += 1;
        }
        r
    }

    fn decrypt_inner(&mut self, now_ms: u64, garlic_body: &[u8]) -> RatchetResult<Incoming> {
        let data = garlic_data(garlic_body)?;
        if let Some(tag) = data.first_chunk::<TAG_LEN>() {
            if let Some(r) = self.tags.get(tag) {
                return self.decrypt_tagged(now_ms, r, data);
            }
        }
        self.decrypt_new_session(now_ms, data)
    }

    fn decrypt_tagged(
        &mut self,
        now_ms: u64,
        r: super::session::TagRef,
        data: &[u8],
    ) -> RatchetResult<Incoming> {
        let sid = r.session;
        let Some(session) = self.sessions.get_mut(&sid) else {
            return Err(RatchetError::SessionClosed);
        };
        let mut ctx = Ctx {
            sid,
            now_ms,
            cfg: &self.cfg,
            tags: &mut self.tags,
            stats: &mut self.stats,
            our_static: &self.static_key,
        };
        let opened = session.open(&mut ctx, r.tagset, r.index, data)?;
        let kind = match opened.kind {
            MessageKind::NewSessionReply => IncomingKind::NewSessionReply,
            _ => IncomingKind::ExistingSession,
        };
        let incoming = Incoming {
            kind,
            remote: Some(session.remote),
            blocks: opened.blocks,
            id: opened.id,
            reply_due: session.reply_due(),
            terminated: session.terminated,
        };
        let remote = session.remote;
        if session.terminated {
            self.remove_session(sid);
        } else if opened.confirmed {
            // "Bob must only retain Existing Sessions for the ES messages received from
            // Alice. Any other created inbound and outbound sessions (for multiple NSRs)
            // should be destroyed": Alice chose this handshake, it becomes current.
            session.retired_ms = None;
            if let Some(other) = self.by_remote.insert(remote, sid) {
                if other != sid {
                    self.retire_or_remove(other, now_ms);
                }
            }
        }
        Ok(incoming)
    }

    fn decrypt_new_session(&mut self, now_ms: u64, data: &[u8]) -> RatchetResult<Incoming> {
        if data.len() < NS_OVERHEAD {
            return Err(
                Error::malformed("garlic", "unknown tag and too short for New Session").into(),
            );
        }
        // "Bob must implement a Bloom filter or other mechanism to prevent replay
        // attacks" - checked before the DH, recorded after authentication.
        let aepk = ns_ephemeral_key(data)?;
        if self.replay.contains(&aepk) {
            return Err(Error::Replay.into());
        }
        let got = open_new_session(&self.static_key, &self.init, data)?;
        let blocks = parse_blocks(&got.payload)?;
        let timestamp = match blocks.first() {
            Some(Block::DateTime { timestamp }) => *timestamp,
            _ => return Err(Error::MissingDateTime.into()),
        };
        let now_s = now_ms / 1000;
        if u64::from(timestamp).abs_diff(now_s) > self.cfg.max_clock_skew.as_secs() {
            return Err(Error::Stale { timestamp, now_s }.into());
        }
        check_order(&blocks, MessageKind::NewSession)?;
        self.replay.insert(now_ms, aepk);
        let Some(alice) = got.alice else {
            self.stats.one_time_received += 1;
            return Ok(Incoming {
                kind: IncomingKind::OneTime,
                remote: None,
                blocks,
                id: None,
                reply_due: false,
                terminated: false,
            });
        };
        if alice == self.public_key {
            // Ourselves: "ss" would be DH(bsk, bpk); nothing to set up.
            return Err(RatchetError::Auth(RatchetPath::NewSession));
        }
        self.add_inbound(now_ms, alice, &got)?;
        self.stats.ns_received += 1;
        Ok(Incoming {
            kind: IncomingKind::NewSession,
            remote: Some(alice),
            blocks,
            id: None,
            reply_due: false,
            terminated: false,
        })
    }

    /// A bound New Session from `alice`: a new session replaces any current one (only
    /// Alice can make a valid bound New Session, so this is her restarting); the old
    /// one stays for late messages ("retired") until `previous_tagset_lifetime`.
    fn add_inbound(
        &mut self,
        now_ms: u64,
        alice: PublicKey,
        got: &super::handshake::NsReceived,
    ) -> RatchetResult<()> {
        // Both sides opened at once (our New Session still unanswered, theirs arrives):
        // both keep the session started by the smaller static key, so they converge.
        let simultaneous_we_win = self.public_key < alice
            && self
                .current(&alice)
                .is_some_and(|s| s.outbound && !s.is_confirmed() && s.attempts() > 0);
        if !simultaneous_we_win {
            if let Some(old) = self.by_remote.remove(&alice) {
                self.retire_or_remove(old, now_ms);
            }
        }
        let unconfirmed: Vec<(u64, u64)> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.outbound && !s.is_confirmed())
            .map(|(k, s)| (s.created_ms, *k))
            .collect();
        if unconfirmed.len() >= self.cfg.max_unconfirmed_inbound.max(1) {
            if let Some((_, victim)) = unconfirmed.iter().min() {
                self.remove_session(*victim);
                self.stats.sessions_evicted += 1;
            }
        }
        if self.sessions.len() >= self.cfg.max_sessions.max(1) {
            let victim = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.last_activity())
                .map(|(k, _)| *k)
                .ok_or(RatchetError::SessionLimit)?;
            self.remove_session(victim);
            self.stats.sessions_evicted += 1;
        }
        let sid = self.alloc_sid();
        let mut session = Session::new_inbound(alice, got, now_ms);
        if simultaneous_we_win {
            // Kept only to read; it never replies (the peer's own session answers ours).
            session.retired_ms = Some(now_ms);
        } else {
            self.by_remote.insert(alice, sid);
        }
        self.sessions.insert(sid, session);
        Ok(())
    }

    /// Drops expired tag sets, sessions (idle, unanswered, replaced), replay entries.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.replay.evict(now_ms);
        let sids: Vec<u64> = self.sessions.keys().copied().collect();
        for sid in sids {
            let Some(session) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if session.deadline(&self.cfg) > now_ms {
                continue;
            }
            let mut ctx = Ctx {
                sid,
                now_ms,
                cfg: &self.cfg,
                tags: &mut self.tags,
                stats: &mut self.stats,
                our_static: &self.static_key,
            };
            if !session.expire(&mut ctx) {
                self.remove_session(sid);
                self.stats.sessions_expired += 1;
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.sessions.values().map(|s| s.deadline(&self.cfg)).min()
    }

    /// Fuzzing only: an Existing Session message to `remote` (established session)
    /// whose payload is `payload` as it is, so that the receiver's block handling
    /// can be reached behind valid encryption. Returns the Garlic message body.
    #[cfg(any(test, feature = "fuzzing"))]
    #[doc(hidden)]
    pub fn encrypt_raw_payload(
        &mut self,
        remote: &PublicKey,
        payload: &[u8],
    ) -> RatchetResult<Vec<u8>> {
        let sid = *self
            .by_remote
            .get(remote)
            .ok_or(RatchetError::SessionClosed)?;
        let session = self
            .sessions
            .get_mut(&sid)
            .ok_or(RatchetError::SessionClosed)?;
        Ok(garlic_body(&session.seal_raw(payload)?))
    }

    /// Test access to our key.
    #[cfg(test)]
    pub(crate) fn static_key_for_test(&self) -> &StaticSecret {
        &self.static_key
    }

    /// Test access to a session.
    #[cfg(test)]
    pub(crate) fn session_mut(&mut self, remote: &PublicKey) -> Option<&mut Session> {
        let sid = self.by_remote.get(remote)?;
        self.sessions.get_mut(sid)
    }
}
