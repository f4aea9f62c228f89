//! The byte codec under every structure of this crate: a bounds-checked [`Reader`],
//! writing helpers on `Vec<u8>` ([`Writer`]), the [`Readable`]/[`Writeable`] traits
//! and the crate's [`Error`].
//!
//! All integers on the I2P wire are big endian (common-structures.rst, "Integer").
//!
//! Parsing is deterministic and cheap: a [`Readable`] never checks a signature and
//! never allocates more than the bytes it was given justify.

/// Everything that can go wrong in this crate.
///
/// Parse errors name the object being read (`object`), e.g. `"Mapping"` or
/// `"RouterInfo"`, so a log line says what a peer sent wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended while `object` was being read.
    #[error("{object}: truncated, {needed} more byte(s) needed")]
    Truncated {
        /// What was being parsed.
        object: &'static str,
        /// How many more bytes the current field needed.
        needed: usize,
    },
    /// Bytes were left over after `object` was complete.
    #[error("{object}: {extra} unexpected trailing byte(s)")]
    ExtraBytes {
        /// What was being parsed.
        object: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// `object` was read in full but breaks a rule of its specification.
    #[error("{object}: invalid: {reason}")]
    Invalid {
        /// What was being parsed or built.
        object: &'static str,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A signature, key or algorithm this crate cannot verify.
    #[error("unsupported signature type {0}")]
    UnsupportedSignatureType(u16),
    /// A signature did not verify.
    #[error("{object}: bad signature")]
    BadSignature {
        /// What was signed.
        object: &'static str,
    },
    /// A base64 or base32 string did not decode.
    #[error("invalid {0} text")]
    BadEncoding(&'static str),
    /// Compressed data did not decompress, or decompressed past its bound.
    #[error("gzip: {0}")]
    Gzip(&'static str),
}

impl Error {
    /// An [`Error::Invalid`].
    pub(crate) fn invalid(object: &'static str, reason: &'static str) -> Self {
        Error::Invalid { object, reason }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A bounds-checked cursor over a byte slice. No method panics.
///
/// The reader carries the name of the object being parsed (see [`Reader::scope`])
/// so that its errors say what was being read.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    object: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`, parsing an object named `"data"`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            object: "data",
        }
    }

    /// A reader at the start of `buf`, parsing an object named `object`.
    pub fn with_object(buf: &'a [u8], object: &'static str) -> Self {
        Reader {
            buf,
            pos: 0,
            object,
        }
    }

    /// Runs `f` with errors attributed to `object`, then restores the previous name.
    pub fn scope<T>(
        &mut self,
        object: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let saved = std::mem::replace(&mut self.object, object);
        let out = f(self);
        self.object = saved;
        out
    }

    /// The name of the object being parsed.
    pub fn object(&self) -> &'static str {
        self.object
    }

    /// An [`Error::Invalid`] for the object being parsed.
    pub fn invalid(&self, reason: &'static str) -> Error {
        Error::invalid(self.object, reason)
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// True if every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes not yet read, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Errors with [`Error::ExtraBytes`] unless every byte has been read.
    pub fn should_be_exhausted(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(Error::ExtraBytes {
                object: self.object,
                extra,
            }),
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n);
        match end.and_then(|end| self.buf.get(self.pos..end).map(|s| (end, s))) {
            Some((end, s)) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::Truncated {
                object: self.object,
                needed: n.saturating_sub(self.remaining()),
            }),
        }
    }

    /// All the bytes not yet read.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let rest = self.peek_rest();
        self.pos = self.buf.len();
        rest
    }

    /// The next `N` bytes as an array.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    /// One byte.
    pub fn take_u8(&mut self) -> Result<u8> {
        Ok(u8::from_be_bytes(self.take_array()?))
    }

    /// A 2-byte big-endian integer.
    pub fn take_u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.take_array()?))
    }

    /// A 4-byte big-endian integer.
    pub fn take_u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.take_array()?))
    }

    /// An 8-byte big-endian integer.
    pub fn take_u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.take_array()?))
    }

    /// A `T` read from the current position.
    pub fn extract<T: Readable>(&mut self) -> Result<T> {
        T::take_from(self)
    }

    /// Reads a 2-byte length, then runs `f` on a sub-reader over exactly that many
    /// bytes, which `f` must consume completely.
    pub fn read_nested_u16len<T>(
        &mut self,
        f: impl FnOnce(&mut Reader<'a>) -> Result<T>,
    ) -> Result<T> {
        let len = usize::from(self.take_u16()?);
        let body = self.take(len)?;
        let mut sub = Reader::with_object(body, self.object);
        let out = f(&mut sub)?;
        sub.should_be_exhausted()?;
        Ok(out)
    }
}

