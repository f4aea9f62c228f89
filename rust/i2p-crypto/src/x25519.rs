//! X25519 keys (crypto type 4; cryptography.rst, "X25519").

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// An X25519 public key, 32 bytes little-endian.
pub type PublicKey = [u8; 32];

/// An X25519 private key. Zeroized on drop; `Debug` never prints it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StaticSecret([u8; 32]);

impl std::fmt::Debug for StaticSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticSecret(..)")
    }
}

impl StaticSecret {
    /// A new random key from the OS CSPRNG.
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        crate::random_bytes(&mut k);
        Self(k)
    }

    /// A key from its 32 bytes (as stored in our key file).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 private bytes, for writing our key file.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let s = x25519_dalek::StaticSecret::from(self.0);
        x25519_dalek::PublicKey::from(&s).to_bytes()
    }

    /// The shared secret with `their_public`. Errors on an all-zero result
    /// (a low-order point), which the specs require callers to refuse.
    pub fn diffie_hellman(&self, their_public: &PublicKey) -> crate::Result<Zeroizing<[u8; 32]>> {
        let s = x25519_dalek::StaticSecret::from(self.0);
        let shared = s.diffie_hellman(&x25519_dalek::PublicKey::from(*their_public));
        if !shared.was_contributory() {
            return Err(crate::Error::BadKey("X25519 low-order point"));
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn dh_agrees() {
        let a = StaticSecret::random();
        let b = StaticSecret::random();
        let ab = a.diffie_hellman(&b.public_key()).unwrap();
        let ba = b.diffie_hellman(&a.public_key()).unwrap();
        assert_eq!(*ab, *ba);
    }

    #[test]
    fn rfc7748_vector() {
        let alice = StaticSecret::from_bytes(
            hex::decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        assert_eq!(
            hex::encode(alice.public_key()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
        );
    }

    #[test]
    fn low_order_point_refused() {
        let a = StaticSecret::random();
        assert!(a.diffie_hellman(&[0u8; 32]).is_err());
    }
}
