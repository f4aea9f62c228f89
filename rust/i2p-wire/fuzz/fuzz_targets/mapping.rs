//! Mapping: parse; if it parses, it serializes to the same bytes, and rebuilding it
//! sorted gives a mapping with the same entries.
#![no_main]

use i2p_wire::{Mapping, Readable, Writeable};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(m) = Mapping::from_bytes(data) else {
        return;
    };
    assert_eq!(m.to_bytes(), data);
    assert_eq!(m.wire_len(), data.len());
    let sorted = Mapping::new(m.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())));
    let sorted = sorted.expect("a parsed mapping rebuilds");
    assert!(sorted.is_sorted());
    assert_eq!(sorted.len(), m.len());
    assert_eq!(sorted.wire_len(), m.wire_len());
    for (k, v) in m.iter() {
        assert_eq!(sorted.get_bytes(k.as_bytes()), Some(v.as_bytes()));
    }
});
