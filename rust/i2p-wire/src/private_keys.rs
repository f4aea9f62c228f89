//! A destination's private key file: the layout i2pd and Java I2P write for
//! i2ptunnel and SAM ("PrivateKeys" in i2pd, `PrivateKeyFile` in Java I2P; samv3.md,
//! "DEST GENERATE": "the Destination followed by the Private Key followed by the
//! Signing Private Key").
//!
//! ```text
//! Destination | private key (its crypto type's length) | signing private key
//! ```
//!
//! Gousse writes X25519 (crypto type 4) destinations with Ed25519 (signing type 7)
//! keys, so the file's private key is the X25519 key its LeaseSet2 publishes. Files
//! of ElGamal-typed destinations (crypto type 0, what Java I2P and older i2pd write)
//! are read too: their 256-byte ElGamal key is kept as is (we do not use ElGamal),
//! and the X25519 key is derived from the Ed25519 private key, so that such a
//! destination keeps its address and its encryption key across restarts.

use i2p_crypto::ed25519::SigningKey;
use i2p_crypto::x25519::StaticSecret;
use i2p_crypto::Zeroizing;

use crate::bytes::{Error, Reader, Result, Writeable};
use crate::identity::{CryptoKeyType, Destination, SigningKeyType};

/// Bytes of an ElGamal private key.
const ELGAMAL_PRIVATE_LEN: usize = 256;

/// A destination with its private keys.
pub struct DestinationKeys {
    destination: Destination,
    /// The file's private key field, as read (X25519: 32 bytes; ElGamal: 256).
    private_key: Zeroizing<Vec<u8>>,
    encryption: StaticSecret,
    signing: SigningKey,
}

impl std::fmt::Debug for DestinationKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationKeys")
            .field("destination", &self.destination.hash())
            .finish_non_exhaustive()
    }
}

impl DestinationKeys {
    /// New random keys: an X25519 (crypto type 4) and Ed25519 (signing type 7)
    /// destination.
    pub fn generate() -> Self {
        let encryption = StaticSecret::random();
        let signing = SigningKey::random();
        let destination =
            Destination::new_x25519_ed25519(&encryption.public_key(), &signing.verifying_key());
        Self {
            destination,
            private_key: Zeroizing::new(encryption.to_bytes().to_vec()),
            encryption,
            signing,
        }
    }

    /// Reads a private key file. Only Ed25519 destinations with X25519 or ElGamal
    /// crypto types are supported; offline-signed files (a zero signing key) are
    /// refused. Trailing bytes are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "private key file");
        let destination: Destination = r.extract()?;
        if destination.signing_type() != SigningKeyType::EDDSA_SHA512_ED25519 {
            return Err(Error::invalid(
                "private key file",
                "only Ed25519 (signing type 7) destinations are supported",
            ));
        }
        let private_len = match destination.crypto_type() {
            CryptoKeyType::X25519 => 32,
            CryptoKeyType::ELGAMAL => ELGAMAL_PRIVATE_LEN,
            _ => {
                return Err(Error::invalid(
                    "private key file",
                    "only X25519 (4) and ElGamal (0) crypto types are supported",
                ))
            }
        };
        let private_key = Zeroizing::new(r.take(private_len)?.to_vec());
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(r.take(32)?);
        if !r.is_empty() {
            return Err(Error::invalid(
                "private key file",
                "trailing bytes (offline signatures are not supported)",
            ));
        }
        if seed.iter().all(|b| *b == 0) {
            return Err(Error::invalid(
                "private key file",
                "offline-signed keys are not supported",
            ));
        }
        let signing = SigningKey::from_bytes(&seed);
        let public = destination
            .signing_public_key()
            .ok_or_else(|| Error::invalid("private key file", "no signing public key"))?;
        if public != signing.verifying_key().to_bytes() {
            return Err(Error::invalid(
                "private key file",
                "the signing private key does not match the destination",
            ));
        }
        let encryption = if destination.crypto_type() == CryptoKeyType::X25519 {
            let mut k = Zeroizing::new([0u8; 32]);
            k.copy_from_slice(&private_key);
            let secret = StaticSecret::from_bytes(*k);
            if destination.public_key() != Some(&secret.public_key()[..]) {
                return Err(Error::invalid(
                    "private key file",
                    "the private key does not match the destination",
                ));
            }
            secret
        } else {
            derived_x25519(&seed)
        };
        Ok(Self {
            destination,
            private_key,
            encryption,
            signing,
        })
    }

    /// The file's bytes (secret: write it with owner-only permissions).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(self.destination.to_bytes());
        out.extend_from_slice(&self.private_key);
        out.extend_from_slice(&self.signing.to_bytes()[..]);
        out
    }

    /// The public destination.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The X25519 key that LeaseSet2s of this destination publish.
    pub fn encryption_key(&self) -> &StaticSecret {
        &self.encryption
    }

    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

