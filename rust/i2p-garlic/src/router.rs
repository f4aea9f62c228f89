//! Garlic addressed to a router (ecies-routers.rst): the one-shot Noise "N" message
//! from an anonymous sender, and [`RouterGarlic`], the router's whole garlic layer.
//!
//! Read first: ecies-routers.rst, "KDF for Initial ck and h" and "KDF for Message".
//! The pattern is `<- s ... e es p ->` with protocol name
//! `Noise_N_25519_ChaChaPoly_SHA256`; "Ephemeral keys will not be Elligator2-encoded";
//! there is no static key of the sender. Garlic data:
//!
//! ```text
//! sepk (32, plain X25519) || ChaCha20-Poly1305(k, n = 0, ad = h, payload blocks)
//! ```
//!
//! ```text
//! h = SHA256(protocol_name || 0)    ck = protocol_name || 0
//! h = SHA256(h || hepk)             // our static public key
//! h = SHA256(h || sepk)
//! ck, k = HKDF(ck, DH(sesk, hepk), "", 64)
//! ```
//!
//! "The payload is the same block format as defined in \[ECIES\]": a New Session block
//! list, DateTime first ("All messages must contain a DateTime block for replay
//! prevention").

use std::fmt;
use std::time::Duration;

use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::{PublicKey, StaticSecret};
use i2p_crypto::{aead, Zeroizing};

use crate::block::{check_order, into_cloves, parse_blocks, write_blocks, Block, MessageKind};
use crate::clove::Clove;
use crate::error::{Error, Path, Result};
use crate::keytag::{
    garlic_body, garlic_data, open_with_key_tag, random_padding, ReplyTagStore, TAG_LEN,
};
use crate::replay::ReplayCache;

/// ecies-routers.rst: "Set protocol_name = "Noise_N_25519_ChaChaPoly_SHA256" (31 bytes,
/// US-ASCII encoded, no NULL termination)".
pub const NOISE_N_PROTOCOL_NAME: &[u8] = b"Noise_N_25519_ChaChaPoly_SHA256";
/// Length of the ephemeral public key in front of the ciphertext.
pub const EPHEMERAL_KEY_LEN: usize = 32;
/// Smallest Noise N garlic data: ephemeral key, a DateTime block, the MAC.
pub const MIN_NEW_SESSION_LEN: usize = EPHEMERAL_KEY_LEN + 7 + aead::TAG_LEN;

/// The symmetric state after the pre-message `<- s`: up to `MixHash(hepk)`; "can be
/// precalculated by each router for all incoming messages".
fn initial_state(responder_static: &PublicKey) -> SymmetricState {
    let mut s = SymmetricState::new(NOISE_N_PROTOCOL_NAME);
    // "MixHash(null prologue)": h = SHA256(h).
    s.mix_hash(&[]);
    s.mix_hash(responder_static);
    s
}

/// Encrypts a payload (a block list) to the router whose X25519 static key is
/// `their_static`, with the ephemeral key `ephemeral`. Returns the garlic data
/// (without the 4-byte length).
pub fn seal_for_router_with(
    ephemeral: &StaticSecret,
    their_static: &PublicKey,
    payload: &[u8],
) -> Result<Vec<u8>> {
    let mut s = initial_state(their_static);
    let epk = ephemeral.public_key();
    s.mix_hash(&epk);
    let shared = ephemeral
        .diffie_hellman(their_static)
        .map_err(|_| Error::BadKey("router static key is a low-order point"))?;
    s.mix_key(shared.as_ref());
    let mut out = Vec::with_capacity(EPHEMERAL_KEY_LEN + payload.len() + aead::TAG_LEN);
    out.extend_from_slice(&epk);
    // "MixHash(ciphertext) is not required": `encrypt_and_hash` does it on a state we
    // drop.
    out.extend_from_slice(&s.encrypt_and_hash(payload));
    Ok(out)
}

/// [`seal_for_router_with`] with a fresh random ephemeral key ("Ephemeral keys must
/// be unique per message").
pub fn seal_for_router(their_static: &PublicKey, payload: &[u8]) -> Result<Vec<u8>> {
    seal_for_router_with(&StaticSecret::random(), their_static, payload)
}

