//! Mapping (common-structures.rst, "Mapping"): a 2-byte size, then `key=value;`
//! entries whose keys and values are I2P Strings.
//!
//! Parsed mappings keep their entries in wire order so that they re-serialize byte for
//! byte (signatures cover the exact bytes). Mappings we build are sorted by key:
//! "Mappings contained in I2NP messages (e.g. in a RouterAddress or RouterInfo) must be
//! sorted by key so that the signature will be invariant. Duplicate keys are not
//! allowed."

use std::collections::BTreeSet;

use crate::bytes::{Error, Readable, Reader, Result, Writeable, Writer};
use crate::common::I2pString;

/// A Mapping: an ordered list of unique `key=value` pairs, at most 65535 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    entries: Vec<(I2pString, I2pString)>,
}

impl Mapping {
    /// Largest body (the bytes after the 2-byte size): "Total length limit is 65535
    /// bytes, plus the 2 byte size field".
    pub const MAX_BODY_LEN: usize = 65535;

    /// The empty mapping (2 bytes on the wire: `00 00`).
    pub fn empty() -> Self {
        Mapping::default()
    }

    /// A mapping of `pairs`, sorted by key.
    ///
    /// The spec sorts "as in Java String.compareTo()" (UTF-16 code units); we sort by
    /// bytes, which agrees for every key below U+E000, i.e. every key in use.
    /// Errors on a string longer than 255 bytes, a duplicate key, or a total over 65535
    /// bytes.
    pub fn new<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut entries = pairs
            .into_iter()
            .map(|(k, v)| Ok((I2pString::new(k.as_ref())?, I2pString::new(v.as_ref())?)))
            .collect::<Result<Vec<_>>>()?;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.0 == b.0))
        {
            return Err(Error::invalid("Mapping", "duplicate key"));
        }
        let m = Mapping { entries };
        if m.body_len() > Self::MAX_BODY_LEN {
            return Err(Error::invalid("Mapping", "longer than 65535 bytes"));
        }
        Ok(m)
    }

    /// The value of `key`, if present and UTF-8.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.get_bytes(key.as_bytes())
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The raw value of `key`.
    pub fn get_bytes(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_bytes() == key)
            .map(|(_, v)| v.as_bytes())
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&I2pString, &I2pString)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True if the keys are in strictly increasing order (as required in signed
    /// structures).
    pub fn is_sorted(&self) -> bool {
        self.entries
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.0 < b.0))
    }

    /// A copy with `key` set to `value` (replacing any old value), sorted by key.
    pub fn with(&self, key: &str, value: &str) -> Result<Self> {
        let pairs = self
            .entries
            .iter()
            .filter(|(k, _)| k.as_bytes() != key.as_bytes())
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .chain(std::iter::once((
                key.as_bytes().to_vec(),
                value.as_bytes().to_vec(),
            )));
        Mapping::new(pairs)
    }

    fn body_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(k, v)| k.wire_len() + v.wire_len() + 2)
            .sum()
    }

    /// Bytes on the wire, including the 2-byte size.
    pub fn wire_len(&self) -> usize {
        2 + self.body_len()
    }
}

impl Readable for Mapping {
    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("Mapping", |r| {
            r.read_nested_u16len(|body| {
                let mut entries = Vec::new();
                let mut seen = BTreeSet::new();
                while !body.is_empty() {
                    let key = I2pString::take_from(body)?;
                    if body.take_u8()? != b'=' {
                        return Err(body.invalid("expected '='"));
                    }
                    let value = I2pString::take_from(body)?;
                    if body.take_u8()? != b';' {
                        return Err(body.invalid("expected ';'"));
                    }
                    if !seen.insert(key.clone()) {
                        return Err(body.invalid("duplicate key"));
                    }
                    entries.push((key, value));
                }
                Ok(Mapping { entries })
            })
        })
    }
}

impl Writeable for Mapping {
    fn write_onto(&self, out: &mut Vec<u8>) {
        // Size checked at construction or parse: <= 65535.
        out.write_u16(u16::try_from(self.body_len()).unwrap_or(u16::MAX));
        for (k, v) in &self.entries {
            out.write_item(k);
            out.write_u8(b'=');
            out.write_item(v);
            out.write_u8(b';');
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        let m = Mapping::new([("netId", "2"), ("caps", "XfR")]).unwrap();
        let b = m.to_bytes();
        assert_eq!(b, b"\x00\x15\x04caps=\x03XfR;\x05netId=\x012;");
        assert_eq!(Mapping::from_bytes(&b).unwrap(), m);
        assert_eq!(m.get("caps"), Some("XfR"));
        assert_eq!(m.get("nope"), None);
        assert!(m.is_sorted());
        assert_eq!(Mapping::empty().to_bytes(), [0, 0]);
    }

    #[test]
    fn unsorted_wire_order_is_kept() {
        let b = b"\x00\x0c\x01b=\x011;\x01a=\x012;";
        let m = Mapping::from_bytes(b).unwrap();
        assert!(!m.is_sorted());
        assert_eq!(m.to_bytes(), b);
        let keys: Vec<_> = m.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["b", "a"]);
    }

    #[test]
    fn malformed_mappings_are_refused() {
        // Duplicate key.
        assert!(Mapping::from_bytes(b"\x00\x0c\x01a=\x011;\x01a=\x012;").is_err());
        assert!(Mapping::new([("a", "1"), ("a", "2")]).is_err());
        // Missing ';'.
        assert!(Mapping::from_bytes(b"\x00\x06\x01a=\x011:").is_err());
        // Missing '='.
        assert!(Mapping::from_bytes(b"\x00\x06\x01a:\x011;").is_err());
        // Size says more than there is.
        assert!(Mapping::from_bytes(b"\x00\x07\x01a=\x011;").is_err());
        // Entry runs past the size.
        assert!(Mapping::from_bytes(b"\x00\x05\x01a=\x011;").is_err());
    }

    #[test]
    fn total_size_limit() {
        let big = "v".repeat(255);
        // Each entry: 1+3 + 1+255 + 2 = 262 bytes. 250 entries = 65500 bytes: fits.
        let pairs: Vec<_> = (0..250).map(|i| (format!("{i:03}"), big.clone())).collect();
        let m = Mapping::new(pairs.clone()).unwrap();
        assert_eq!(m.wire_len(), 2 + 65500);
        assert_eq!(Mapping::from_bytes(&m.to_bytes()).unwrap(), m);
        let mut more = pairs;
        more.push(("zzz".into(), big));
        assert!(Mapping::new(more).is_err());
    }

    #[test]
    fn with_replaces_and_sorts() {
        let m = Mapping::new([("b", "1")]).unwrap().with("a", "2").unwrap();
        let m = m.with("b", "3").unwrap();
        assert_eq!(m.to_bytes(), b"\x00\x0c\x01a=\x012;\x01b=\x013;");
    }

    proptest! {
        #[test]
        fn built_mappings_round_trip(
            pairs in proptest::collection::btree_map(".{0,20}", ".{0,40}", 0..20)
        ) {
            let m = Mapping::new(pairs.iter()).unwrap();
            let b = m.to_bytes();
            let back = Mapping::from_bytes(&b).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(back.to_bytes(), b);
            for (k, v) in &pairs {
                prop_assert_eq!(m.get(k), Some(v.as_str()));
            }
        }

        #[test]
        fn parse_is_total_and_exact(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(m) = Mapping::from_bytes(&data) {
                prop_assert_eq!(m.to_bytes(), data);
            }
        }
    }
}
