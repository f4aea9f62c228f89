//! SOCKS 5 greetings and requests and SOCKS 4/4a requests never panic and never claim
//! more bytes than they were given.
#![no_main]

use gousse_proxy::socks::{parse_greeting, parse_request, parse_socks4_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((_, used))) = parse_greeting(data) {
        assert!(used <= data.len());
    }
    if let Ok(Some((_, used))) = parse_request(data) {
        assert!(used <= data.len());
    }
    if let Ok(Some((_, used))) = parse_socks4_request(data) {
        assert!(used <= data.len());
    }
});
