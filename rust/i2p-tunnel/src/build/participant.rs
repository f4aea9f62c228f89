//! The participant side: build requests that others route through us
//! (tunnel-creation-ecies.rst; tunnel-creation.rst, "Request Record Specification",
//! "Reply Record Specification").
//!
//! [`BuildRequestHandler::handle`] finds our record by our truncated router hash,
//! decrypts it (Noise N with our static X25519 key), checks it (request time,
//! expiration, replay) and derives our keys; the router then decides, and
//! [`TransitRequest::reply`] writes our reply record, re-encrypts the other records with
//! our reply key and says where the message goes next.

use std::collections::{HashSet, VecDeque};

use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::StaticSecret;
use i2p_wire::{Hash, I2npMessage, MessageType};
use zeroize::Zeroizing;

use super::record::{
    self, BuildRequestRecord, LongRecordKeys, RecordFormat, CIPHERTEXT_OFFSET, EPHEMERAL_OFFSET,
    STANDARD_EXPIRATION_SECS, TRUNCATED_HASH_LEN,
};
use super::{
    chacha20_record, garlic, record_nonce, short_record_kdf, BuildError, GarlicReplyKey, HopRole,
    LayerKeys, ReplyCode, Result, TunnelId, NOISE_N_PROTOCOL_NAME,
};

/// Oldest accepted request time. tunnel-creation.rst allows 65 minutes for the hour
/// stamps of ElGamal records ("more than 65 minutes behind or 5 minutes ahead of the
/// current time, it is invalid"); ECIES records are stamped in minutes, and Java I2P
/// accepts them up to 8 minutes old, which we follow.
pub const MAX_REQUEST_AGE_MS: u64 = 8 * 60_000;
/// Furthest future request time accepted ("5 minutes ahead").
pub const MAX_REQUEST_FUTURE_MS: u64 = 5 * 60_000;
/// Replay filter duration: it covers every request time we accept, plus the minute of
/// rounding down, so a replay cannot outlive its entry and still pass the time check.
pub const REPLAY_WINDOW_MS: u64 = MAX_REQUEST_AGE_MS + MAX_REQUEST_FUTURE_MS + 2 * 60_000;
/// Default bound of the replay filter (entries).
pub const DEFAULT_REPLAY_CAPACITY: usize = 100_000;
/// I2NP expiration we give the messages we send on: now + 8 s (as i2pd).
pub const MESSAGE_EXPIRATION_MS: u64 = 8_000;

/// A bounded, time-windowed set of the build records seen, keyed by the record's
/// ephemeral X25519 key (unique per record: "Ephemeral keys must be unique per ECIES
/// hop, and per build record"). When full, the oldest entry is forgotten first.
#[derive(Debug, Clone)]
pub struct ReplayFilter {
    capacity: usize,
    window_ms: u64,
    seen: HashSet<[u8; 32]>,
    order: VecDeque<(u64, [u8; 32])>,
}

