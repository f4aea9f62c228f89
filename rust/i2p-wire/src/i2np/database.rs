//! The netDb messages (i2np.rst, "DatabaseStore", "DatabaseLookup",
//! "DatabaseSearchReply"), and bounded gzip for RouterInfos in DatabaseStore.

use std::fmt;
use std::io::{Read, Write};
use std::num::NonZeroU32;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::bytes::{Error, Readable, Reader, Result, Writeable, Writer};
use crate::common::Hash;
use crate::leaseset::{LeaseSet2, UncheckedLeaseSet2};
use crate::router_info::{RouterInfo, UncheckedRouterInfo};

/// Largest RouterInfo we decompress out of a DatabaseStore (64 KiB). A RouterInfo is
/// around 1 KiB; the bound stops gzip bombs.
pub const MAX_ROUTER_INFO_LEN: usize = 64 * 1024;

/// Most excluded peers in a DatabaseLookup: "valid range: 0-512".
pub const MAX_EXCLUDED_PEERS: usize = 512;

/// Most reply tags in a DatabaseLookup: "valid range: 1-32".
const MAX_REPLY_TAGS: usize = 32;

/// Gzips a serialized RouterInfo the way Java I2P does, so the header does not reveal
/// our implementation: "setting the modification time to 0 and the OS byte to 0xFF,
/// and set XFL to 0x02" (i2np.rst, DatabaseStore notes), i.e. the compressed data
/// starts `1F 8B 08 00 00 00 00 00 02 FF`.
pub fn gzip_router_info(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(0xff)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes)
        .map_err(|_| Error::Gzip("compression failed"))?;
    enc.finish().map_err(|_| Error::Gzip("compression failed"))
}

/// Gunzips `data`, failing if the output would exceed `max` bytes or the data is not
/// valid gzip (bad header, bad deflate stream, bad CRC or length).
pub fn gunzip_bounded(data: &[u8], max: usize) -> Result<Vec<u8>> {
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| Error::Gzip("invalid gzip data"))?;
    if out.len() > max {
        return Err(Error::Gzip("decompressed data over the size bound"));
    }
    Ok(out)
}

/// The reply request of a DatabaseStore: present when the reply token is nonzero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyPath {
    /// "a DeliveryStatusMessage is requested with the Message ID set to the value of
    /// the Reply Token".
    pub token: NonZeroU32,
    /// Inbound tunnel for the reply; zero means send directly to `gateway`.
    pub tunnel_id: u32,
    /// The reply tunnel's gateway, or the router to reply to when `tunnel_id` is 0.
    pub gateway: Hash,
}

/// What a DatabaseStore carries, by its type byte.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseStoreKind {
    /// Type 0: a gzip-compressed RouterInfo (the 2-byte length is implied).
    RouterInfo {
        /// The gzip data.
        compressed: Vec<u8>,
    },
    /// Types 1 (LeaseSet), 3 (LeaseSet2), 5 (EncryptedLeaseSet), 7 (MetaLeaseSet),
    /// uncompressed and kept opaque here.
    LeaseSet {
        /// The type byte: 1, 3, 5 or 7.
        store_type: u8,
        /// The uncompressed (Encrypted/Meta)LeaseSet(2).
        data: Vec<u8>,
    },
}

/// DatabaseStore (i2np.rst, "DatabaseStore").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseStore {
    /// "The key is the 'real' hash of the RouterIdentity or Destination, NOT the
    /// routing key."
    pub key: Hash,
    /// Reply token, tunnel and gateway, if a reply is requested.
    pub reply: Option<ReplyPath>,
    /// The stored entry.
    pub kind: DatabaseStoreKind,
}

impl DatabaseStore {
    /// A store of `ri` (compressed here) under its hash.
    pub fn router_info(ri: &RouterInfo, reply: Option<ReplyPath>) -> Result<Self> {
        let compressed = gzip_router_info(ri.as_bytes())?;
        if compressed.len() > usize::from(u16::MAX) {
            return Err(Error::invalid(
                "DatabaseStore",
                "compressed RouterInfo over 65535 bytes",
            ));
        }
        Ok(DatabaseStore {
            key: ri.hash(),
            reply,
            kind: DatabaseStoreKind::RouterInfo { compressed },
        })
    }