/// Decrypts Noise N garlic data (without the 4-byte length) sent to the router whose
/// static key is `our_static`. Returns the sender's ephemeral key and the payload (a
/// block list, not checked). [`RouterGarlic::decrypt`] does this and the checks.
pub fn open_for_router(
    our_static: &StaticSecret,
    data: &[u8],
) -> Result<([u8; 32], Zeroizing<Vec<u8>>)> {
    open_from_anonymous(our_static, &initial_state(&our_static.public_key()), data)
}

/// As [`open_for_router`], with `init` = [`initial_state`] of our public key.
fn open_from_anonymous(
    our_static: &StaticSecret,
    init: &SymmetricState,
    data: &[u8],
) -> Result<([u8; 32], Zeroizing<Vec<u8>>)> {
    if data.len() < EPHEMERAL_KEY_LEN + aead::TAG_LEN {
        return Err(Error::malformed(
            "Noise N garlic",
            "shorter than key and MAC",
        ));
    }
    let (epk, ct) = data.split_at(EPHEMERAL_KEY_LEN);
    let epk: [u8; 32] = epk
        .try_into()
        .map_err(|_| Error::malformed("Noise N garlic", "ephemeral key"))?;
    let mut s = init.clone();
    s.mix_hash(&epk);
    let shared = our_static
        .diffie_hellman(&epk)
        .map_err(|_| Error::BadKey("ephemeral key is a low-order point"))?;
    s.mix_key(shared.as_ref());
    let pt = s
        .decrypt_and_hash(ct)
        .map_err(|_| Error::Auth(Path::NewSession))?;
    Ok((epk, Zeroizing::new(pt)))
}

/// Builds a Garlic message body (`length (4) || data`, the payload of an I2NP type 11
/// message) to the router with X25519 static key `their_static`, carrying `cloves`.
/// Blocks: DateTime (`now_ms` in seconds), the cloves, 0-15 bytes of padding, as
/// i2pd's `WrapECIESX25519MessageForRouter` sends them.
pub fn wrap_for_router(now_ms: u64, their_static: &PublicKey, cloves: &[Clove]) -> Result<Vec<u8>> {
    let mut blocks = Vec::with_capacity(cloves.len() + 2);
    blocks.push(Block::DateTime {
        timestamp: u32::try_from(now_ms / 1000).unwrap_or(u32::MAX),
    });
    blocks.extend(cloves.iter().cloned().map(Block::GarlicClove));
    blocks.push(random_padding());
    let payload = Zeroizing::new(write_blocks(&blocks)?);
    Ok(garlic_body(&seal_for_router(their_static, &payload)?))
}

/// Settings of [`RouterGarlic`].
#[derive(Debug, Clone)]
pub struct GarlicConfig {
    /// Bound on outstanding one-time reply pairs.
    pub reply_tag_capacity: usize,
    /// How long a reply pair stays valid.
    pub reply_tag_lifetime: Duration,
    /// Largest accepted distance between a New Session DateTime and our clock, either
    /// way ("Bob must validate that the message is recent").
    pub max_clock_skew: Duration,
    /// Bound on remembered New Session ephemeral keys (replay detection). Keys are
    /// remembered for twice `max_clock_skew`, after which their DateTime is refused.
    pub replay_capacity: usize,
}

impl Default for GarlicConfig {
    fn default() -> Self {
        GarlicConfig {
            reply_tag_capacity: ReplyTagStore::DEFAULT_CAPACITY,
            reply_tag_lifetime: ReplyTagStore::DEFAULT_LIFETIME,
            max_clock_skew: Duration::from_secs(300),
            replay_capacity: 16384,
        }
    }
}

