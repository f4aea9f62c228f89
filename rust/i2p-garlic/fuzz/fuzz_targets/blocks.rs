//! The payload block parser: total, and parse -> write -> parse is the identity.
#![no_main]

use i2p_garlic::{check_order, parse_blocks, write_blocks, MessageKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(blocks) = parse_blocks(data) {
        for kind in [
            MessageKind::NewSession,
            MessageKind::NewSessionReply,
            MessageKind::ExistingSession,
        ] {
            let _ = check_order(&blocks, kind);
        }
        if data.len() <= i2p_garlic::block::MAX_PAYLOAD_LEN {
            let again = write_blocks(&blocks).expect("a parsed list writes back");
            assert_eq!(parse_blocks(&again).expect("written list parses"), blocks);
        }
    }
});
