//! Red25519 (signature type 11) and the daily key blinding of encrypted LeaseSets
//! (red25519.rst; encryptedleaseset.rst, "Blinding Key Derivation").
//!
//! Red25519 is Ed25519 over the same curve with SHA-512; verification is Ed25519's.
//! Two things differ and are why this module exists: private keys are scalars
//! reduced mod L (not clamped seeds), and the signing nonce is
//! `r = H*(T || A || M)` with 80 random bytes `T`. Blinding adds a daily scalar
//! `alpha`: `a' = a + alpha mod L` for the owner, `A' = A + alpha·B` for everyone who
//! knows `A`; both give the same point.

use curve25519_dalek::constants::ED25519_BASEPOINT_TABLE;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, Result};

/// Signature type of Ed25519 (EdDSA-SHA512-Ed25519).
pub const SIG_TYPE_ED25519: u16 = 7;
/// Signature type of Red25519 (RedDSA-SHA512-Ed25519), the type of blinded keys.
pub const SIG_TYPE_RED25519: u16 = 11;
/// Length of public keys.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of signatures.
pub const SIGNATURE_LEN: usize = 64;

/// `keydata = A || stA || stA'` (encryptedleaseset.rst, "GENERATE_ALPHA").
fn keydata(public_key: &[u8; 32], sig_type: u16) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(public_key);
    k[32..34].copy_from_slice(&sig_type.to_be_bytes());
    k[34..].copy_from_slice(&SIG_TYPE_RED25519.to_be_bytes());
    k
}

/// `alpha = HKDF(H("I2PGenerateAlpha", keydata), date || secret, "i2pblinding1", 64)
/// mod L`, the seed read little-endian. `date` is `YYYYMMDD` (UTC) in ASCII.
fn generate_alpha(public_key: &[u8; 32], sig_type: u16, date: &[u8; 8]) -> Scalar {
    let salt = crate::hash::sha256_parts(&[b"I2PGenerateAlpha", &keydata(public_key, sig_type)]);
    // No secret: the ikm is the date alone (client secrets are not supported).
    let (lo, hi) = crate::hash::hkdf2(&salt, date, b"i2pblinding1");
    let mut seed = Zeroizing::new([0u8; 64]);
    seed[..32].copy_from_slice(&lo);
    seed[32..].copy_from_slice(&hi);
    Scalar::from_bytes_mod_order_wide(&seed)
}

/// `credential = H("credential", A || stA || stA')`, then
/// `subcredential = H("subcredential", credential || A')` (encryptedleaseset.rst,
/// "Derivation of subcredentials").
pub fn subcredential(public_key: &[u8; 32], sig_type: u16, blinded: &[u8; 32]) -> [u8; 32] {
    let credential = crate::hash::sha256_parts(&[b"credential", &keydata(public_key, sig_type)]);
    crate::hash::sha256_parts(&[b"subcredential", &credential, blinded])
}

/// `A' = A + alpha·B` for the day `date`: the blinded public key a client computes
/// from a destination's signing key `A` of type `sig_type` (7 or 11).
pub fn blind_public_key(public_key: &[u8; 32], sig_type: u16, date: &[u8; 8]) -> Result<[u8; 32]> {
    check_sig_type(sig_type)?;
    let a = CompressedEdwardsY(*public_key)
        .decompress()
        .ok_or(Error::BadKey("not an Ed25519 point"))?;
    let alpha = generate_alpha(public_key, sig_type, date);
    Ok((a + ED25519_BASEPOINT_TABLE * &alpha).compress().to_bytes())
}

fn check_sig_type(sig_type: u16) -> Result<()> {
    match sig_type {
        SIG_TYPE_ED25519 | SIG_TYPE_RED25519 => Ok(()),
        _ => Err(Error::BadKey(
            "only Ed25519 and Red25519 keys can be blinded",
        )),
    }
}

/// A blinded Red25519 signing key `a'` and its public key `A'`.
pub struct BlindedSigningKey {
    scalar: Scalar,
    public: [u8; 32],
}

impl std::fmt::Debug for BlindedSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlindedSigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl Drop for BlindedSigningKey {
    fn drop(&mut self) {
        self.scalar.zeroize();
    }
}

impl BlindedSigningKey {
    /// Blinds an Ed25519 (type 7) signing key given by its 32-byte seed for the day
    /// `date`: `a` is the clamped left half of SHA-512(seed), `a' = a + alpha mod L`.
    pub fn from_ed25519_seed(seed: &[u8; 32], date: &[u8; 8]) -> Self {
        let mut h = Zeroizing::new([0u8; 64]);
        h.copy_from_slice(&Sha512::digest(seed));
        let mut a_bytes = Zeroizing::new([0u8; 32]);
        a_bytes.copy_from_slice(&h[..32]);
        a_bytes[0] &= 248;
        a_bytes[31] &= 127;
        a_bytes[31] |= 64;
        let mut a = Scalar::from_bytes_mod_order(*a_bytes);
        let public_key = (ED25519_BASEPOINT_TABLE * &a).compress().to_bytes();
        let alpha = generate_alpha(&public_key, SIG_TYPE_ED25519, date);
        let scalar = a + alpha;
        a.zeroize();
        Self {
            public: (ED25519_BASEPOINT_TABLE * &scalar).compress().to_bytes(),
            scalar,
        }
    }

