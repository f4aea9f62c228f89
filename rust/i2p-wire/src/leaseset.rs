//! LeaseSet2, the netDb entry of a Destination stored with DatabaseStore type 3
//! (common-structures.rst, "LeaseSet2", "LeaseSet2Header", "Lease2",
//! "OfflineSignature"; proposal 123).
//!
//! Parsing gives an [`UncheckedLeaseSet2`]: cheap, total, no signature check. Call
//! [`UncheckedLeaseSet2::verify`] to get a [`LeaseSet2`]. A parsed LeaseSet2 keeps its
//! original bytes, so [`LeaseSet2::to_bytes`] returns exactly what was read (the
//! signature covers those exact bytes, and parsed mappings keep their wire order).
//!
//! The signature is over the LeaseSet2 bytes before it, "PREPENDED with the single
//! byte containing the DatabaseStore type (3)" (common-structures.rst, "LeaseSet2",
//! Notes); i2pd 2.45.1 signs and verifies exactly that (`LeaseSet2::VerifySignature`).
//!
//! Times in a LeaseSet2 are 4-byte seconds since the epoch, not [`crate::Date`]
//! milliseconds.

use i2p_crypto::ed25519::{SigningKey, VerifyingKey};

use crate::bytes::{Error, Readable, Reader, Result, Writeable, Writer};
use crate::common::Hash;
use crate::identity::{CryptoKeyType, Destination, SigningKeyType};
use crate::mapping::Mapping;

/// The DatabaseStore type of a LeaseSet2, prepended to the signed data.
pub const STORE_TYPE: u8 = 3;

/// Most leases in a LeaseSet2: "value: 0 <= num <= 16".
pub const MAX_LEASES: usize = 16;

/// Bytes of one [`Lease2`] on the wire: "Total size: 40 bytes".
pub const LEASE2_LEN: usize = 40;

/// A Lease2 (common-structures.rst, "Lease2"): one inbound tunnel of the
/// destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lease2 {
    /// "Hash of the `RouterIdentity` of the tunnel gateway".
    pub tunnel_gw: Hash,
    /// The TunnelId at the gateway.
    pub tunnel_id: u32,
    /// "Seconds since the epoch, rolls over in 2106."
    pub end_date: u32,
}

impl Readable for Lease2 {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("Lease2", |r| {
            Ok(Lease2 {
                tunnel_gw: r.extract()?,
                tunnel_id: r.take_u32()?,
                end_date: r.take_u32()?,
            })
        })
    }
}

impl Writeable for Lease2 {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_item(&self.tunnel_gw);
        out.write_u32(self.tunnel_id);
        out.write_u32(self.end_date);
    }
}

/// One encryption key section of a LeaseSet2: `keytype`, `keylen`, `encryption_key`.
/// X25519 (type 4) is what ECIES clients use; other types are kept opaque.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncryptionKey {
    key_type: CryptoKeyType,
    key: Vec<u8>,
}

impl EncryptionKey {
    /// A key of `key_type`. Errors if the key is over 65535 bytes or, for a known
    /// type, its length is not the type's: "keylen ... Must match the specified
    /// length of the encryption type."
    pub fn new(key_type: CryptoKeyType, key: Vec<u8>) -> Result<Self> {
        Self::check(key_type, key.len())?;
        Ok(EncryptionKey { key_type, key })
    }

    /// An X25519 (type 4) key.
    pub fn x25519(key: [u8; 32]) -> Self {
        EncryptionKey {
            key_type: CryptoKeyType::X25519,
            key: key.to_vec(),
        }
    }

    fn check(key_type: CryptoKeyType, len: usize) -> Result<()> {
        if len > usize::from(u16::MAX) {
            return Err(Error::invalid(
                "LeaseSet2",
                "encryption key over 65535 bytes",
            ));
        }
        match key_type.public_key_len() {
            Some(l) if l != len => Err(Error::invalid(
                "LeaseSet2",
                "encryption key length does not match its type",
            )),
            _ => Ok(()),
        }
    }

    /// The encryption type.
    pub fn key_type(&self) -> CryptoKeyType {
        self.key_type
    }

    /// The public key bytes.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The key as an X25519 public key, if its type is X25519.
    pub fn as_x25519(&self) -> Option<[u8; 32]> {
        if self.key_type != CryptoKeyType::X25519 {
            return None;
        }
        <[u8; 32]>::try_from(self.key.as_slice()).ok()
    }
}

impl Readable for EncryptionKey {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        let key_type = CryptoKeyType(r.take_u16()?);
        let len = usize::from(r.take_u16()?);
        let key = r.take(len)?;
        Self::check(key_type, len)?;
        Ok(EncryptionKey {
            key_type,
            key: key.to_vec(),
        })
    }
}

