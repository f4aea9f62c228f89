//! Datagram1/2/3: parsing is total; what parses writes back (Datagram2/3) to the same
//! bytes, and verification never panics.
#![no_main]

use i2p_wire::datagram::{Datagram1, Datagram2, Datagram3};
use i2p_wire::Hash;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Datagram1::parse(data) {
        let _ = d.verify();
    }
    if let Ok(d) = Datagram2::parse(data) {
        let _ = d.verify(&Hash([0; 32]), 0);
        assert_eq!(d.to_bytes(), data);
    }
    if let Ok(d) = Datagram3::parse(data) {
        assert_eq!(d.to_bytes(), data);
    }
});