    /// A store of the LeaseSet2 `ls` (type 3, uncompressed) under its destination
    /// hash. Added for the LeaseSet2 module (`crate::leaseset`).
    pub fn lease_set2(ls: &LeaseSet2, reply: Option<ReplyPath>) -> Self {
        DatabaseStore {
            key: ls.hash(),
            reply,
            kind: DatabaseStoreKind::LeaseSet {
                store_type: crate::leaseset::STORE_TYPE,
                data: ls.to_bytes(),
            },
        }
    }

    /// A store of the encrypted LeaseSet `els` (type 5) under its blinded key's
    /// hash (encryptedleaseset.rst).
    pub fn encrypted_lease_set(els: &crate::EncryptedLeaseSet, reply: Option<ReplyPath>) -> Self {
        DatabaseStore {
            key: els.store_hash(),
            reply,
            kind: DatabaseStoreKind::LeaseSet {
                store_type: crate::encrypted_leaseset::STORE_TYPE,
                data: els.as_bytes().to_vec(),
            },
        }
    }

    /// Parses the outer layer of a type-5 store and checks its signature and that it
    /// is stored under its blinded key's hash.
    pub fn parse_encrypted_lease_set(&self) -> Result<crate::EncryptedLeaseSet> {
        let data = match &self.kind {
            DatabaseStoreKind::LeaseSet {
                store_type: crate::encrypted_leaseset::STORE_TYPE,
                data,
            } => data,
            _ => {
                return Err(Error::invalid(
                    "DatabaseStore",
                    "not an encrypted LeaseSet store",
                ))
            }
        };
        let els = crate::EncryptedLeaseSet::parse(data)?;
        if els.store_hash() != self.key {
            return Err(Error::invalid(
                "DatabaseStore",
                "key is not the encrypted LeaseSet's blinded hash",
            ));
        }
        els.verify()?;
        Ok(els)
    }

    /// Parses the LeaseSet2 of a type-3 store (signature not checked), and checks
    /// that it is stored under its destination hash.
    pub fn parse_lease_set2(&self) -> Result<UncheckedLeaseSet2> {
        let data = match &self.kind {
            DatabaseStoreKind::LeaseSet {
                store_type: crate::leaseset::STORE_TYPE,
                data,
            } => data,
            _ => return Err(Error::invalid("DatabaseStore", "not a LeaseSet2 store")),
        };
        let ls = UncheckedLeaseSet2::parse(data)?;
        if ls.hash() != self.key {
            return Err(Error::invalid(
                "DatabaseStore",
                "key is not the LeaseSet2's destination hash",
            ));
        }
        Ok(ls)
    }

    /// The type byte on the wire.
    pub fn store_type(&self) -> u8 {
        match &self.kind {
            DatabaseStoreKind::RouterInfo { .. } => 0,
            DatabaseStoreKind::LeaseSet { store_type, .. } => *store_type,
        }
    }

    /// The decompressed RouterInfo bytes (at most [`MAX_ROUTER_INFO_LEN`]), if this
    /// stores a RouterInfo.
    pub fn router_info_bytes(&self) -> Result<Vec<u8>> {
        match &self.kind {
            DatabaseStoreKind::RouterInfo { compressed } => {
                gunzip_bounded(compressed, MAX_ROUTER_INFO_LEN)
            }
            DatabaseStoreKind::LeaseSet { .. } => {
                Err(Error::invalid("DatabaseStore", "not a RouterInfo store"))
            }
        }
    }

    /// Decompresses and parses the RouterInfo (signature not checked), and checks that
    /// it is stored under its own hash.
    pub fn parse_router_info(&self) -> Result<UncheckedRouterInfo> {
        let ri = UncheckedRouterInfo::parse(&self.router_info_bytes()?)?;
        if ri.hash() != self.key {
            return Err(Error::invalid(
                "DatabaseStore",
                "key is not the RouterInfo's hash",
            ));
        }
        Ok(ri)
    }
}

