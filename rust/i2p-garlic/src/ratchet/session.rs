//! One session with one remote destination (ecies.rst "4a) DH Ratchet", "1g) Notes"):
//! the handshake phase, the tag sets in both directions, the DH ratchets driven by
//! Next Key blocks, and the ACKs owed.
//!
//! Read first: ecies.rst "DH RATCHET MESSAGE FLOW" and the table under it. Key and
//! tag set IDs follow i2pd 2.45.1 (`NewNextSendRatchet`, `HandleNextKey`,
//! `CreatePayload`): the tag sender's key IDs go 0 (new, "request reverse"), 1 (new),
//! 1 (old, "request reverse"), 2 (new), 2 (old, ...); the receiver answers with its
//! own key (new, same ID) when asked, else with the ID of its last key; the new tag
//! set's ID is `1 + sender key ID + receiver key ID` (`2 * key ID + request` on the
//! receiver's side, the same number).

use std::collections::{BTreeMap, HashMap};

use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::{PublicKey, StaticSecret};
use i2p_crypto::Zeroizing;

use super::config::{ms, RatchetConfig, RatchetStats};
use super::error::{RatchetError, RatchetResult};
use super::handshake::{
    open_existing, open_nsr, seal_existing, seal_new_session, Ephemeral, NsReceived, NsSent,
    NsrSender,
};
use super::kdf::{dh_ratchet_tagset_key, nsr_tagset, split, TagRatchet, TAG_LEN};
use super::tagset::{ReceiveTagSet, SendTagSet};
use crate::block::{
    check_order, parse_blocks, write_blocks, AckEntry, Block, MessageKind, NextKey,
};
use crate::clove::Clove;
use crate::keytag::random_padding;

/// Largest key ID ("The maximum Key ID is 32767").
const MAX_KEY_ID: u16 = 32767;

/// Where a tag in the destination's index points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TagRef {
    pub(crate) session: u64,
    pub(crate) tagset: u32,
    pub(crate) index: u16,
}

/// The destination's bounded map from inbound tag to (session, tag set, index).
pub(crate) struct TagIndex {
    map: HashMap<[u8; TAG_LEN], TagRef>,
    capacity: usize,
}

impl TagIndex {
    pub(crate) fn new(capacity: usize) -> Self {
        TagIndex {
            map: HashMap::new(),
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.map.len())
    }

    pub(crate) fn get(&self, tag: &[u8; TAG_LEN]) -> Option<TagRef> {
        self.map.get(tag).copied()
    }

    fn insert(&mut self, tag: [u8; TAG_LEN], r: TagRef) {
        // A collision (2^-64) keeps the older entry.
        self.map.entry(tag).or_insert(r);
    }

    pub(crate) fn remove(&mut self, tag: &[u8; TAG_LEN], owner: u64) {
        if self.map.get(tag).is_some_and(|r| r.session == owner) {
            self.map.remove(tag);
        }
    }
}

/// What a session method needs from its destination.
pub(crate) struct Ctx<'a> {
    pub(crate) sid: u64,
    pub(crate) now_ms: u64,
    pub(crate) cfg: &'a RatchetConfig,
    pub(crate) tags: &'a mut TagIndex,
    pub(crate) stats: &'a mut RatchetStats,
    pub(crate) our_static: &'a StaticSecret,
}

/// The handshake phase.
pub(crate) enum Phase {
    /// Alice: New Session message(s) sent, no reply yet. "Alice continues sending New
    /// Session (NS) messages to Bob until receiving one of Bob's New Session Reply
    /// (NSR) messages."
    NsSent,
    /// Bob: a New Session received; "Bob must receive an ES message from Alice before
    /// sending ES messages", so every reply is a New Session Reply.
    NsReceived {
        /// Built at the first reply (it costs an Elligator2 key generation).
        reply: Option<Box<NsrSender>>,
        /// The Noise state after the New Session, input of the reply.
        base: Box<SymmetricState>,
        aepk: PublicKey,
        /// `tagset_nsr`: the reply tags.
        nsr_tags: SendTagSet,
    },
    /// Both sides have keys; messages are Existing Session ones.
    Established,
}

/// A New Session we sent, waiting for its reply.
struct NsAttempt {
    sent: NsSent,
    /// Local id of its reply tag set in `recv`.
    tagset: u32,
}

