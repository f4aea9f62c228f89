//! Private key files: parse; if it parses, the bytes come back unchanged and the keys
//! match the destination.
#![no_main]

use i2p_wire::DestinationKeys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(keys) = DestinationKeys::parse(data) else {
        return;
    };
    assert_eq!(&keys.to_bytes()[..], data);
    let sig = keys.signing_key().sign(b"fuzz");
    assert!(keys.destination().verify(b"fuzz", &sig, "fuzz").is_ok());
});