impl Readable for DatabaseStore {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("DatabaseStore", |r| {
            let key = r.extract()?;
            let store_type = r.take_u8()?;
            let reply = match NonZeroU32::new(r.take_u32()?) {
                None => None,
                Some(token) => Some(ReplyPath {
                    token,
                    tunnel_id: r.take_u32()?,
                    gateway: r.extract()?,
                }),
            };
            let kind = match store_type {
                0 => {
                    let len = usize::from(r.take_u16()?);
                    DatabaseStoreKind::RouterInfo {
                        compressed: r.take(len)?.to_vec(),
                    }
                }
                1 | 3 | 5 | 7 => DatabaseStoreKind::LeaseSet {
                    store_type,
                    data: r.take_rest().to_vec(),
                },
                _ => return Err(r.invalid("unknown store type")),
            };
            Ok(DatabaseStore { key, reply, kind })
        })
    }
}

impl Writeable for DatabaseStore {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_item(&self.key);
        out.write_u8(self.store_type());
        match &self.reply {
            None => out.write_u32(0),
            Some(p) => {
                out.write_u32(p.token.get());
                out.write_u32(p.tunnel_id);
                out.write_item(&p.gateway);
            }
        }
        match &self.kind {
            DatabaseStoreKind::RouterInfo { compressed } => {
                // Bounded by parsing (2-byte length) or by `router_info()`.
                out.write_u16(u16::try_from(compressed.len()).unwrap_or(u16::MAX));
                out.write_bytes(compressed);
            }
            DatabaseStoreKind::LeaseSet { data, .. } => out.write_bytes(data),
        }
    }
}

/// Lookup type, flag bits 3-2 of a DatabaseLookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupType {
    /// 00: "ANY lookup ... DEPRECATED".
    Any,
    /// 01: LeaseSet lookup.
    LeaseSet,
    /// 10: RouterInfo lookup.
    RouterInfo,
    /// 11: exploration: return non-floodfill routers.
    Exploration,
}

impl LookupType {
    fn bits(self) -> u8 {
        match self {
            LookupType::Any => 0b0000,
            LookupType::LeaseSet => 0b0100,
            LookupType::RouterInfo => 0b1000,
            LookupType::Exploration => 0b1100,
        }
    }

    fn from_bits(flags: u8) -> Self {
        match flags & 0b1100 {
            0b0100 => LookupType::LeaseSet,
            0b1000 => LookupType::RouterInfo,
            0b1100 => LookupType::Exploration,
            _ => LookupType::Any,
        }
    }
}

/// A 32-byte reply session key. Zeroized on drop; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ReplyKey(pub [u8; 32]);

impl fmt::Debug for ReplyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyKey(..)")
    }
}

/// Reply encryption requested by a DatabaseLookup (i2np.rst, "Reply Encryption").
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyEncryption {
    /// Flag bit 1 ("ElG to ElG", deprecated): AES reply with 32-byte session tags.
    ElGamalAes {
        /// The session key.
        key: ReplyKey,
        /// The session tags (0-32).
        tags: Vec<[u8; 32]>,
    },
    /// Flag bit 4 ("ECIES to ElG" / "ECIES to ECIES"): ChaCha20-Poly1305 reply with
    /// 8-byte tags (normally exactly one).
    Ecies {
        /// The session key.
        key: ReplyKey,
        /// The session tags (0-32).
        tags: Vec<[u8; 8]>,
    },
}

impl fmt::Debug for ReplyEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyEncryption::ElGamalAes { tags, .. } => {
                write!(f, "ElGamalAes {{ tags: {} }}", tags.len())
            }
            ReplyEncryption::Ecies { tags, .. } => write!(f, "Ecies {{ tags: {} }}", tags.len()),
        }
    }
}

/// DatabaseLookup (i2np.rst, "DatabaseLookup").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseLookup {
    /// What to look up (the real hash, not the routing key).
    pub key: Hash,
    /// Who asks (direct reply) or the reply tunnel's gateway (tunnel reply).
    pub from: Hash,
    /// Flag bit 0: reply through this tunnel of `from`, rather than directly.
    pub reply_tunnel_id: Option<u32>,
    /// Flag bits 3-2.
    pub lookup_type: LookupType,
    /// Peers not to list in a DatabaseSearchReply (at most 512).
    pub excluded_peers: Vec<Hash>,
    /// Flag bits 1 and 4, with the key and tags.
    pub reply_encryption: Option<ReplyEncryption>,
    /// Flag bits 7-5 as received ("ignored, set to 0"); written back so a parsed
    /// lookup re-serializes exactly. Zero in lookups we build.
    pub reserved_flags: u8,
}

