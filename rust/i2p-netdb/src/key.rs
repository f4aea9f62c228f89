//! Hashes, routing keys and the XOR metric.
//!
//! Spec: network-database.md, "Kademlia Closeness Metric": the routing key of a
//! search key is `SHA256(key + yyyyMMdd)`, the UTC date as 8 ASCII digits; it
//! "changes every day at midnight UTC". "Only the search key is modified in this
//! way, not the floodfill router hashes": distance is `routing_key XOR router_hash`.
//! Routing keys never go on the wire (i2np.rst, DatabaseLookup notes).

use std::fmt;

/// Milliseconds in one UTC day.
pub const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// The SHA-256 hash of a `RouterIdentity`: a router's name in the netDb.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RouterHash(pub [u8; 32]);

/// A netDb search key: the "real" hash of a RouterIdentity or Destination
/// (i2np.rst: "The key is the "real" hash ... NOT the routing key").
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key(pub [u8; 32]);

/// A key after the daily transformation; only ever used locally for distances.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoutingKey(pub [u8; 32]);

/// XOR distance between a routing key and a router hash; compares as a
/// 256-bit big-endian integer (smaller is closer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Distance(pub [u8; 32]);

impl From<RouterHash> for Key {
    fn from(h: RouterHash) -> Self {
        Key(h.0)
    }
}

impl From<Key> for RouterHash {
    fn from(k: Key) -> Self {
        RouterHash(k.0)
    }
}

fn short_hex(b: &[u8; 32], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for x in &b[..6] {
        write!(f, "{x:02x}")?;
    }
    Ok(())
}

impl fmt::Debug for RouterHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouterHash(")?;
        short_hex(&self.0, f)?;
        f.write_str("..)")
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(")?;
        short_hex(&self.0, f)?;
        f.write_str("..)")
    }
}

impl fmt::Debug for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RoutingKey(")?;
        short_hex(&self.0, f)?;
        f.write_str("..)")
    }
}

impl RoutingKey {
    /// XOR distance from this routing key to a router hash.
    pub fn distance(&self, router: &RouterHash) -> Distance {
        let mut d = [0u8; 32];
        for (o, (a, b)) in d.iter_mut().zip(self.0.iter().zip(router.0.iter())) {
            *o = a ^ b;
        }
        Distance(d)
    }
}

/// The UTC date of `unix_ms` as the 8 ASCII bytes `yyyyMMdd`
/// (network-database.md, "Kademlia Closeness Metric").
pub fn date_string(unix_ms: u64) -> [u8; 8] {
    let days = unix_ms / DAY_MS;
    let (y, m, d) = civil_from_days(days);
    let mut out = [b'0'; 8];
    let y = y % 10_000;
    let digits = [
        y / 1000,
        (y / 100) % 10,
        (y / 10) % 10,
        y % 10,
        m / 10,
        m % 10,
        d / 10,
        d % 10,
    ];
    for (o, dg) in out.iter_mut().zip(digits) {
        // Each digit is < 10, so the sum stays in b'0'..=b'9'.
        *o = b'0' + u8::try_from(dg).unwrap_or(0);
    }
    out
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (the "days from civil" algorithm of H. Hinnant, run backwards).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `SHA256(key || yyyyMMdd)` for the UTC day containing `unix_ms`.
pub fn routing_key(key: &Key, unix_ms: u64) -> RoutingKey {
    let date = date_string(unix_ms);
    RoutingKey(i2p_crypto::hash::sha256_parts(&[&key.0, &date]))
}

/// The first millisecond of the UTC day after the one containing `unix_ms`:
/// when every routing key changes.
pub fn next_midnight_ms(unix_ms: u64) -> u64 {
    (unix_ms / DAY_MS + 1).saturating_mul(DAY_MS)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    fn k() -> Key {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        Key(b)
    }

    /// 2026-11-26T23:59:59.999Z
    const LAST_MS_OF_DAY: u64 = 1_795_737_599_999;

    #[test]
    fn date_strings() {
        assert_eq!(&date_string(0), b"19700101");
        assert_eq!(&date_string(951_782_400_000), b"20000229"); // leap day
        assert_eq!(&date_string(LAST_MS_OF_DAY), b"20261126");
        assert_eq!(&date_string(LAST_MS_OF_DAY + 1), b"20261127");
        assert_eq!(&date_string(1_735_689_599_999), b"20241231");
        assert_eq!(&date_string(1_735_689_600_000), b"20250101");
    }

    #[test]
    fn routing_key_known_value() {
        // Independently computed: python3 hashlib.sha256(bytes(range(32)) + b"20261126").
        let want = "36c0b180d83baa16bfbec20407d73e895186dd1f698921409fdb09bb32c4791c";
        assert_eq!(hex::encode(routing_key(&k(), LAST_MS_OF_DAY).0), want);
        // The formula by hand with i2p-crypto.
        let mut buf = k().0.to_vec();
        buf.extend_from_slice(b"20261126");
        assert_eq!(
            routing_key(&k(), LAST_MS_OF_DAY).0,
            i2p_crypto::hash::sha256(&buf)
        );
    }

    #[test]
    fn routing_key_rolls_over_at_midnight_utc() {
        let before = routing_key(&k(), LAST_MS_OF_DAY);
        let after = routing_key(&k(), LAST_MS_OF_DAY + 1);
        assert_ne!(before, after);
        let want = "237f5153c236805259a597f0f25fd81c994540bc8b843ce69ed87fa9fc42706d";
        assert_eq!(hex::encode(after.0), want);
        // Same day, earlier: same key.
        assert_eq!(before, routing_key(&k(), LAST_MS_OF_DAY - 20 * 3_600_000));
        assert_eq!(next_midnight_ms(LAST_MS_OF_DAY), LAST_MS_OF_DAY + 1);
        assert_eq!(
            next_midnight_ms(LAST_MS_OF_DAY + 1),
            LAST_MS_OF_DAY + 1 + DAY_MS
        );
    }

    #[test]
    fn distance_is_xor_and_orders_big_endian() {
        let rk = RoutingKey([0u8; 32]);
        let mut a = [0u8; 32];
        a[0] = 1;
        let mut b = [0u8; 32];
        b[31] = 0xff;
        assert!(rk.distance(&RouterHash(b)) < rk.distance(&RouterHash(a)));
        assert_eq!(rk.distance(&RouterHash(a)).0, a);
    }
}