/// Counters of [`RouterGarlic`]. No secrets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GarlicStats {
    /// One-time key+tag replies decrypted.
    pub reply_ok: u64,
    /// Messages whose tag matched a reply pair but did not authenticate.
    pub reply_auth_failed: u64,
    /// Noise N messages decrypted.
    pub new_session_ok: u64,
    /// Noise N messages that did not authenticate (wrong key, tampering, or garlic in
    /// another format).
    pub new_session_auth_failed: u64,
    /// Messages with a bad length, low-order key, bad block list or block order.
    pub malformed: u64,
    /// Noise N messages refused as replays.
    pub replayed: u64,
    /// Noise N messages refused for their DateTime (missing or too far from now).
    pub stale: u64,
    /// Unexpired reply pairs dropped because the store was full.
    pub reply_tags_evicted_full: u64,
}

/// How a garlic message to our router was encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// With the one-time key of an outstanding reply pair: the answer to one of our
    /// requests (a lookup, a tunnel build).
    Reply {
        /// The tag, as handed out by [`RouterGarlic::expect_reply`].
        tag: [u8; TAG_LEN],
    },
    /// A Noise N message from an anonymous sender.
    Anonymous,
}

/// A decrypted garlic message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// Which path decrypted it.
    pub origin: Origin,
    /// Its cloves, in order.
    pub cloves: Vec<Clove>,
}

/// The garlic layer of a router: decrypts garlic addressed to our router (one-time
/// replies first, then Noise N), builds garlic to other routers, and hands out reply
/// pairs for our lookups.
///
/// Sans-IO: every call that needs the time takes `now_ms`, milliseconds since the epoch
/// (wall clock: DateTime blocks are wall-clock seconds).
pub struct RouterGarlic {
    static_key: StaticSecret,
    init: SymmetricState,
    tags: ReplyTagStore,
    replay: ReplayCache,
    max_skew_s: u64,
    stats: GarlicStats,
}