/// One side of a DH ratchet (i2pd's `DHRatchet`).
struct DhRatchet {
    key_id: u16,
    secret: StaticSecret,
    public: PublicKey,
    new_key: bool,
    remote: Option<PublicKey>,
}

impl DhRatchet {
    fn fresh(key_id: u16) -> Self {
        let secret = StaticSecret::random();
        let public = secret.public_key();
        DhRatchet {
            key_id,
            secret,
            public,
            new_key: true,
            remote: None,
        }
    }

    fn new_key(&mut self) {
        self.secret = StaticSecret::random();
        self.public = self.secret.public_key();
        self.new_key = true;
    }
}

/// A receive tag set and its role.
struct RecvEntry {
    set: ReceiveTagSet,
    /// True for the tag set of New Session Replies.
    nsr: bool,
}

/// The result of opening a tagged message.
pub(crate) struct Opened {
    pub(crate) kind: MessageKind,
    pub(crate) blocks: Vec<Block>,
    /// `(tag set ID, N)` of an Existing Session message.
    pub(crate) id: Option<AckEntry>,
    /// This message confirmed an inbound session (Alice's first ES).
    pub(crate) confirmed: bool,
}

/// What `seal` produced.
pub(crate) struct Sealed {
    pub(crate) data: Vec<u8>,
    pub(crate) kind: MessageKind,
    pub(crate) ack_id: Option<AckEntry>,
}

/// One session with one remote static key.
pub(crate) struct Session {
    pub(crate) remote: PublicKey,
    pub(crate) phase: Phase,
    /// True for sessions we started (we are Alice).
    pub(crate) outbound: bool,
    attempts: Vec<NsAttempt>,
    send: Option<SendTagSet>,
    recv: BTreeMap<u32, RecvEntry>,
    next_local: u32,
    send_ratchet: Option<DhRatchet>,
    send_forward_key: bool,
    recv_ratchet: Option<DhRatchet>,
    send_reverse_key: bool,
    pending_acks: Vec<AckEntry>,
    /// Alice: a reply arrived and no Existing Session went out yet; Bob keeps sending
    /// New Session Replies until one does.
    confirm_due: bool,
    /// Our own outbound tag sets ran out of key IDs or tags: start over.
    pub(crate) exhausted: bool,
    pub(crate) created_ms: u64,
    pub(crate) last_recv_ms: u64,
    pub(crate) last_send_ms: u64,
    /// When a newer session with the same peer replaced this one.
    pub(crate) retired_ms: Option<u64>,
    pub(crate) terminated: bool,
}

impl Session {
    /// A session we start (Alice); the first `seal` sends a New Session.
    pub(crate) fn new_outbound(remote: PublicKey, now_ms: u64) -> Self {
        Self::empty(remote, Phase::NsSent, true, now_ms)
    }

    /// A session started by a bound New Session from `ns.alice`.
    pub(crate) fn new_inbound(remote: PublicKey, ns: &NsReceived, now_ms: u64) -> Self {
        let nsr_tags = SendTagSet::new(0, &nsr_tagset(ns.state.ck()));
        let phase = Phase::NsReceived {
            reply: None,
            base: Box::new(ns.state.clone()),
            aepk: ns.aepk,
            nsr_tags,
        };
        let mut s = Self::empty(remote, phase, false, now_ms);
        s.last_recv_ms = now_ms;
        s
    }

    fn empty(remote: PublicKey, phase: Phase, outbound: bool, now_ms: u64) -> Self {
        Session {
            remote,
            phase,
            outbound,
            attempts: Vec::new(),
            send: None,
            recv: BTreeMap::new(),
            next_local: 0,
            send_ratchet: None,
            send_forward_key: false,
            recv_ratchet: None,
            send_reverse_key: false,
            pending_acks: Vec::new(),
            confirm_due: false,
            exhausted: false,
            created_ms: now_ms,
            last_recv_ms: 0,
            last_send_ms: 0,
            retired_ms: None,
            terminated: false,
        }
    }

    /// True for an inbound session that sent at least one New Session Reply.
    pub(crate) fn has_replied(&self) -> bool {
        matches!(self.phase, Phase::NsReceived { reply: Some(_), .. })
    }

