//! RouterIdentity / Destination: parse; if it parses, the bytes come back unchanged and
//! the key accessors never panic.
#![no_main]

use i2p_wire::{Destination, Readable, RouterIdentity, Writeable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = RouterIdentity::from_bytes(data) {
        assert_eq!(id.to_bytes(), data);
        assert_eq!(id.wire_len(), data.len());
        let _ = (
            id.public_key(),
            id.signing_public_key(),
            id.x25519_public_key(),
        );
        let _ = id.ed25519_verifying_key();
        let _ = id.hash();
    }
    if let Ok(d) = Destination::from_bytes(data) {
        assert_eq!(d.to_bytes(), data);
        let _ = d.b32_address();
    }
});
