//! LeaseSet2: parse; if it parses, the bytes come back unchanged, verification never
//! panics, the accessors never panic, and a DatabaseStore of it parses back.
#![no_main]

use i2p_wire::i2np::DatabaseStore;
use i2p_wire::{Readable, UncheckedLeaseSet2, Writeable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(unchecked) = UncheckedLeaseSet2::parse(data) else {
        return;
    };
    let _ = unchecked.clone().verify();
    let ls = unchecked.dangerously_assume_valid();
    assert_eq!(ls.to_bytes(), data);
    assert_eq!(ls.signed_bytes().len() + ls.signature().len(), data.len());
    assert_eq!(
        ls.signed_message().len(),
        data.len() - ls.signature().len() + 1
    );
    assert!(ls.leases().len() <= i2p_wire::leaseset::MAX_LEASES);
    assert!(!ls.encryption_keys().is_empty());
    let _ = (
        ls.hash(),
        ls.published(),
        ls.expires(),
        ls.is_expired(0),
        ls.is_expired(u64::MAX),
        ls.x25519_key(),
        ls.flags().is_unpublished(),
        ls.flags().is_blinded(),
    );
    assert_eq!(
        ls.flags().has_offline_keys(),
        ls.offline_signature().is_some()
    );
    for l in ls.leases() {
        assert_eq!(i2p_wire::Lease2::from_bytes(&l.to_bytes()).as_ref(), Ok(l));
    }
    let ds = DatabaseStore::lease_set2(&ls, None);
    let back = DatabaseStore::from_bytes(&ds.to_bytes()).map(|d| d.parse_lease_set2());
    assert!(matches!(back, Ok(Ok(_))));
});
