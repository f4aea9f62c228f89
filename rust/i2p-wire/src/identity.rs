//! Certificates and identities (common-structures.rst, "Certificate", "Key
//! Certificates", "KeysAndCert", "RouterIdentity", "Destination").
//!
//! A [`KeysAndCert`] is a 384-byte key area plus a [`Certificate`]. With a KEY
//! certificate the area holds the crypto public key aligned at the start and the
//! signing public key aligned at the end, padding in between; key data beyond 256
//! (crypto) or 128 (signing) bytes goes into the certificate as "excess" data. We keep
//! the raw bytes, so any identity re-serializes exactly and hashes the same.

use std::fmt;

use i2p_crypto::ed25519::{SigningKey, VerifyingKey};

use crate::bytes::{Error, Readable, Reader, Result, Writeable, Writer};
use crate::common::Hash;

/// Signing public key type code of a key certificate (common-structures.rst, "Key
/// Certificates"). Open newtype: unknown codes stay representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SigningKeyType(pub u16);

impl SigningKeyType {
    /// DSA_SHA1 (the type implied by a NULL certificate).
    pub const DSA_SHA1: Self = Self(0);
    /// ECDSA_SHA256_P256.
    pub const ECDSA_SHA256_P256: Self = Self(1);
    /// ECDSA_SHA384_P384.
    pub const ECDSA_SHA384_P384: Self = Self(2);
    /// ECDSA_SHA512_P521.
    pub const ECDSA_SHA512_P521: Self = Self(3);
    /// RSA_SHA256_2048.
    pub const RSA_SHA256_2048: Self = Self(4);
    /// RSA_SHA384_3072.
    pub const RSA_SHA384_3072: Self = Self(5);
    /// RSA_SHA512_4096.
    pub const RSA_SHA512_4096: Self = Self(6);
    /// EdDSA_SHA512_Ed25519: the type of current router identities, and the only one
    /// this crate verifies.
    pub const EDDSA_SHA512_ED25519: Self = Self(7);
    /// EdDSA_SHA512_Ed25519ph.
    pub const EDDSA_SHA512_ED25519PH: Self = Self(8);
    /// RedDSA_SHA512_Ed25519.
    pub const REDDSA_SHA512_ED25519: Self = Self(11);

    /// Length of the signing public key, for known types.
    pub fn public_key_len(self) -> Option<usize> {
        Some(match self.0 {
            0 => 128,
            1 => 64,
            2 => 96,
            3 => 132,
            4 => 256,
            5 => 384,
            6 => 512,
            7 | 8 | 11 => 32,
            9 => 64,
            10 => 128,
            _ => return None,
        })
    }

    /// Length of a signature, for known types.
    pub fn signature_len(self) -> Option<usize> {
        Some(match self.0 {
            0 => 40,
            1 => 64,
            2 => 96,
            3 => 132,
            4 => 256,
            5 => 384,
            6 => 512,
            7 | 8 | 11 => 64,
            9 => 64,
            10 => 128,
            _ => return None,
        })
    }
}

/// Crypto (encryption) public key type code of a key certificate
/// (common-structures.rst, "Key Certificates").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CryptoKeyType(pub u16);

impl CryptoKeyType {
    /// ElGamal (the type implied by a NULL certificate; unused in Destinations).
    pub const ELGAMAL: Self = Self(0);
    /// P256 (reserved).
    pub const P256: Self = Self(1);
    /// P384 (reserved).
    pub const P384: Self = Self(2);
    /// P521 (reserved).
    pub const P521: Self = Self(3);
    /// X25519: the type of current router identities (ECIES, proposal 156).
    pub const X25519: Self = Self(4);

    /// Length of the public key, for known types.
    pub fn public_key_len(self) -> Option<usize> {
        Some(match self.0 {
            0 => 256,
            1 => 64,
            2 => 96,
            3 => 132,
            4..=7 => 32,
            _ => return None,
        })
    }
}

/// Certificate type code (common-structures.rst, "Certificate").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertificateType(pub u8);

