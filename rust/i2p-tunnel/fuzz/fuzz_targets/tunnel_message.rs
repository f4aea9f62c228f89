//! Tunnel message parsing: TunnelData, TunnelGateway, and a decrypted block's
//! delivery instructions (with and without the checksum gate).
#![no_main]

use i2p_tunnel::message::{parse_block, parse_instructions, Fragment, TunnelData, TunnelGateway};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(td) = TunnelData::parse(data) {
        assert_eq!(&td.to_bytes()[..], data);
        let _ = parse_block(&td);
    }
    if let Ok(tg) = TunnelGateway::parse(data) {
        assert_eq!(tg.to_bytes().unwrap(), data);
    }
    if let Ok(frags) = parse_instructions(data) {
        let total: usize = frags
            .iter()
            .map(|f| match f {
                Fragment::First { data, .. } | Fragment::FollowOn { data, .. } => data.len(),
            })
            .sum();
        assert!(total <= data.len());
        assert!(frags.len() <= data.len() / 3);
        for f in &frags {
            if let Fragment::FollowOn { number, .. } = f {
                assert!((1..=63).contains(number));
            }
        }
    }
});