    pub(crate) fn is_confirmed(&self) -> bool {
        matches!(self.phase, Phase::Established)
    }

    /// The last time anything was sent or received.
    pub(crate) fn last_activity(&self) -> u64 {
        self.last_recv_ms
            .max(self.last_send_ms)
            .max(self.created_ms)
    }

    /// True if we owe the peer a message (an ACK, our side of a DH ratchet, or the
    /// first Existing Session that confirms a session Bob answered).
    pub(crate) fn reply_due(&self) -> bool {
        self.send_reverse_key || self.confirm_due || !self.pending_acks.is_empty()
    }

    /// The kind of message the next `seal` gives.
    pub(crate) fn next_kind(&self) -> MessageKind {
        match self.phase {
            Phase::NsSent => MessageKind::NewSession,
            Phase::NsReceived { .. } => MessageKind::NewSessionReply,
            Phase::Established => MessageKind::ExistingSession,
        }
    }

    /// Adds a receive tag set with `initial` tags; drops the oldest non-reply tag set
    /// beyond the limit. Returns its local id.
    fn add_recv(&mut self, ctx: &mut Ctx<'_>, set: ReceiveTagSet, nsr: bool, initial: u16) -> u32 {
        let local = self.next_local;
        self.next_local = self.next_local.wrapping_add(1);
        self.recv.insert(local, RecvEntry { set, nsr });
        self.extend(ctx, local, usize::from(initial));
        if !nsr {
            let es: Vec<u32> = self
                .recv
                .iter()
                .filter(|(_, e)| !e.nsr)
                .map(|(k, _)| *k)
                .collect();
            let excess = es.len().saturating_sub(ctx.cfg.max_receive_tagsets.max(1));
            for k in es.into_iter().take(excess) {
                self.drop_recv(ctx, k);
            }
        }
        local
    }

    fn extend(&mut self, ctx: &mut Ctx<'_>, local: u32, n: usize) {
        let room = ctx.tags.room();
        if room < n {
            ctx.stats.tags_refused_full += 1;
        }
        if let Some(e) = self.recv.get_mut(&local) {
            for (tag, index) in e.set.extend(n.min(room)) {
                ctx.tags.insert(
                    tag,
                    TagRef {
                        session: ctx.sid,
                        tagset: local,
                        index,
                    },
                );
            }
        }
    }

    fn drop_recv(&mut self, ctx: &mut Ctx<'_>, local: u32) {
        if let Some(e) = self.recv.remove(&local) {
            for t in e.set.all_tags() {
                ctx.tags.remove(t, ctx.sid);
            }
        }
    }

    /// Drops every tag of this session from the index (before removing it).
    pub(crate) fn drop_all_tags(&mut self, tags: &mut TagIndex, sid: u64) {
        for e in self.recv.values() {
            for t in e.set.all_tags() {
                tags.remove(t, sid);
            }
        }
        self.recv.clear();
    }

    /// Number of inbound tags this session holds.
    #[cfg(test)]
    pub(crate) fn tag_count(&self) -> usize {
        self.recv.values().map(|e| e.set.outstanding()).sum()
    }

    // ----- sending -----

    /// Encrypts one message to the peer: New Session, New Session Reply or Existing
    /// Session, by phase. Returns garlic data (no length).
    pub(crate) fn seal(
        &mut self,
        ctx: &mut Ctx<'_>,
        cloves: &[Clove],
        ack_request: bool,
    ) -> RatchetResult<Sealed> {
        let sealed = match self.phase {
            Phase::NsSent => self.seal_ns(ctx, cloves)?,
            Phase::NsReceived { .. } => self.seal_nsr(ctx, cloves)?,
            Phase::Established => self.seal_es(ctx, cloves, ack_request)?,
        };
        self.last_send_ms = ctx.now_ms;
        Ok(sealed)
    }

