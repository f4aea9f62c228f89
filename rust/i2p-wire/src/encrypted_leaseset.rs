//! Encrypted LeaseSets (DatabaseStore type 5) and the `b33` addresses that name them.
//!
//! - [`BlindedAddress`]: the long `.b32.i2p` name of b32encrypted.rst, carrying the
//!   destination's signing public key and its type instead of its hash; from it a
//!   client derives the day's blinded key and the netDb key it is stored under.
//! - [`EncryptedLeaseSet`]: the outer layer of encryptedleaseset.rst ("Layer 0"),
//!   signed with the blinded Red25519 key, and its two encrypted layers: built for a
//!   destination that asks ([`EncryptedLeaseSet::encrypt`]) and opened by whoever
//!   knows the address ([`EncryptedLeaseSet::decrypt`]).
//!
//! Only what needs no client authorization is supported: per-client (DH or PSK)
//! authorization and secrets are refused with a clear error, as the spec allows
//! ("Particular implementations may ... reject connection attempts if the required
//! data is missing").

use i2p_crypto::red25519::{
    self, BlindedSigningKey, SIGNATURE_LEN, SIG_TYPE_ED25519, SIG_TYPE_RED25519,
};

use crate::bytes::{Error, Reader, Result, Writer};
use crate::identity::SigningKeyType;
use crate::leaseset::{LeaseSet2, UncheckedLeaseSet2};
use crate::{Destination, Hash};

/// The DatabaseStore type of an encrypted LeaseSet.
pub const STORE_TYPE: u8 = 5;
/// The DatabaseStore type of a LeaseSet2, the only inner type we take.
const INNER_STORE_TYPE_LS2: u8 = 3;
/// b33 flag bit 0: two-byte signature types.
const FLAG_TWO_BYTE_SIG_TYPES: u8 = 0x01;
/// b33 flag bit 1: a secret is required.
const FLAG_SECRET: u8 = 0x02;
/// b33 flag bit 2: per-client authorization is required.
const FLAG_CLIENT_AUTH: u8 = 0x04;
/// Layer 1 flag bit 0: per-client authorization data follows.
const LAYER1_FLAG_CLIENT_AUTH: u8 = 0x01;
/// Salts in front of both ciphertexts.
const SALT_LEN: usize = 32;
/// Outer flag bit 0: offline keys.
const FLAG_OFFLINE_KEYS: u16 = 0x0001;
/// The encrypted LeaseSet of a day expires at the next midnight UTC at the latest,
/// since its blinded key changes then (i2pd does the same).
const SECONDS_PER_DAY: u64 = 86_400;

/// A `b33` address (b32encrypted.rst): the destination's signing public key, its
/// signature type and the blinded key's type, with a CRC-32 folded into the flags.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BlindedAddress {
    flags: u8,
    sig_type: u16,
    blinded_sig_type: u16,
    public_key: [u8; 32],
}

impl BlindedAddress {
    /// The address of `destination`, whose signing key must be Ed25519 or
    /// Red25519 (the only keys that can be blinded).
    pub fn from_destination(destination: &Destination) -> Result<Self> {
        let sig_type = destination.signing_type().0;
        if sig_type != SIG_TYPE_ED25519 && sig_type != SIG_TYPE_RED25519 {
            return Err(Error::UnsupportedSignatureType(sig_type));
        }
        let key = destination
            .signing_public_key()
            .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
            .ok_or(Error::invalid("BlindedAddress", "no 32-byte signing key"))?;
        Ok(Self {
            flags: 0,
            sig_type,
            blinded_sig_type: SIG_TYPE_RED25519,
            public_key: key,
        })
    }

