//! I2CP payloads (gzip with ports and protocol): decoding is total and bounded, and
//! what decodes encodes back to something that decodes the same.
#![no_main]

use i2p_wire::i2cp_payload::I2cpPayload;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = I2cpPayload::decode(data, 4096) else {
        return;
    };
    assert!(p.data.len() <= 4096);
    for compress in [false, true] {
        assert_eq!(I2cpPayload::decode(&p.encode(compress), 4096).as_ref(), Ok(&p));
    }
});