impl Writeable for EncryptionKey {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_u16(self.key_type.0);
        // Checked <= 65535 when built or parsed.
        out.write_u16(u16::try_from(self.key.len()).unwrap_or(u16::MAX));
        out.write_bytes(&self.key);
    }
}

/// An OfflineSignature (common-structures.rst, "OfflineSignature"): a transient
/// signing key, authorized until `expires` by the destination's key, which then
/// signs the LeaseSet2 in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSignature {
    /// Expiration of the transient key, seconds since the epoch.
    pub expires: u32,
    /// Signing type of the transient key.
    pub sig_type: SigningKeyType,
    /// The transient signing public key (length from `sig_type`).
    pub transient_public_key: Vec<u8>,
    /// The destination's signature of `expires`, `sig_type` and the transient key
    /// (length from the destination's signing type).
    pub signature: Vec<u8>,
}

impl OfflineSignature {
    /// Authorizes the Ed25519 key `transient` until `expires` (seconds), signed with
    /// `destination_key`, the destination's Ed25519 signing key.
    pub fn new_ed25519(
        expires: u32,
        transient: &VerifyingKey,
        destination_key: &SigningKey,
    ) -> Self {
        let mut o = OfflineSignature {
            expires,
            sig_type: SigningKeyType::EDDSA_SHA512_ED25519,
            transient_public_key: transient.to_bytes().to_vec(),
            signature: Vec::new(),
        };
        o.signature = destination_key.sign(&o.signed_bytes()).to_vec();
        o
    }

    /// What the destination signs: "Signature of expires timestamp, transient sig
    /// type, and public key".
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + self.transient_public_key.len());
        out.write_u32(self.expires);
        out.write_u16(self.sig_type.0);
        out.write_bytes(&self.transient_public_key);
        out
    }

    /// True once the transient key has expired (`now_ms` in milliseconds).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms / 1000 >= u64::from(self.expires)
    }

    /// Reads one, the destination's signing type giving the signature length.
    pub(crate) fn take_from(r: &mut Reader<'_>, destination_sig: SigningKeyType) -> Result<Self> {
        r.scope("OfflineSignature", |r| {
            let expires = r.take_u32()?;
            let sig_type = SigningKeyType(r.take_u16()?);
            let key_len = sig_type
                .public_key_len()
                .ok_or(Error::UnsupportedSignatureType(sig_type.0))?;
            let transient_public_key = r.take(key_len)?.to_vec();
            let sig_len = destination_sig
                .signature_len()
                .ok_or(Error::UnsupportedSignatureType(destination_sig.0))?;
            let signature = r.take(sig_len)?.to_vec();
            Ok(OfflineSignature {
                expires,
                sig_type,
                transient_public_key,
                signature,
            })
        })
    }
}

impl Writeable for OfflineSignature {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_bytes(&self.signed_bytes());
        out.write_bytes(&self.signature);
    }
}

/// The `flags` of a LeaseSet2Header. Bits 15-3 are kept as received (they are
/// signed); we set them to 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LeaseSet2Flags(pub u16);

impl LeaseSet2Flags {
    /// "Bit 0: If 0, no offline keys; if 1, offline keys".
    pub const OFFLINE_KEYS: u16 = 0x0001;
    /// "Bit 1: ... If 1, an unpublished leaseset. Should not be flooded, published,
    /// or sent in response to a query."
    pub const UNPUBLISHED: u16 = 0x0002;
    /// "Bit 2: ... If 1, this unencrypted leaseset will be blinded and encrypted when
    /// published."
    pub const BLINDED: u16 = 0x0004;

    /// True if an OfflineSignature follows the header.
    pub fn has_offline_keys(self) -> bool {
        self.0 & Self::OFFLINE_KEYS != 0
    }

    /// True for an unpublished leaseset (bit 1).
    pub fn is_unpublished(self) -> bool {
        self.0 & Self::UNPUBLISHED != 0
    }

    /// True for a leaseset to be blinded and encrypted when published (bit 2).
    pub fn is_blinded(self) -> bool {
        self.0 & Self::BLINDED != 0
    }
}

/// A LeaseSet2 whose signature has been checked (or that we signed ourselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSet2 {
    destination: Destination,
    published: u32,
    expires_offset: u16,
    flags: LeaseSet2Flags,
    offline: Option<OfflineSignature>,
    properties: Mapping,
    encryption_keys: Vec<EncryptionKey>,
    leases: Vec<Lease2>,
    signature: Vec<u8>,
    /// The complete serialization (without the store type byte).
    raw: Vec<u8>,
}

