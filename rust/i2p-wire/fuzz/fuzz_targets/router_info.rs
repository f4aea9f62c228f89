//! RouterInfo: parse; if it parses, the bytes come back unchanged, verification
//! never panics, and the accessors never panic.
#![no_main]

use i2p_wire::{Readable, UncheckedRouterInfo, Writeable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(unchecked) = UncheckedRouterInfo::parse(data) else {
        return;
    };
    let _ = unchecked.clone().verify();
    let ri = unchecked.dangerously_assume_valid();
    assert_eq!(ri.to_bytes(), data);
    assert_eq!(ri.signed_bytes().len() + ri.signature().len(), data.len());
    let _ = (
        ri.caps(),
        ri.is_floodfill(),
        ri.net_id(),
        ri.router_version(),
    );
    let _ = ri.ntcp2_addresses().count();
    let _ = ri.ntcp2_published();
    for a in ri.addresses() {
        let again = i2p_wire::RouterAddress::from_bytes(&a.to_bytes());
        assert_eq!(again.as_ref(), Ok(a));
    }
});
