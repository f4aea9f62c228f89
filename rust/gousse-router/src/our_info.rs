//! Our RouterInfo (common-structures.rst, "RouterInfo"; ntcp2.rst, "Published Router
//! Info"): the identity from our keys, one NTCP2 address, and the options other
//! routers read (`caps`, `netId`, `router.version`).

use std::net::SocketAddr;

use i2p_wire::identity::{Certificate, KeysAndCert, RouterIdentity, KEY_AREA_LEN};
use i2p_wire::mapping::Mapping;
use i2p_wire::router_info::{RouterAddress, RouterInfo};

use crate::keys::RouterKeys;

/// The I2P API version we claim, the one i2pd 2.45 publishes: it tells peers which
/// message forms (ShortTunnelBuild, NTCP2, ECIES) we speak.
pub const ROUTER_VERSION: &str = "0.9.57";

/// NTCP2 address cost, as Java I2P and i2pd publish it for an ordinary NTCP2 address.
const NTCP2_COST: u8 = 3;

/// Builds our identity from our keys (its padding is part of the key file, so the
/// hash never changes).
///
/// Key area layout (common-structures.rst, "KeysAndCert"): the 32-byte X25519 key at
/// the start of the 256-byte public key area, the 32-byte Ed25519 key at the end of the
/// 128-byte signing key area, our persisted padding in between.
pub fn our_identity(keys: &RouterKeys) -> RouterIdentity {
    let mut area = [0u8; KEY_AREA_LEN];
    area[..32].copy_from_slice(&keys.x25519.public_key());
    area[32..KEY_AREA_LEN - 32].copy_from_slice(&keys.padding);
    area[KEY_AREA_LEN - 32..].copy_from_slice(&keys.signing.verifying_key().to_bytes());
    // A KEY certificate of length 4 always fits, so `from_parts` cannot fail here; fall
    // back to the random-padding constructor rather than panic.
    KeysAndCert::from_parts(area, Certificate::key_x25519_ed25519())
        .map(RouterIdentity::from)
        .unwrap_or_else(|_| {
            RouterIdentity::new_x25519_ed25519(
                &keys.x25519.public_key(),
                &keys.signing.verifying_key(),
            )
        })
}

/// The `caps` option: the bandwidth class letter of our transit share
/// (network-database.md, "Capabilities"), `f` if we are a floodfill, then `R`
/// (reachable) when we publish an address or `U` when we do not.
pub fn caps(class: char, floodfill: bool, reachable: bool) -> String {
    let mut c = String::from(class);
    if floodfill {
        c.push('f');
    }
    c.push(if reachable { 'R' } else { 'U' });
    c
}

/// Builds and signs our RouterInfo, published at `now_ms`.
pub fn build(
    keys: &RouterKeys,
    published_addr: Option<SocketAddr>,
    net_id: u8,
    floodfill: bool,
    class: char,
    now_ms: u64,
) -> Result<RouterInfo, i2p_wire::Error> {
    let static_key = keys.x25519.public_key();
    let address = match published_addr {
        Some(addr) => {
            RouterAddress::ntcp2_published(NTCP2_COST, addr, &static_key, &keys.ntcp2_iv)?
        }
        None => RouterAddress::ntcp2_unpublished(NTCP2_COST, &static_key)?,
    };
    let options = Mapping::new([
        ("caps", caps(class, floodfill, published_addr.is_some())),
        ("netId", net_id.to_string()),
        ("router.version", ROUTER_VERSION.to_string()),
    ])?;
    RouterInfo::new_signed(
        our_identity(keys),
        now_ms,
        vec![address],
        options,
        &keys.signing,
    )
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_wire::router_info::UncheckedRouterInfo;

    #[test]
    fn our_router_info_parses_and_verifies_with_stable_hash() {
        let keys = RouterKeys::generate();
        let addr: SocketAddr = "198.18.0.9:12345".parse().unwrap();
        let ri = build(&keys, Some(addr), 99, true, 'O', 1_700_000_000_000).unwrap();
        let parsed = UncheckedRouterInfo::parse(ri.as_bytes())
            .unwrap()
            .verify()
            .unwrap();
        assert_eq!(parsed.hash(), ri.hash());
        assert_eq!(parsed.net_id(), Some(99));
        assert!(parsed.is_floodfill());
        let ntcp2 = parsed.ntcp2_published().unwrap();
        assert_eq!(ntcp2.addr, Some(addr));
        assert_eq!(ntcp2.static_key, keys.x25519.public_key());
        assert_eq!(ntcp2.iv, Some(keys.ntcp2_iv));
        // Re-signing later keeps the identity, so the hash stays.
        let later = build(&keys, Some(addr), 99, true, 'O', 1_700_000_900_000).unwrap();
        assert_eq!(later.hash(), ri.hash());
        assert_ne!(later.as_bytes(), ri.as_bytes());
    }

    #[test]
    fn caps_letters() {
        assert_eq!(caps('L', false, true), "LR");
        assert_eq!(caps('P', true, true), "PfR");
        assert_eq!(caps('K', false, false), "KU");
    }
}