/// Writing helpers for the I2P wire (big endian). Implemented by `Vec<u8>`.
pub trait Writer {
    /// Appends one byte.
    fn write_u8(&mut self, v: u8);
    /// Appends a 2-byte big-endian integer.
    fn write_u16(&mut self, v: u16);
    /// Appends a 4-byte big-endian integer.
    fn write_u32(&mut self, v: u32);
    /// Appends an 8-byte big-endian integer.
    fn write_u64(&mut self, v: u64);
    /// Appends `bytes`.
    fn write_bytes(&mut self, bytes: &[u8]);
    /// Appends the serialization of `v`.
    fn write_item<T: Writeable + ?Sized>(&mut self, v: &T);
}

impl Writer for Vec<u8> {
    fn write_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn write_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn write_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn write_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn write_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn write_item<T: Writeable + ?Sized>(&mut self, v: &T) {
        v.write_onto(self);
    }
}

/// A structure that can be read from the wire.
///
/// Implementations are total (any input gives a value or an error), deterministic,
/// cheap, and never check signatures: see [`crate::router_info::UncheckedRouterInfo`].
pub trait Readable: Sized {
    /// Reads one `Self` from `r`, leaving `r` after it.
    fn take_from(r: &mut Reader<'_>) -> Result<Self>;

    /// Parses `bytes`, which must hold exactly one `Self`.
    fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let v = Self::take_from(&mut r)?;
        r.should_be_exhausted()?;
        Ok(v)
    }
}

/// A structure that can be written to the wire.
///
/// Values of this crate's types are valid by construction (lengths checked when they
/// were built or parsed), so writing cannot fail.
pub trait Writeable {
    /// Appends the wire form of `self` to `out`.
    fn write_onto(&self, out: &mut Vec<u8>);

    /// The wire form of `self`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_onto(&mut out);
        out
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn integers_are_big_endian() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
        let mut r = Reader::new(&data);
        assert_eq!(r.take_u8().unwrap(), 1);
        assert_eq!(r.take_u16().unwrap(), 0x0203);
        assert_eq!(r.take_u32().unwrap(), 0x0405_0607);
        assert_eq!(r.take_u64().unwrap(), 0x0809_0a0b_0c0d_0e0f);
        assert!(r.is_empty());
        r.should_be_exhausted().unwrap();

        let mut out = Vec::new();
        out.write_u8(1);
        out.write_u16(0x0203);
        out.write_u32(0x0405_0607);
        out.write_u64(0x0809_0a0b_0c0d_0e0f);
        assert_eq!(out, data);
    }

    #[test]
    fn truncation_is_an_error_naming_the_object() {
        let mut r = Reader::with_object(&[1, 2, 3], "Thing");
        assert_eq!(
            r.take_u32(),
            Err(Error::Truncated {
                object: "Thing",
                needed: 1
            })
        );
        // A failed read consumes nothing.
        assert_eq!(r.remaining(), 3);
        assert_eq!(
            r.take(usize::MAX),
            Err(Error::Truncated {
                object: "Thing",
                needed: usize::MAX - 3
            })
        );
        let err = r.scope("Inner", |r| r.take(4)).unwrap_err();
        assert_eq!(
            err,
            Error::Truncated {
                object: "Inner",
                needed: 1
            }
        );
        assert_eq!(r.object(), "Thing");
    }

    #[test]
    fn leftover_bytes_are_reported() {
        let mut r = Reader::with_object(&[1, 2, 3], "Thing");
        r.take(1).unwrap();
        assert_eq!(
            r.should_be_exhausted(),
            Err(Error::ExtraBytes {
                object: "Thing",
                extra: 2
            })
        );
        assert_eq!(r.take_rest(), &[2, 3]);
        assert!(r.is_empty());
    }

    #[test]
    fn nested_u16_length_must_be_consumed_exactly() {
        let data = [0, 2, 0xaa, 0xbb, 0xcc];
        let mut r = Reader::new(&data);
        let v = r.read_nested_u16len(|s| s.take_u16()).unwrap();
        assert_eq!(v, 0xaabb);
        assert_eq!(r.remaining(), 1);

        let mut r = Reader::new(&data);
        let err = r.read_nested_u16len(|s| s.take_u8()).unwrap_err();
        assert!(matches!(err, Error::ExtraBytes { extra: 1, .. }));
    }
}