/// A parsed LeaseSet2 whose signatures have not been checked (style A4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "call verify() to check the signature"]
pub struct UncheckedLeaseSet2(LeaseSet2);

impl UncheckedLeaseSet2 {
    /// Parses a LeaseSet2 (the data of a DatabaseStore of type 3, without the type
    /// byte); `bytes` must hold exactly one. Cheap and total; no signature is
    /// checked. The destination's signing type (and the transient one, when offline)
    /// must be of known length.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "LeaseSet2");
        let ls = Self::take_from(&mut r)?;
        r.should_be_exhausted()?;
        Ok(ls)
    }

    /// The destination hash (the netDb key), before verification.
    pub fn hash(&self) -> Hash {
        self.0.hash()
    }

    /// The claimed, unverified contents.
    pub fn peek(&self) -> &LeaseSet2 {
        &self.0
    }

    /// Checks the signatures: with offline keys, the destination's signature of the
    /// transient key, then the transient key's signature of the leaseset; otherwise
    /// the destination's signature of the leaseset. Only EdDSA_SHA512_Ed25519 (type
    /// 7) is supported; other types give [`Error::UnsupportedSignatureType`]. The
    /// transient key's expiration is not checked here: see
    /// [`LeaseSet2::is_expired`].
    pub fn verify(self) -> Result<LeaseSet2> {
        let ls = self.0;
        let msg = ls.signed_message();
        match &ls.offline {
            None => ls.destination.verify(&msg, &ls.signature, "LeaseSet2")?,
            Some(o) => {
                ls.destination
                    .verify(&o.signed_bytes(), &o.signature, "OfflineSignature")?;
                if o.sig_type != SigningKeyType::EDDSA_SHA512_ED25519 {
                    return Err(Error::UnsupportedSignatureType(o.sig_type.0));
                }
                VerifyingKey::from_bytes(&o.transient_public_key)
                    .map_err(|_| Error::invalid("OfflineSignature", "invalid Ed25519 key"))?
                    .verify(&msg, &ls.signature)
                    .map_err(|_| Error::BadSignature {
                        object: "LeaseSet2",
                    })?;
            }
        }
        Ok(ls)
    }

    /// Skips the signature check. For tests, fuzzing and data we wrote ourselves.
    pub fn dangerously_assume_valid(self) -> LeaseSet2 {
        self.0
    }
}

impl Readable for UncheckedLeaseSet2 {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("LeaseSet2", |r| {
            let start = r.peek_rest();
            let consumed_before = r.consumed();
            // LeaseSet2Header.
            let destination: Destination = r.extract()?;
            let published = r.take_u32()?;
            let expires_offset = r.take_u16()?;
            let flags = LeaseSet2Flags(r.take_u16()?);
            let dest_sig = destination.signing_type();
            let offline = if flags.has_offline_keys() {
                Some(OfflineSignature::take_from(r, dest_sig)?)
            } else {
                None
            };
            // Type-specific part.
            let properties = r.extract()?;
            let numk = r.take_u8()?;
            if numk == 0 {
                return Err(r.invalid("no encryption key (1 <= numk)"));
            }
            // Each key takes at least 4 bytes: the capacity is bounded by the input.
            let mut encryption_keys = Vec::with_capacity(usize::from(numk).min(r.remaining() / 4));
            for _ in 0..numk {
                encryption_keys.push(r.extract()?);
            }
            let num = usize::from(r.take_u8()?);
            if num > MAX_LEASES {
                return Err(r.invalid("more than 16 leases"));
            }
            let mut leases = Vec::with_capacity(num);
            for _ in 0..num {
                leases.push(r.extract()?);
            }
            let sig_type = offline.as_ref().map_or(dest_sig, |o| o.sig_type);
            let sig_len = sig_type
                .signature_len()
                .ok_or(Error::UnsupportedSignatureType(sig_type.0))?;
            let signature = r.take(sig_len)?.to_vec();
            let len = r.consumed() - consumed_before;
            let raw = start.get(..len).unwrap_or_default().to_vec();
            Ok(UncheckedLeaseSet2(LeaseSet2 {
                destination,
                published,
                expires_offset,
                flags,
                offline,
                properties,
                encryption_keys,
                leases,
                signature,
                raw,
            }))
        })
    }
}

/// The fields of a LeaseSet2 to build and sign; see [`LeaseSet2::new_signed`].
struct Content<'a> {
    destination: Destination,
    published: u32,
    expires: u32,
    flags: u16,
    offline: Option<OfflineSignature>,
    encryption_keys: Vec<EncryptionKey>,
    leases: Vec<Lease2>,
    properties: Mapping,
    key: &'a SigningKey,
}