impl CertificateType {
    /// NULL.
    pub const NULL: Self = Self(0);
    /// HASHCASH (deprecated).
    pub const HASHCASH: Self = Self(1);
    /// HIDDEN (deprecated).
    pub const HIDDEN: Self = Self(2);
    /// SIGNED (deprecated).
    pub const SIGNED: Self = Self(3);
    /// MULTIPLE (deprecated).
    pub const MULTIPLE: Self = Self(4);
    /// KEY.
    pub const KEY: Self = Self(5);
}

/// The payload of a KEY certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCertificate {
    /// Signing public key type (first on the wire: "the Signing Public Key Type is
    /// first").
    pub signing_type: SigningKeyType,
    /// Crypto public key type.
    pub crypto_type: CryptoKeyType,
    /// Excess signing key data, then excess crypto key data, as on the wire.
    pub excess: Vec<u8>,
}

impl KeyCertificate {
    /// Excess signing and crypto key lengths for known types, or `None`.
    fn expected_excess(&self) -> Option<(usize, usize)> {
        let s = self.signing_type.public_key_len()?;
        let c = self.crypto_type.public_key_len()?;
        Some((s.saturating_sub(128), c.saturating_sub(256)))
    }

    /// For known key types, the excess data must be exactly what the types need:
    /// "prohibit excess data in Key Certificates. The appropriate length for each
    /// certificate type should be enforced." Unknown types are not checked.
    fn check_excess(&self) -> Result<()> {
        match self.expected_excess() {
            Some((s, c)) if self.excess.len() != s + c => Err(Error::invalid(
                "Key Certificate",
                "length does not match the key types",
            )),
            _ => Ok(()),
        }
    }
}

/// A Certificate (common-structures.rst, "Certificate").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Certificate {
    /// NULL: ElGamal + DSA_SHA1 keys, 3 bytes on the wire.
    Null,
    /// KEY: the key types (and any excess key data).
    Key(KeyCertificate),
    /// Any other type, kept as opaque bytes.
    Other {
        /// The type code.
        cert_type: CertificateType,
        /// The payload.
        payload: Vec<u8>,
    },
}

impl Certificate {
    /// The KEY certificate of an X25519 / Ed25519 router identity (length 4).
    pub fn key_x25519_ed25519() -> Self {
        Certificate::Key(KeyCertificate {
            signing_type: SigningKeyType::EDDSA_SHA512_ED25519,
            crypto_type: CryptoKeyType::X25519,
            excess: Vec::new(),
        })
    }

    /// The signing key type this certificate implies (DSA_SHA1 unless KEY).
    pub fn signing_type(&self) -> SigningKeyType {
        match self {
            Certificate::Key(k) => k.signing_type,
            _ => SigningKeyType::DSA_SHA1,
        }
    }

    /// The crypto key type this certificate implies (ElGamal unless KEY).
    pub fn crypto_type(&self) -> CryptoKeyType {
        match self {
            Certificate::Key(k) => k.crypto_type,
            _ => CryptoKeyType::ELGAMAL,
        }
    }
}

impl Readable for Certificate {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("Certificate", |r| {
            let cert_type = CertificateType(r.take_u8()?);
            let len = usize::from(r.take_u16()?);
            let payload = r.take(len)?;
            match cert_type {
                // "Implementers are cautioned to prohibit excess data in Certificates."
                CertificateType::NULL if len != 0 => {
                    Err(r.invalid("NULL certificate with a payload"))
                }
                CertificateType::NULL => Ok(Certificate::Null),
                CertificateType::KEY => {
                    let mut p = Reader::with_object(payload, "Key Certificate");
                    let kc = KeyCertificate {
                        signing_type: SigningKeyType(p.take_u16()?),
                        crypto_type: CryptoKeyType(p.take_u16()?),
                        excess: p.take_rest().to_vec(),
                    };
                    kc.check_excess()?;
                    Ok(Certificate::Key(kc))
                }
                _ => Ok(Certificate::Other {
                    cert_type,
                    payload: payload.to_vec(),
                }),
            }
        })
    }
}