impl fmt::Debug for RouterGarlic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouterGarlic")
            .field("public_key", &self.static_key.public_key())
            .field("reply_tags", &self.tags)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl RouterGarlic {
    /// The garlic layer of the router whose X25519 static (encryption) key is
    /// `static_key`, with default settings.
    pub fn new(static_key: StaticSecret) -> Self {
        Self::with_config(static_key, GarlicConfig::default())
    }

    /// As [`RouterGarlic::new`], with `config`.
    pub fn with_config(static_key: StaticSecret, config: GarlicConfig) -> Self {
        let init = initial_state(&static_key.public_key());
        let skew_ms = u64::try_from(config.max_clock_skew.as_millis()).unwrap_or(u64::MAX);
        RouterGarlic {
            static_key,
            init,
            tags: ReplyTagStore::new(config.reply_tag_capacity, config.reply_tag_lifetime),
            replay: ReplayCache::new(config.replay_capacity, skew_ms.saturating_mul(2)),
            max_skew_s: config.max_clock_skew.as_secs(),
            stats: GarlicStats::default(),
        }
    }

    /// Our X25519 static public key (the one in our RouterIdentity).
    pub fn public_key(&self) -> PublicKey {
        self.static_key.public_key()
    }

    /// The counters.
    pub fn stats(&self) -> GarlicStats {
        GarlicStats {
            reply_tags_evicted_full: self.tags.evicted_full(),
            ..self.stats
        }
    }

    /// A fresh one-time reply key and tag, remembered until `now_ms` + the reply
    /// lifetime. Put them in the DatabaseLookup as
    /// `ReplyEncryption::Ecies { key, tags: vec![tag] }`; [`RouterGarlic::decrypt`]
    /// then recognises the reply.
    pub fn expect_reply(&mut self, now_ms: u64) -> (Zeroizing<[u8; 32]>, [u8; TAG_LEN]) {
        self.tags.generate(now_ms)
    }

    /// Remembers a reply pair chosen elsewhere (e.g. by tunnel build code), as
    /// [`RouterGarlic::expect_reply`] does for its own.
    pub fn expect_reply_with(&mut self, now_ms: u64, key: &[u8; 32], tag: [u8; TAG_LEN]) {
        self.tags.insert(now_ms, key, tag);
    }

    /// Drops expired reply pairs and replay entries. Optional: inserting does it too.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.tags.evict_expired(now_ms);
        self.replay.evict(now_ms);
    }

    /// Builds a Garlic message body to another router: see [`wrap_for_router`].
    pub fn wrap_for_router(
        &self,
        now_ms: u64,
        their_static: &PublicKey,
        cloves: &[Clove],
    ) -> Result<Vec<u8>> {
        wrap_for_router(now_ms, their_static, cloves)
    }

    /// Decrypts the body of a Garlic message (I2NP type 11 payload: `length (4) ||
    /// data`) addressed to our router and returns its cloves.
    ///
    /// As i2pd's `RouterContext::ProcessGarlicMessage`: if the first 8 bytes of data
    /// are the tag of an outstanding reply pair, the message is that reply (and the
    /// pair is used up, whatever the outcome); otherwise it must be a Noise N message
    /// to our static key.
    pub fn decrypt(&mut self, now_ms: u64, garlic_body: &[u8]) -> Result<Vec<Clove>> {
        self.decrypt_detailed(now_ms, garlic_body).map(|d| d.cloves)
    }

    /// As [`RouterGarlic::decrypt`], saying also which path the message took: a reply
    /// to one of our requests (its tag), or an anonymous Noise N message.
    pub fn decrypt_detailed(&mut self, now_ms: u64, garlic_body: &[u8]) -> Result<Decrypted> {
        let r = self.decrypt_inner(now_ms, garlic_body);
        if let Err(e) = &r {
            let counter = match e {
                Error::Auth(Path::ReplyTag) => &mut self.stats.reply_auth_failed,
                Error::Auth(Path::NewSession) => &mut self.stats.new_session_auth_failed,
                Error::Replay => &mut self.stats.replayed,
                Error::Stale { .. } | Error::MissingDateTime => &mut self.stats.stale,
                _ => &mut self.stats.malformed,
            };
            *counter += 1;
        }
        r
    }

    fn decrypt_inner(&mut self, now_ms: u64, garlic_body: &[u8]) -> Result<Decrypted> {
        let data = garlic_data(garlic_body)?;
        if let Some(tag) = data.first_chunk::<TAG_LEN>() {
            if let Some(key) = self.tags.take(now_ms, tag) {
                let payload = open_with_key_tag(&key, tag, data)?;
                let blocks = parse_blocks(&payload)?;
                check_order(&blocks, MessageKind::ExistingSession)?;
                self.stats.reply_ok += 1;
                return Ok(Decrypted {
                    origin: Origin::Reply { tag: *tag },
                    cloves: into_cloves(blocks),
                });
            }
        }
        // ecies-routers.rst: "reject these records prior to the DH operation if
        // possible": too short, or a replayed ephemeral key.
        if data.len() < MIN_NEW_SESSION_LEN {
            return Err(Error::malformed("Noise N garlic", "too short"));
        }
        if let Some(epk) = data.first_chunk::<EPHEMERAL_KEY_LEN>() {
            if self.replay.contains(epk) {
                return Err(Error::Replay);
            }
        }
        let (epk, payload) = open_from_anonymous(&self.static_key, &self.init, data)?;
        let blocks = parse_blocks(&payload)?;
        let timestamp = match blocks.first() {
            Some(Block::DateTime { timestamp }) => *timestamp,
            _ => return Err(Error::MissingDateTime),
        };
        let now_s = now_ms / 1000;
        if u64::from(timestamp).abs_diff(now_s) > self.max_skew_s {
            return Err(Error::Stale { timestamp, now_s });
        }
        check_order(&blocks, MessageKind::NewSession)?;
        self.replay.insert(now_ms, epk);
        self.stats.new_session_ok += 1;
        Ok(Decrypted {
            origin: Origin::Anonymous,
            cloves: into_cloves(blocks),
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::clove::DeliveryInstructions;
    use crate::keytag::wrap_with_key_tag;
    use i2p_wire::{Hash, I2npMessage, MessageType};

    const NOW: u64 = 1_764_000_000_000;

    fn store_clove() -> Clove {
        Clove::local(I2npMessage::new(
            MessageType::DATABASE_STORE,
            0xabcd,
            NOW + 60_000,
            vec![0x55; 300],
        ))
    }

    fn lookup_clove() -> Clove {
        Clove {
            delivery: DeliveryInstructions::Router(Hash([9; 32])),
            message: I2npMessage::new(MessageType::DATABASE_LOOKUP, 7, NOW, vec![1; 80]),
        }
    }

    #[test]
    fn protocol_name_hash_is_i2pds_constant() {
        // i2pd Crypto.cpp InitNoiseNState: hh = SHA256(protocol_name || 0) =
        // 694d5244 5a27d9ad ...
        let mut padded = NOISE_N_PROTOCOL_NAME.to_vec();
        padded.push(0);
        assert_eq!(padded.len(), 32);
        assert_eq!(
            hex::encode(i2p_crypto::hash::sha256(&padded)),
            "694d52445a27d9adfad29c7632395dc1e4354c69b4f92eac8a1ee46a9ed21554"
        );
        let s = SymmetricState::new(NOISE_N_PROTOCOL_NAME);
        assert_eq!(s.ck().as_slice(), padded.as_slice());
    }

    #[test]
    fn kdf_written_out_matches() {
        // The KDF of ecies-routers.rst step by step, against seal_for_router_with.
        let bob = StaticSecret::from_bytes([0x42; 32]);
        let eph = StaticSecret::from_bytes([0x24; 32]);
        let hepk = bob.public_key();
        let sepk = eph.public_key();
        let mut h: Vec<u8> = NOISE_N_PROTOCOL_NAME.to_vec();
        h.push(0);
        let ck = h.clone();
        let h = i2p_crypto::hash::sha256(&h);
        let h = i2p_crypto::hash::sha256_parts(&[&h, &hepk]);
        let h = i2p_crypto::hash::sha256_parts(&[&h, &sepk]);
        let ss = eph.diffie_hellman(&hepk).unwrap();
        let (_ck, k) = i2p_crypto::hash::hkdf2(&ck, ss.as_ref(), &[]);
        let expect = aead::encrypt(&k, 0, &h, b"payload");
        let got = seal_for_router_with(&eph, &hepk, b"payload").unwrap();
        assert_eq!(&got[..32], &sepk);
        assert_eq!(&got[32..], &expect[..]);
    }

    #[test]
    fn router_round_trip() {
        let bob_key = StaticSecret::random();
        let mut bob = RouterGarlic::new(bob_key.clone());
        let body =
            wrap_for_router(NOW, &bob_key.public_key(), &[store_clove(), lookup_clove()]).unwrap();
        let d = bob.decrypt_detailed(NOW + 1_000, &body).unwrap();
        assert_eq!(d.origin, Origin::Anonymous);
        assert_eq!(d.cloves, vec![store_clove(), lookup_clove()]);
        assert_eq!(bob.stats().new_session_ok, 1);
        // Replayed.
        assert_eq!(bob.decrypt(NOW + 2_000, &body), Err(Error::Replay));
        assert_eq!(bob.stats().replayed, 1);
    }

    #[test]
    fn wrong_key_and_tampering_fail() {
        let bob_key = StaticSecret::random();
        let mut bob = RouterGarlic::new(bob_key.clone());
        let mut eve = RouterGarlic::new(StaticSecret::random());
        let body = wrap_for_router(NOW, &bob_key.public_key(), &[store_clove()]).unwrap();
        assert_eq!(eve.decrypt(NOW, &body), Err(Error::Auth(Path::NewSession)));
        assert_eq!(eve.stats().new_session_auth_failed, 1);
        for i in [4, 20, 36, 40, body.len() - 1] {
            let mut t = body.clone();
            t[i] ^= 1;
            assert!(bob.decrypt(NOW, &t).is_err(), "byte {i}");
        }
        // Untampered still goes through: failures did not poison the replay cache.
        assert!(bob.decrypt(NOW, &body).is_ok());
    }

    #[test]
    fn stale_and_missing_datetime_are_refused() {
        let bob_key = StaticSecret::random();
        let mut bob = RouterGarlic::new(bob_key.clone());
        let body = wrap_for_router(NOW, &bob_key.public_key(), &[store_clove()]).unwrap();
        assert!(matches!(
            bob.decrypt(NOW + 301_000, &body),
            Err(Error::Stale { .. })
        ));
        assert!(matches!(
            bob.decrypt(NOW - 301_000, &body),
            Err(Error::Stale { .. })
        ));
        assert!(bob.decrypt(NOW - 299_000, &body).is_ok());
        // A payload without DateTime, well encrypted.
        let payload = write_blocks(&[Block::GarlicClove(store_clove())]).unwrap();
        let body = garlic_body(&seal_for_router(&bob_key.public_key(), &payload).unwrap());
        assert_eq!(bob.decrypt(NOW, &body), Err(Error::MissingDateTime));
        // DateTime not first, or a block not allowed in a New Session.
        let payload = write_blocks(&[
            Block::DateTime {
                timestamp: (NOW / 1000) as u32,
            },
            Block::AckRequest { flags: 0 },
        ])
        .unwrap();
        let body = garlic_body(&seal_for_router(&bob_key.public_key(), &payload).unwrap());
        assert!(matches!(bob.decrypt(NOW, &body), Err(Error::BlockOrder(_))));
        assert_eq!(bob.stats().stale, 3);
        assert_eq!(bob.stats().malformed, 1);
    }

    #[test]
    fn reply_round_trip_through_tag_store() {
        let mut us = RouterGarlic::new(StaticSecret::random());
        let (key, tag) = us.expect_reply(NOW);
        // The floodfill wraps its reply with our key and tag.
        let reply = wrap_with_key_tag(&key, &tag, &[store_clove()]).unwrap();
        assert_eq!(
            us.decrypt_detailed(NOW + 5_000, &reply).unwrap(),
            Decrypted {
                origin: Origin::Reply { tag },
                cloves: vec![store_clove()]
            }
        );
        assert_eq!(us.stats().reply_ok, 1);
        // The tag was single use: the same bytes now go the Noise N way and fail.
        assert_eq!(
            us.decrypt(NOW + 6_000, &reply),
            Err(Error::Auth(Path::NewSession))
        );
    }

    #[test]
    fn expired_reply_is_not_recognised() {
        let mut us = RouterGarlic::with_config(
            StaticSecret::random(),
            GarlicConfig {
                reply_tag_lifetime: Duration::from_secs(30),
                ..GarlicConfig::default()
            },
        );
        let (key, tag) = us.expect_reply(NOW);
        let reply = wrap_with_key_tag(&key, &tag, &[store_clove()]).unwrap();
        assert!(us.decrypt(NOW + 30_000, &reply).is_err());
        assert_eq!(us.stats().reply_ok, 0);
    }

    #[test]
    fn forged_reply_uses_up_the_tag() {
        let mut us = RouterGarlic::new(StaticSecret::random());
        let (key, tag) = us.expect_reply(NOW);
        let mut reply = wrap_with_key_tag(&key, &tag, &[store_clove()]).unwrap();
        let last = reply.len() - 1;
        reply[last] ^= 1;
        assert_eq!(us.decrypt(NOW, &reply), Err(Error::Auth(Path::ReplyTag)));
        assert_eq!(us.stats().reply_auth_failed, 1);
        reply[last] ^= 1;
        assert!(us.decrypt(NOW, &reply).is_err());
    }

    #[test]
    fn short_and_garbage_input_is_malformed() {
        let mut us = RouterGarlic::new(StaticSecret::random());
        for body in [
            vec![],
            vec![0, 0, 0],
            vec![0, 0, 0, 10, 1],
            vec![0, 0, 0, 0],
            [vec![0, 0, 0, 40], vec![7; 40]].concat(),
        ] {
            assert!(matches!(
                us.decrypt(NOW, &body),
                Err(Error::Malformed { .. })
            ));
        }
        // A low-order ephemeral key is refused before any AEAD.
        let body = garlic_body(&[vec![0; 32], vec![1; 60]].concat());
        assert!(matches!(us.decrypt(NOW, &body), Err(Error::BadKey(_))));
        assert_eq!(us.stats().malformed, 6);
    }

    #[test]
    fn debug_shows_no_private_key() {
        let k = StaticSecret::from_bytes([0x77; 32]);
        let g = RouterGarlic::new(k);
        let d = format!("{g:?}");
        assert!(!d.contains("119, 119, 119"), "{d}");
    }
}
