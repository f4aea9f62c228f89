//! SAM versions and the HELLO negotiation (samv3.md, "SAM Connection Handshake").

use std::fmt;

/// A SAM protocol version `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major version (3 for SAMv3).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl Version {
    /// SAM 3.0.
    pub const V3_0: Self = Self::new(3, 0);
    /// SAM 3.1.
    pub const V3_1: Self = Self::new(3, 1);
    /// SAM 3.2.
    pub const V3_2: Self = Self::new(3, 2);
    /// SAM 3.3, the highest this crate speaks.
    pub const V3_3: Self = Self::new(3, 3);
    /// Lowest version this crate speaks.
    pub const LOWEST: Self = Self::V3_0;
    /// Highest version this crate speaks.
    pub const HIGHEST: Self = Self::V3_3;

    /// `major.minor`.
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// Parses `N.M` or a bare `N` (read as `N.0`). Digits only, at most 3 per part.
    pub fn parse(s: &str) -> Option<Self> {
        fn num(p: &str) -> Option<u8> {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        }
        match s.split_once('.') {
            Some((a, b)) => Some(Self::new(num(a)?, num(b)?)),
            None => Some(Self::new(num(s)?, 0)),
        }
    }

    /// Parses a MAX value: as [`Version::parse`], except that a bare `N` means "any
    /// `N.x`" (`N.255`), so `MAX=3` accepts 3.3.
    pub fn parse_upper(s: &str) -> Option<Self> {
        let v = Self::parse(s)?;
        Some(if s.contains('.') {
            v
        } else {
            Self::new(v.major, u8::MAX)
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The versions this crate speaks, in order.
pub const SUPPORTED: [Version; 4] = [Version::V3_0, Version::V3_1, Version::V3_2, Version::V3_3];

/// Picks the version to answer a HELLO with, or `None` for `RESULT=NOVERSION`.
///
/// samv3.md: "SAM will always return the highest version possible given the MIN and MAX
/// constraints, or the current server version if no constraints are given." `ours` is
/// the ascending list of versions the bridge speaks (normally [`SUPPORTED`]).
pub fn negotiate(min: Option<Version>, max: Option<Version>, ours: &[Version]) -> Option<Version> {
    let within = |v: &Version| {
        let above_min = match min {
            Some(m) => *v >= m,
            None => true,
        };
        let below_max = match max {
            Some(m) => *v <= m,
            None => true,
        };
        above_min && below_max
    };
    ours.iter().copied().filter(within).max()
}

#[cfg(test)]
mod test {
    use super::*;

    fn v(s: &str) -> Option<Version> {
        Version::parse(s)
    }

    #[test]
    fn parse_versions() {
        assert_eq!(v("3.1"), Some(Version::V3_1));
        assert_eq!(v("3"), Some(Version::V3_0));
        assert_eq!(Version::parse_upper("3"), Some(Version::new(3, 255)));
        assert_eq!(Version::parse_upper("3.2"), Some(Version::V3_2));
        for bad in [
            "", "3.", ".1", "a.b", "3.1.1", "+3", "3.-1", "999.0", "1234",
        ] {
            assert_eq!(v(bad), None, "{bad}");
        }
        assert_eq!(Version::V3_3.to_string(), "3.3");
    }

    #[test]
    fn negotiation() {
        let n = |a: Option<&str>, b: Option<&str>| {
            negotiate(a.and_then(v), b.and_then(Version::parse_upper), &SUPPORTED)
        };
        assert_eq!(n(None, None), Some(Version::V3_3));
        assert_eq!(n(Some("3.0"), Some("3.3")), Some(Version::V3_3));
        assert_eq!(n(Some("3.1"), Some("3.2")), Some(Version::V3_2));
        assert_eq!(n(Some("2.0"), Some("3.0")), Some(Version::V3_0));
        assert_eq!(n(Some("3.0"), Some("9.9")), Some(Version::V3_3));
        assert_eq!(n(None, Some("3")), Some(Version::V3_3));
        assert_eq!(n(None, Some("3.1")), Some(Version::V3_1));
        assert_eq!(n(Some("3.2"), None), Some(Version::V3_3));
        assert_eq!(n(Some("1.0"), Some("2.0")), None);
        assert_eq!(n(Some("3.4"), Some("4.0")), None);
        assert_eq!(n(Some("3.3"), Some("3.1")), None, "MIN above MAX");
        assert_eq!(negotiate(None, None, &[]), None);
    }
}
