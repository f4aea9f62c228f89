//! One-time key+tag garlic: replies to DatabaseLookups that asked for ECIES reply
//! encryption (i2np.rst, DatabaseLookup, "Reply Encryption"; ecies-routers.rst, "Reply
//! encryption": "encrypted as Existing Session messages with the 32-byte reply key and
//! 8-byte reply tag"), and the OutboundTunnelBuildReply garlic.
//!
//! Garlic data: `tag (8) || ChaCha20-Poly1305(key, n = 0, ad = tag, payload)`. The
//! Existing Session message of ecies.rst with a single tag: nonce 0, and the 8-byte tag
//! as associated data (as i2pd 2.45.1 `WrapECIESX25519Message` and
//! `SymmetricKeyTagSet::HandleNextMessage` do). No tag set, no ratchet.
//!
//! [`ReplyTagStore`] holds the (tag, key) pairs of our outstanding lookups, bounded and
//! expiring, so that a router can recognise the replies among incoming garlic.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use i2p_crypto::{aead, Zeroizing};

use crate::block::{check_order, into_cloves, parse_blocks, write_blocks, Block, MessageKind};
use crate::clove::Clove;
use crate::error::{Error, Path, Result};

/// Length of a session tag.
pub const TAG_LEN: usize = 8;
/// Smallest key+tag garlic data: the tag and the Poly1305 tag of an empty payload.
pub const MIN_KEY_TAG_LEN: usize = TAG_LEN + aead::TAG_LEN;

/// Encrypts `payload` (a block list) with a one-time key and tag: returns the garlic
/// data `tag || ciphertext || mac`, without the Garlic message's 4-byte length.
pub fn seal_with_key_tag(key: &[u8; 32], tag: &[u8; TAG_LEN], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(TAG_LEN + payload.len() + aead::TAG_LEN);
    out.extend_from_slice(tag);
    out.extend_from_slice(&aead::encrypt(key, 0, tag, payload));
    out
}

/// Decrypts garlic data `tag || ciphertext || mac` (no 4-byte length) with a one-time
/// key, checking that it starts with `tag`. Returns the payload (a block list).
pub fn open_with_key_tag(
    key: &[u8; 32],
    tag: &[u8; TAG_LEN],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let (got_tag, ct) = split_tag(data)?;
    if !i2p_crypto::ct_eq(got_tag, tag) {
        return Err(Error::TagMismatch);
    }
    aead::decrypt(key, 0, tag, ct)
        .map(Zeroizing::new)
        .map_err(|_| Error::Auth(Path::ReplyTag))
}

/// Builds the Garlic message body (`length (4) || tag || ciphertext || mac`, the
/// payload of an I2NP type 11 message) carrying `cloves`, as i2pd's
/// `WrapECIESX25519Message` does: cloves, then 0-15 bytes of padding, no DateTime.
pub fn wrap_with_key_tag(key: &[u8; 32], tag: &[u8; TAG_LEN], cloves: &[Clove]) -> Result<Vec<u8>> {
    let mut blocks: Vec<Block> = cloves.iter().cloned().map(Block::GarlicClove).collect();
    blocks.push(random_padding());
    let payload = Zeroizing::new(write_blocks(&blocks)?);
    Ok(garlic_body(&seal_with_key_tag(key, tag, &payload)))
}

/// Opens a Garlic message body (`length (4) || data`) sealed with a one-time key and
/// tag, and returns its cloves. Checks the tag, the MAC and the Existing Session block
/// ordering rules. For lookup replies and the OutboundTunnelBuildReply garlic.
pub fn unwrap_with_key_tag(
    key: &[u8; 32],
    tag: &[u8; TAG_LEN],
    garlic_body: &[u8],
) -> Result<Vec<Clove>> {
    let data = garlic_data(garlic_body)?;
    let payload = open_with_key_tag(key, tag, data)?;
    let blocks = parse_blocks(&payload)?;
    check_order(&blocks, MessageKind::ExistingSession)?;
    Ok(into_cloves(blocks))
}