impl ReplayFilter {
    /// A filter of at most `capacity` entries, each kept `window_ms`.
    pub fn new(capacity: usize, window_ms: u64) -> Self {
        ReplayFilter {
            capacity: capacity.max(1),
            window_ms,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    fn expire(&mut self, now_ms: u64) {
        while let Some(&(exp, key)) = self.order.front() {
            if exp > now_ms && self.order.len() < self.capacity {
                break;
            }
            self.order.pop_front();
            self.seen.remove(&key);
        }
    }

    /// Records `key` at `now_ms`. Returns false if it was already there (a replay).
    pub fn check_and_insert(&mut self, key: &[u8; 32], now_ms: u64) -> bool {
        self.expire(now_ms);
        if self.seen.contains(key) {
            return false;
        }
        self.seen.insert(*key);
        self.order
            .push_back((now_ms.saturating_add(self.window_ms), *key));
        true
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Counts of dropped build requests, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounters {
    /// Framing or record contents did not parse.
    pub malformed: u64,
    /// No record with our truncated hash.
    pub not_for_us: u64,
    /// Our record failed to decrypt.
    pub decrypt_failed: u64,
    /// Request time or expiration out of range.
    pub stale: u64,
    /// Record seen before.
    pub replayed: u64,
    /// Unknown layer encryption, both role flags, or an unsupported expiration.
    pub unsupported: u64,
}

/// Our part in build requests: our static key and hash, the replay filter and the drop
/// counters.
pub struct BuildRequestHandler {
    secret: StaticSecret,
    router: Hash,
    /// Noise state after `MixHash(null prologue)` and `MixHash(hepk)`: "up until here,
    /// can be precalculated by each router for all incoming build requests".
    initial: SymmetricState,
    replay: ReplayFilter,
    counters: DropCounters,
}

impl std::fmt::Debug for BuildRequestHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildRequestHandler")
            .field("router", &self.router)
            .field("replay_entries", &self.replay.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

/// Per-format reply secrets of a decrypted request.
#[derive(Clone)]
enum ReplySecrets {
    /// Short records: the reply key (AEAD of our record and ChaCha20 of the others)
    /// and `h`.
    Short {
        reply_key: Zeroizing<[u8; 32]>,
        h: [u8; 32],
    },
    /// Long records: the AEAD key is the chaining key; the others get AES-256-CBC with
    /// the record's reply key and IV.
    Long {
        ck: Zeroizing<[u8; 32]>,
        h: [u8; 32],
        keys: LongRecordKeys,
    },
}

/// A decrypted build request for us, awaiting our decision.
pub struct TransitRequest {
    /// Our clear-text record.
    pub record: BuildRequestRecord,
    /// Our role in the tunnel.
    pub role: HopRole,
    /// Our layer keys, for the transit tunnel.
    pub layer: LayerKeys,
    /// Short (ShortTunnelBuild) or long (VariableTunnelBuild) records.
    pub format: RecordFormat,
    /// The index of our record.
    pub record_index: u8,
    our_router: Hash,
    payload: Vec<u8>,
    secrets: ReplySecrets,
    garlic: Option<GarlicReplyKey>,
}

impl std::fmt::Debug for TransitRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransitRequest")
            .field("record", &self.record)
            .field("role", &self.role)
            .field("format", &self.format)
            .field("record_index", &self.record_index)
            .finish_non_exhaustive()
    }
}

/// What to send after replying.
#[derive(Debug, Clone)]
pub enum TransitAction {
    /// Send `message` (the build message, ShortTunnelBuild or VariableTunnelBuild, with
    /// the record's next message id) to the next hop `to`.
    Forward {
        /// The next hop.
        to: Hash,
        /// The build message.
        message: I2npMessage,
    },
    /// We are the OBEP: send `message` to the reply tunnel's gateway `to`, wrapped in a
    /// TunnelGateway message for `tunnel`. Short builds: `message` is a Garlic message
    /// (the OutboundTunnelBuildReply wrapped with the one-time key); long builds: the
    /// VariableTunnelBuildReply itself.
    ReplyToGateway {
        /// The reply tunnel's gateway.
        to: Hash,
        /// The reply tunnel id at that gateway.
        tunnel: TunnelId,
        /// The message to put in the TunnelGateway message.
        message: I2npMessage,
    },
    /// We are the OBEP and also the reply tunnel's gateway: send the reply
    /// (OutboundTunnelBuildReply or VariableTunnelBuildReply, not wrapped) down our
    /// own inbound tunnel `tunnel` (i2pd does the same).
    LocalReply {
        /// Our inbound tunnel id.
        tunnel: TunnelId,
        /// The reply message.
        message: I2npMessage,
    },
}

impl BuildRequestHandler {
    /// A handler for our router `our_router` with our X25519 static key, and a replay
    /// filter of [`DEFAULT_REPLAY_CAPACITY`] entries over [`REPLAY_WINDOW_MS`].
    pub fn new(static_secret: StaticSecret, our_router: Hash) -> Self {
        Self::with_replay_filter(
            static_secret,
            our_router,
            ReplayFilter::new(DEFAULT_REPLAY_CAPACITY, REPLAY_WINDOW_MS),
        )
    }

    /// As [`new`](Self::new) with a given replay filter.
    pub fn with_replay_filter(
        static_secret: StaticSecret,
        our_router: Hash,
        replay: ReplayFilter,
    ) -> Self {
        let mut initial = SymmetricState::new(NOISE_N_PROTOCOL_NAME);
        initial.mix_hash(&[]);
        initial.mix_hash(&static_secret.public_key());
        BuildRequestHandler {
            secret: static_secret,
            router: our_router,
            initial,
            replay,
            counters: DropCounters::default(),
        }
    }

    /// The drop counters.
    pub fn counters(&self) -> DropCounters {
        self.counters
    }

    /// Handles a build message addressed to us as a participant: `msg_type` is
    /// ShortTunnelBuild (25) or VariableTunnelBuild (23), `payload` its body, `now_ms`
    /// milliseconds since the epoch. On error the request is to be dropped; the error
    /// is counted in [`counters`](Self::counters). (A ShortTunnelBuild that answers
    /// one of our own inbound builds must go to its `PendingBuild` instead: the driver
    /// matches the message id first, as i2pd does.)
    pub fn handle(
        &mut self,
        msg_type: MessageType,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<TransitRequest> {
        let r = match msg_type {
            MessageType::SHORT_TUNNEL_BUILD => {
                self.handle_format(RecordFormat::Short, payload, now_ms)
            }
            MessageType::VARIABLE_TUNNEL_BUILD => {
                self.handle_format(RecordFormat::Long, payload, now_ms)
            }
            _ => Err(BuildError::malformed(
                "build message",
                "not a build message type",
            )),
        };
        if let Err(e) = &r {
            let c = &mut self.counters;
            match e {
                BuildError::NotForUs => c.not_for_us += 1,
                BuildError::Decrypt(_) => c.decrypt_failed += 1,
                BuildError::Stale => c.stale += 1,
                BuildError::Replay => c.replayed += 1,
                BuildError::Unsupported(_) => c.unsupported += 1,
                _ => c.malformed += 1,
            }
        }
        r
    }

    fn handle_format(
        &mut self,
        format: RecordFormat,
        payload: &[u8],
        now_ms: u64,
    ) -> Result<TransitRequest> {
        let num = record::record_count(payload, format)?;
        let len = format.record_len();
        let records = payload.get(1..).unwrap_or_default();
        let prefix = &self.router.as_bytes()[..TRUNCATED_HASH_LEN];
        let (index, rec) = records
            .chunks_exact(len)
            .take(num)
            .enumerate()
            .find(|(_, r)| r.get(..TRUNCATED_HASH_LEN) == Some(prefix))
            .ok_or(BuildError::NotForUs)?;
        let epk: [u8; 32] = rec
            .get(EPHEMERAL_OFFSET..CIPHERTEXT_OFFSET)
            .and_then(|e| e.try_into().ok())
            .ok_or(BuildError::malformed("build record", "truncated"))?;
        let ct = rec.get(CIPHERTEXT_OFFSET..).unwrap_or_default();

        // e es p, as Bob.
        let mut ss = self.initial.clone();
        ss.mix_hash(&epk);
        let dh = self
            .secret
            .diffie_hellman(&epk)
            .map_err(|_| BuildError::Decrypt("build request ephemeral key"))?;
        ss.mix_key(&dh[..]);
        let clear = Zeroizing::new(
            ss.decrypt_and_hash(ct)
                .map_err(|_| BuildError::Decrypt("build request record"))?,
        );

        let (record, layer, secrets, garlic) = match format {
            RecordFormat::Short => {
                let rec = BuildRequestRecord::parse_short(&clear)?;
                let role = rec
                    .role()
                    .ok_or(BuildError::Unsupported("both IBGW and OBEP flags"))?;
                if rec.layer_encryption != 0 {
                    return Err(BuildError::Unsupported("layer encryption type"));
                }
                let keys = short_record_kdf(ss.ck(), ss.h(), role == HopRole::OutboundEndpoint);
                let secrets = ReplySecrets::Short {
                    reply_key: Zeroizing::new(keys.reply_key),
                    h: keys.h,
                };
                (rec, keys.layer.clone(), secrets, keys.garlic.clone())
            }
            RecordFormat::Long => {
                let (rec, keys) = BuildRequestRecord::parse_long(&clear)?;
                let layer = LayerKeys {
                    layer_key: keys.layer_key,
                    iv_key: keys.iv_key,
                };
                let secrets = ReplySecrets::Long {
                    ck: Zeroizing::new(*ss.ck()),
                    h: *ss.h(),
                    keys,
                };
                (rec, layer, secrets, None)
            }
        };
        let role = record
            .role()
            .ok_or(BuildError::Unsupported("both IBGW and OBEP flags"))?;
        check_time(&record, now_ms)?;
        if !self.replay.check_and_insert(&epk, now_ms) {
            return Err(BuildError::Replay);
        }
        Ok(TransitRequest {
            record,
            role,
            layer,
            format,
            record_index: index as u8,
            our_router: self.router,
            payload: payload.to_vec(),
            secrets,
            garlic,
        })
    }
}

/// Request time within [-8 min, +5 min] of now, expiration 1..=600 s, and the
/// requested lifetime not already over.
fn check_time(rec: &BuildRequestRecord, now_ms: u64) -> Result<()> {
    let req_ms = u64::from(rec.request_time_minutes) * 60_000;
    if req_ms.saturating_add(MAX_REQUEST_AGE_MS) < now_ms
        || req_ms > now_ms.saturating_add(MAX_REQUEST_FUTURE_MS)
    {
        return Err(BuildError::Stale);
    }
    if rec.expiration_secs == 0 || rec.expiration_secs > STANDARD_EXPIRATION_SECS {
        return Err(BuildError::Unsupported("request expiration"));
    }
    // The request time is rounded down to the minute: allow that minute.
    let end = req_ms + u64::from(rec.expiration_secs) * 1000 + 60_000;
    if end < now_ms {
        return Err(BuildError::Stale);
    }
    Ok(())
}

impl TransitRequest {
    /// The OBEP's one-time garlic reply key and tag (short records only).
    pub fn garlic_reply_key(&self) -> Option<&GarlicReplyKey> {
        self.garlic.as_ref()
    }

    /// Writes our reply `code` in place of our record, encrypts the other records with
    /// our reply key (ChaCha20 for short records, AES-256-CBC for long ones) and
    /// returns what to send where. `now_ms` sets the I2NP expirations.
    pub fn reply(self, code: ReplyCode, now_ms: u64) -> Result<TransitAction> {
        let len = self.format.record_len();
        let mut payload = self.payload.clone();
        let records = payload.get_mut(1..).unwrap_or_default();
        for (j, rec) in records.chunks_exact_mut(len).enumerate() {
            let j8 = j as u8;
            if j8 == self.record_index {
                let mut clear = vec![0u8; self.format.reply_clear_len()];
                record::write_reply_clear(&mut clear, code.0);
                let (key, nonce, h) = match &self.secrets {
                    ReplySecrets::Short { reply_key, h } => (&**reply_key, record_nonce(j8), h),
                    ReplySecrets::Long { ck, h, .. } => (&**ck, 0, h),
                };
                let ct = i2p_crypto::aead::encrypt(key, nonce, h, &clear);
                if ct.len() != rec.len() {
                    return Err(BuildError::malformed("build reply", "record size"));
                }
                rec.copy_from_slice(&ct);
            } else {
                match &self.secrets {
                    ReplySecrets::Short { reply_key, .. } => chacha20_record(reply_key, j8, rec),
                    ReplySecrets::Long { keys, .. } => {
                        i2p_crypto::aes::cbc_encrypt(&keys.reply_key, &keys.reply_iv, rec)
                            .map_err(|_| BuildError::malformed("build reply", "record size"))?;
                    }
                }
            }
        }
        let exp = now_ms.saturating_add(MESSAGE_EXPIRATION_MS);
        let rec = &self.record;
        if self.role != HopRole::OutboundEndpoint {
            let t = match self.format {
                RecordFormat::Short => MessageType::SHORT_TUNNEL_BUILD,
                RecordFormat::Long => MessageType::VARIABLE_TUNNEL_BUILD,
            };
            return Ok(TransitAction::Forward {
                to: rec.next_ident,
                message: I2npMessage::new(t, rec.next_message_id, exp, payload),
            });
        }
        let t = match self.format {
            RecordFormat::Short => MessageType::OUTBOUND_TUNNEL_BUILD_REPLY,
            RecordFormat::Long => MessageType::VARIABLE_TUNNEL_BUILD_REPLY,
        };
        let reply = I2npMessage::new(t, rec.next_message_id, exp, payload);
        if rec.next_ident == self.our_router {
            return Ok(TransitAction::LocalReply {
                tunnel: rec.next_tunnel,
                message: reply,
            });
        }
        let message = match &self.garlic {
            Some(key) => {
                let mut id = [0u8; 4];
                i2p_crypto::random_bytes(&mut id);
                garlic::wrap(key, &reply, u32::from_be_bytes(id), exp)?
            }
            None => reply,
        };
        Ok(TransitAction::ReplyToGateway {
            to: rec.next_ident,
            tunnel: rec.next_tunnel,
            message,
        })
    }
}
