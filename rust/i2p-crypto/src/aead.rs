//! ChaCha20-Poly1305 (RFC 7539) with the Noise nonce layout: four zero bytes, then
//! the 64-bit counter little-endian (ntcp2.rst, "Crypto": "12 byte nonce, with the
//! first 4 bytes set to zero").

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};

/// Length of the Poly1305 tag.
pub const TAG_LEN: usize = 16;

fn nonce(n: u64) -> Nonce {
    let mut b = [0u8; 12];
    b[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::from(b)
}

/// Encrypts `buf` in place and appends the 16-byte tag.
pub fn encrypt_in_place(key: &[u8; 32], n: u64, ad: &[u8], buf: &mut Vec<u8>) {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    // Only fails if the buffer exceeds ChaCha20's 256 GiB limit, which no caller can reach.
    let tag = cipher
        .encrypt_in_place_detached(&nonce(n), ad, buf)
        .unwrap_or_else(|_| Tag::default());
    buf.extend_from_slice(&tag);
}

/// Encrypts `plaintext` and returns ciphertext || tag.
pub fn encrypt(key: &[u8; 32], n: u64, ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(plaintext.len() + TAG_LEN);
    buf.extend_from_slice(plaintext);
    encrypt_in_place(key, n, ad, &mut buf);
    buf
}

/// Verifies and decrypts ciphertext || tag in place; on success `buf` holds the
/// plaintext (16 bytes shorter).
pub fn decrypt_in_place(key: &[u8; 32], n: u64, ad: &[u8], buf: &mut Vec<u8>) -> crate::Result<()> {
    if buf.len() < TAG_LEN {
        return Err(crate::Error::BadLength("AEAD frame shorter than its tag"));
    }
    let split = buf.len() - TAG_LEN;
    let tag = *Tag::from_slice(&buf[split..]);
    buf.truncate(split);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key));
    cipher
        .decrypt_in_place_detached(&nonce(n), ad, buf, &tag)
        .map_err(|_| crate::Error::AeadTag)
}

/// Verifies and decrypts ciphertext || tag.
pub fn decrypt(key: &[u8; 32], n: u64, ad: &[u8], ciphertext: &[u8]) -> crate::Result<Vec<u8>> {
    let mut buf = ciphertext.to_vec();
    decrypt_in_place(key, n, ad, &mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key: [u8; 32] = (0x80u8..=0x9f).collect::<Vec<_>>().try_into().unwrap();
        let ct = encrypt(&key, 7, b"ad", b"hello");
        assert_eq!(decrypt(&key, 7, b"ad", &ct).unwrap(), b"hello");
        assert!(decrypt(&key, 8, b"ad", &ct).is_err());
        assert!(decrypt(&key, 7, b"ae", &ct).is_err());
        assert!(decrypt(&key, 7, b"ad", &ct[..10]).is_err());
        let mut flipped = ct.clone();
        flipped[0] ^= 1;
        assert!(decrypt(&key, 7, b"ad", &flipped).is_err());
    }

    #[test]
    fn nonce_layout_is_zero_prefix_then_le_counter() {
        // The same key and counter through the raw crate with the layout written out.
        let key = [7u8; 32];
        let mut raw = b"abc".to_vec();
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
        let tag = ChaCha20Poly1305::new(Key::from_slice(&key))
            .encrypt_in_place_detached(Nonce::from_slice(&n), b"", &mut raw)
            .unwrap();
        raw.extend_from_slice(&tag);
        assert_eq!(encrypt(&key, 0x0102_0304_0506_0708, b"", b"abc"), raw);
    }
}
