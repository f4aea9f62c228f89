//! Naming RouterInfo files: the router hash and its I2P base64 form.
//!
//! common_structures.rst, "RouterIdentity": 256 bytes of public key, 128 bytes of
//! signing public key (with padding), then a Certificate (1 byte type, 2 bytes length,
//! payload). The router hash is SHA-256 over the whole RouterIdentity; netDb files are
//! named `routerInfo-<base64 hash>.dat` under `r<first base64 char>/`.
//!
//! `i2p-wire` will replace this small computation once its RouterInfo parser is in;
//! the harness only needs the identity length, so it keeps its own copy until then.

use crate::{Error, Result};

/// Bytes of a RouterIdentity before its certificate's payload: 256 + 128 + 1 + 2.
const IDENTITY_FIXED_LEN: usize = 387;

/// I2P's base64 alphabet (common_structures.rst, "Base64"): `+` and `/` become `-` and `~`.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";

/// I2P base64 with `=` padding.
pub fn base64_i2p(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let idx = usize::try_from((n >> shift) & 0x3f).unwrap_or(0);
                out.push(char::from(ALPHABET[idx]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Length of the RouterIdentity at the start of a RouterInfo: 387 + certificate length.
pub fn identity_len(router_info: &[u8]) -> Result<usize> {
    let len_bytes = router_info
        .get(IDENTITY_FIXED_LEN - 2..IDENTITY_FIXED_LEN)
        .ok_or(Error::BadRouterInfo("shorter than a RouterIdentity"))?;
    let cert_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    let total = IDENTITY_FIXED_LEN + cert_len;
    if router_info.len() < total {
        return Err(Error::BadRouterInfo("certificate runs past the end"));
    }
    Ok(total)
}

/// The router hash: SHA-256 of the RouterIdentity.
pub fn router_hash(router_info: &[u8]) -> Result<[u8; 32]> {
    let len = identity_len(router_info)?;
    Ok(i2p_crypto::hash::sha256(&router_info[..len]))
}

/// The router hash in I2P base64 (44 characters), as i2pd names netDb files.
pub fn router_hash_b64(router_info: &[u8]) -> Result<String> {
    Ok(base64_i2p(&router_hash(router_info)?))
}

/// The path of a RouterInfo inside a netDb directory: `r<C>/routerInfo-<HASH>.dat`.
pub fn netdb_relative_path(hash_b64: &str) -> String {
    let c = hash_b64.chars().next().unwrap_or('A');
    format!("r{c}/routerInfo-{hash_b64}.dat")
}

/// The reseed zip entry name for a RouterInfo: `routerInfo-<HASH>.dat`.
pub fn reseed_entry_name(hash_b64: &str) -> String {
    format!("routerInfo-{hash_b64}.dat")
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn base64_uses_i2p_alphabet_and_padding() {
        assert_eq!(base64_i2p(b""), "");
        assert_eq!(base64_i2p(b"f"), "Zg==");
        assert_eq!(base64_i2p(b"fo"), "Zm8=");
        assert_eq!(base64_i2p(b"foo"), "Zm9v");
        // 0xfb 0xff -> standard "+/8=", I2P "-~8="
        assert_eq!(base64_i2p(&[0xfb, 0xff]), "-~8=");
        assert_eq!(base64_i2p(&[0u8; 32]).len(), 44);
    }

    #[test]
    fn identity_length_follows_certificate() {
        let mut ri = vec![0u8; 400];
        ri[384] = 5; // key certificate
        ri[385] = 0;
        ri[386] = 4;
        assert_eq!(identity_len(&ri).unwrap(), 391);
        ri[386] = 200; // runs past the end
        assert!(identity_len(&ri).is_err());
        assert!(identity_len(&ri[..100]).is_err());
        let h = router_hash_b64(&{
            let mut r = ri.clone();
            r[386] = 4;
            r
        })
        .unwrap();
        assert_eq!(
            netdb_relative_path(&h),
            format!("r{}/routerInfo-{h}.dat", &h[..1])
        );
    }
}