impl Writeable for Certificate {
    fn write_onto(&self, out: &mut Vec<u8>) {
        match self {
            Certificate::Null => {
                out.write_u8(0);
                out.write_u16(0);
            }
            Certificate::Key(k) => {
                out.write_u8(CertificateType::KEY.0);
                out.write_u16(u16::try_from(4 + k.excess.len()).unwrap_or(u16::MAX));
                out.write_u16(k.signing_type.0);
                out.write_u16(k.crypto_type.0);
                out.write_bytes(&k.excess);
            }
            Certificate::Other { cert_type, payload } => {
                out.write_u8(cert_type.0);
                out.write_u16(u16::try_from(payload.len()).unwrap_or(u16::MAX));
                out.write_bytes(payload);
            }
        }
    }
}

/// Length of the key area before the certificate.
pub const KEY_AREA_LEN: usize = 384;

/// KeysAndCert (common-structures.rst, "KeysAndCert"): 384 bytes of keys and padding,
/// then a certificate. The common form of [`RouterIdentity`] and [`Destination`].
#[derive(Clone, PartialEq, Eq)]
pub struct KeysAndCert {
    key_area: [u8; KEY_AREA_LEN],
    certificate: Certificate,
}

impl KeysAndCert {
    /// Builds from a raw key area and a certificate. Errors if a Key or Other
    /// certificate payload is over 65535 bytes.
    pub fn from_parts(key_area: [u8; KEY_AREA_LEN], certificate: Certificate) -> Result<Self> {
        let payload_len = match &certificate {
            Certificate::Null => 0,
            Certificate::Key(k) => {
                k.check_excess()?;
                4 + k.excess.len()
            }
            Certificate::Other { cert_type, payload } => {
                if *cert_type == CertificateType::NULL || *cert_type == CertificateType::KEY {
                    return Err(Error::invalid(
                        "Certificate",
                        "NULL or KEY type given as Other",
                    ));
                }
                payload.len()
            }
        };
        if payload_len > usize::from(u16::MAX) {
            return Err(Error::invalid("Certificate", "payload over 65535 bytes"));
        }
        Ok(KeysAndCert {
            key_area,
            certificate,
        })
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The raw 384-byte key area.
    pub fn key_area(&self) -> &[u8; KEY_AREA_LEN] {
        &self.key_area
    }

    /// The signing key type.
    pub fn signing_type(&self) -> SigningKeyType {
        self.certificate.signing_type()
    }

    /// The crypto key type.
    pub fn crypto_type(&self) -> CryptoKeyType {
        self.certificate.crypto_type()
    }

    /// SHA-256 of the serialized structure: the router hash or destination hash.
    pub fn hash(&self) -> Hash {
        Hash::digest(&self.to_bytes())
    }

    /// Bytes on the wire.
    pub fn wire_len(&self) -> usize {
        KEY_AREA_LEN
            + 3
            + match &self.certificate {
                Certificate::Null => 0,
                Certificate::Key(k) => 4 + k.excess.len(),
                Certificate::Other { payload, .. } => payload.len(),
            }
    }

    /// The crypto public key, for known types of at most 256 bytes: "The Crypto Public
    /// Key is aligned at the start".
    pub fn public_key(&self) -> Option<&[u8]> {
        let len = self.crypto_type().public_key_len()?;
        self.key_area.get(..len.min(256)).filter(|_| len <= 256)
    }

    /// The signing public key, for known types: the last bytes of the 384-byte area,
    /// or the last 128 bytes followed by the excess data of the KEY certificate.
    pub fn signing_public_key(&self) -> Option<Vec<u8>> {
        let len = self.signing_type().public_key_len()?;
        if len <= 128 {
            return self.key_area.get(KEY_AREA_LEN - len..).map(<[u8]>::to_vec);
        }
        let Certificate::Key(k) = &self.certificate else {
            return None;
        };
        let excess = k.excess.get(..len - 128)?;
        let mut key = self.key_area.get(KEY_AREA_LEN - 128..)?.to_vec();
        key.extend_from_slice(excess);
        Some(key)
    }

    /// The Ed25519 verifying key, if the signing type is EdDSA_SHA512_Ed25519.
    pub fn ed25519_verifying_key(&self) -> Result<VerifyingKey> {
        let st = self.signing_type();
        if st != SigningKeyType::EDDSA_SHA512_ED25519 {
            return Err(Error::UnsupportedSignatureType(st.0));
        }
        let key = self
            .key_area
            .get(KEY_AREA_LEN - 32..)
            .ok_or(Error::invalid("KeysAndCert", "short key area"))?;
        VerifyingKey::from_bytes(key)
            .map_err(|_| Error::invalid("KeysAndCert", "invalid Ed25519 public key"))
    }

    /// Verifies `signature` over `msg` with this identity's signing key. Only
    /// EdDSA_SHA512_Ed25519 is supported.
    pub fn verify(&self, msg: &[u8], signature: &[u8], object: &'static str) -> Result<()> {
        self.ed25519_verifying_key()?
            .verify(msg, signature)
            .map_err(|_| Error::BadSignature { object })
    }

    /// A key area with `crypto` at the start, `signing` at the end and padding in
    /// between made of one random 32-byte block repeated (proposal 161, "Padding
    /// Generation Guidelines": compressible yet with enough entropy).
    fn build_area(crypto: &[u8], signing: &[u8]) -> [u8; KEY_AREA_LEN] {
        let mut block = [0u8; 32];
        i2p_crypto::random_bytes(&mut block);
        let mut area = [0u8; KEY_AREA_LEN];
        for (i, b) in area.iter_mut().enumerate() {
            *b = block.get(i % 32).copied().unwrap_or(0);
        }
        if let Some(dst) = area.get_mut(..crypto.len()) {
            dst.copy_from_slice(crypto);
        }
        if let Some(dst) = area.get_mut(KEY_AREA_LEN.saturating_sub(signing.len())..) {
            dst.copy_from_slice(signing);
        }
        area
    }
}

impl fmt::Debug for KeysAndCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysAndCert")
            .field("hash", &self.hash())
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl Readable for KeysAndCert {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("KeysAndCert", |r| {
            let key_area = r.take_array()?;
            let certificate = r.extract()?;
            Ok(KeysAndCert {
                key_area,
                certificate,
            })
        })
    }
}

