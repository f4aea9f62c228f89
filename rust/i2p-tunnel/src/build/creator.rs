//! The tunnel creator: ShortTunnelBuild messages for our own tunnels and the reading of
//! their replies (tunnel-creation-ecies.rst, "Short Record Specification", "Symmetric
//! Encryption of Records", "Build Records").

use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::StaticSecret;
use i2p_wire::{Hash, I2npMessage, Mapping, MessageType};

use super::record::{self, BuildRequestRecord, RecordFormat, STANDARD_EXPIRATION_SECS};
use super::{
    chacha20_record, garlic, record_nonce, short_record_kdf, BuildError, GarlicReplyKey, HopRole,
    LayerKeys, ReplyCode, Result, ShortHopKeys, TunnelId, NOISE_N_PROTOCOL_NAME,
};

const REC: usize = RecordFormat::Short.record_len();

/// One hop of a tunnel we build, in order from the gateway.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The hop's router identity hash.
    pub router: Hash,
    /// The hop's X25519 static key (the encryption key of its RouterIdentity, crypto
    /// type 4).
    pub static_key: [u8; 32],
    /// The tunnel id this hop will receive on (e.g. [`TunnelId::random`]).
    pub receive_tunnel: TunnelId,
    /// Build options for this hop ("m", "r", "l"); at most 98 bytes on the wire.
    pub options: Mapping,
}

/// Where the new tunnel ends, and so where its build reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyPath {
    /// An inbound tunnel: the last hop forwards to us, its endpoint, on `our_tunnel`,
    /// and the reply comes back as a ShortTunnelBuild (type 25) with the reply
    /// message id.
    Inbound {
        /// Our router hash.
        our_router: Hash,
        /// The tunnel id we receive the new tunnel's messages as.
        our_tunnel: TunnelId,
    },
    /// An outbound tunnel: the OBEP sends the OutboundTunnelBuildReply (type 26),
    /// garlic-wrapped, to the gateway of one of our inbound tunnels (or to us, for a
    /// zero-hop inbound tunnel: then `reply_router` is our hash).
    Outbound {
        /// The reply tunnel's gateway.
        reply_router: Hash,
        /// The reply tunnel's id at that gateway.
        reply_tunnel: TunnelId,
    },
}

/// Everything [`build_tunnel`] needs.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// The hops, gateway first: 1 to 8 for outbound, 1 to 7 for inbound (inbound
    /// builds carry one more record, the originator's fake one).
    pub hops: Vec<Hop>,
    /// Inbound or outbound, with where the reply goes.
    pub reply: ReplyPath,
    /// The message id of the reply (the last hop's "next message ID"); the driver keys
    /// its pending builds by it.
    pub reply_message_id: u32,
    /// Now, milliseconds since the epoch (for the request time, in minutes).
    pub now_ms: u64,
    /// I2NP expiration of the build message, milliseconds since the epoch.
    pub expiration_ms: u64,
}

/// The message to send for a new build.
#[derive(Debug, Clone)]
pub struct OutgoingBuild {
    /// The ShortTunnelBuild (type 25) message, random message id.
    pub message: I2npMessage,
    /// Its destination, the first hop. Outbound builds: send it there directly.
    /// Inbound builds: send it through one of our outbound tunnels to this router
    /// (TUNNEL... delivery "ROUTER"), optionally garlic-wrapped to it with Noise N.
    pub first_hop: Hash,
}

/// Per-hop state kept while the build is pending.
#[derive(Clone)]
struct PendingHop {
    router: Hash,
    receive_tunnel: TunnelId,
    role: HopRole,
    record_index: u8,
    keys: ShortHopKeys,
}

/// A build waiting for its reply. Holds the hops' reply and layer keys (zeroized on
/// drop); `Debug` shows no key.
#[derive(Clone)]
pub struct PendingBuild {
    hops: Vec<PendingHop>,
    num_records: usize,
    inbound: bool,
    reply_message_id: u32,
    /// Inbound builds: our fake record's index and the bytes it must come back as.
    fake: Option<(u8, Box<[u8; REC]>)>,
}

impl std::fmt::Debug for PendingBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingBuild")
            .field("hops", &self.hops.len())
            .field("inbound", &self.inbound)
            .field("reply_message_id", &self.reply_message_id)
            .finish_non_exhaustive()
    }
}

