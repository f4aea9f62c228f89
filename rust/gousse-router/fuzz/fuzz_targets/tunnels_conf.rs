//! The tunnels file: any text gives tunnels or an error, never a panic; what parses
//! is within the documented limits.
#![no_main]

use gousse_router::tunnels_conf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tunnels) = tunnels_conf::parse(text) {
        assert!(tunnels.len() <= tunnels_conf::MAX_TUNNELS);
        for t in tunnels {
            assert!(t.pool.inbound_length <= 7 && t.pool.outbound_length <= 7);
            assert!(t.pool.inbound_quantity >= 1 && t.pool.inbound_quantity <= 16);
            if let Some(k) = &t.keys {
                assert!(std::path::Path::new(k)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_))));
            }
        }
    }
});