impl Writeable for KeysAndCert {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_bytes(&self.key_area);
        out.write_item(&self.certificate);
    }
}

/// A RouterIdentity (common-structures.rst, "RouterIdentity"): a [`KeysAndCert`]
/// naming a router. Its [`hash`](Self::hash) is the router's netDb key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterIdentity(KeysAndCert);

impl RouterIdentity {
    /// Our kind of identity: crypto type X25519 (4), signing type Ed25519 (7), a KEY
    /// certificate of length 4, the X25519 key at the start of the area, the Ed25519
    /// key at its end, random padding between.
    pub fn new_x25519_ed25519(x25519_public: &[u8; 32], signing: &VerifyingKey) -> Self {
        let area = KeysAndCert::build_area(x25519_public, &signing.to_bytes());
        RouterIdentity(KeysAndCert {
            key_area: area,
            certificate: Certificate::key_x25519_ed25519(),
        })
    }

    /// The X25519 static public key, if the crypto type is X25519.
    pub fn x25519_public_key(&self) -> Option<[u8; 32]> {
        if self.0.crypto_type() != CryptoKeyType::X25519 {
            return None;
        }
        self.0.key_area.get(..32)?.try_into().ok()
    }

    /// The router hash: SHA-256 of the serialized identity.
    pub fn hash(&self) -> Hash {
        self.0.hash()
    }

    /// True if this identity's signing key is `key`'s public half.
    pub fn is_signed_by(&self, key: &SigningKey) -> bool {
        self.0
            .ed25519_verifying_key()
            .is_ok_and(|vk| vk.to_bytes() == key.verifying_key().to_bytes())
    }
}

impl std::ops::Deref for RouterIdentity {
    type Target = KeysAndCert;
    fn deref(&self) -> &KeysAndCert {
        &self.0
    }
}

impl From<KeysAndCert> for RouterIdentity {
    fn from(k: KeysAndCert) -> Self {
        RouterIdentity(k)
    }
}

impl Readable for RouterIdentity {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("RouterIdentity", |r| r.extract().map(RouterIdentity))
    }
}

impl Writeable for RouterIdentity {
    fn write_onto(&self, out: &mut Vec<u8>) {
        self.0.write_onto(out);
    }
}

/// A Destination (common-structures.rst, "Destination"): a [`KeysAndCert`] naming a
/// client endpoint. Its public key field is unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination(KeysAndCert);