impl DatabaseLookup {
    const DELIVERY: u8 = 0x01;
    const ENCRYPTION: u8 = 0x02;
    const ECIES: u8 = 0x10;
    const RESERVED: u8 = 0xe0;

    /// The flags byte.
    pub fn flags(&self) -> u8 {
        let mut f = self.lookup_type.bits() | (self.reserved_flags & Self::RESERVED);
        if self.reply_tunnel_id.is_some() {
            f |= Self::DELIVERY;
        }
        match self.reply_encryption {
            None => {}
            Some(ReplyEncryption::ElGamalAes { .. }) => f |= Self::ENCRYPTION,
            Some(ReplyEncryption::Ecies { .. }) => f |= Self::ECIES,
        }
        f
    }
}

fn take_tags<const N: usize>(r: &mut Reader<'_>) -> Result<Vec<[u8; N]>> {
    let n = usize::from(r.take_u8()?);
    if n > MAX_REPLY_TAGS {
        return Err(r.invalid("more than 32 reply tags"));
    }
    (0..n).map(|_| r.take_array()).collect()
}

impl Readable for DatabaseLookup {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("DatabaseLookup", |r| {
            let key = r.extract()?;
            let from = r.extract()?;
            let flags = r.take_u8()?;
            let reply_tunnel_id = if flags & Self::DELIVERY != 0 {
                Some(r.take_u32()?)
            } else {
                None
            };
            let n = usize::from(r.take_u16()?);
            if n > MAX_EXCLUDED_PEERS {
                return Err(r.invalid("more than 512 excluded peers"));
            }
            let excluded_peers = (0..n).map(|_| r.extract()).collect::<Result<Vec<Hash>>>()?;
            let reply_encryption = match (flags & Self::ECIES != 0, flags & Self::ENCRYPTION != 0) {
                (false, false) => None,
                (false, true) => Some(ReplyEncryption::ElGamalAes {
                    key: ReplyKey(r.take_array()?),
                    tags: take_tags(r)?,
                }),
                (true, false) => Some(ReplyEncryption::Ecies {
                    key: ReplyKey(r.take_array()?),
                    tags: take_tags(r)?,
                }),
                // "1 1 ... DH yes ... TBD": no defined format.
                (true, true) => return Err(r.invalid("reply encryption flags 4 and 1 both set")),
            };
            Ok(DatabaseLookup {
                key,
                from,
                reply_tunnel_id,
                lookup_type: LookupType::from_bits(flags),
                excluded_peers,
                reply_encryption,
                reserved_flags: flags & Self::RESERVED,
            })
        })
    }
}

impl Writeable for DatabaseLookup {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_item(&self.key);
        out.write_item(&self.from);
        out.write_u8(self.flags());
        if let Some(t) = self.reply_tunnel_id {
            out.write_u32(t);
        }
        // A lookup we build with more than 512 peers would be refused by the peer;
        // write at most 512 so the size field and the list agree.
        let peers = self
            .excluded_peers
            .get(..MAX_EXCLUDED_PEERS)
            .unwrap_or(&self.excluded_peers);
        out.write_u16(u16::try_from(peers.len()).unwrap_or(0));
        for p in peers {
            out.write_item(p);
        }
        fn tags<const N: usize>(out: &mut Vec<u8>, tags: &[[u8; N]]) {
            let tags = tags.get(..MAX_REPLY_TAGS).unwrap_or(tags);
            out.write_u8(u8::try_from(tags.len()).unwrap_or(0));
            for t in tags {
                out.write_bytes(t);
            }
        }
        match &self.reply_encryption {
            None => {}
            Some(ReplyEncryption::ElGamalAes { key, tags: t }) => {
                out.write_bytes(&key.0);
                tags(out, t);
            }
            Some(ReplyEncryption::Ecies { key, tags: t }) => {
                out.write_bytes(&key.0);
                tags(out, t);
            }
        }
    }
}

/// DatabaseSearchReply (i2np.rst, "DatabaseSearchReply").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSearchReply {
    /// The key that was searched.
    pub key: Hash,
    /// Router hashes the replier suggests (0-255; "Recommended maximum ... 16").
    pub peers: Vec<Hash>,
    /// The replying router ("unauthenticated and cannot be trusted").
    pub from: Hash,
}

