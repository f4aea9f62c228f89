//! EdDSA-SHA512-Ed25519, signature type 7 (cryptography.rst, "EdDSA").

use ed25519_dalek::{Signer, Verifier};
use zeroize::Zeroizing;

/// Length of a public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of a signature.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key. The inner key zeroizes itself on drop.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A new random key.
    pub fn random() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        crate::random_bytes(seed.as_mut());
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// A key from its 32-byte seed (as stored in our key file).
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// The 32-byte seed, for writing our key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.0.sign(msg).to_bytes()
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// Parses a 32-byte public key; errors if it is not a valid point.
    pub fn from_bytes(bytes: &[u8]) -> crate::Result<Self> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| crate::Error::BadKey("Ed25519 key length"))?;
        ed25519_dalek::VerifyingKey::from_bytes(&arr)
            .map(Self)
            .map_err(|_| crate::Error::BadKey("Ed25519 point"))
    }

    /// The 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Verifies `sig` over `msg` (RFC 8032, as Java I2P and i2pd verify).
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> crate::Result<()> {
        let sig: [u8; SIGNATURE_LEN] = sig
            .try_into()
            .map_err(|_| crate::Error::BadLength("Ed25519 signature"))?;
        self.0
            .verify(msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .map_err(|_| crate::Error::BadSignature)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn sign_verify() {
        let k = SigningKey::random();
        let sig = k.sign(b"hello");
        let vk = VerifyingKey::from_bytes(&k.verifying_key().to_bytes()).unwrap();
        vk.verify(b"hello", &sig).unwrap();
        assert!(vk.verify(b"hellp", &sig).is_err());
    }

    #[test]
    fn rfc8032_test_1() {
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let k = SigningKey::from_bytes(&seed);
        assert_eq!(
            hex::encode(k.verifying_key().to_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(hex::encode(k.sign(b"")), "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    }
}
