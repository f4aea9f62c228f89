//! Parse any bytes as a streaming packet; whatever parses must serialize back to
//! exactly the input, with and without a caller-supplied signature length.
#![no_main]

use i2p_streaming::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        assert_eq!(p.to_bytes().expect("parsed packet must serialize"), data);
        let _ = p.signed_bytes();
    }
    if let Ok(p) = Packet::parse_with_signature_len(data, 40) {
        assert_eq!(p.to_bytes().expect("parsed packet must serialize"), data);
    }
});