/// The X25519 key of an ElGamal-typed destination, derived from its Ed25519 seed.
fn derived_x25519(seed: &[u8; 32]) -> StaticSecret {
    let (k, _) = i2p_crypto::hash::hkdf2(&[], seed, b"GousseLS2X25519");
    StaticSecret::from_bytes(k)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::Readable;

    #[test]
    fn generated_keys_round_trip() {
        let k = DestinationKeys::generate();
        let b = k.to_bytes();
        assert_eq!(b.len(), 391 + 32 + 32);
        // The destination's certificate: KEY, signing type 7, crypto type 4.
        assert_eq!(&b[384..391], &[5, 0, 4, 0, 7, 0, 4]);
        let back = DestinationKeys::parse(&b).unwrap();
        assert_eq!(back.destination(), k.destination());
        assert_eq!(
            back.encryption_key().public_key(),
            k.encryption_key().public_key()
        );
        assert_eq!(
            back.destination().public_key(),
            Some(&k.encryption_key().public_key()[..])
        );
        let sig = back.signing_key().sign(b"x");
        k.destination().verify(b"x", &sig, "test").unwrap();
        assert_eq!(&back.to_bytes()[..], &b[..]);
        assert_eq!(
            Destination::from_bytes(&b[..391]).unwrap(),
            *k.destination()
        );
    }

    #[test]
    fn elgamal_typed_files_keep_a_stable_x25519_key() {
        let signing = SigningKey::random();
        let dest = Destination::new_ed25519(&signing.verifying_key());
        let mut file = dest.to_bytes();
        file.extend_from_slice(&[7u8; ELGAMAL_PRIVATE_LEN]);
        file.extend_from_slice(&signing.to_bytes()[..]);
        let a = DestinationKeys::parse(&file).unwrap();
        let b = DestinationKeys::parse(&file).unwrap();
        assert_eq!(a.destination(), &dest);
        assert_eq!(
            a.encryption_key().public_key(),
            b.encryption_key().public_key()
        );
        assert_eq!(&a.to_bytes()[..], &file[..], "written back unchanged");
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let k = DestinationKeys::generate();
        let good = k.to_bytes().to_vec();
        let reason = |b: &[u8]| DestinationKeys::parse(b).unwrap_err().to_string();
        assert!(reason(&good[..good.len() - 1]).contains("private key file"));
        let mut long = good.clone();
        long.push(0);
        assert!(reason(&long).contains("trailing"));
        let mut wrong_sig = good.clone();
        let n = wrong_sig.len();
        wrong_sig[n - 1] ^= 1;
        assert!(reason(&wrong_sig).contains("does not match"));
        let mut wrong_enc = good.clone();
        wrong_enc[392] ^= 1;
        assert!(reason(&wrong_enc).contains("does not match"));
        let mut offline = good.clone();
        offline[n - 32..].fill(0);
        assert!(reason(&offline).contains("offline"));
        assert!(DestinationKeys::parse(&[]).is_err());
    }
}