impl LeaseSet2 {
    /// Builds and signs a published LeaseSet2 (flags 0) with `key`, the
    /// destination's Ed25519 signing key. `published` and `expires` are seconds since
    /// the epoch; `expires - published` must fit the 2-byte offset (spec: "about 660
    /// (11 minutes)" in practice). At least one encryption key, at most 16 leases
    /// and 255 keys. Mappings built by [`Mapping::new`] are sorted, as "LS2 options
    /// MUST be sorted by key".
    pub fn new_signed(
        destination: Destination,
        published: u32,
        expires: u32,
        encryption_keys: Vec<EncryptionKey>,
        leases: Vec<Lease2>,
        properties: Mapping,
        key: &SigningKey,
    ) -> Result<Self> {
        let dest_key = destination.ed25519_verifying_key()?;
        if dest_key.to_bytes() != key.verifying_key().to_bytes() {
            return Err(Error::invalid(
                "LeaseSet2",
                "signing key does not match destination",
            ));
        }
        Self::build(Content {
            destination,
            published,
            expires,
            flags: 0,
            offline: None,
            encryption_keys,
            leases,
            properties,
            key,
        })
    }

    /// Like [`new_signed`](Self::new_signed) but signed by a transient Ed25519 key
    /// `transient_key` authorized by `offline` (flag bit 0 set). `offline` must be
    /// for that key; its own signature is not checked here.
    #[allow(clippy::too_many_arguments)]
    pub fn new_signed_offline(
        destination: Destination,
        published: u32,
        expires: u32,
        encryption_keys: Vec<EncryptionKey>,
        leases: Vec<Lease2>,
        properties: Mapping,
        offline: OfflineSignature,
        transient_key: &SigningKey,
    ) -> Result<Self> {
        if offline.sig_type != SigningKeyType::EDDSA_SHA512_ED25519
            || offline.transient_public_key != transient_key.verifying_key().to_bytes()
        {
            return Err(Error::invalid(
                "LeaseSet2",
                "transient key does not match the offline signature",
            ));
        }
        let dest_sig = destination.signing_type();
        if dest_sig.signature_len() != Some(offline.signature.len()) {
            return Err(Error::invalid(
                "OfflineSignature",
                "signature length does not match the destination",
            ));
        }
        Self::build(Content {
            destination,
            published,
            expires,
            flags: LeaseSet2Flags::OFFLINE_KEYS,
            offline: Some(offline),
            encryption_keys,
            leases,
            properties,
            key: transient_key,
        })
    }

    fn build(c: Content<'_>) -> Result<Self> {
        let invalid = |reason| Error::invalid("LeaseSet2", reason);
        let expires_offset = c
            .expires
            .checked_sub(c.published)
            .and_then(|d| u16::try_from(d).ok())
            .ok_or(invalid("expires not within 65535 s after published"))?;
        if c.encryption_keys.is_empty() {
            return Err(invalid("no encryption key"));
        }
        let numk = u8::try_from(c.encryption_keys.len())
            .map_err(|_| invalid("more than 255 encryption keys"))?;
        if c.leases.len() > MAX_LEASES {
            return Err(invalid("more than 16 leases"));
        }
        let mut raw = Vec::new();
        raw.write_item(&c.destination);
        raw.write_u32(c.published);
        raw.write_u16(expires_offset);
        raw.write_u16(c.flags);
        if let Some(o) = &c.offline {
            raw.write_item(o);
        }
        raw.write_item(&c.properties);
        raw.write_u8(numk);
        for k in &c.encryption_keys {
            raw.write_item(k);
        }
        // At most 16, checked above.
        raw.write_u8(u8::try_from(c.leases.len()).unwrap_or(0));
        for l in &c.leases {
            raw.write_item(l);
        }
        let mut msg = Vec::with_capacity(1 + raw.len());
        msg.push(STORE_TYPE);
        msg.extend_from_slice(&raw);
        let signature = c.key.sign(&msg).to_vec();
        raw.write_bytes(&signature);
        Ok(LeaseSet2 {
            destination: c.destination,
            published: c.published,
            expires_offset,
            flags: LeaseSet2Flags(c.flags),
            offline: c.offline,
            properties: c.properties,
            encryption_keys: c.encryption_keys,
            leases: c.leases,
            signature,
            raw,
        })
    }

    /// The destination hash: the netDb key of this leaseset.
    pub fn hash(&self) -> Hash {
        self.destination.hash()
    }

    /// The destination.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// When it was published, seconds since the epoch.
    pub fn published(&self) -> u32 {
        self.published
    }

