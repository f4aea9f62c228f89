//! Request and response heads: parsing, targets, address helpers and rewriting never
//! panic, and a parsed head never claims more bytes than it was given.
#![no_main]

use gousse_proxy::http::{
    extract_address_helper, parse_host_header, parse_request_head, parse_target, rewrite_request,
    rewrite_response_head, I2P_USER_AGENT, MAX_HEAD_LEN,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((head, used))) = parse_request_head(data) {
        assert!(used <= data.len() && used <= MAX_HEAD_LEN);
        if let Ok(gousse_proxy::http::RequestTarget::Absolute { path_and_query, .. }) =
            parse_target(&head.method, &head.target)
        {
            let _ = extract_address_helper(&path_and_query);
            let out = rewrite_request(&head, &path_and_query, "a.i2p", I2P_USER_AGENT);
            // The rewritten head parses again.
            assert!(matches!(parse_request_head(&out), Ok(Some(_))));
        }
        if let Some(h) = head.header("host") {
            let _ = parse_host_header(h);
        }
    }
    if let Ok(Some((_, used))) = rewrite_response_head(data) {
        assert!(used <= data.len());
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_target("CONNECT", s);
        let _ = parse_target("GET", s);
        let _ = extract_address_helper(s);
    }
});