impl Destination {
    /// A destination with an Ed25519 signing key and the unused crypto field typed
    /// ElGamal and filled with the padding pattern, as Java I2P and i2pd create them.
    pub fn new_ed25519(signing: &VerifyingKey) -> Self {
        let area = KeysAndCert::build_area(&[], &signing.to_bytes());
        Destination(KeysAndCert {
            key_area: area,
            certificate: Certificate::Key(KeyCertificate {
                signing_type: SigningKeyType::EDDSA_SHA512_ED25519,
                crypto_type: CryptoKeyType::ELGAMAL,
                excess: Vec::new(),
            }),
        })
    }

    /// A destination with an X25519 (crypto type 4) key and an Ed25519 signing key, as
    /// i2pd creates them with `cryptotype = 4`: the X25519 key is also the one its
    /// LeaseSet2 publishes.
    pub fn new_x25519_ed25519(x25519_public: &[u8; 32], signing: &VerifyingKey) -> Self {
        let area = KeysAndCert::build_area(x25519_public, &signing.to_bytes());
        Destination(KeysAndCert {
            key_area: area,
            certificate: Certificate::key_x25519_ed25519(),
        })
    }

    /// The destination hash: SHA-256 of the serialized destination.
    pub fn hash(&self) -> Hash {
        self.0.hash()
    }

    /// The `.b32.i2p` host name of this destination.
    pub fn b32_address(&self) -> String {
        format!("{}.b32.i2p", self.hash().to_base32())
    }

    /// The I2P base64 of the serialized destination (the "full destination").
    pub fn to_base64(&self) -> String {
        crate::base64::encode(&self.0.to_bytes())
    }
}

impl std::ops::Deref for Destination {
    type Target = KeysAndCert;
    fn deref(&self) -> &KeysAndCert {
        &self.0
    }
}

impl From<KeysAndCert> for Destination {
    fn from(k: KeysAndCert) -> Self {
        Destination(k)
    }
}

impl Readable for Destination {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("Destination", |r| r.extract().map(Destination))
    }
}