    /// When it expires, seconds since the epoch (`published` + the 2-byte offset).
    pub fn expires(&self) -> u64 {
        u64::from(self.published) + u64::from(self.expires_offset)
    }

    /// The `expires` offset from `published`, in seconds, as on the wire.
    pub fn expires_offset(&self) -> u16 {
        self.expires_offset
    }

    /// True once `now_ms` (milliseconds since the epoch) has reached the expiration,
    /// or the offline transient key (if any) has expired.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms / 1000 >= self.expires()
            || self.offline.as_ref().is_some_and(|o| o.is_expired(now_ms))
    }

    /// The header flags.
    pub fn flags(&self) -> LeaseSet2Flags {
        self.flags
    }

    /// The offline signature block, if flag bit 0 is set.
    pub fn offline_signature(&self) -> Option<&OfflineSignature> {
        self.offline.as_ref()
    }

    /// The options (service records etc.), in wire order.
    pub fn properties(&self) -> &Mapping {
        &self.properties
    }

    /// The encryption keys, in the publisher's order of preference.
    pub fn encryption_keys(&self) -> &[EncryptionKey] {
        &self.encryption_keys
    }

    /// The first X25519 (type 4) encryption key, for ECIES-X25519 garlic messages.
    pub fn x25519_key(&self) -> Option<[u8; 32]> {
        self.encryption_keys
            .iter()
            .find_map(EncryptionKey::as_x25519)
    }

    /// The leases, in wire order.
    pub fn leases(&self) -> &[Lease2] {
        &self.leases
    }

    /// The signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The LeaseSet2 bytes covered by the signature (everything before it, without
    /// the store type byte).
    pub fn signed_bytes(&self) -> &[u8] {
        let end = self.raw.len().saturating_sub(self.signature.len());
        self.raw.get(..end).unwrap_or_default()
    }

    /// The exact message that is signed: the store type byte 3, then
    /// [`signed_bytes`](Self::signed_bytes).
    pub fn signed_message(&self) -> Vec<u8> {
        let body = self.signed_bytes();
        let mut msg = Vec::with_capacity(1 + body.len());
        msg.push(STORE_TYPE);
        msg.extend_from_slice(body);
        msg
    }

    /// The exact serialization (the original bytes, for a parsed LeaseSet2), without
    /// the DatabaseStore type byte.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.raw.clone()
    }

    /// The exact serialization, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
}

impl Writeable for LeaseSet2 {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_bytes(&self.raw);
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    const T0: u32 = 1_764_000_000;

    fn lease(i: u8) -> Lease2 {
        Lease2 {
            tunnel_gw: Hash([i; 32]),
            tunnel_id: 0x0101_0000 + u32::from(i),
            end_date: T0 + 600 + u32::from(i),
        }
    }

    fn build(n: u8, props: Mapping, keys: Vec<EncryptionKey>) -> (LeaseSet2, SigningKey) {
        let sk = SigningKey::random();
        let dest = Destination::new_ed25519(&sk.verifying_key());
        let leases = (0..n).map(lease).collect();
        let ls = LeaseSet2::new_signed(dest, T0, T0 + 600, keys, leases, props, &sk).unwrap();
        (ls, sk)
    }

    fn x_key() -> EncryptionKey {
        EncryptionKey::x25519([0x44; 32])
    }

    fn round_trip(ls: &LeaseSet2) -> LeaseSet2 {
        let b = ls.to_bytes();
        let back = UncheckedLeaseSet2::parse(&b).unwrap().verify().unwrap();
        assert_eq!(&back, ls);
        assert_eq!(back.to_bytes(), b);
        back
    }

    #[test]
    fn round_trips_with_0_1_16_leases() {
        for n in [0u8, 1, 16] {
            let (ls, _) = build(n, Mapping::empty(), vec![x_key()]);
            let back = round_trip(&ls);
            assert_eq!(back.leases().len(), usize::from(n));
            assert_eq!(back.leases(), (0..n).map(lease).collect::<Vec<_>>());
            // destination 391 + header 8 + props 2 + keys 1+4+32 + num 1 + leases + sig 64.
            assert_eq!(
                back.as_bytes().len(),
                391 + 8 + 2 + 37 + 1 + 40 * usize::from(n) + 64
            );
            assert_eq!(back.published(), T0);
            assert_eq!(back.expires(), u64::from(T0) + 600);
            assert_eq!(back.x25519_key(), Some([0x44; 32]));
            assert_eq!(back.hash(), back.destination().hash());
            assert!(!back.flags().has_offline_keys());
        }
    }

