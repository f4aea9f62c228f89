//! Base32 as I2P uses it for `.b32.i2p` names: RFC 4648 alphabet, lowercase, no
//! padding (naming.md, "Base32 Addresses"; b32encrypted.rst).

use std::sync::OnceLock;

use data_encoding::{Encoding, Specification};

use crate::bytes::{Error, Result};

fn encoding() -> &'static Encoding {
    static ENC: OnceLock<Encoding> = OnceLock::new();
    ENC.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
        // Accept upper case on input: host names are case-insensitive.
        spec.translate.from.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        spec.translate.to.push_str("abcdefghijklmnopqrstuvwxyz");
        // See base64.rs: a constant specification; never fails in practice.
        spec.encoding()
            .unwrap_or_else(|_| data_encoding::BASE32_NOPAD.clone())
    })
}

/// Encodes `data` in lowercase base32 without padding.
pub fn encode(data: &[u8]) -> String {
    encoding().encode(data)
}

/// Decodes unpadded base32 (either case).
pub fn decode(text: &str) -> Result<Vec<u8>> {
    encoding()
        .decode(text.as_bytes())
        .map_err(|_| Error::BadEncoding("base32"))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn rfc4648_vectors_lowercase_unpadded() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "my");
        assert_eq!(encode(b"fo"), "mzxq");
        assert_eq!(encode(b"foo"), "mzxw6");
        assert_eq!(encode(b"foob"), "mzxw6yq");
        assert_eq!(encode(b"fooba"), "mzxw6ytb");
        assert_eq!(encode(b"foobar"), "mzxw6ytboi");
        assert_eq!(decode("mzxw6ytboi").unwrap(), b"foobar");
        assert_eq!(decode("MZXW6YTBOI").unwrap(), b"foobar");
    }

    #[test]
    fn padding_and_garbage_are_refused() {
        assert!(decode("my======").is_err());
        assert!(decode("m1").is_err());
        assert!(decode("mz").is_err(), "non-zero trailing bits");
    }

    #[test]
    fn a_32_byte_hash_is_52_characters() {
        let h = [0xffu8; 32];
        let s = encode(&h);
        assert_eq!(s.len(), 52);
        assert_eq!(decode(&s).unwrap(), h);
    }
}
