//! I2CP payloads (gzip with ports and protocol): decoding is total and bounded, and
//! what decodes encodes back to something that decodes the same. Half the inputs are
//! decoded as they come; the other half build a valid payload from the input and then
//! corrupt one byte of it where the input says, so that the decoder's paths past the
//! gzip header (inflate, trailer, CRC) are reached too.
#![no_main]

use i2p_wire::i2cp_payload::I2cpPayload;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let Ok(p) = I2cpPayload::decode(bytes, 4096) else {
        return;
    };
    assert!(p.data.len() <= 4096);
    for compress in [false, true] {
        assert_eq!(I2cpPayload::decode(&p.encode(compress), 4096).as_ref(), Ok(&p));
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 1 && rest.len() >= 3 => {
            let (at, flip, body) = (usize::from(rest[0]) * 7, rest[1], &rest[2..]);
            let p = I2cpPayload {
                protocol: mode,
                source_port: u16::from(flip),
                dest_port: 80,
                data: body.to_vec(),
            };
            let mut bytes = p.encode(mode & 2 == 2);
            assert_eq!(I2cpPayload::decode(&bytes, 1 << 20).as_ref(), Ok(&p));
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= flip.max(1);
                check(&bytes);
            }
        }
        _ => check(data),
    }
});