    /// Parses a host name `{56+ chars}.b32.i2p` (or its label alone), checking the
    /// checksum and that the key types are ones we can blind.
    pub fn parse(host: &str) -> Result<Self> {
        let lower = host.to_ascii_lowercase();
        let label = lower.strip_suffix(".b32.i2p").unwrap_or(&lower);
        if label.len() < 56 || label.len() > 128 {
            return Err(Error::invalid(
                "BlindedAddress",
                "not 56 or more b32 characters",
            ));
        }
        let mut data = crate::base32::decode(label)?;
        if data.len() < 3 {
            return Err(Error::invalid("BlindedAddress", "too short"));
        }
        let checksum = crc32fast::hash(data.get(3..).unwrap_or_default()).to_le_bytes();
        for (b, c) in data.iter_mut().zip(checksum).take(3) {
            *b ^= c;
        }
        let mut r = Reader::with_object(&data, "BlindedAddress");
        let flags = r.take_u8()?;
        let (sig_type, blinded_sig_type) = if flags & FLAG_TWO_BYTE_SIG_TYPES != 0 {
            (r.take_u16()?, r.take_u16()?)
        } else {
            (u16::from(r.take_u8()?), u16::from(r.take_u8()?))
        };
        if sig_type != SIG_TYPE_ED25519 && sig_type != SIG_TYPE_RED25519 {
            return Err(Error::UnsupportedSignatureType(sig_type));
        }
        if blinded_sig_type != SIG_TYPE_RED25519 {
            return Err(Error::UnsupportedSignatureType(blinded_sig_type));
        }
        let public_key = r.take_array::<32>()?;
        r.should_be_exhausted()?;
        Ok(Self {
            flags,
            sig_type,
            blinded_sig_type,
            public_key,
        })
    }

    /// The same address, saying that per-client authorization is needed to read
    /// the LeaseSet (b33 flag bit 2).
    pub fn requiring_client_auth(mut self) -> Self {
        self.flags |= FLAG_CLIENT_AUTH;
        self
    }

    /// The host name: `{56 chars}.b32.i2p`.
    pub fn to_host(&self) -> String {
        let mut data = Vec::with_capacity(35);
        data.push(self.flags & !FLAG_TWO_BYTE_SIG_TYPES);
        // Both types are 7 or 11: one byte each.
        data.push(u8::try_from(self.sig_type).unwrap_or(0));
        data.push(u8::try_from(self.blinded_sig_type).unwrap_or(0));
        data.extend_from_slice(&self.public_key);
        let checksum = crc32fast::hash(&data[3..]).to_le_bytes();
        for (b, c) in data.iter_mut().zip(checksum).take(3) {
            *b ^= c;
        }
        format!("{}.b32.i2p", crate::base32::encode(&data))
    }

    /// The destination's signing public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The destination's signing key type (7 or 11).
    pub fn sig_type(&self) -> SigningKeyType {
        SigningKeyType(self.sig_type)
    }

    /// Whether the address says a secret or per-client authorization is needed to
    /// read the LeaseSet (not supported: such LeaseSets cannot be opened).
    pub fn needs_authorization(&self) -> bool {
        self.flags & (FLAG_SECRET | FLAG_CLIENT_AUTH) != 0
    }

    /// The blinded public key `A'` for the day `date` (`YYYYMMDD`).
    pub fn blinded_key(&self, date: &[u8; 8]) -> Result<[u8; 32]> {
        red25519::blind_public_key(&self.public_key, self.sig_type, date)
            .map_err(|_| Error::invalid("BlindedAddress", "not a valid Ed25519 key"))
    }

    /// The netDb key the encrypted LeaseSet is stored under on day `date`:
    /// SHA-256 of the blinded key's type (2 bytes) and the blinded key
    /// (encryptedleaseset.rst: "DHT storage location is SHA-256(sig type || blinded
    /// public key)").
    pub fn store_hash(&self, date: &[u8; 8]) -> Result<Hash> {
        Ok(store_hash_of(&self.blinded_key(date)?))
    }
}

fn store_hash_of(blinded: &[u8; 32]) -> Hash {
    Hash(i2p_crypto::hash::sha256_parts(&[
        &SIG_TYPE_RED25519.to_be_bytes(),
        blinded,
    ]))
}

/// `YYYYMMDD` in ASCII for the UTC day of `unix_s` (encryptedleaseset.rst:
/// "datestring = 8 bytes ASCII YYYYMMDD from the current date UTC").
pub fn date_string(unix_s: u64) -> [u8; 8] {
    // Days to civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let days = i64::try_from(unix_s / SECONDS_PER_DAY).unwrap_or(0) + 719_468;
    let era = days.div_euclid(146_097);
    let doe = days.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let text = format!("{:04}{:02}{:02}", year.clamp(0, 9999), month, day);
    let mut out = [b'0'; 8];
    out.copy_from_slice(&text.as_bytes()[..8]);
    out
}