    fn seal_ns(&mut self, ctx: &mut Ctx<'_>, cloves: &[Clove]) -> RatchetResult<Sealed> {
        let payload = Zeroizing::new(write_blocks(&new_session_blocks(ctx.now_ms, cloves))?);
        let (data, sent) = seal_new_session(
            Ephemeral::generate()?,
            &self.remote,
            Some(ctx.our_static),
            &payload,
        )?;
        let sent = sent.ok_or(RatchetError::KeyGeneration)?;
        // "Alice should use a timer for receiving a NSR": reply tags live as long as
        // the attempt.
        let mut set = ReceiveTagSet::new(0, &sent.nsr_tagset());
        set.expires_ms = Some(ctx.now_ms.saturating_add(ms(ctx.cfg.ns_reply_timeout)));
        let local = self.add_recv(ctx, set, true, ctx.cfg.nsr_tags);
        self.attempts.push(NsAttempt {
            sent,
            tagset: local,
        });
        while self.attempts.len() > ctx.cfg.max_ns_attempts.max(1) {
            let old = self.attempts.remove(0);
            self.drop_recv(ctx, old.tagset);
        }
        ctx.stats.ns_sent += 1;
        Ok(Sealed {
            data,
            kind: MessageKind::NewSession,
            ack_id: None,
        })
    }

    fn seal_nsr(&mut self, ctx: &mut Ctx<'_>, cloves: &[Clove]) -> RatchetResult<Sealed> {
        // "Payload will usually contain one or more Garlic Clove blocks"; NSR allows
        // Garlic Clove, Options, Padding (i2pd adds a DateTime too; we keep to the spec).
        let mut blocks: Vec<Block> = cloves.iter().cloned().map(Block::GarlicClove).collect();
        blocks.push(random_padding());
        let payload = Zeroizing::new(write_blocks(&blocks)?);
        let Phase::NsReceived {
            reply,
            base,
            aepk,
            nsr_tags,
        } = &mut self.phase
        else {
            return Err(RatchetError::SessionClosed);
        };
        let first = reply.is_none();
        if reply.is_none() {
            *reply = Some(Box::new(NsrSender::new(
                (**base).clone(),
                aepk,
                &self.remote,
            )?));
        }
        let sender = reply.as_ref().ok_or(RatchetError::SessionClosed)?;
        let tag = match nsr_tags.next_tag() {
            Some(t) => t,
            None => {
                self.exhausted = true;
                return Err(RatchetError::SessionClosed);
            }
        };
        let (data, ck) = sender.seal(&tag, &payload);
        if first {
            // Bob: receive on tagset_ab, send (after Alice's first ES) on tagset_ba.
            let (ab, ba, _) = split(&ck);
            self.send = Some(SendTagSet::new(0, &ba));
            let mut set = ReceiveTagSet::new(0, &ab);
            set.expires_ms = Some(ctx.now_ms.saturating_add(ms(ctx.cfg.nsr_confirm_timeout)));
            self.add_recv(ctx, set, false, ctx.cfg.min_lookahead);
        }
        ctx.stats.nsr_sent += 1;
        Ok(Sealed {
            data,
            kind: MessageKind::NewSessionReply,
            ack_id: None,
        })
    }

    fn seal_es(
        &mut self,
        ctx: &mut Ctx<'_>,
        cloves: &[Clove],
        ack_request: bool,
    ) -> RatchetResult<Sealed> {
        let threshold = u32::from(ctx.cfg.send_ratchet_after.clamp(1, 65000));
        let needs_ratchet = self
            .send
            .as_ref()
            .is_some_and(|s| s.next_index() >= threshold);
        if needs_ratchet && !self.send_forward_key {
            self.start_send_ratchet();
        }
        let mut blocks = Vec::with_capacity(cloves.len() + 5);
        if ack_request {
            blocks.push(Block::AckRequest { flags: 0 });
        }
        blocks.extend(cloves.iter().cloned().map(Block::GarlicClove));
        if !self.pending_acks.is_empty() {
            blocks.push(Block::Ack(self.pending_acks.clone()));
        }
        if self.send_reverse_key {
            if let Some(r) = &self.recv_ratchet {
                // i2pd: the ID of our new key, else the ID of the key we keep.
                blocks.push(Block::NextKey(NextKey {
                    reverse: true,
                    request_reverse: false,
                    key_id: if r.new_key {
                        r.key_id
                    } else {
                        r.key_id.saturating_sub(1)
                    },
                    public_key: r.new_key.then_some(r.public),
                }));
            }
        }
        if self.send_forward_key {
            if let Some(r) = &self.send_ratchet {
                // "repeat until next key received".
                blocks.push(Block::NextKey(NextKey {
                    reverse: false,
                    request_reverse: !r.new_key || r.key_id == 0,
                    key_id: r.key_id,
                    public_key: r.new_key.then_some(r.public),
                }));
            }
        }
        blocks.push(random_padding());
        // Written before a tag is taken: a payload too large changes nothing.
        let payload = Zeroizing::new(write_blocks(&blocks)?);
        let send = self.send.as_mut().ok_or(RatchetError::SessionClosed)?;
        let Some((n, tag, key)) = send.next_entry() else {
            // "When tag set 65535 is almost exhausted, the tag set sender must initiate a
            // new session": we drop this one and start over.
            self.exhausted = true;
            return Err(RatchetError::SessionClosed);
        };
        let id = AckEntry {
            tagset_id: send.id,
            n,
        };
        // Sent: what we owed is paid.
        self.pending_acks.clear();
        self.send_reverse_key = false;
        self.confirm_due = false;
        ctx.stats.es_sent += 1;
        Ok(Sealed {
            data: seal_existing(&tag, n, &key, &payload),
            kind: MessageKind::ExistingSession,
            ack_id: ack_request.then_some(id),
        })
    }