/// Splits garlic data into its first 8 bytes and the rest, refusing data too short to
/// hold a tag and a MAC.
pub(crate) fn split_tag(data: &[u8]) -> Result<(&[u8], &[u8])> {
    if data.len() < MIN_KEY_TAG_LEN {
        return Err(Error::malformed(
            "key+tag garlic",
            "shorter than tag and MAC",
        ));
    }
    Ok(data.split_at(TAG_LEN))
}

/// The `data` of a Garlic message body: i2np.rst "Garlic": `length (4) || data`.
/// Like i2pd, accepts bytes after `length` bytes of data (and ignores them).
pub fn garlic_data(garlic_body: &[u8]) -> Result<&[u8]> {
    let (len, rest) = garlic_body
        .split_first_chunk::<4>()
        .ok_or(Error::malformed("Garlic message", "no length"))?;
    let len = usize::try_from(u32::from_be_bytes(*len))
        .map_err(|_| Error::malformed("Garlic message", "length too large"))?;
    rest.get(..len).ok_or(Error::malformed(
        "Garlic message",
        "length beyond the message",
    ))
}

/// `length (4) || data`.
pub(crate) fn garlic_body(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + data.len());
    // Data is at most a payload (65519) plus 48 bytes of overhead: fits.
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// A Padding block of 0-15 bytes ("Padding default is 0-15 bytes").
pub(crate) fn random_padding() -> Block {
    let n = usize::try_from(i2p_crypto::random_below(16)).unwrap_or(0);
    Block::Padding(vec![0; n])
}

/// A fresh random one-time reply key and tag.
pub fn generate_key_tag() -> (Zeroizing<[u8; 32]>, [u8; TAG_LEN]) {
    let mut key = Zeroizing::new([0u8; 32]);
    i2p_crypto::random_bytes(key.as_mut());
    let mut tag = [0u8; TAG_LEN];
    i2p_crypto::random_bytes(&mut tag);
    (key, tag)
}

struct TagEntry {
    key: Zeroizing<[u8; 32]>,
    expires_ms: u64,
    seq: u64,
}

/// Outstanding one-time reply (tag → key) pairs, bounded, each valid for a fixed
/// lifetime.
///
/// Times are milliseconds since the epoch, passed in by the caller; the store never
/// reads a clock. A tag is used at most once: [`ReplyTagStore::take`] removes it. When
/// full, inserting evicts expired entries first, then the oldest.
pub struct ReplyTagStore {
    entries: HashMap<[u8; TAG_LEN], TagEntry>,
    /// Insertion order: `seq` → tag. With one lifetime for all entries and a clock that
    /// does not go backwards, also the expiry order.
    by_age: BTreeMap<u64, [u8; TAG_LEN]>,
    next_seq: u64,
    capacity: usize,
    lifetime_ms: u64,
    evicted_full: u64,
}

impl fmt::Debug for ReplyTagStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTagStore")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity)
            .field("lifetime_ms", &self.lifetime_ms)
            .finish()
    }
}

impl ReplyTagStore {
    /// Default bound on outstanding replies.
    pub const DEFAULT_CAPACITY: usize = 2048;
    /// Default lifetime of a reply tag. i2pd gives up on a lookup after a few
    /// 15-second rounds; replies later than this are of no use.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(180);