    #[test]
    fn seventeen_leases_are_refused() {
        let sk = SigningKey::random();
        let dest = Destination::new_ed25519(&sk.verifying_key());
        let leases = (0..17).map(lease).collect();
        assert!(LeaseSet2::new_signed(
            dest,
            T0,
            T0 + 1,
            vec![x_key()],
            leases,
            Mapping::empty(),
            &sk
        )
        .is_err());
        // And on the wire: patch the count of a 16-lease set to 17 (parse needs no
        // more bytes to refuse it).
        let (ls, _) = build(16, Mapping::empty(), vec![x_key()]);
        let mut b = ls.to_bytes();
        let num_at = 391 + 8 + 2 + 37;
        assert_eq!(b[num_at], 16);
        b[num_at] = 17;
        assert!(matches!(
            UncheckedLeaseSet2::parse(&b),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn properties_and_two_keys_round_trip() {
        let props = Mapping::new([
            ("_smtp._tcp", "1 86400 0 0 25 example.b32.i2p"),
            ("_http._tcp", "0 86400 80"),
        ])
        .unwrap();
        let elg = EncryptionKey::new(CryptoKeyType::ELGAMAL, vec![7; 256]).unwrap();
        let (ls, _) = build(2, props.clone(), vec![x_key(), elg.clone()]);
        let back = round_trip(&ls);
        assert_eq!(back.properties(), &props);
        assert_eq!(back.properties().get("_http._tcp"), Some("0 86400 80"));
        assert_eq!(back.encryption_keys(), &[x_key(), elg]);
        assert_eq!(back.x25519_key(), Some([0x44; 32]));
        // X25519 second, ElGamal first: the accessor still finds it.
        let elg = EncryptionKey::new(CryptoKeyType::ELGAMAL, vec![7; 256]).unwrap();
        let (ls, _) = build(1, Mapping::empty(), vec![elg, x_key()]);
        assert_eq!(round_trip(&ls).x25519_key(), Some([0x44; 32]));
        // Unknown types are opaque; known types must have their length.
        let odd = EncryptionKey::new(CryptoKeyType(99), vec![1, 2, 3]).unwrap();
        let (ls, _) = build(1, Mapping::empty(), vec![odd.clone()]);
        assert_eq!(round_trip(&ls).encryption_keys(), &[odd]);
        assert_eq!(round_trip(&ls).x25519_key(), None);
        assert!(EncryptionKey::new(CryptoKeyType::X25519, vec![0; 31]).is_err());
    }

    #[test]
    fn byte_layout_matches_the_field_table() {
        let props = Mapping::new([("a", "b")]).unwrap();
        let (ls, sk) = build(1, props, vec![x_key()]);
        let b = ls.to_bytes();
        let d = ls.destination().to_bytes();
        assert_eq!(&b[..391], &d[..]);
        let mut o = 391;
        // published (4, seconds), expires (2, offset), flags (2).
        assert_eq!(&b[o..o + 4], &T0.to_be_bytes());
        assert_eq!(&b[o + 4..o + 6], &600u16.to_be_bytes());
        assert_eq!(&b[o + 6..o + 8], &[0, 0]);
        o += 8;
        // options: size 4, "a=b;" with 1-byte string lengths.
        assert_eq!(&b[o..o + 8], &[0, 6, 1, b'a', b'=', 1, b'b', b';']);
        o += 8;
        // numk 1, keytype 4, keylen 32, key.
        assert_eq!(&b[o..o + 5], &[1, 0, 4, 0, 32]);
        assert_eq!(&b[o + 5..o + 37], &[0x44; 32]);
        o += 37;
        // num 1, Lease2: gateway, tunnel id, end date (seconds).
        assert_eq!(b[o], 1);
        let l = lease(0);
        assert_eq!(&b[o + 1..o + 33], l.tunnel_gw.as_bytes());
        assert_eq!(&b[o + 33..o + 37], &l.tunnel_id.to_be_bytes());
        assert_eq!(&b[o + 37..o + 41], &(T0 + 600).to_be_bytes());
        o += 41;
        // Signature: Ed25519 over type byte 3 then everything before it.
        assert_eq!(b.len(), o + 64);
        let mut msg = vec![3u8];
        msg.extend_from_slice(&b[..o]);
        assert_eq!(&b[o..], &sk.sign(&msg));
        assert_eq!(ls.signed_message(), msg);
        sk.verifying_key().verify(&msg, &b[o..]).unwrap();
        // Without the type byte, the signature does not verify.
        assert!(sk.verifying_key().verify(&b[..o], &b[o..]).is_err());
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let props = Mapping::new([("k", "v")]).unwrap();
        let (ls, _) = build(2, props, vec![x_key()]);
        let b = ls.to_bytes();
        // The destination's padding, published, expires, an option value, a key, a
        // lease end date, the signature.
        for pos in [100, 392, 396, 405, 420, b.len() - 70, b.len() - 1] {
            let mut t = b.clone();
            t[pos] ^= 1;
            let parsed = UncheckedLeaseSet2::parse(&t).unwrap();
            assert!(
                matches!(parsed.verify(), Err(Error::BadSignature { .. })),
                "byte {pos}"
            );
        }
    }

    #[test]
    fn wrong_key_or_bad_input_is_refused_when_building() {
        let sk = SigningKey::random();
        let dest = Destination::new_ed25519(&sk.verifying_key());
        let other = SigningKey::random();
        let keys = || vec![x_key()];
        let m = Mapping::empty;
        assert!(LeaseSet2::new_signed(dest.clone(), T0, T0, keys(), vec![], m(), &other).is_err());
        // expires before published, or beyond the 2-byte offset.
        assert!(LeaseSet2::new_signed(dest.clone(), T0, T0 - 1, keys(), vec![], m(), &sk).is_err());
        assert!(
            LeaseSet2::new_signed(dest.clone(), T0, T0 + 65536, keys(), vec![], m(), &sk).is_err()
        );
        // No encryption key.
        assert!(LeaseSet2::new_signed(dest.clone(), T0, T0, vec![], vec![], m(), &sk).is_err());
        let ls = LeaseSet2::new_signed(dest, T0, T0 + 65535, keys(), vec![], m(), &sk).unwrap();
        assert_eq!(ls.expires_offset(), 65535);
    }

    #[test]
    fn zero_keys_on_the_wire_are_refused() {
        let (ls, _) = build(0, Mapping::empty(), vec![x_key()]);
        let b = ls.to_bytes();
        // Drop the key section: numk 0, then num 0 and the signature.
        let mut t = b[..401].to_vec();
        t.push(0);
        t.extend_from_slice(&b[401 + 37..]);
        assert!(matches!(
            UncheckedLeaseSet2::parse(&t),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn expiry() {
        let (ls, _) = build(1, Mapping::empty(), vec![x_key()]);
        let exp_ms = (u64::from(T0) + 600) * 1000;
        assert!(!ls.is_expired(u64::from(T0) * 1000));
        assert!(!ls.is_expired(exp_ms - 1));
        assert!(ls.is_expired(exp_ms));
    }

    fn offline_set() -> (LeaseSet2, SigningKey, SigningKey) {
        let sk = SigningKey::random();
        let transient = SigningKey::random();
        let dest = Destination::new_ed25519(&sk.verifying_key());
        let off = OfflineSignature::new_ed25519(T0 + 300, &transient.verifying_key(), &sk);
        let ls = LeaseSet2::new_signed_offline(
            dest,
            T0,
            T0 + 600,
            vec![x_key()],
            vec![lease(1)],
            Mapping::empty(),
            off,
            &transient,
        )
        .unwrap();
        (ls, sk, transient)
    }

    #[test]
    fn offline_signature_round_trip_and_layout() {
        let (ls, sk, transient) = offline_set();
        let back = round_trip(&ls);
        assert!(back.flags().has_offline_keys());
        let b = back.to_bytes();
        assert_eq!(&b[397..399], &[0, 1]);
        // expires (4), sigtype 7 (2), transient key (32), destination signature (64).
        assert_eq!(&b[399..403], &(T0 + 300).to_be_bytes());
        assert_eq!(&b[403..405], &[0, 7]);
        assert_eq!(&b[405..437], &transient.verifying_key().to_bytes());
        let mut signed = b[399..437].to_vec();
        assert_eq!(&b[437..501], &sk.sign(&signed));
        // The leaseset signature is the transient key's.
        transient
            .verifying_key()
            .verify(&back.signed_message(), back.signature())
            .unwrap();
        // Transient key expiry makes the set expired before its own expiry.
        assert!(!back.is_expired(u64::from(T0) * 1000));
        assert!(back.is_expired(u64::from(T0 + 300) * 1000));
        // Tampering with the offline block breaks the destination's signature.
        signed = b.clone();
        signed[400] ^= 1;
        let err = UncheckedLeaseSet2::parse(&signed).unwrap().verify();
        assert_eq!(
            err,
            Err(Error::BadSignature {
                object: "OfflineSignature"
            })
        );
        // A set signed by the destination key instead of the transient one fails.
        let mut forged = b.clone();
        let end = forged.len() - 64;
        let sig = sk.sign(&back.signed_message());
        forged[end..].copy_from_slice(&sig);
        let err = UncheckedLeaseSet2::parse(&forged).unwrap().verify();
        assert_eq!(
            err,
            Err(Error::BadSignature {
                object: "LeaseSet2"
            })
        );
    }

    #[test]
    fn truncation_at_every_length_and_trailing_bytes() {
        let props = Mapping::new([("x", "y")]).unwrap();
        let (ls, _) = build(3, props, vec![x_key()]);
        let (off, _, _) = offline_set();
        for b in [ls.to_bytes(), off.to_bytes()] {
            for n in 0..b.len() {
                assert!(UncheckedLeaseSet2::parse(&b[..n]).is_err(), "{n}");
            }
            let mut long = b.clone();
            long.push(0);
            assert!(matches!(
                UncheckedLeaseSet2::parse(&long),
                Err(Error::ExtraBytes { extra: 1, .. })
            ));
        }
    }

    #[test]
    fn dsa_destination_parses_but_does_not_verify() {
        // NULL certificate: DSA_SHA1, 40-byte signature.
        let mut b = vec![0x11u8; 384];
        b.extend_from_slice(&[0, 0, 0]);
        b.extend_from_slice(&T0.to_be_bytes());
        b.extend_from_slice(&[0, 10, 0, 0, 0, 0, 1, 0, 4, 0, 32]);
        b.extend_from_slice(&[5; 32]);
        b.push(0);
        b.extend_from_slice(&[9; 40]);
        let u = UncheckedLeaseSet2::parse(&b).unwrap();
        assert_eq!(u.peek().signature().len(), 40);
        assert_eq!(u.clone().dangerously_assume_valid().to_bytes(), b);
        assert_eq!(u.verify(), Err(Error::UnsupportedSignatureType(0)));
    }

    #[test]
    fn database_store_type_3_carries_it() {
        use crate::i2np::{DatabaseStore, DatabaseStoreKind};
        let (ls, _) = build(2, Mapping::empty(), vec![x_key()]);
        let ds = DatabaseStore::lease_set2(&ls, None);
        let b = ds.to_bytes();
        // key = destination hash, type 3, token 0, then the LeaseSet2 uncompressed.
        assert_eq!(&b[..32], ls.hash().as_bytes());
        assert_eq!(&b[32..37], &[3, 0, 0, 0, 0]);
        assert_eq!(&b[37..], ls.as_bytes());
        let back = DatabaseStore::from_bytes(&b).unwrap();
        let got = back.parse_lease_set2().unwrap().verify().unwrap();
        assert_eq!(got, ls);
        // Wrong key, or another store type: refused.
        let mut wrong = back.clone();
        wrong.key = Hash([1; 32]);
        assert!(wrong.parse_lease_set2().is_err());
        let mut other = back;
        other.kind = DatabaseStoreKind::LeaseSet {
            store_type: 1,
            data: ls.to_bytes(),
        };
        assert!(other.parse_lease_set2().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1200)) {
            if let Ok(u) = UncheckedLeaseSet2::parse(&data) {
                let _ = u.clone().verify();
                prop_assert_eq!(u.dangerously_assume_valid().to_bytes(), data);
            }
        }

        #[test]
        fn mutated_sets_never_panic(pos in 0usize..700, val: u8, cut in 0usize..700) {
            let (ls, _) = build(2, Mapping::new([("a", "b")]).unwrap(), vec![x_key()]);
            let mut b = ls.to_bytes();
            let p = pos % b.len();
            b[p] = val;
            b.truncate(b.len() - cut % 64);
            if let Ok(u) = UncheckedLeaseSet2::parse(&b) {
                let _ = u.clone().verify();
                prop_assert_eq!(u.dangerously_assume_valid().to_bytes(), b);
            }
        }

        #[test]
        fn built_sets_round_trip(
            n in 0u8..=16,
            published in 0u32..u32::MAX - 70_000,
            offset: u16,
            opts in proptest::collection::btree_map("[a-z._]{1,12}", "[ -~]{0,30}", 0..5),
        ) {
            let sk = SigningKey::random();
            let dest = Destination::new_ed25519(&sk.verifying_key());
            let leases: Vec<_> = (0..n).map(lease).collect();
            let ls = LeaseSet2::new_signed(
                dest, published, published + u32::from(offset), vec![x_key()], leases,
                Mapping::new(opts).unwrap(), &sk,
            ).unwrap();
            let b = ls.to_bytes();
            let back = UncheckedLeaseSet2::parse(&b).unwrap().verify().unwrap();
            prop_assert_eq!(back.expires(), u64::from(published) + u64::from(offset));
            prop_assert_eq!(&back, &ls);
        }
    }
}