    /// An Existing Session message with a Termination block ("Drop the session";
    /// reason 0, normal close), then the session is done.
    pub(crate) fn seal_termination(&mut self, ctx: &mut Ctx<'_>) -> RatchetResult<Vec<u8>> {
        let send = self.send.as_mut().ok_or(RatchetError::SessionClosed)?;
        let (n, tag, key) = send.next_entry().ok_or(RatchetError::SessionClosed)?;
        let payload = Zeroizing::new(write_blocks(&[
            Block::Termination {
                reason: 0,
                additional: Vec::new(),
            },
            random_padding(),
        ])?);
        self.terminated = true;
        ctx.stats.es_sent += 1;
        Ok(seal_existing(&tag, n, &key, &payload))
    }

    /// An Existing Session message with `payload` as it is, not a block list (fuzzing
    /// the receiver's block handling behind valid encryption).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn seal_raw(&mut self, payload: &[u8]) -> RatchetResult<Vec<u8>> {
        if !self.is_confirmed() {
            return Err(RatchetError::SessionClosed);
        }
        let send = self.send.as_mut().ok_or(RatchetError::SessionClosed)?;
        let (n, tag, key) = send.next_entry().ok_or(RatchetError::SessionClosed)?;
        Ok(seal_existing(&tag, n, &key, payload))
    }

    /// Prepares our next key for our outbound tag set (i2pd `NewNextSendRatchet`).
    fn start_send_ratchet(&mut self) {
        match &mut self.send_ratchet {
            None => self.send_ratchet = Some(DhRatchet::fresh(0)),
            Some(r) => {
                if !r.new_key || r.key_id == 0 {
                    if r.key_id >= MAX_KEY_ID {
                        self.exhausted = true;
                        return;
                    }
                    r.key_id += 1;
                    r.new_key();
                } else {
                    r.new_key = false;
                }
            }
        }
        self.send_forward_key = true;
    }

    /// Forces a DH ratchet of our outbound tag set at the next message (tests).
    #[cfg(test)]
    pub(crate) fn force_send_ratchet(&mut self) {
        if !self.send_forward_key {
            self.start_send_ratchet();
        }
    }

    /// Our outbound tag set ID (tests).
    #[cfg(test)]
    pub(crate) fn send_tagset_id(&self) -> Option<u16> {
        self.send.as_ref().map(|s| s.id)
    }

    // ----- receiving -----

    /// Opens a message whose tag the index mapped to (`local`, `index`) of this
    /// session.
    pub(crate) fn open(
        &mut self,
        ctx: &mut Ctx<'_>,
        local: u32,
        index: u16,
        data: &[u8],
    ) -> RatchetResult<Opened> {
        let nsr = self
            .recv
            .get(&local)
            .map(|e| e.nsr)
            .ok_or(RatchetError::SessionClosed)?;
        let opened = if nsr {
            self.open_nsr(ctx, local, index, data)?
        } else {
            self.open_es(ctx, local, index, data)?
        };
        self.last_recv_ms = ctx.now_ms;
        Ok(opened)
    }

    fn consume(
        &mut self,
        ctx: &mut Ctx<'_>,
        local: u32,
        index: u16,
        tag: &[u8; TAG_LEN],
        nsr: bool,
    ) {
        ctx.tags.remove(tag, ctx.sid);
        let (min, max, behind) = (
            ctx.cfg.min_lookahead,
            ctx.cfg.max_lookahead,
            ctx.cfg.keep_behind,
        );
        let Some(e) = self.recv.get_mut(&local) else {
            return;
        };
        e.set.consume(index);
        // Look-ahead: as i2pd, min + N/4 up to max (see `RatchetConfig`).
        let want = if nsr {
            u32::from(ctx.cfg.nsr_tags)
        } else {
            u32::from(min)
                .saturating_add(u32::from(index) / 4)
                .min(u32::from(max.max(min)))
        };
        let target = (u32::from(index) + 1 + want).min(TagRatchet::MAX_TAGS);
        let more = target.saturating_sub(e.set.generated());
        let dropped = if index > behind {
            e.set.trim_behind(index - behind)
        } else {
            Vec::new()
        };
        for t in &dropped {
            ctx.tags.remove(t, ctx.sid);
        }
        self.extend(ctx, local, usize::try_from(more).unwrap_or(0));
    }

    fn open_nsr(
        &mut self,
        ctx: &mut Ctx<'_>,
        local: u32,
        index: u16,
        data: &[u8],
    ) -> RatchetResult<Opened> {
        let attempt = self
            .attempts
            .iter()
            .position(|a| a.tagset == local)
            .ok_or(RatchetError::SessionClosed)?;
        let sent = &self
            .attempts
            .get(attempt)
            .ok_or(RatchetError::SessionClosed)?
            .sent;
        let (payload, ck) = open_nsr(sent, ctx.our_static, data)?;
        let tag: [u8; TAG_LEN] = data
            .first_chunk::<TAG_LEN>()
            .copied()
            .ok_or(RatchetError::SessionClosed)?;
        let blocks = parse_blocks(&payload)?;
        check_reply_order(&blocks)?;
        self.consume(ctx, local, index, &tag, true);
        if matches!(self.phase, Phase::NsSent) {
            // "She then uses the NSR's Payload Section KDF results as inputs for the
            // session ratchets": send on tagset_ab, receive on tagset_ba.
            let (ab, ba, _) = split(&ck);
            self.send = Some(SendTagSet::new(0, &ab));
            self.add_recv(
                ctx,
                ReceiveTagSet::new(0, &ba),
                false,
                ctx.cfg.min_lookahead,
            );
            self.phase = Phase::Established;
            self.confirm_due = true;
            // This attempt's reply tags stay a while for more replies to the same New
            // Session; the other attempts keep theirs until `ns_reply_timeout`, so the
            // payload of a late reply to them is still read (the keys stay these).
            if let Some(e) = self.recv.get_mut(&local) {
                e.set.expires_ms = Some(
                    ctx.now_ms
                        .saturating_add(ms(ctx.cfg.previous_tagset_lifetime)),
                );
            }
        }
        ctx.stats.nsr_received += 1;
        Ok(Opened {
            kind: MessageKind::NewSessionReply,
            blocks,
            id: None,
            confirmed: false,
        })
    }

    fn open_es(
        &mut self,
        ctx: &mut Ctx<'_>,
        local: u32,
        index: u16,
        data: &[u8],
    ) -> RatchetResult<Opened> {
        let entry = self
            .recv
            .get_mut(&local)
            .ok_or(RatchetError::SessionClosed)?;
        let key = entry
            .set
            .key_for(index)
            .ok_or(RatchetError::SessionClosed)?;
        let tagset_id = entry.set.id;
        let payload = open_existing(index, &key, data)?;
        let tag: [u8; TAG_LEN] = data
            .first_chunk::<TAG_LEN>()
            .copied()
            .ok_or(RatchetError::SessionClosed)?;
        // The tag is used up only by a message that authenticates, whatever follows.
        self.consume(ctx, local, index, &tag, false);
        let blocks = parse_blocks(&payload)?;
        check_order(&blocks, MessageKind::ExistingSession)?;
        let confirmed = matches!(self.phase, Phase::NsReceived { .. });
        if confirmed {
            // Bob: Alice's first ES confirms the session. "Any other created inbound
            // and outbound sessions ... should be destroyed": the reply state goes.
            self.phase = Phase::Established;
            if let Some(e) = self.recv.get_mut(&local) {
                e.set.expires_ms = None;
            }
        }
        for b in &blocks {
            match b {
                Block::NextKey(k) => self.handle_next_key(ctx, k, local),
                Block::AckRequest { .. } if self.pending_acks.len() < ctx.cfg.max_pending_acks => {
                    self.pending_acks.push(AckEntry {
                        tagset_id,
                        n: index,
                    });
                }
                Block::Termination { .. } => {
                    self.terminated = true;
                    ctx.stats.terminations_received += 1;
                }
                _ => {}
            }
        }
        ctx.stats.es_received += 1;
        Ok(Opened {
            kind: MessageKind::ExistingSession,
            blocks,
            id: Some(AckEntry {
                tagset_id,
                n: index,
            }),
            confirmed,
        })
    }

    /// A Next Key block received on receive tag set `local`. Blocks that do not fit
    /// the ratchet state are ignored ("Unexpected next key" in i2pd), never fatal.
    fn handle_next_key(&mut self, ctx: &mut Ctx<'_>, k: &NextKey, local: u32) {
        if k.key_id > MAX_KEY_ID {
            return;
        }
        if k.reverse {
            self.handle_reverse_key(ctx, k);
        } else {
            self.handle_forward_key(ctx, k, local);
        }
    }

    /// The peer, tag sender of our inbound tag set, sends its next key.
    fn handle_forward_key(&mut self, ctx: &mut Ctx<'_>, k: &NextKey, local: u32) {
        let request = k.request_reverse;
        // Answer every forward key, duplicates included: the sender repeats it until
        // our reverse key arrives.
        self.send_reverse_key = true;
        match &mut self.recv_ratchet {
            None => {
                // The first exchange must ask for our key (key ID 0 both sides).
                if !request {
                    self.send_reverse_key = false;
                    return;
                }
                self.recv_ratchet = Some(DhRatchet::fresh(k.key_id));
            }
            Some(r) => {
                if r.key_id == k.key_id && r.new_key == request {
                    return; // duplicate
                }
                r.key_id = k.key_id;
                if request {
                    r.new_key();
                } else {
                    r.new_key = false;
                }
            }
        }
        let Some(r) = self.recv_ratchet.as_mut() else {
            return;
        };
        if let Some(pk) = k.public_key {
            r.remote = Some(pk);
        }
        let Some(remote) = r.remote else {
            return;
        };
        let Ok(shared) = r.secret.diffie_hellman(&remote) else {
            return;
        };
        let tagset_key = dh_ratchet_tagset_key(&shared);
        let tagset_id = 2 * k.key_id + u16::from(request);
        let Some(old) = self.recv.get_mut(&local) else {
            return;
        };
        let keys = super::kdf::dh_initialize(&old.set.next_root_key, &tagset_key);
        // "the receiver should listen for tags in both tagsets, and delete the old
        // tagset after a short time, about 3 minutes."
        if old.set.expires_ms.is_none() {
            old.set.expires_ms = Some(
                ctx.now_ms
                    .saturating_add(ms(ctx.cfg.previous_tagset_lifetime)),
            );
        }
        self.add_recv(
            ctx,
            ReceiveTagSet::new(tagset_id, &keys),
            false,
            ctx.cfg.min_lookahead,
        );
        ctx.stats.receive_ratchets += 1;
    }

    /// The peer answers our next key: our outbound tag set ratchets.
    fn handle_reverse_key(&mut self, ctx: &mut Ctx<'_>, k: &NextKey) {
        if !self.send_forward_key {
            return;
        }
        let Some(r) = self.send_ratchet.as_mut() else {
            return;
        };
        let expected = if r.new_key && r.key_id != 0 {
            r.key_id - 1
        } else {
            r.key_id
        };
        if k.key_id != expected {
            return;
        }
        if let Some(pk) = k.public_key {
            r.remote = Some(pk);
        }
        let Some(remote) = r.remote else {
            return;
        };
        let Ok(shared) = r.secret.diffie_hellman(&remote) else {
            return;
        };
        let Some(send) = self.send.as_ref() else {
            return;
        };
        let id = 1 + u32::from(r.key_id) + u32::from(k.key_id);
        let Ok(id) = u16::try_from(id) else {
            self.exhausted = true;
            return;
        };
        let keys = super::kdf::dh_initialize(&send.next_root_key, &dh_ratchet_tagset_key(&shared));
        // "After the DH ratchet is complete for an outbound tagset ... it should be used
        // immediately, and the old outbound tagset may be deleted."
        self.send = Some(SendTagSet::new(id, &keys));
        self.send_forward_key = false;
        ctx.stats.send_ratchets += 1;
    }

    // ----- time -----

    /// The next time [`Session::expire`] has something to do.
    pub(crate) fn deadline(&self, cfg: &RatchetConfig) -> u64 {
        let mut d = self
            .last_activity()
            .saturating_add(ms(cfg.session_idle_timeout));
        if let Some(r) = self.retired_ms {
            d = d.min(r.saturating_add(ms(cfg.previous_tagset_lifetime)));
        }
        let confirmed = matches!(self.phase, Phase::NsReceived { .. });
        if confirmed {
            d = d.min(self.created_ms.saturating_add(ms(cfg.nsr_confirm_timeout)));
        }
        for e in self.recv.values() {
            if let Some(x) = e.set.expires_ms {
                d = d.min(x);
            }
        }
        d
    }

    /// Drops expired tag sets and attempts. Returns false if the whole session is
    /// finished.
    pub(crate) fn expire(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let now = ctx.now_ms;
        let gone: Vec<u32> = self
            .recv
            .iter()
            .filter(|(_, e)| e.set.expires_ms.is_some_and(|x| x <= now))
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            self.drop_recv(ctx, k);
        }
        let recv = &self.recv;
        self.attempts.retain(|a| recv.contains_key(&a.tagset));
        if self.terminated || self.exhausted {
            return false;
        }
        if self
            .last_activity()
            .saturating_add(ms(ctx.cfg.session_idle_timeout))
            <= now
        {
            return false;
        }
        if self
            .retired_ms
            .is_some_and(|r| r.saturating_add(ms(ctx.cfg.previous_tagset_lifetime)) <= now)
        {
            return false;
        }
        match self.phase {
            Phase::NsSent => !self.attempts.is_empty(),
            Phase::NsReceived { .. } => {
                self.created_ms
                    .saturating_add(ms(ctx.cfg.nsr_confirm_timeout))
                    > now
            }
            Phase::Established => !self.recv.is_empty(),
        }
    }

    /// New Session messages awaiting (or kept for) replies.
    pub(crate) fn attempts(&self) -> usize {
        self.attempts.len()
    }
}

