//! `RouterGarlic::decrypt` with a fixed static key on arbitrary Garlic message bodies.
//! A reply pair is registered whose tag is 8 zero bytes, so inputs starting with
//! that tag reach the key+tag path too. The input is also sealed as a payload, both
//! ways, so that the parsing after a successful decryption is reached.
#![no_main]

use i2p_garlic::keytag::seal_with_key_tag;
use i2p_garlic::router::seal_for_router_with;
use i2p_garlic::{unwrap_with_key_tag, RouterGarlic, StaticSecret};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_764_000_000_000;
const KEY: [u8; 32] = [0x11; 32];

fn body(data: &[u8]) -> Vec<u8> {
    let mut b = (data.len() as u32).to_be_bytes().to_vec();
    b.extend_from_slice(data);
    b
}

fuzz_target!(|data: &[u8]| {
    let ours = StaticSecret::from_bytes([0x5a; 32]);
    let mut g = RouterGarlic::new(ours.clone());
    g.expect_reply_with(NOW, &KEY, [0; 8]);
    let _ = g.decrypt(NOW, data);
    let _ = g.decrypt(NOW, data);
    let _ = unwrap_with_key_tag(&KEY, &[0; 8], data);

    // Arbitrary payloads behind valid encryption.
    g.expect_reply_with(NOW, &KEY, [1; 8]);
    let _ = g.decrypt(NOW, &body(&seal_with_key_tag(&KEY, &[1; 8], data)));
    let eph = StaticSecret::from_bytes([0x33; 32]);
    if let Ok(sealed) = seal_for_router_with(&eph, &ours.public_key(), data) {
        let _ = g.decrypt(NOW, &body(&sealed));
    }
});
