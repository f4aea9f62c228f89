//! Naming RouterInfo files by their router hash.
//!
//! The hash itself comes from `i2p-wire`:
//! `i2p_wire::UncheckedRouterInfo::parse(bytes)?.hash().to_base64()` (SHA-256 of the
//! RouterIdentity, common_structures.rst, "RouterIdentity", in I2P base64). This
//! module only turns it into the file names i2pd and reseed files use.

/// The path of a RouterInfo inside a netDb directory: `r<C>/routerInfo-<HASH>.dat`,
/// `<C>` the first character of the base64 hash.
pub fn netdb_relative_path(hash_b64: &str) -> String {
    let c = hash_b64.chars().next().unwrap_or('A');
    format!("r{c}/{}", reseed_entry_name(hash_b64))
}

/// The reseed zip entry name for a RouterInfo: `routerInfo-<HASH>.dat`.
pub fn reseed_entry_name(hash_b64: &str) -> String {
    format!("routerInfo-{hash_b64}.dat")
}

#[cfg(test)]
pub(crate) mod test {
    use super::*;
    use i2p_crypto::ed25519::SigningKey;
    use i2p_wire::{Mapping, RouterIdentity, RouterInfo, UncheckedRouterInfo};

    /// A real, signed RouterInfo of a fresh identity (X25519 + Ed25519).
    pub(crate) fn signed_router_info() -> Vec<u8> {
        let sk = SigningKey::random();
        let id = RouterIdentity::new_x25519_ed25519(&[3; 32], &sk.verifying_key());
        let options = Mapping::new([("caps", "L"), ("netId", "99")]).unwrap();
        RouterInfo::new_signed(id, 1_700_000_000_000, vec![], options, &sk)
            .unwrap()
            .to_bytes()
    }

    #[test]
    fn names_follow_the_router_hash() {
        let ri = signed_router_info();
        let h = UncheckedRouterInfo::parse(&ri).unwrap().hash().to_base64();
        assert_eq!(h.len(), 44);
        let entry = reseed_entry_name(&h);
        // Our router's reseed reader takes exactly these names.
        assert!(gousse_reseed::is_router_info_name(&entry), "{entry}");
        assert_eq!(
            netdb_relative_path(&h),
            format!("r{}/routerInfo-{h}.dat", &h[..1])
        );
    }
}