/// DateTime, the cloves, 0-15 bytes of padding: the New Session payload ("Payload
/// must contain a DateTime block"; "the DateTime block is required, and must be the
/// first block").
pub(crate) fn new_session_blocks(now_ms: u64, cloves: &[Clove]) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(cloves.len() + 2);
    blocks.push(Block::DateTime {
        timestamp: u32::try_from(now_ms / 1000).unwrap_or(u32::MAX),
    });
    blocks.extend(cloves.iter().cloned().map(Block::GarlicClove));
    blocks.push(random_padding());
    blocks
}

/// The New Session Reply rules, relaxed as i2pd needs: i2pd 2.45.1 puts a DateTime
/// block in its replies, which ecies.rst does not list for NSR. Padding must be last
/// and single; Termination is refused; other blocks are kept (and the ratchet ones
/// are ignored: "Not allowed in NS or NSR").
fn check_reply_order(blocks: &[Block]) -> RatchetResult<()> {
    let paddings = blocks
        .iter()
        .filter(|b| matches!(b, Block::Padding(_)))
        .count();
    if paddings > 1 || (paddings == 1 && !matches!(blocks.last(), Some(Block::Padding(_)))) {
        return Err(crate::Error::BlockOrder("Padding must be last and single").into());
    }
    if blocks
        .iter()
        .any(|b| matches!(b, Block::Termination { .. }))
    {
        return Err(crate::Error::BlockOrder("Termination in a New Session Reply").into());
    }
    Ok(())
}
