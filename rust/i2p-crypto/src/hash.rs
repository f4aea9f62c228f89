//! SHA-256, HMAC-SHA256 and HKDF as I2P uses them (cryptography.rst; ntcp2.rst, "KDF").

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

pub use sha2::Sha256 as Sha256Hasher;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 over the concatenation of `parts`.
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-512 of `data` (SU3 RSA-SHA512-4096 signatures).
pub fn sha512(data: &[u8]) -> [u8; 64] {
    Sha512::digest(data).into()
}

/// HMAC-SHA256(key, data) over the concatenation of `data` (RFC 2104).
pub fn hmac_sha256(key: &[u8], data: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    for d in data {
        mac.update(d);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac() -> HmacSha256 {
    // `new_from_slice` on HMAC never rejects a key; keep a total function anyway.
    <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable_hmac())
}

/// I2P's HKDF with two 32-byte outputs, as the specs write it:
/// `temp = HMAC(salt, ikm); out1 = HMAC(temp, info || 0x01); out2 = HMAC(temp, out1 || info || 0x02)`.
///
/// This is RFC 5869 HKDF-SHA256 with a 64-byte output (ntcp2.rst, "KDF for data
/// phase"; ecies.rst, "KDFs").
pub fn hkdf2(salt: &[u8], ikm: &[u8], info: &[u8]) -> ([u8; 32], [u8; 32]) {
    let temp = zeroize::Zeroizing::new(hmac_sha256(salt, &[ikm]));
    let out1 = hmac_sha256(temp.as_ref(), &[info, &[0x01]]);
    let out2 = hmac_sha256(temp.as_ref(), &[&out1, info, &[0x02]]);
    (out1, out2)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn hkdf_matches_rfc5869_case_1_prefix() {
        // RFC 5869 A.1: IKM 22 x 0x0b, salt 000102..0c, info f0..f9, L = 42.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let (a, b) = hkdf2(&salt, &ikm, &info);
        let okm = hex::decode(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        )
        .unwrap();
        assert_eq!(&a[..], &okm[..32]);
        assert_eq!(&b[..10], &okm[32..42]);
    }

    #[test]
    fn sha256_known() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
