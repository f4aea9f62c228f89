//! Simple common types (common-structures.rst, "Common type specification"):
//! [`Hash`], [`Date`] and [`I2pString`]. An `Integer` is read and written with the
//! big-endian helpers of [`crate::bytes`]; [`crate::mapping::Mapping`] has its own module.

use std::fmt;

use crate::bytes::{Error, Readable, Reader, Result, Writeable, Writer};
use crate::{base32, base64};

/// A SHA-256 hash (common-structures.rst, "Hash"): 32 bytes.
///
/// Router hashes are SHA-256 of the serialized RouterIdentity; they are the keys of
/// the network database. `Display` is I2P base64, as i2pd and Java I2P print them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length on the wire.
    pub const LEN: usize = 32;

    /// SHA-256 of `data`.
    pub fn digest(data: &[u8]) -> Self {
        Hash(i2p_crypto::hash::sha256(data))
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// I2P base64 (44 characters with one `=`).
    pub fn to_base64(&self) -> String {
        base64::encode(&self.0)
    }

    /// Lowercase unpadded base32 (52 characters), as in `.b32.i2p` names.
    pub fn to_base32(&self) -> String {
        base32::encode(&self.0)
    }

    /// Parses I2P base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self> {
        base64::decode_array(text).map(Hash)
    }

    /// Parses base32 of exactly 32 bytes.
    pub fn from_base32(text: &str) -> Result<Self> {
        let v = base32::decode(text)?;
        <[u8; 32]>::try_from(v.as_slice())
            .map(Hash)
            .map_err(|_| Error::BadEncoding("base32 (length)"))
    }
}

impl From<[u8; 32]> for Hash {
    fn from(b: [u8; 32]) -> Self {
        Hash(b)
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_base64())
    }
}

impl Readable for Hash {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.take_array().map(Hash)
    }
}

impl Writeable for Hash {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_bytes(&self.0);
    }
}

/// A Date (common-structures.rst, "Date"): milliseconds since the Unix epoch, as an
/// 8-byte Integer. Zero means "undefined or null".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Date(pub u64);

impl Date {
    /// The null date.
    pub const NULL: Date = Date(0);

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> u64 {
        self.0
    }

    /// True for the null date (zero).
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl Readable for Date {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.take_u64().map(Date)
    }
}

impl Writeable for Date {
    fn write_onto(&self, out: &mut Vec<u8>) {
        out.write_u64(self.0);
    }
}

/// An I2P String (common-structures.rst, "String"): a 1-byte length then up to 255
/// bytes.
///
/// The bytes are kept as they came: the spec says UTF-8, but also that I2NP does not
/// always honour it, and signatures cover the exact bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct I2pString(Vec<u8>);

impl I2pString {
    /// Longest content, in bytes.
    pub const MAX_LEN: usize = 255;

    /// A string of `bytes`; errors if longer than 255 bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self> {
        let bytes = bytes.into();
        if bytes.len() > Self::MAX_LEN {
            return Err(Error::invalid("String", "longer than 255 bytes"));
        }
        Ok(I2pString(bytes))
    }

    /// The content bytes (without the length byte).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The content as UTF-8, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Bytes on the wire: the length byte plus the content.
    pub fn wire_len(&self) -> usize {
        1 + self.0.len()
    }
}

impl TryFrom<&str> for I2pString {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        I2pString::new(s.as_bytes())
    }
}

impl fmt::Debug for I2pString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Display for I2pString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl Readable for I2pString {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        let len = usize::from(r.take_u8()?);
        Ok(I2pString(r.take(len)?.to_vec()))
    }
}

impl Writeable for I2pString {
    fn write_onto(&self, out: &mut Vec<u8>) {
        // Length checked at construction: <= 255.
        out.write_u8(u8::try_from(self.0.len()).unwrap_or(u8::MAX));
        out.write_bytes(&self.0);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn hash_text_forms() {
        let h = Hash::digest(b"");
        // SHA-256("") = e3b0c442...
        assert_eq!(
            hex::encode(h.0),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            h.to_base64(),
            "47DEQpj8HBSa-~TImW-5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            h.to_base32(),
            "4oymiquy7qobjgx36tejs35zeqt24qpemsnzgtfeswmrw6csxbkq"
        );
        assert_eq!(h.to_string(), h.to_base64());
        assert_eq!(Hash::from_base64(&h.to_base64()).unwrap(), h);
        assert_eq!(Hash::from_base32(&h.to_base32()).unwrap(), h);
        assert!(Hash::from_base64("Zm9v").is_err());
    }

    #[test]
    fn string_round_trip_and_limits() {
        let s = I2pString::try_from("NTCP2").unwrap();
        let b = s.to_bytes();
        assert_eq!(b, b"\x05NTCP2");
        assert_eq!(I2pString::from_bytes(&b).unwrap(), s);
        assert!(I2pString::new(vec![b'a'; 256]).is_err());
        let long = I2pString::new(vec![b'a'; 255]).unwrap();
        assert_eq!(long.to_bytes().len(), 256);
        assert!(I2pString::from_bytes(b"\x03ab").is_err());
    }

    #[test]
    fn date_is_eight_bytes_big_endian() {
        let d = Date(0x0000_0193_0000_0001);
        assert_eq!(d.to_bytes(), [0, 0, 1, 0x93, 0, 0, 0, 1]);
        assert_eq!(Date::from_bytes(&d.to_bytes()).unwrap(), d);
        assert!(Date::NULL.is_null());
    }
}
