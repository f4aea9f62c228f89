//! The Noise symmetric state (Noise spec section 5.2; ntcp2.rst, "KDF" sections):
//! `InitializeSymmetric`, `MixHash`, `MixKey`, `EncryptAndHash`, `DecryptAndHash`,
//! `Split`. I2P's variants (AES-obfuscated ephemeral keys, MixHash of padding,
//! Elligator2) are composed from these by the protocol crates.

use crate::aead;
use crate::hash::{hmac_sha256, sha256, sha256_parts};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The NTCP2 protocol name (ntcp2.rst, "KDF for handshake message 1"), 48 bytes.
pub const NTCP2_PROTOCOL_NAME: &[u8] = b"Noise_XKaesobfse+hs2+hs3_25519_ChaChaPoly_SHA256";

/// Chaining key, handshake hash and the current cipher key with its nonce.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SymmetricState {
    ck: [u8; 32],
    h: [u8; 32],
    k: Option<[u8; 32]>,
    n: u64,
}

impl std::fmt::Debug for SymmetricState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SymmetricState(..)")
    }
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`: `h` = the name padded to 32 bytes if it is
    /// that short, else its SHA-256; `ck = h`; no key.
    pub fn new(protocol_name: &[u8]) -> Self {
        let h = if protocol_name.len() <= 32 {
            let mut h = [0u8; 32];
            h[..protocol_name.len()].copy_from_slice(protocol_name);
            h
        } else {
            sha256(protocol_name)
        };
        Self {
            ck: h,
            h,
            k: None,
            n: 0,
        }
    }

    /// `MixHash(data)`: `h = SHA256(h || data)`.
    pub fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256_parts(&[&self.h, data]);
    }

    /// `MixKey(ikm)`: `temp = HMAC(ck, ikm); ck = HMAC(temp, 0x01); k = HMAC(temp, ck || 0x02)`,
    /// and the nonce restarts at 0.
    pub fn mix_key(&mut self, ikm: &[u8]) {
        let mut temp = hmac_sha256(&self.ck, &[ikm]);
        self.ck = hmac_sha256(&temp, &[&[0x01]]);
        self.k = Some(hmac_sha256(&temp, &[&self.ck, &[0x02]]));
        self.n = 0;
        temp.zeroize();
    }

    /// The handshake hash `h`.
    pub fn h(&self) -> &[u8; 32] {
        &self.h
    }

    /// The chaining key `ck`.
    pub fn ck(&self) -> &[u8; 32] {
        &self.ck
    }

    /// The current cipher key (after the first `MixKey`).
    pub fn k(&self) -> Option<&[u8; 32]> {
        self.k.as_ref()
    }

    /// The next nonce of the current cipher key.
    pub fn n(&self) -> u64 {
        self.n
    }

    /// `EncryptAndHash(plaintext)`: AEAD with `ad = h`, then `MixHash(ciphertext)`.
    /// Without a key the plaintext passes through (Noise spec), though I2P never
    /// reaches that case.
    pub fn encrypt_and_hash(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let ct = match &self.k {
            Some(k) => {
                let ct = aead::encrypt(k, self.n, &self.h, plaintext);
                self.n += 1;
                ct
            }
            None => plaintext.to_vec(),
        };
        self.mix_hash(&ct);
        ct
    }

    /// `DecryptAndHash(ciphertext)`: AEAD open with `ad = h`, then `MixHash(ciphertext)`.
    pub fn decrypt_and_hash(&mut self, ciphertext: &[u8]) -> crate::Result<Vec<u8>> {
        let pt = match &self.k {
            Some(k) => {
                let pt = aead::decrypt(k, self.n, &self.h, ciphertext)?;
                self.n += 1;
                pt
            }
            None => ciphertext.to_vec(),
        };
        self.mix_hash(ciphertext);
        Ok(pt)
    }

    /// `Split()`: `temp = HMAC(ck, ""); k1 = HMAC(temp, 0x01); k2 = HMAC(temp, k1 || 0x02)`.
    /// NTCP2 also derives SipHash keys here: see [`ntcp2_data_phase_keys`].
    pub fn split(&self) -> ([u8; 32], [u8; 32]) {
        crate::hash::hkdf2(&self.ck, &[], &[])
    }
}

/// The NTCP2 data-phase keys (ntcp2.rst, "KDF for data phase").
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Ntcp2DataKeys {
    /// ChaCha key for Alice to Bob.
    pub k_ab: [u8; 32],
    /// ChaCha key for Bob to Alice.
    pub k_ba: [u8; 32],
    /// SipHash k1, k2, IV (in that order, first 24 bytes) for Alice to Bob.
    pub sipkeys_ab: [u8; 32],
    /// SipHash k1, k2, IV for Bob to Alice.
    pub sipkeys_ba: [u8; 32],
}

/// Derives [`Ntcp2DataKeys`] from the final handshake state.
pub fn ntcp2_data_phase_keys(state: &SymmetricState) -> Ntcp2DataKeys {
    let mut temp = hmac_sha256(state.ck(), &[&[]]);
    let k_ab = hmac_sha256(&temp, &[&[0x01]]);
    let k_ba = hmac_sha256(&temp, &[&k_ab, &[0x02]]);
    let mut ask_master = hmac_sha256(&temp, &[b"ask", &[0x01]]);
    temp = hmac_sha256(&ask_master, &[state.h(), b"siphash"]);
    ask_master.zeroize();
    let mut sip_master = hmac_sha256(&temp, &[&[0x01]]);
    temp = hmac_sha256(&sip_master, &[&[]]);
    sip_master.zeroize();
    let sipkeys_ab = hmac_sha256(&temp, &[&[0x01]]);
    let sipkeys_ba = hmac_sha256(&temp, &[&sipkeys_ab, &[0x02]]);
    temp.zeroize();
    Ntcp2DataKeys {
        k_ab,
        k_ba,
        sipkeys_ab,
        sipkeys_ba,
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn protocol_name_is_48_bytes_and_hashed() {
        assert_eq!(NTCP2_PROTOCOL_NAME.len(), 48);
        let s = SymmetricState::new(NTCP2_PROTOCOL_NAME);
        assert_eq!(s.h(), &sha256(NTCP2_PROTOCOL_NAME));
        assert_eq!(s.ck(), s.h());
    }

    #[test]
    fn short_name_is_padded() {
        let s = SymmetricState::new(b"Noise_N");
        let mut want = [0u8; 32];
        want[..7].copy_from_slice(b"Noise_N");
        assert_eq!(s.h(), &want);
    }

    #[test]
    fn two_parties_agree() {
        let mut a = SymmetricState::new(NTCP2_PROTOCOL_NAME);
        let mut b = a.clone();
        a.mix_hash(b"rs");
        b.mix_hash(b"rs");
        a.mix_key(&[9u8; 32]);
        b.mix_key(&[9u8; 32]);
        let ct = a.encrypt_and_hash(b"payload");
        assert_eq!(b.decrypt_and_hash(&ct).unwrap(), b"payload");
        assert_eq!(a.h(), b.h());
        let ct2 = a.encrypt_and_hash(b"second");
        assert_eq!(a.n(), 2);
        assert_eq!(b.decrypt_and_hash(&ct2).unwrap(), b"second");
        assert_eq!(a.split(), b.split());
        let (ka, kb) = (ntcp2_data_phase_keys(&a), ntcp2_data_phase_keys(&b));
        assert_eq!(ka.k_ab, kb.k_ab);
        assert_eq!(ka.sipkeys_ba, kb.sipkeys_ba);
        assert_ne!(ka.k_ab, ka.k_ba);
    }

    #[test]
    fn mix_key_matches_spec_formula() {
        let mut s = SymmetricState::new(NTCP2_PROTOCOL_NAME);
        let ck0 = *s.ck();
        let ikm = [5u8; 32];
        s.mix_key(&ikm);
        let temp = hmac_sha256(&ck0, &[&ikm]);
        let ck = hmac_sha256(&temp, &[&[1]]);
        assert_eq!(s.ck(), &ck);
        assert_eq!(s.k().unwrap(), &hmac_sha256(&temp, &[&ck, &[2]]));
        // Split's k_ab equals the data phase k_ab.
        assert_eq!(s.split().0, ntcp2_data_phase_keys(&s).k_ab);
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let mut a = SymmetricState::new(NTCP2_PROTOCOL_NAME);
        a.mix_key(&[1u8; 32]);
        let mut b = a.clone();
        let mut ct = a.encrypt_and_hash(b"x");
        ct[0] ^= 0x80;
        assert!(b.decrypt_and_hash(&ct).is_err());
    }
}
