//! AES-256 in CBC and ECB mode, without padding (cryptography.rst, "AES"; used by
//! NTCP2 to obfuscate the ephemeral key and by tunnel layer encryption).

use aes::cipher::{
    BlockDecrypt, BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit,
};
use aes::Aes256;

/// AES block length.
pub const BLOCK_LEN: usize = 16;

/// Encrypts `data` (a multiple of 16 bytes) in place with AES-256-CBC. Returns the
/// last ciphertext block, the IV to continue the chain with (NTCP2 message 2 uses it).
pub fn cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) -> crate::Result<[u8; 16]> {
    if !data.len().is_multiple_of(BLOCK_LEN) {
        return Err(crate::Error::BadLength("AES-CBC data not a multiple of 16"));
    }
    let mut enc = cbc::Encryptor::<Aes256>::new(key.into(), iv.into());
    for block in data.chunks_exact_mut(BLOCK_LEN) {
        enc.encrypt_block_mut(block.into());
    }
    Ok(last_block(data, iv))
}

/// Decrypts `data` (a multiple of 16 bytes) in place with AES-256-CBC. Returns the last
/// ciphertext block (the next IV of the chain).
pub fn cbc_decrypt(key: &[u8; 32], iv: &[u8; 16], data: &mut [u8]) -> crate::Result<[u8; 16]> {
    if !data.len().is_multiple_of(BLOCK_LEN) {
        return Err(crate::Error::BadLength("AES-CBC data not a multiple of 16"));
    }
    let next_iv = last_block(data, iv);
    let mut dec = cbc::Decryptor::<Aes256>::new(key.into(), iv.into());
    for block in data.chunks_exact_mut(BLOCK_LEN) {
        dec.decrypt_block_mut(block.into());
    }
    Ok(next_iv)
}

fn last_block(data: &[u8], iv: &[u8; 16]) -> [u8; 16] {
    match data.len().checked_sub(BLOCK_LEN) {
        Some(start) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&data[start..]);
            b
        }
        None => *iv,
    }
}

/// AES-256 on single blocks (ECB), keyed once: tunnel IV encryption.
#[derive(Clone)]
pub struct Aes256Ecb(Aes256);

impl Aes256Ecb {
    /// A cipher for `key`.
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Aes256::new(key.into()))
    }

    /// Encrypts one block in place.
    pub fn encrypt_block(&self, block: &mut [u8; 16]) {
        self.0.encrypt_block(block.into());
    }

    /// Decrypts one block in place.
    pub fn decrypt_block(&self, block: &mut [u8; 16]) {
        self.0.decrypt_block(block.into());
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn nist_sp800_38a_cbc_aes256() {
        // NIST SP 800-38A F.2.5, first two blocks.
        let key: [u8; 32] =
            hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .unwrap()
                .try_into()
                .unwrap();
        let iv: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
            .unwrap()
            .try_into()
            .unwrap();
        let mut data =
            hex::decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
                .unwrap();
        let last = cbc_encrypt(&key, &iv, &mut data).unwrap();
        assert_eq!(
            hex::encode(&data),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        );
        assert_eq!(&last[..], &data[16..]);
        let last_ct = cbc_decrypt(&key, &iv, &mut data).unwrap();
        assert_eq!(hex::encode(last_ct), "9cfc4e967edb808d679f777bc6702c7d");
        assert_eq!(
            hex::encode(&data),
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
        );
    }

    #[test]
    fn ecb_nist_aes256() {
        // FIPS-197 C.3.
        let key: [u8; 32] = (0u8..32).collect::<Vec<_>>().try_into().unwrap();
        let mut b: [u8; 16] = hex::decode("00112233445566778899aabbccddeeff")
            .unwrap()
            .try_into()
            .unwrap();
        let c = Aes256Ecb::new(&key);
        c.encrypt_block(&mut b);
        assert_eq!(hex::encode(b), "8ea2b7ca516745bfeafc49904b496089");
        c.decrypt_block(&mut b);
        assert_eq!(hex::encode(b), "00112233445566778899aabbccddeeff");
    }

    #[test]
    fn bad_length_refused() {
        assert!(cbc_encrypt(&[0; 32], &[0; 16], &mut [0u8; 15]).is_err());
    }
}