/// One hop of a finished build.
#[derive(Debug, Clone)]
pub struct BuiltHop {
    /// The hop's router.
    pub router: Hash,
    /// The tunnel id it receives on.
    pub receive_tunnel: TunnelId,
    /// Its role.
    pub role: HopRole,
    /// Its reply byte.
    pub reply: ReplyCode,
    /// Its reply options (e.g. "b", available bandwidth); empty if none or unreadable.
    pub reply_options: Mapping,
    /// Its tunnel layer keys.
    pub layer: LayerKeys,
}

/// The reading of a build reply.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// Every hop, gateway first, with its reply.
    pub hops: Vec<BuiltHop>,
    /// True if every hop accepted: the tunnel is built.
    pub built: bool,
}

fn role_of(i: usize, n: usize, inbound: bool) -> HopRole {
    if inbound && i == 0 {
        HopRole::InboundGateway
    } else if !inbound && i + 1 == n {
        HopRole::OutboundEndpoint
    } else {
        HopRole::Participant
    }
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    i2p_crypto::random_bytes(&mut b);
    u32::from_be_bytes(b)
}

/// A uniformly random permutation of `0..n` (Fisher-Yates): "Build record order must be
/// randomized, so middle hops do not know their location within the tunnel."
fn shuffled(n: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..n as u8).collect();
    for i in (1..v.len()).rev() {
        let j = i2p_crypto::random_below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

/// Builds the ShortTunnelBuild for `plan`: one Noise-N encrypted record per hop at a
/// random position, filler records, and the ChaCha20 pre-decryption of each record by
/// the reply keys of the hops before it, so each hop finds its own record in the clear.
/// For inbound builds one filler is the originator's own fake record (our hash prefix
/// and a real X25519 key), checked when the reply comes back.
pub fn build_tunnel(plan: &BuildPlan) -> Result<(OutgoingBuild, PendingBuild)> {
    let n = plan.hops.len();
    let inbound = matches!(plan.reply, ReplyPath::Inbound { .. });
    let needed = n + usize::from(inbound);
    if n == 0 || needed > record::MAX_RECORDS {
        return Err(BuildError::InvalidParams("hop count out of range"));
    }
    let num_records = if needed <= 4 { 4 } else { record::MAX_RECORDS };
    let order = shuffled(num_records);
    let mut records = vec![0u8; num_records * REC];
    i2p_crypto::random_bytes(&mut records);
    let request_time_minutes = u32::try_from(plan.now_ms / 60_000).unwrap_or(u32::MAX);

    let mut pending = Vec::with_capacity(n);
    for (i, hop) in plan.hops.iter().enumerate() {
        let role = role_of(i, n, inbound);
        let (next_ident, next_tunnel) = match (plan.hops.get(i + 1), plan.reply) {
            (Some(next), _) => (next.router, next.receive_tunnel),
            (
                None,
                ReplyPath::Inbound {
                    our_router,
                    our_tunnel,
                },
            ) => (our_router, our_tunnel),
            (
                None,
                ReplyPath::Outbound {
                    reply_router,
                    reply_tunnel,
                },
            ) => (reply_router, reply_tunnel),
        };
        // "we set replyMsgID for last hop only" (i2pd); the others get random ids.
        let next_message_id = if i + 1 == n {
            plan.reply_message_id
        } else {
            random_u32()
        };
        let rec = BuildRequestRecord {
            receive_tunnel: hop.receive_tunnel,
            next_tunnel,
            next_ident,
            flags: role.flags(),
            layer_encryption: 0,
            request_time_minutes,
            expiration_secs: STANDARD_EXPIRATION_SECS,
            next_message_id,
            options: hop.options.clone(),
        };
        if rec.receive_tunnel.0 == 0 || rec.next_tunnel.0 == 0 {
            return Err(BuildError::InvalidParams("tunnel id zero"));
        }
        let clear = zeroize::Zeroizing::new(rec.to_short_bytes()?);
        let idx = order[i];
        let (enc, keys) = encrypt_request(&hop.router, &hop.static_key, &clear[..], role)?;
        records[usize::from(idx) * REC..][..REC].copy_from_slice(&enc);
        pending.push(PendingHop {
            router: hop.router,
            receive_tunnel: hop.receive_tunnel,
            role,
            record_index: idx,
            keys,
        });
    }

    // The originator's fake record, as the last hop will forward it to us.
    let fake = match plan.reply {
        ReplyPath::Inbound { our_router, .. } => {
            let idx = order[n];
            let mut r = Box::new([0u8; REC]);
            i2p_crypto::random_bytes(&mut r[..]);
            r[..16].copy_from_slice(&our_router.as_bytes()[..16]);
            r[16..48].copy_from_slice(&StaticSecret::random().public_key());
            records[usize::from(idx) * REC..][..REC].copy_from_slice(&r[..]);
            Some((idx, r))
        }
        ReplyPath::Outbound { .. } => None,
    };

    // Pre-decryption: the record of every later hop (and our fake record, a pseudo
    // hop after the last) with each earlier hop's reply key.
    let later: Vec<u8> = pending
        .iter()
        .map(|h| h.record_index)
        .chain(fake.as_ref().map(|(i, _)| *i))
        .collect();
    for (h, hop) in pending.iter().enumerate() {
        for &idx in later.iter().skip(h + 1) {
            let r = &mut records[usize::from(idx) * REC..][..REC];
            chacha20_record(&hop.keys.reply_key, idx, r);
        }
    }

    let mut payload = Vec::with_capacity(1 + records.len());
    payload.push(num_records as u8);
    payload.extend_from_slice(&records);
    let message = I2npMessage::new(
        MessageType::SHORT_TUNNEL_BUILD,
        random_u32(),
        plan.expiration_ms,
        payload,
    );
    let first_hop = pending
        .first()
        .map(|h| h.router)
        .ok_or(BuildError::InvalidParams("hop count out of range"))?;
    Ok((
        OutgoingBuild { message, first_hop },
        PendingBuild {
            hops: pending,
            num_records,
            inbound,
            reply_message_id: plan.reply_message_id,
            fake,
        },
    ))
}

/// Noise-N encryption of one short request record to a hop ("KDF for Request
/// Record"), and the hop's derived keys.
pub(crate) fn encrypt_request(
    router: &Hash,
    static_key: &[u8; 32],
    clear: &[u8],
    role: HopRole,
) -> Result<([u8; REC], ShortHopKeys)> {
    let (ss, body) = noise_n_encrypt(static_key, clear)?;
    let mut out = [0u8; REC];
    out[..16].copy_from_slice(&router.as_bytes()[..16]);
    out[16..].copy_from_slice(&body);
    let keys = short_record_kdf(ss.ck(), ss.h(), role == HopRole::OutboundEndpoint);
    Ok((out, keys))
}

/// `e es p`: a fresh ephemeral key, then the AEAD of `clear`. Returns the state after
/// `MixHash(ciphertext)` and `sepk || ciphertext`.
pub(crate) fn noise_n_encrypt(
    static_key: &[u8; 32],
    clear: &[u8],
) -> Result<(SymmetricState, Vec<u8>)> {
    let mut ss = SymmetricState::new(NOISE_N_PROTOCOL_NAME);
    ss.mix_hash(&[]); // null prologue
    ss.mix_hash(static_key);
    let eph = StaticSecret::random();
    let epk = eph.public_key();
    ss.mix_hash(&epk);
    let dh = eph
        .diffie_hellman(static_key)
        .map_err(|_| BuildError::InvalidParams("hop static key is a low-order point"))?;
    ss.mix_key(&dh[..]);
    let ct = ss.encrypt_and_hash(clear);
    let mut body = Vec::with_capacity(32 + ct.len());
    body.extend_from_slice(&epk);
    body.extend_from_slice(&ct);
    Ok((ss, body))
}

impl PendingBuild {
    /// The reply message id this build waits for.
    pub fn reply_message_id(&self) -> u32 {
        self.reply_message_id
    }

    /// True for an inbound build.
    pub fn is_inbound(&self) -> bool {
        self.inbound
    }

    /// The message type the reply comes as: ShortTunnelBuild (25) for inbound
    /// builds, OutboundTunnelBuildReply (26) for outbound ones.
    pub fn reply_type(&self) -> MessageType {
        if self.inbound {
            MessageType::SHORT_TUNNEL_BUILD
        } else {
            MessageType::OUTBOUND_TUNNEL_BUILD_REPLY
        }
    }

    /// Outbound builds: the OBEP's one-time garlic key and tag, for a garlic layer
    /// that dispatches by tag.
    pub fn garlic_reply_key(&self) -> Option<&GarlicReplyKey> {
        match (self.inbound, self.hops.last()) {
            (false, Some(h)) => h.keys.garlic.as_ref(),
            _ => None,
        }
    }

    /// Outbound builds: opens the OBEP's Garlic message (its payload, after the I2NP
    /// header) and reads the OutboundTunnelBuildReply inside.
    pub fn handle_garlic_reply(&self, garlic_payload: &[u8]) -> Result<BuildOutcome> {
        let key = self
            .garlic_reply_key()
            .ok_or(BuildError::ReplyMismatch("not an outbound build"))?;
        let msg = garlic::unwrap(key, garlic_payload)?;
        self.handle_reply_message(&msg)
    }

    /// Reads a reply message: checks its type and message id, then
    /// [`handle_reply`](Self::handle_reply).
    pub fn handle_reply_message(&self, msg: &I2npMessage) -> Result<BuildOutcome> {
        if msg.msg_type != self.reply_type() {
            return Err(BuildError::ReplyMismatch("reply message type"));
        }
        if msg.msg_id != self.reply_message_id {
            return Err(BuildError::ReplyMismatch("reply message id"));
        }
        self.handle_reply(&msg.payload)
    }

    /// Reads the reply records (`num` then the 218-byte records): undoes each hop's
    /// ChaCha20 layer, last hop first, opens each hop's AEAD reply record and returns
    /// every hop's reply code and layer keys. Errors if a record fails authentication
    /// or our fake record came back modified (then the tunnel must be discarded).
    pub fn handle_reply(&self, payload: &[u8]) -> Result<BuildOutcome> {
        let num = record::record_count(payload, RecordFormat::Short)?;
        if num != self.num_records {
            return Err(BuildError::ReplyMismatch("record count"));
        }
        let mut records = payload.get(1..).unwrap_or_default().to_vec();
        if let Some((idx, expect)) = &self.fake {
            let got = records
                .get(usize::from(*idx) * REC..)
                .and_then(|r| r.get(..REC))
                .ok_or(BuildError::ReplyMismatch("record count"))?;
            if !i2p_crypto::ct_eq(got, &expect[..]) {
                return Err(BuildError::ReplyMismatch("originator record modified"));
            }
        }
        let mut replies: Vec<(ReplyCode, Mapping)> =
            vec![(ReplyCode::ACCEPT, Mapping::empty()); self.hops.len()];
        for (h, hop) in self.hops.iter().enumerate().rev() {
            let idx = hop.record_index;
            let rec = records
                .get(usize::from(idx) * REC..)
                .and_then(|r| r.get(..REC))
                .ok_or(BuildError::ReplyMismatch("record count"))?;
            let clear =
                i2p_crypto::aead::decrypt(&hop.keys.reply_key, record_nonce(idx), &hop.keys.h, rec)
                    .map_err(|_| BuildError::Decrypt("build reply record"))?;
            let code = clear.last().copied().unwrap_or(0xff);
            if let Some(slot) = replies.get_mut(h) {
                *slot = (ReplyCode(code), record::reply_options(&clear));
            }
            for earlier in self.hops.iter().take(h) {
                let e = earlier.record_index;
                if let Some(r) = records
                    .get_mut(usize::from(e) * REC..)
                    .and_then(|r| r.get_mut(..REC))
                {
                    chacha20_record(&hop.keys.reply_key, e, r);
                }
            }
        }
        let hops: Vec<BuiltHop> = self
            .hops
            .iter()
            .zip(replies)
            .map(|(h, (reply, reply_options))| BuiltHop {
                router: h.router,
                receive_tunnel: h.receive_tunnel,
                role: h.role,
                reply,
                reply_options,
                layer: h.keys.layer.clone(),
            })
            .collect();
        let built = hops.iter().all(|h| h.reply.is_accept());
        Ok(BuildOutcome { hops, built })
    }
}
