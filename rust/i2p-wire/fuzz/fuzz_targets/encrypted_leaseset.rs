//! Encrypted LeaseSets and b33 addresses: parsing is total; what parses writes back
//! unchanged; verification and decryption never panic, also on a valid encrypted
//! LeaseSet corrupted by the input (so that decryption runs on real layers).
#![no_main]

use std::sync::OnceLock;

use i2p_wire::leaseset::{EncryptionKey, Lease2};
use i2p_wire::{BlindedAddress, DestinationKeys, EncryptedLeaseSet, Hash, LeaseSet2, Mapping};
use libfuzzer_sys::fuzz_target;

const PUBLISHED: u32 = 1_795_000_000;

fn valid() -> &'static (BlindedAddress, Vec<u8>) {
    static VALID: OnceLock<(BlindedAddress, Vec<u8>)> = OnceLock::new();
    VALID.get_or_init(|| {
        let keys = DestinationKeys::generate();
        let ls = LeaseSet2::new_signed(
            keys.destination().clone(),
            PUBLISHED,
            PUBLISHED + 600,
            vec![EncryptionKey::x25519(keys.encryption_key().public_key())],
            vec![Lease2 {
                tunnel_gw: Hash([1; 32]),
                tunnel_id: 1,
                end_date: PUBLISHED + 600,
            }],
            Mapping::empty(),
            keys.signing_key(),
        )
        .expect("a LeaseSet2");
        let els = EncryptedLeaseSet::encrypt(&ls, &keys.signing_key().to_bytes(), PUBLISHED)
            .expect("an encrypted LeaseSet");
        let address = BlindedAddress::from_destination(keys.destination()).expect("address");
        (address, els.as_bytes().to_vec())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (address, good) = valid();
    match mode % 3 {
        0 => {
            if let Ok(els) = EncryptedLeaseSet::parse(rest) {
                assert_eq!(els.as_bytes(), rest);
                let _ = (els.verify(), els.store_hash(), els.expires(), els.is_expired(0));
                let _ = els.decrypt(address);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(a) = BlindedAddress::parse(text) {
                    assert_eq!(BlindedAddress::parse(&a.to_host()).as_ref(), Ok(&a));
                    let _ = a.store_hash(b"20261126");
                }
            }
        }
        _ => {
            // XOR the input over a valid encrypted LeaseSet, past its blinded key so
            // that decryption gets as far as the layers.
            let mut bytes = good.clone();
            for (b, x) in bytes.iter_mut().skip(34).zip(rest) {
                *b ^= x;
            }
            if let Ok(els) = EncryptedLeaseSet::parse(&bytes) {
                let verified = els.verify().is_ok();
                let opened = els.decrypt(address);
                if rest.iter().all(|x| *x == 0) {
                    assert!(verified && opened.is_ok(), "the valid one opens");
                }
            }
        }
    }
});
