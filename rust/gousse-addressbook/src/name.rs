//! Host names: the address book's naming rules (naming.md, "Naming Rules") and the
//! classification of a host a client asks for (naming.md, "Base32 Names",
//! "Extended Base32 Names", ".i2p.alt Domain").

use std::fmt;

use i2p_crypto::hash::sha256;
use i2p_wire::base32;

/// naming.md: "67 characters maximum, including the '.i2p'."
pub const MAX_NAME_LEN: usize = 67;

/// Characters of a standard b32 label: 32 bytes in unpadded base32 (naming.md,
/// "Base32 Names": "The form is {52 chars}.b32.i2p").
pub const B32_LABEL_LEN: usize = 52;

/// naming.md, "Extended Base32 Names": "identified by 56 or more encoded characters,
/// not including the '.b32.i2p'".
pub const ENCRYPTED_B32_MIN_LABEL_LEN: usize = 56;

/// Names "reserved for project use" (naming.md, "Naming Rules"); each also reserves
/// every name below it (`*.proxy.i2p`, ...).
pub const RESERVED_NAMES: &[&str] = &["proxy.i2p", "router.i2p", "console.i2p", "mail.i2p"];

const B32_SUFFIX: &str = ".b32.i2p";
const I2P_SUFFIX: &str = ".i2p";