impl Readable for DatabaseSearchReply {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("DatabaseSearchReply", |r| {
            let key = r.extract()?;
            let n = r.take_u8()?;
            let peers = (0..n).map(|_| r.extract()).collect::<Result<Vec<Hash>>>()?;
            let from = r.extract()?;
            Ok(DatabaseSearchReply { key, peers, from })
        })
    }
}

impl Writeable for DatabaseSearchReply {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_item(&self.key);
        // At most 255 fit the count byte; write that many so count and list agree.
        let peers = self.peers.get(..255).unwrap_or(&self.peers);
        out.write_u8(u8::try_from(peers.len()).unwrap_or(0));
        for p in peers {
            out.write_item(p);
        }
        out.write_item(&self.from);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::identity::RouterIdentity;
    use crate::mapping::Mapping;
    use i2p_crypto::ed25519::SigningKey;
    use proptest::prelude::*;

    fn h(b: u8) -> Hash {
        Hash([b; 32])
    }

    #[test]
    fn gzip_header_matches_java() {
        let z = gzip_router_info(b"hello hello hello").unwrap();
        assert_eq!(&z[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
        assert_eq!(gunzip_bounded(&z, 100).unwrap(), b"hello hello hello");
        assert!(gunzip_bounded(&z, 16).is_err());
        assert_eq!(gunzip_bounded(&z, 17).unwrap().len(), 17);
        let mut bad = z.clone();
        let n = bad.len();
        bad[n - 5] ^= 1; // CRC
        assert!(gunzip_bounded(&bad, 100).is_err());
        assert!(gunzip_bounded(b"not gzip", 100).is_err());
    }

    #[test]
    fn gzip_bomb_is_bounded() {
        let z = gzip_router_info(&vec![0u8; 10 * MAX_ROUTER_INFO_LEN]).unwrap();
        assert!(z.len() < 2000);
        assert!(gunzip_bounded(&z, MAX_ROUTER_INFO_LEN).is_err());
    }

    #[test]
    fn store_router_info_round_trip() {
        let sk = SigningKey::random();
        let id = RouterIdentity::new_x25519_ed25519(&[3; 32], &sk.verifying_key());
        let ri =
            RouterInfo::new_signed(id, 42, vec![], Mapping::new([("caps", "L")]).unwrap(), &sk)
                .unwrap();
        let reply = ReplyPath {
            token: NonZeroU32::new(77).unwrap(),
            tunnel_id: 0,
            gateway: h(5),
        };
        let ds = DatabaseStore::router_info(&ri, Some(reply)).unwrap();
        let b = ds.to_bytes();
        // key, type 0, token 77, tunnel 0, gateway, length, gzip.
        assert_eq!(&b[..32], ri.hash().as_bytes());
        assert_eq!(&b[32..41], &[0, 0, 0, 0, 77, 0, 0, 0, 0]);
        assert_eq!(&b[41..73], &[5; 32]);
        let back = DatabaseStore::from_bytes(&b).unwrap();
        assert_eq!(back, ds);
        let got = back.parse_router_info().unwrap().verify().unwrap();
        assert_eq!(got, ri);
        // Stored under another key: refused.
        let mut wrong = back.clone();
        wrong.key = h(1);
        assert!(wrong.parse_router_info().is_err());
    }

    #[test]
    fn store_without_token_and_leaseset_kinds() {
        let mut b = vec![9u8; 32];
        b.extend_from_slice(&[3, 0, 0, 0, 0]);
        b.extend_from_slice(b"opaque ls2");
        let ds = DatabaseStore::from_bytes(&b).unwrap();
        assert_eq!(ds.reply, None);
        assert_eq!(
            ds.kind,
            DatabaseStoreKind::LeaseSet {
                store_type: 3,
                data: b"opaque ls2".to_vec()
            }
        );
        assert_eq!(ds.to_bytes(), b);
        assert!(ds.router_info_bytes().is_err());
        // Unknown store type.
        b[32] = 2;
        assert!(DatabaseStore::from_bytes(&b).is_err());
        // RouterInfo with a length past the end.
        let mut ri = vec![9u8; 32];
        ri.extend_from_slice(&[0, 0, 0, 0, 0, 0, 5, 1, 2]);
        assert!(DatabaseStore::from_bytes(&ri).is_err());
    }

    #[test]
    fn lookup_i2pd_leaseset_layout() {
        // As i2pd's CreateLeaseSetDatabaseLookupMsg writes it: flags 0x15 (tunnel
        // delivery, LS lookup, ECIES), tunnel id, no excluded peers, key, 1 tag.
        let mut b = Vec::new();
        b.extend_from_slice(&[1u8; 32]);
        b.extend_from_slice(&[2u8; 32]);
        b.push(0x15);
        b.extend_from_slice(&0x1234_5678u32.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&[0xa0; 32]);
        b.push(1);
        b.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
        let l = DatabaseLookup::from_bytes(&b).unwrap();
        assert_eq!(l.reply_tunnel_id, Some(0x1234_5678));
        assert_eq!(l.lookup_type, LookupType::LeaseSet);
        assert_eq!(
            l.reply_encryption,
            Some(ReplyEncryption::Ecies {
                key: ReplyKey([0xa0; 32]),
                tags: vec![[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]]
            })
        );
        assert_eq!(l.flags(), 0x15);
        assert_eq!(l.to_bytes(), b);
        assert!(
            !format!("{l:?}").contains("160"),
            "reply key must not be printed"
        );
    }

    #[test]
    fn lookup_limits() {
        let mut l = DatabaseLookup {
            key: h(1),
            from: h(2),
            reply_tunnel_id: None,
            lookup_type: LookupType::Exploration,
            excluded_peers: vec![h(0); 512],
            reply_encryption: Some(ReplyEncryption::ElGamalAes {
                key: ReplyKey([7; 32]),
                tags: vec![[8; 32]; 2],
            }),
            reserved_flags: 0,
        };
        let b = l.to_bytes();
        assert_eq!(b[64], 0b0000_1110);
        assert_eq!(DatabaseLookup::from_bytes(&b).unwrap(), l);
        // 513 excluded peers: refused on parse.
        l.reply_encryption = None;
        let mut b = l.to_bytes();
        b[65..67].copy_from_slice(&513u16.to_be_bytes());
        b.extend_from_slice(&[0; 32]);
        assert!(DatabaseLookup::from_bytes(&b).is_err());
        // Both encryption bits set: refused.
        let mut b = l.to_bytes();
        b[64] |= 0x12;
        assert!(DatabaseLookup::from_bytes(&b).is_err());
    }

    #[test]
    fn search_reply_known_layout() {
        let r = DatabaseSearchReply {
            key: h(1),
            peers: vec![h(2), h(3)],
            from: h(4),
        };
        let b = r.to_bytes();
        assert_eq!(b.len(), 32 + 1 + 64 + 32);
        assert_eq!(b[32], 2);
        assert_eq!(DatabaseSearchReply::from_bytes(&b).unwrap(), r);
        assert!(DatabaseSearchReply::from_bytes(&b[..b.len() - 1]).is_err());
    }

    fn hash() -> impl Strategy<Value = Hash> {
        any::<[u8; 32]>().prop_map(Hash)
    }

    proptest! {
        #[test]
        fn lookup_round_trip(
            key in hash(), from in hash(), tunnel in proptest::option::of(any::<u32>()),
            lt in 0u8..4, peers in proptest::collection::vec(hash(), 0..20),
            enc in 0u8..3, ntags in 0usize..4, reserved in 0u8..8,
        ) {
            let reply_encryption = match enc {
                0 => None,
                1 => Some(ReplyEncryption::ElGamalAes { key: ReplyKey([1; 32]), tags: vec![[2; 32]; ntags] }),
                _ => Some(ReplyEncryption::Ecies { key: ReplyKey([3; 32]), tags: vec![[4; 8]; ntags] }),
            };
            let l = DatabaseLookup {
                key, from, reply_tunnel_id: tunnel, lookup_type: LookupType::from_bits(lt << 2),
                excluded_peers: peers, reply_encryption, reserved_flags: reserved << 5,
            };
            let b = l.to_bytes();
            let back = DatabaseLookup::from_bytes(&b).unwrap();
            prop_assert_eq!(&back, &l);
            prop_assert_eq!(back.to_bytes(), b);
        }

        #[test]
        fn store_parse_is_exact(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(ds) = DatabaseStore::from_bytes(&data) {
                prop_assert_eq!(ds.to_bytes(), data);
            }
        }
    }
}
