//! I2P's base64: RFC 4648 base64 with `-` and `~` in place of `+` and `/`, with `=`
//! padding (common-structures.rst notes; naming.md, "Base64").
//!
//! Used for Destinations, router hashes in logs and the `s=` / `i=` options of
//! RouterAddresses.

use std::sync::OnceLock;

use data_encoding::{Encoding, Specification};

use crate::bytes::{Error, Result};

/// The I2P alphabet, in value order.
pub const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";

fn encoding() -> &'static Encoding {
    static ENC: OnceLock<Encoding> = OnceLock::new();
    ENC.get_or_init(|| {
        let mut spec = Specification::new();
        spec.symbols.push_str(ALPHABET);
        spec.padding = Some('=');
        // The specification is a constant; `encoding()` only fails on a bad one, which
        // the tests of this module would catch. Fall back to standard base64 rather
        // than panic.
        spec.encoding()
            .unwrap_or_else(|_| data_encoding::BASE64.clone())
    })
}

/// Encodes `data` in I2P base64, with `=` padding.
pub fn encode(data: &[u8]) -> String {
    encoding().encode(data)
}

/// Decodes I2P base64 (padding required, as I2P writes it).
pub fn decode(text: &str) -> Result<Vec<u8>> {
    encoding()
        .decode(text.as_bytes())
        .map_err(|_| Error::BadEncoding("I2P base64"))
}

/// Decodes I2P base64 that must hold exactly `N` bytes.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N]> {
    let v = decode(text)?;
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| Error::BadEncoding("I2P base64 (length)"))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn rfc4648_vectors_with_i2p_alphabet() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        // 0xfb 0xff maps to "+/8=" in standard base64.
        assert_eq!(encode(&[0xfb, 0xff]), "-~8=");
        assert_eq!(decode("-~8=").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode("Zm9vYmFy").unwrap(), b"foobar");
    }

    #[test]
    fn standard_alphabet_and_garbage_are_refused() {
        assert!(decode("+/8=").is_err());
        assert!(decode("Zg").is_err(), "padding is required");
        assert!(decode("Z===").is_err());
        assert!(decode("Zh==").is_err(), "non-zero trailing bits");
    }

    #[test]
    fn decode_array_checks_length() {
        assert_eq!(decode_array::<2>("-~8=").unwrap(), [0xfb, 0xff]);
        assert!(decode_array::<3>("-~8=").is_err());
    }

    #[test]
    fn i2pd_ntcp2_static_key() {
        // `s=` of the NTCP2 address in tests/data/i2pd-2.45.1-router.info and the first
        // 32 bytes of the ntcp2.keys file i2pd wrote alongside it.
        let s = "F8c3AqMAWIsLLSrLw8vLsnR1W~Ehthwz29KlV34uNyc=";
        let key = decode_array::<32>(s).unwrap();
        assert_eq!(
            hex::encode(key),
            "17c73702a300588b0b2d2acbc3cbcbb274755bf121b61c33dbd2a5577e2e3727"
        );
        assert_eq!(encode(&key), s);
    }
}