/// The outer layer of an encrypted LeaseSet, as stored in the netDb.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedLeaseSet {
    blinded_key: [u8; 32],
    published: u32,
    expires_offset: u16,
    flags: u16,
    /// Offline keys: (expires, transient sig type, transient key, signature).
    transient_key: Option<[u8; 32]>,
    /// The exact bytes (without the store type byte), signature included.
    raw: Vec<u8>,
    /// Where the outer ciphertext starts and ends in `raw`.
    ciphertext: std::ops::Range<usize>,
}

impl EncryptedLeaseSet {
    /// Parses the outer layer (signature not checked: see [`Self::verify`]).
    /// Only Red25519 blinded keys, and Ed25519/Red25519 transient keys.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "EncryptedLeaseSet");
        let blinded_type = r.take_u16()?;
        if blinded_type != SIG_TYPE_RED25519 {
            return Err(Error::UnsupportedSignatureType(blinded_type));
        }
        let blinded_key = r.take_array::<32>()?;
        let published = r.take_u32()?;
        let expires_offset = r.take_u16()?;
        let flags = r.take_u16()?;
        let transient_key = if flags & FLAG_OFFLINE_KEYS != 0 {
            let start = r.consumed();
            let _expires = r.take_u32()?;
            let t = r.take_u16()?;
            if t != SIG_TYPE_ED25519 && t != SIG_TYPE_RED25519 {
                return Err(Error::UnsupportedSignatureType(t));
            }
            let key = r.take_array::<32>()?;
            let signed = bytes.get(start..r.consumed()).unwrap_or_default();
            let sig = r.take(SIGNATURE_LEN)?;
            red25519::verify(&blinded_key, signed, sig).map_err(|_| Error::BadSignature {
                object: "EncryptedLeaseSet offline signature",
            })?;
            Some(key)
        } else {
            None
        };
        let len = usize::from(r.take_u16()?);
        let start = r.consumed();
        let ciphertext = r.take(len)?;
        if ciphertext.len() < SALT_LEN + 1 + SALT_LEN + 1 {
            return Err(r.invalid("outer ciphertext too short"));
        }
        let end = r.consumed();
        r.take(SIGNATURE_LEN)?;
        r.should_be_exhausted()?;
        Ok(Self {
            blinded_key,
            published,
            expires_offset,
            flags,
            transient_key,
            raw: bytes.to_vec(),
            ciphertext: start..end,
        })
    }

    /// Checks the outer signature over the store type byte and everything before the
    /// signature, with the transient key if there is one, else the blinded key.
    pub fn verify(&self) -> Result<()> {
        let sig_at = self.raw.len().saturating_sub(SIGNATURE_LEN);
        let mut msg = Vec::with_capacity(1 + sig_at);
        msg.push(STORE_TYPE);
        msg.extend_from_slice(self.raw.get(..sig_at).unwrap_or_default());
        let key = self.transient_key.as_ref().unwrap_or(&self.blinded_key);
        red25519::verify(key, &msg, self.raw.get(sig_at..).unwrap_or_default()).map_err(|_| {
            Error::BadSignature {
                object: "EncryptedLeaseSet",
            }
        })
    }

    /// The netDb key it is stored under.
    pub fn store_hash(&self) -> Hash {
        store_hash_of(&self.blinded_key)
    }

    /// The blinded public key.
    pub fn blinded_key(&self) -> &[u8; 32] {
        &self.blinded_key
    }

    /// Published, seconds since the epoch.
    pub fn published(&self) -> u32 {
        self.published
    }

    /// Expiry, seconds since the epoch.
    pub fn expires(&self) -> u64 {
        u64::from(self.published) + u64::from(self.expires_offset)
    }

    /// True once expired (`now_ms` in milliseconds).
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms / 1000 >= self.expires()
    }

    /// The exact serialization, without the DatabaseStore type byte.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Opens both layers with the address of the destination and returns the inner
    /// LeaseSet2, verified, after checking that it is the destination's and that the
    /// blinded key is the one of the day it was published. The outer signature must
    /// have been checked ([`Self::verify`]).
    pub fn decrypt(&self, address: &BlindedAddress) -> Result<LeaseSet2> {
        if address.needs_authorization() {
            return Err(Error::invalid(
                "EncryptedLeaseSet",
                "needs a secret or client authorization (not supported)",
            ));
        }
        let date = date_string(u64::from(self.published));
        if address.blinded_key(&date)? != self.blinded_key {
            return Err(Error::invalid(
                "EncryptedLeaseSet",
                "blinded key is not the address's for the day it was published",
            ));
        }
        let subcredential =
            red25519::subcredential(&address.public_key, address.sig_type, &self.blinded_key);
        let mut input = [0u8; 36];
        input[..32].copy_from_slice(&subcredential);
        input[32..].copy_from_slice(&self.published.to_be_bytes());
        let outer = self
            .raw
            .get(self.ciphertext.clone())
            .ok_or(Error::invalid("EncryptedLeaseSet", "ciphertext"))?;
        let layer1 = open_layer(outer, &input, b"ELS2_L1K")?;
        let (&flags, rest) = layer1
            .split_first()
            .ok_or(Error::invalid("EncryptedLeaseSet", "empty layer 1"))?;
        if flags & LAYER1_FLAG_CLIENT_AUTH != 0 {
            return Err(Error::invalid(
                "EncryptedLeaseSet",
                "per-client authorization required (not supported)",
            ));
        }
        let layer2 = open_layer(rest, &input, b"ELS2_L2K")?;
        let (&inner_type, inner) = layer2
            .split_first()
            .ok_or(Error::invalid("EncryptedLeaseSet", "empty layer 2"))?;
        if inner_type != INNER_STORE_TYPE_LS2 {
            return Err(Error::invalid(
                "EncryptedLeaseSet",
                "inner LeaseSet is not a LeaseSet2 (type 3)",
            ));
        }
        let ls = UncheckedLeaseSet2::parse(inner)?.verify()?;
        let dest_key = ls.destination().signing_public_key();
        if ls.destination().signing_type().0 != address.sig_type
            || dest_key.as_deref() != Some(&address.public_key[..])
        {
            return Err(Error::invalid(
                "EncryptedLeaseSet",
                "inner LeaseSet is not the address's destination",
            ));
        }
        Ok(ls)
    }

    /// Builds the encrypted LeaseSet of `ls` (no client authorization), published at
    /// `published` (seconds), blinded with the destination's Ed25519 signing key
    /// `seed` for that day. It expires with `ls`, and at the next midnight UTC at the
    /// latest, when the blinded key changes.
    pub fn encrypt(ls: &LeaseSet2, seed: &[u8; 32], published: u32) -> Result<Self> {
        let date = date_string(u64::from(published));
        let signer = BlindedSigningKey::from_ed25519_seed(seed, &date);
        let blinded = signer.public_key();
        let address = BlindedAddress::from_destination(ls.destination())?;
        if address.blinded_key(&date)? != blinded {
            return Err(Error::invalid(
                "EncryptedLeaseSet",
                "signing key is not the destination's",
            ));
        }
        let next_midnight = (u64::from(published) / SECONDS_PER_DAY + 1) * SECONDS_PER_DAY;
        let expires = ls.expires().min(next_midnight);
        let expires_offset = u16::try_from(expires.saturating_sub(u64::from(published)))
            .map_err(|_| Error::invalid("EncryptedLeaseSet", "expires too far"))?;
        let subcredential =
            red25519::subcredential(&address.public_key, address.sig_type, &blinded);
        let mut input = [0u8; 36];
        input[..32].copy_from_slice(&subcredential);
        input[32..].copy_from_slice(&published.to_be_bytes());

        let mut layer2 = Vec::with_capacity(1 + ls.as_bytes().len());
        layer2.push(INNER_STORE_TYPE_LS2);
        layer2.extend_from_slice(ls.as_bytes());
        let mut layer1 = vec![0u8];
        layer1.extend(seal_layer(&layer2, &input, b"ELS2_L2K"));
        let outer = seal_layer(&layer1, &input, b"ELS2_L1K");
        let outer_len = u16::try_from(outer.len())
            .map_err(|_| Error::invalid("EncryptedLeaseSet", "LeaseSet too large"))?;

        let mut raw = Vec::with_capacity(44 + outer.len() + SIGNATURE_LEN);
        raw.write_u16(SIG_TYPE_RED25519);
        raw.write_bytes(&blinded);
        raw.write_u32(published);
        raw.write_u16(expires_offset);
        raw.write_u16(0);
        raw.write_u16(outer_len);
        let start = raw.len();
        raw.write_bytes(&outer);
        let end = raw.len();
        let mut msg = Vec::with_capacity(1 + raw.len());
        msg.push(STORE_TYPE);
        msg.extend_from_slice(&raw);
        raw.write_bytes(&signer.sign(&msg));
        Ok(Self {
            blinded_key: blinded,
            published,
            expires_offset,
            flags: 0,
            transient_key: None,
            raw,
            ciphertext: start..end,
        })
    }
}