    /// An empty store holding at most `capacity` (at least 1) pairs for `lifetime` each.
    pub fn new(capacity: usize, lifetime: Duration) -> Self {
        ReplyTagStore {
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
            next_seq: 0,
            capacity: capacity.max(1),
            lifetime_ms: u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX),
            evicted_full: 0,
        }
    }

    /// Number of pairs held (expired ones included until evicted).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds no pair.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many unexpired pairs were dropped because the store was full.
    pub fn evicted_full(&self) -> u64 {
        self.evicted_full
    }

    /// Generates a fresh key and tag, stores them until `now_ms` + lifetime, and
    /// returns them for a DatabaseLookup's `ReplyEncryption::Ecies { key, tags: [tag] }`.
    pub fn generate(&mut self, now_ms: u64) -> (Zeroizing<[u8; 32]>, [u8; TAG_LEN]) {
        loop {
            let (key, tag) = generate_key_tag();
            // A collision of 64 random bits with a held tag is next to impossible;
            // draw again rather than replace a pending reply's key.
            if !self.entries.contains_key(&tag) {
                self.insert(now_ms, &key, tag);
                return (key, tag);
            }
        }
    }

    /// Stores `(tag, key)` until `now_ms` + lifetime, replacing an entry with the same
    /// tag. Evicts expired pairs, then the oldest if still full.
    pub fn insert(&mut self, now_ms: u64, key: &[u8; 32], tag: [u8; TAG_LEN]) {
        self.remove(&tag);
        self.evict_expired(now_ms);
        while self.entries.len() >= self.capacity {
            match self.by_age.pop_first() {
                Some((_, old)) => {
                    self.entries.remove(&old);
                    self.evicted_full += 1;
                }
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            tag,
            TagEntry {
                key: Zeroizing::new(*key),
                expires_ms: now_ms.saturating_add(self.lifetime_ms),
                seq,
            },
        );
        self.by_age.insert(seq, tag);
    }

    /// Whether an unexpired pair with `tag` is held.
    pub fn contains(&self, now_ms: u64, tag: &[u8; TAG_LEN]) -> bool {
        self.entries.get(tag).is_some_and(|e| now_ms < e.expires_ms)
    }

    /// Removes and returns the key of `tag` if it is held and unexpired at `now_ms`.
    pub fn take(&mut self, now_ms: u64, tag: &[u8; TAG_LEN]) -> Option<Zeroizing<[u8; 32]>> {
        let e = self.remove(tag)?;
        (now_ms < e.expires_ms).then_some(e.key)
    }

    /// Drops every pair expired at `now_ms`; returns how many.
    pub fn evict_expired(&mut self, now_ms: u64) -> usize {
        let mut n = 0;
        while let Some((&seq, &tag)) = self.by_age.first_key_value() {
            let expired = match self.entries.get(&tag) {
                Some(e) => e.seq != seq || now_ms >= e.expires_ms,
                None => true,
            };
            if !expired {
                break;
            }
            self.by_age.remove(&seq);
            if self.entries.get(&tag).is_some_and(|e| e.seq == seq) {
                self.entries.remove(&tag);
                n += 1;
            }
        }
        n
    }

    fn remove(&mut self, tag: &[u8; TAG_LEN]) -> Option<TagEntry> {
        let e = self.entries.remove(tag)?;
        self.by_age.remove(&e.seq);
        Some(e)
    }
}