impl Writeable for Destination {
    fn write_onto(&self, out: &mut Vec<u8>) {
        self.0.write_onto(out);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn ours() -> (RouterIdentity, SigningKey, [u8; 32]) {
        let sk = SigningKey::random();
        let x = i2p_crypto::x25519::StaticSecret::random().public_key();
        (
            RouterIdentity::new_x25519_ed25519(&x, &sk.verifying_key()),
            sk,
            x,
        )
    }

    #[test]
    fn our_identity_layout() {
        let (id, sk, x) = ours();
        let b = id.to_bytes();
        assert_eq!(b.len(), 391);
        assert_eq!(&b[..32], &x);
        assert_eq!(&b[352..384], &sk.verifying_key().to_bytes());
        // KEY certificate, length 4, signing type 7, crypto type 4.
        assert_eq!(&b[384..], &[5, 0, 4, 0, 7, 0, 4]);
        // Padding: one 32-byte block repeated ten times.
        for i in 1..10 {
            assert_eq!(b[32..64], b[32 + 32 * i..64 + 32 * i]);
        }
        assert_eq!(id.x25519_public_key(), Some(x));
        assert_eq!(id.public_key(), Some(&x[..]));
        assert_eq!(
            id.signing_public_key().unwrap(),
            sk.verifying_key().to_bytes()
        );
        assert!(id.is_signed_by(&sk));
        assert!(!id.is_signed_by(&SigningKey::random()));
        let back = RouterIdentity::from_bytes(&b).unwrap();
        assert_eq!(back, id);
        assert_eq!(back.hash(), Hash::digest(&b));
        let sig = sk.sign(b"hello");
        id.verify(b"hello", &sig, "test").unwrap();
        assert!(id.verify(b"hellO", &sig, "test").is_err());
    }

    #[test]
    fn null_certificate_identity() {
        let mut b = vec![0x11u8; 384];
        b.extend_from_slice(&[0, 0, 0]);
        let id = RouterIdentity::from_bytes(&b).unwrap();
        assert_eq!(id.certificate(), &Certificate::Null);
        assert_eq!(id.signing_type(), SigningKeyType::DSA_SHA1);
        assert_eq!(id.public_key().unwrap().len(), 256);
        assert_eq!(id.signing_public_key().unwrap().len(), 128);
        assert_eq!(
            id.ed25519_verifying_key().unwrap_err(),
            Error::UnsupportedSignatureType(0)
        );
        assert_eq!(id.to_bytes(), b);
        // A NULL certificate with a payload is refused.
        let mut bad = vec![0x11u8; 384];
        bad.extend_from_slice(&[0, 0, 1, 9]);
        assert!(RouterIdentity::from_bytes(&bad).is_err());
    }

    #[test]
    fn p521_destination_keeps_excess_signing_key_data() {
        // ElGamal + ECDSA_SHA512_P521: 132-byte signing key, 4 excess bytes in the cert.
        let mut b: Vec<u8> = (0..384u32).map(|i| (i % 251) as u8).collect();
        b.extend_from_slice(&[5, 0, 8, 0, 3, 0, 0, 0xa, 0xb, 0xc, 0xd]);
        let d = Destination::from_bytes(&b).unwrap();
        let spk = d.signing_public_key().unwrap();
        assert_eq!(spk.len(), 132);
        assert_eq!(&spk[..128], &b[256..384]);
        assert_eq!(&spk[128..], &[0xa, 0xb, 0xc, 0xd]);
        assert_eq!(d.to_bytes(), b);
        assert_eq!(d.wire_len(), b.len());
        // Wrong excess length for the declared types is refused.
        let mut bad = b[..384].to_vec();
        bad.extend_from_slice(&[5, 0, 4, 0, 3, 0, 0]);
        assert!(Destination::from_bytes(&bad).is_err());
    }

    #[test]
    fn unknown_key_types_parse_opaquely() {
        let mut b = vec![0x22u8; 384];
        b.extend_from_slice(&[5, 0, 6, 0x12, 0x34, 0, 200, 1, 2]);
        let id = RouterIdentity::from_bytes(&b).unwrap();
        assert_eq!(id.signing_type(), SigningKeyType(0x1234));
        assert_eq!(id.crypto_type(), CryptoKeyType(200));
        assert_eq!(id.signing_public_key(), None);
        assert_eq!(id.public_key(), None);
        assert_eq!(id.to_bytes(), b);
        // Other certificate types are opaque too.
        let mut h = vec![0x22u8; 384];
        h.extend_from_slice(&[2, 0, 0]);
        let id = RouterIdentity::from_bytes(&h).unwrap();
        assert!(matches!(id.certificate(), Certificate::Other { .. }));
        assert_eq!(id.to_bytes(), h);
    }

    #[test]
    fn from_parts_checks_the_certificate() {
        let bad = Certificate::Key(KeyCertificate {
            signing_type: SigningKeyType::EDDSA_SHA512_ED25519,
            crypto_type: CryptoKeyType::X25519,
            excess: vec![1],
        });
        assert!(KeysAndCert::from_parts([0; 384], bad).is_err());
        let fake_null = Certificate::Other {
            cert_type: CertificateType::NULL,
            payload: vec![],
        };
        assert!(KeysAndCert::from_parts([0; 384], fake_null).is_err());
        let k = KeysAndCert::from_parts([3; 384], Certificate::key_x25519_ed25519()).unwrap();
        assert_eq!(KeysAndCert::from_bytes(&k.to_bytes()).unwrap(), k);
    }

    #[test]
    fn destination_b32() {
        let sk = SigningKey::random();
        let d = Destination::new_ed25519(&sk.verifying_key());
        let b = d.to_bytes();
        assert_eq!(b.len(), 391);
        assert_eq!(&b[384..], &[5, 0, 4, 0, 7, 0, 0]);
        let name = d.b32_address();
        assert_eq!(name.len(), 52 + ".b32.i2p".len());
        assert_eq!(
            name,
            format!("{}.b32.i2p", crate::base32::encode(&Hash::digest(&b).0))
        );
        assert_eq!(
            Destination::from_bytes(&crate::base64::decode(&d.to_base64()).unwrap()).unwrap(),
            d
        );
    }

    #[test]
    fn truncated_identity_is_an_error() {
        let (id, _, _) = ours();
        let b = id.to_bytes();
        for n in [0, 100, 384, 386, 390] {
            assert!(RouterIdentity::from_bytes(&b[..n]).is_err(), "{n}");
        }
    }
}