/// `keys = HKDF(salt, input, info, 44)`: 32 bytes of key, 12 of IV.
fn layer_keys(
    salt: &[u8],
    input: &[u8],
    info: &[u8],
) -> i2p_crypto::Zeroizing<([u8; 32], [u8; 12])> {
    let (key, rest) = i2p_crypto::hash::hkdf2(salt, input, info);
    let mut iv = [0u8; 12];
    iv.copy_from_slice(&rest[..12]);
    i2p_crypto::Zeroizing::new((key, iv))
}

/// `salt || ENCRYPT(key, iv, plaintext)` with a fresh salt.
fn seal_layer(plaintext: &[u8], input: &[u8], info: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; SALT_LEN];
    i2p_crypto::random_bytes(&mut out);
    let keys = layer_keys(&out, input, info);
    let start = out.len();
    out.extend_from_slice(plaintext);
    red25519::chacha20_stream(&keys.0, &keys.1, &mut out[start..]);
    out
}

/// Splits `salt || ciphertext` and decrypts.
fn open_layer(data: &[u8], input: &[u8], info: &[u8]) -> Result<Vec<u8>> {
    if data.len() < SALT_LEN {
        return Err(Error::invalid(
            "EncryptedLeaseSet",
            "layer shorter than its salt",
        ));
    }
    let (salt, ciphertext) = data.split_at(SALT_LEN);
    let keys = layer_keys(salt, input, info);
    let mut plain = ciphertext.to_vec();
    red25519::chacha20_stream(&keys.0, &keys.1, &mut plain);
    Ok(plain)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::leaseset::{EncryptionKey, Lease2};
    use crate::{DestinationKeys, Mapping};

    const NOW: u32 = 1_795_000_000;

    fn signed_ls(keys: &DestinationKeys, published: u32) -> LeaseSet2 {
        LeaseSet2::new_signed(
            keys.destination().clone(),
            published,
            published + 600,
            vec![EncryptionKey::x25519(keys.encryption_key().public_key())],
            vec![Lease2 {
                tunnel_gw: Hash([3; 32]),
                tunnel_id: 77,
                end_date: published + 600,
            }],
            Mapping::empty(),
            keys.signing_key(),
        )
        .unwrap()
    }

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(&date_string(0), b"19700101");
        assert_eq!(&date_string(951_782_400), b"20000229");
        assert_eq!(&date_string(1_795_000_000), b"20261118");
        assert_eq!(&date_string(1_798_761_599), b"20261231");
        assert_eq!(&date_string(1_798_761_600), b"20270101");
    }

    #[test]
    fn b33_round_trips_and_its_checksum_catches_typos() {
        let keys = DestinationKeys::generate();
        let addr = BlindedAddress::from_destination(keys.destination()).unwrap();
        let host = addr.to_host();
        assert_eq!(host.len(), 56 + ".b32.i2p".len());
        assert_eq!(BlindedAddress::parse(&host).unwrap(), addr);
        assert_eq!(BlindedAddress::parse(&host.to_uppercase()).unwrap(), addr);
        assert!(!addr.needs_authorization());
        let auth = addr.clone().requiring_client_auth();
        let parsed = BlindedAddress::parse(&auth.to_host()).unwrap();
        assert!(parsed.needs_authorization());
        assert_eq!(parsed.public_key(), addr.public_key());
        // Change one character of the key part: the checksum no longer matches, so
        // the flags and types decode as garbage or the key is refused.
        let mut bad = host.clone().into_bytes();
        bad[40] = if bad[40] == b'a' { b'b' } else { b'a' };
        let bad = String::from_utf8(bad).unwrap();
        assert_ne!(BlindedAddress::parse(&bad).ok(), Some(addr.clone()));
        assert!(BlindedAddress::parse("abc.b32.i2p").is_err());
        assert!(BlindedAddress::parse(&format!("{}.b32.i2p", "a".repeat(60))).is_err());
    }

    #[test]
    fn encrypt_then_decrypt_gives_the_leaseset() {
        let keys = DestinationKeys::generate();
        let ls = signed_ls(&keys, NOW);
        let seed = keys.signing_key().to_bytes();
        let els = EncryptedLeaseSet::encrypt(&ls, &seed, NOW).unwrap();
        let parsed = EncryptedLeaseSet::parse(els.as_bytes()).unwrap();
        assert_eq!(parsed, els);
        parsed.verify().unwrap();
        let addr = BlindedAddress::from_destination(keys.destination()).unwrap();
        let date = date_string(u64::from(NOW));
        assert_eq!(parsed.store_hash(), addr.store_hash(&date).unwrap());
        assert_ne!(parsed.store_hash(), keys.destination().hash());
        let inner = parsed.decrypt(&addr).unwrap();
        assert_eq!(inner, ls);
        assert_eq!(parsed.expires(), ls.expires());
        // Nothing of the LeaseSet shows outside.
        let lease_gw = [3u8; 32];
        assert!(!els.as_bytes().windows(32).any(|w| w == lease_gw));
    }

    #[test]
    fn wrong_address_tampering_and_bad_signatures_are_refused() {
        let keys = DestinationKeys::generate();
        let ls = signed_ls(&keys, NOW);
        let els = EncryptedLeaseSet::encrypt(&ls, &keys.signing_key().to_bytes(), NOW).unwrap();
        let other = DestinationKeys::generate();
        let other_addr = BlindedAddress::from_destination(other.destination()).unwrap();
        assert!(els.decrypt(&other_addr).is_err());
        // Another destination's key cannot blind-sign this one's LeaseSet.
        assert!(EncryptedLeaseSet::encrypt(&ls, &other.signing_key().to_bytes(), NOW).is_err());
        for i in [0usize, 2, 40, 60, els.as_bytes().len() - 1] {
            let mut bytes = els.as_bytes().to_vec();
            bytes[i] ^= 0x20;
            let verified = EncryptedLeaseSet::parse(&bytes).and_then(|e| e.verify());
            assert!(verified.is_err(), "flipped byte {i} still verifies");
        }
    }

    #[test]
    fn expiry_stops_at_midnight() {
        let keys = DestinationKeys::generate();
        let midnight = (NOW / 86_400 + 1) * 86_400;
        let published = midnight - 100;
        let ls = signed_ls(&keys, published);
        let els =
            EncryptedLeaseSet::encrypt(&ls, &keys.signing_key().to_bytes(), published).unwrap();
        assert_eq!(els.expires(), u64::from(midnight));
    }

    #[test]
    fn parser_is_total() {
        let keys = DestinationKeys::generate();
        let ls = signed_ls(&keys, NOW);
        let els = EncryptedLeaseSet::encrypt(&ls, &keys.signing_key().to_bytes(), NOW).unwrap();
        let bytes = els.as_bytes();
        for n in 0..bytes.len() {
            assert!(EncryptedLeaseSet::parse(&bytes[..n]).is_err());
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(EncryptedLeaseSet::parse(&longer).is_err());
    }
}