/// Why a host name breaks the naming rules (naming.md, "Naming Rules").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Empty, or longer than [`MAX_NAME_LEN`].
    #[error("host name must have 1 to {MAX_NAME_LEN} characters, not {0}")]
    Length(usize),
    /// "Must end with '.i2p'."
    #[error("host name must end with .i2p")]
    NotI2p,
    /// "Must contain only [a-z] [0-9] '.' and '-' after conversion to lower case."
    #[error("host name may only contain a-z, 0-9, '.' and '-' (found {0:?})")]
    BadCharacter(char),
    /// "Must not start with '.' or '-'."
    #[error("host name must not start with '.' or '-'")]
    BadStart,
    /// "Must not contain '..'", "'.-' or '-.'", or "'--' except in 'xn--'".
    #[error("host name must not contain {0:?}")]
    BadSequence(&'static str),
    /// "Base32 hostnames (*.b32.i2p) are reserved for base 32 use."
    #[error("*.b32.i2p names are base 32 addresses, not address book names")]
    Base32,
    /// "Certain hostnames reserved for project use are not allowed."
    #[error("{0} is reserved for project use")]
    Reserved(&'static str),
}

/// A host name that passes the address book's naming rules: lower case, `.i2p`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

impl HostName {
    /// Lower-cases `name` and checks every rule of naming.md, "Naming Rules".
    pub fn parse(name: &str) -> Result<HostName, NameError> {
        let n = name.to_ascii_lowercase();
        if n.is_empty() || n.len() > MAX_NAME_LEN {
            return Err(NameError::Length(n.chars().count()));
        }
        if let Some(c) = n
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
        {
            return Err(NameError::BadCharacter(c));
        }
        if n.starts_with('.') || n.starts_with('-') {
            return Err(NameError::BadStart);
        }
        let Some(stem) = n.strip_suffix(I2P_SUFFIX) else {
            return Err(NameError::NotI2p);
        };
        if stem.is_empty() {
            return Err(NameError::Length(n.len()));
        }
        for seq in ["..", ".-", "-."] {
            if n.contains(seq) {
                return Err(NameError::BadSequence(seq));
            }
        }
        // "--" only as the IDN prefix "xn--" at the start of a label. (A label cannot
        // exceed DNS's 63 characters: the whole name is at most 67 with ".i2p".)
        for label in n.split('.') {
            let rest = label.strip_prefix("xn--").unwrap_or(label);
            if rest.contains("--") {
                return Err(NameError::BadSequence("--"));
            }
        }
        if n.ends_with(B32_SUFFIX) {
            return Err(NameError::Base32);
        }
        for r in RESERVED_NAMES {
            let below = n
                .strip_suffix(r)
                .is_some_and(|head| head.is_empty() || head.ends_with('.'));
            if below {
                return Err(NameError::Reserved(r));
            }
        }
        Ok(HostName(n))
    }

    /// The name, lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `.b32.i2p` name of a serialized Destination: SHA-256 of its bytes in lower
/// case unpadded base32 (naming.md, "Base32 Names").
pub fn b32_name(destination: &[u8]) -> String {
    b32_name_of_hash(&sha256(destination))
}

/// The `.b32.i2p` name of a destination hash.
pub fn b32_name_of_hash(hash: &[u8; 32]) -> String {
    format!("{}{B32_SUFFIX}", base32::encode(hash))
}

/// What kind of I2P address a host is, as a proxy sees it. Lookups are lenient
/// (naming.md: "There is no enforcement of naming rules in lookups").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKind {
    /// `{52 chars}.b32.i2p`: the destination hash.
    B32([u8; 32]),
    /// `{56+ chars}.b32.i2p`: the address of an encrypted LeaseSet
    /// (b32encrypted.rst), decoded and its checksum checked.
    EncryptedB32(i2p_wire::BlindedAddress),
    /// Another `.i2p` name, lower case (`.i2p.alt` is mapped to `.i2p`).
    Name(String),
    /// Not an I2P host (a clearnet name or an IP address literal).
    NotI2p,
    /// Ends in `.b32.i2p` but is no valid base 32 address.
    BadB32,
}

impl HostKind {
    /// Classifies `host` (without a port). Case-insensitive; a trailing dot and the
    /// `.i2p.alt` form (naming.md, ".i2p.alt Domain": "stripping off the .alt TLD")
    /// are accepted.
    pub fn classify(host: &str) -> HostKind {
        let mut h = host.to_ascii_lowercase();
        if h.ends_with('.') {
            h.pop();
        }
        if h.ends_with(".i2p.alt") {
            h.truncate(h.len() - ".alt".len());
        }
        if let Some(label) = h.strip_suffix(B32_SUFFIX) {
            let valid = !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
            if !valid {
                return HostKind::BadB32;
            }
            if label.len() == B32_LABEL_LEN {
                return match base32::decode(label).ok().map(<[u8; 32]>::try_from) {
                    Some(Ok(hash)) => HostKind::B32(hash),
                    _ => HostKind::BadB32,
                };
            }
            if label.len() >= ENCRYPTED_B32_MIN_LABEL_LEN {
                return match i2p_wire::BlindedAddress::parse(label) {
                    Ok(a) => HostKind::EncryptedB32(a),
                    Err(_) => HostKind::BadB32,
                };
            }
            return HostKind::BadB32;
        }
        match h.strip_suffix(I2P_SUFFIX) {
            Some(stem) if !stem.is_empty() && !stem.ends_with('.') => HostKind::Name(h),
            _ => HostKind::NotI2p,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    #[test]
    fn good_names_are_lowercased() {
        assert_eq!(HostName::parse("Zzz.I2P").unwrap().as_str(), "zzz.i2p");
        for ok in [
            "a.i2p",
            "forum.i2p",
            "sub.forum.i2p",
            "xn--80ak6aa92e.i2p",
            "a-b.c-d.i2p",
            "0.i2p",
        ] {
            assert!(HostName::parse(ok).is_ok(), "{ok}");
        }
        let max = format!("{}.i2p", "a".repeat(63));
        assert_eq!(max.len(), MAX_NAME_LEN);
        assert!(HostName::parse(&max).is_ok());
    }

    #[test]
    fn each_rule_is_enforced_with_its_reason() {
        use NameError::*;
        let cases: &[(&str, NameError)] = &[
            ("", Length(0)),
            ("example.com", NotI2p),
            ("i2p", NotI2p),
            (".i2p", BadStart),
            ("a_b.i2p", BadCharacter('_')),
            ("é.i2p", BadCharacter('é')),
            ("a b.i2p", BadCharacter(' ')),
            ("-a.i2p", BadStart),
            (".a.i2p", BadStart),
            ("a..b.i2p", BadSequence("..")),
            ("a.-b.i2p", BadSequence(".-")),
            ("a-.b.i2p", BadSequence("-.")),
            ("a--b.i2p", BadSequence("--")),
            ("bxn--a.i2p", BadSequence("--")),
            (
                "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p",
                Base32,
            ),
            ("proxy.i2p", Reserved("proxy.i2p")),
            ("x.console.i2p", Reserved("console.i2p")),
        ];
        for (name, want) in cases {
            assert_eq!(HostName::parse(name).unwrap_err(), *want, "{name}");
        }
        // Not reserved: only a suffix on a label boundary counts.
        assert!(HostName::parse("myproxy.i2p").is_ok());
        let long = format!("{}.i2p", "a".repeat(64));
        assert_eq!(HostName::parse(&long).unwrap_err(), Length(68));
    }

    #[test]
    fn b32_name_is_sha256_in_lowercase_base32() {
        let dest = vec![7u8; 391];
        let name = b32_name(&dest);
        assert_eq!(name.len(), 52 + 8);
        assert!(name.ends_with(".b32.i2p"));
        assert_eq!(
            HostKind::classify(&name),
            HostKind::B32(sha256(&dest)),
            "the name decodes back to the hash"
        );
        // RFC 4648 alphabet, lower case: the hash of nothing.
        assert_eq!(
            b32_name(b""),
            "4oymiquy7qobjgx36tejs35zeqt24qpemsnzgtfeswmrw6csxbkq.b32.i2p"
        );
    }

    #[test]
    fn classify_hosts() {
        let b32 = "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p";
        assert!(matches!(HostKind::classify(b32), HostKind::B32(_)));
        assert_eq!(
            HostKind::classify(&b32.to_uppercase()),
            HostKind::classify(b32)
        );
        let dest = i2p_wire::DestinationKeys::generate();
        let address = i2p_wire::BlindedAddress::from_destination(dest.destination()).unwrap();
        assert_eq!(
            HostKind::classify(&address.to_host()),
            HostKind::EncryptedB32(address)
        );
        let bad_checksum = format!("{}.b32.i2p", "a".repeat(56));
        assert_eq!(HostKind::classify(&bad_checksum), HostKind::BadB32);
        assert_eq!(
            HostKind::classify("abc.b32.i2p"),
            HostKind::BadB32,
            "too short"
        );
        let bad_chars = format!("{}.b32.i2p", "1".repeat(52));
        assert_eq!(HostKind::classify(&bad_chars), HostKind::BadB32);
        assert_eq!(
            HostKind::classify("Forum.I2P"),
            HostKind::Name("forum.i2p".into())
        );
        assert_eq!(
            HostKind::classify("forum.i2p.alt"),
            HostKind::Name("forum.i2p".into())
        );
        assert_eq!(
            HostKind::classify("forum.i2p."),
            HostKind::Name("forum.i2p".into())
        );
        for not in [
            "example.com",
            "127.0.0.1",
            "i2p",
            ".i2p",
            "",
            "[::1]",
            "i2p.org",
        ] {
            assert_eq!(HostKind::classify(not), HostKind::NotI2p, "{not}");
        }
    }
}