impl Default for ReplyTagStore {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY, Self::DEFAULT_LIFETIME)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_wire::{I2npMessage, MessageType};

    fn clove() -> Clove {
        Clove::local(I2npMessage::new(
            MessageType::DATABASE_SEARCH_REPLY,
            42,
            1_800_000_000_000,
            vec![7; 65],
        ))
    }

    #[test]
    fn wrap_unwrap_round_trip() {
        let (key, tag) = generate_key_tag();
        let body = wrap_with_key_tag(&key, &tag, &[clove(), clove()]).unwrap();
        // length || tag || ...
        assert_eq!(
            u32::from_be_bytes(body[..4].try_into().unwrap()) as usize,
            body.len() - 4
        );
        assert_eq!(&body[4..12], &tag);
        let got = unwrap_with_key_tag(&key, &tag, &body).unwrap();
        assert_eq!(got, vec![clove(), clove()]);
    }

    #[test]
    fn layout_matches_i2pd_wrap() {
        // tag || AEAD(key, nonce 0, ad = tag, 0b size 0 type id exp body || fe ...).
        let key = [0x11; 32];
        let tag = [1, 2, 3, 4, 5, 6, 7, 8];
        let body = wrap_with_key_tag(&key, &tag, &[clove()]).unwrap();
        let data = &body[4..];
        let pt = aead::decrypt(&key, 0, &tag, &data[8..]).unwrap();
        let clove_len = 1 + 9 + 65;
        assert_eq!(pt[0], 11);
        assert_eq!(u16::from_be_bytes([pt[1], pt[2]]) as usize, clove_len);
        assert_eq!(pt[3], 0); // LOCAL
        assert_eq!(pt[4], 3); // DatabaseSearchReply
        assert_eq!(&pt[5..9], &42u32.to_be_bytes());
        assert_eq!(&pt[9..13], &1_800_000_000u32.to_be_bytes());
        assert_eq!(pt[3 + clove_len], 254);
        assert!(pt.len() - (3 + clove_len) - 3 <= 15);
    }

    #[test]
    fn wrong_key_tag_and_tampering_fail() {
        let (key, tag) = generate_key_tag();
        let body = wrap_with_key_tag(&key, &tag, &[clove()]).unwrap();
        let other = [0u8; 32];
        assert_eq!(
            unwrap_with_key_tag(&other, &tag, &body),
            Err(Error::Auth(Path::ReplyTag))
        );
        let mut other_tag = tag;
        other_tag[0] ^= 1;
        assert_eq!(
            unwrap_with_key_tag(&key, &other_tag, &body),
            Err(Error::TagMismatch)
        );
        for i in 4..body.len() {
            let mut t = body.clone();
            t[i] ^= 0x40;
            assert!(unwrap_with_key_tag(&key, &tag, &t).is_err(), "byte {i}");
        }
        for n in 0..body.len() {
            assert!(unwrap_with_key_tag(&key, &tag, &body[..n]).is_err());
        }
    }

    #[test]
    fn garlic_length_is_checked() {
        assert!(garlic_data(&[0, 0, 0]).is_err());
        assert!(garlic_data(&[0, 0, 0, 2, 9]).is_err());
        assert_eq!(garlic_data(&[0, 0, 0, 1, 9, 8]).unwrap(), &[9]);
        assert_eq!(garlic_data(&[0, 0, 0, 0]).unwrap(), &[] as &[u8]);
    }

    #[test]
    fn store_take_once_and_expiry() {
        let mut s = ReplyTagStore::new(8, Duration::from_secs(10));
        let t0 = 1_000_000;
        let (key, tag) = s.generate(t0);
        assert!(s.contains(t0 + 9_999, &tag));
        assert!(!s.contains(t0 + 10_000, &tag));
        assert_eq!(*s.take(t0 + 5_000, &tag).unwrap(), *key);
        assert!(s.take(t0 + 5_000, &tag).is_none(), "tags are single use");

        let (_, tag2) = s.generate(t0);
        assert!(s.take(t0 + 10_000, &tag2).is_none(), "expired tag returned");
        assert!(s.is_empty());
    }

    #[test]
    fn store_evicts_expired_then_oldest() {
        let mut s = ReplyTagStore::new(3, Duration::from_secs(10));
        let t = 5_000_000;
        let a = s.generate(t).1;
        let b = s.generate(t + 1_000).1;
        let c = s.generate(t + 2_000).1;
        assert_eq!(s.len(), 3);
        // Full, nothing expired: the oldest (a) goes.
        let d = s.generate(t + 3_000).1;
        assert_eq!(s.len(), 3);
        assert_eq!(s.evicted_full(), 1);
        assert!(!s.contains(t + 3_000, &a));
        assert!(s.contains(t + 3_000, &b) && s.contains(t + 3_000, &c));
        // At t + 11.5 s, b has expired: inserting drops it, not c.
        let e = s.generate(t + 11_500).1;
        assert_eq!(s.evicted_full(), 1);
        assert!(!s.contains(t + 11_500, &b));
        for x in [c, d, e] {
            assert!(s.contains(t + 11_500, &x));
        }
        assert_eq!(s.evict_expired(t + 100_000), 3);
        assert!(s.is_empty());
    }

    #[test]
    fn store_stays_bounded_under_churn() {
        let mut s = ReplyTagStore::new(16, Duration::from_secs(60));
        for i in 0..1000u64 {
            let (_, tag) = s.generate(i);
            if i % 3 == 0 {
                s.take(i, &tag);
            }
            assert!(s.len() <= 16);
            assert!(s.by_age.len() <= 16);
        }
    }

    #[test]
    fn debug_hides_keys() {
        let mut s = ReplyTagStore::default();
        s.generate(0);
        assert_eq!(
            format!("{s:?}"),
            "ReplyTagStore { len: 1, capacity: 2048, lifetime_ms: 180000 }"
        );
    }
}