    /// The blinded public key `A'`.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Signs `msg` (red25519.rst, "Sign"): `r = H*(T || A' || msg)` with 80 random
    /// bytes `T`, `R = r·B`, `S = r + H*(R || A' || msg)·a'`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut t = Zeroizing::new([0u8; 80]);
        crate::random_bytes(t.as_mut());
        let mut r = hash_to_scalar(&[t.as_ref(), &self.public, msg]);
        let big_r = (ED25519_BASEPOINT_TABLE * &r).compress().to_bytes();
        let k = hash_to_scalar(&[&big_r, &self.public, msg]);
        let s = r + k * self.scalar;
        r.zeroize();
        let mut sig = [0u8; SIGNATURE_LEN];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        sig
    }
}

/// `H*(x) = SHA-512(x) mod L`, read little-endian.
fn hash_to_scalar(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    let mut wide = Zeroizing::new([0u8; 64]);
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// Verifies a Red25519 signature: the same check as Ed25519's.
pub fn verify(public_key: &[u8; 32], msg: &[u8], sig: &[u8]) -> Result<()> {
    crate::ed25519::VerifyingKey::from_bytes(public_key)?.verify(msg, sig)
}

/// The ChaCha20 stream cipher of RFC 7539 with the block counter starting at 1, as
/// encrypted LeaseSets use it (encryptedleaseset.rst, "STREAM"). Encrypts or
/// decrypts `data` in place.
pub fn chacha20_stream(key: &[u8; 32], iv: &[u8; 12], data: &mut [u8]) {
    use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
    let mut cipher = chacha20::ChaCha20::new(key.into(), iv.into());
    cipher.seek(64u64);
    cipher.apply_keystream(data);
}

#[cfg(test)]
mod test {
    use super::*;

    const DAY: &[u8; 8] = b"20261126";

    #[test]
    fn blinding_the_private_and_the_public_key_agree() {
        for i in 0..8u8 {
            let seed = [i.wrapping_mul(37).wrapping_add(1); 32];
            let ed = crate::ed25519::SigningKey::from_bytes(&seed);
            let a = ed.verifying_key().to_bytes();
            let blinded = BlindedSigningKey::from_ed25519_seed(&seed, DAY);
            assert_eq!(
                blind_public_key(&a, SIG_TYPE_ED25519, DAY).unwrap(),
                blinded.public_key()
            );
            assert_ne!(blinded.public_key(), a, "the blinded key is not the key");
            let other_day = BlindedSigningKey::from_ed25519_seed(&seed, b"20261127");
            assert_ne!(
                other_day.public_key(),
                blinded.public_key(),
                "a new key each day"
            );
        }
    }

    #[test]
    fn red25519_signatures_verify_as_ed25519_and_differ_each_time() {
        let blinded = BlindedSigningKey::from_ed25519_seed(&[9; 32], DAY);
        let s1 = blinded.sign(b"encrypted leaseset");
        let s2 = blinded.sign(b"encrypted leaseset");
        assert_ne!(s1, s2, "random nonce");
        verify(&blinded.public_key(), b"encrypted leaseset", &s1).unwrap();
        verify(&blinded.public_key(), b"encrypted leaseset", &s2).unwrap();
        assert!(verify(&blinded.public_key(), b"other", &s1).is_err());
        let mut bad = s1;
        bad[40] ^= 1;
        assert!(verify(&blinded.public_key(), b"encrypted leaseset", &bad).is_err());
    }

    #[test]
    fn only_ed25519_keys_blind() {
        let a = crate::ed25519::SigningKey::from_bytes(&[1; 32])
            .verifying_key()
            .to_bytes();
        assert!(blind_public_key(&a, 1, DAY).is_err());
        assert!(
            blind_public_key(&a, SIG_TYPE_RED25519, DAY).is_ok(),
            "type 11 keys blind too"
        );
        assert_ne!(
            blind_public_key(&a, SIG_TYPE_RED25519, DAY).unwrap(),
            blind_public_key(&a, SIG_TYPE_ED25519, DAY).unwrap(),
            "the sig type is part of alpha"
        );
    }

    #[test]
    fn chacha20_starts_at_block_one() {
        // RFC 7539 2.4.2: key 00..1f, nonce 000000000000004a00000000, counter 1.
        let key: [u8; 32] = core::array::from_fn(|i| i as u8);
        let iv = hex::decode("000000000000004a00000000").unwrap();
        let iv: [u8; 12] = iv.try_into().unwrap();
        let mut data = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".to_vec();
        chacha20_stream(&key, &iv, &mut data);
        assert_eq!(hex::encode(&data[..16]), "6e2e359a2568f98041ba0728dd0d6981");
        chacha20_stream(&key, &iv, &mut data);
        assert!(data.starts_with(b"Ladies and Gentlemen"));
    }

    #[test]
    fn subcredential_binds_the_key_and_the_blinded_key() {
        let a = [5u8; 32];
        let b1 = [6u8; 32];
        let b2 = [7u8; 32];
        assert_ne!(
            subcredential(&a, SIG_TYPE_ED25519, &b1),
            subcredential(&a, SIG_TYPE_ED25519, &b2)
        );
        assert_ne!(
            subcredential(&a, SIG_TYPE_ED25519, &b1),
            subcredential(&a, SIG_TYPE_RED25519, &b1)
        );
    }
}
