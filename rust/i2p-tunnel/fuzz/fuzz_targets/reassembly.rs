//! Reassembly fed arbitrary decrypted blocks: the input is cut into blocks, each
//! sealed with a valid checksum (so the instructions are reached) or, if its first
//! byte is odd, given as raw bytes; time moves forward by the second byte. The
//! memory bounds must hold after every block, and nothing may panic.
#![no_main]

use i2p_tunnel::message::{Reassembler, ReassemblyConfig, TunnelData, ENCRYPTED_LEN};
use libfuzzer_sys::fuzz_target;

const CFG: ReassemblyConfig = ReassemblyConfig {
    timeout_ms: 2_000,
    max_partial_messages: 8,
    max_partial_bytes: 8 * 1024,
};

fuzz_target!(|data: &[u8]| {
    let mut re = Reassembler::new(CFG);
    let mut now = 0u64;
    let mut rest = data;
    while rest.len() >= 3 {
        let (head, tail) = rest.split_at(3);
        let len = usize::from(u16::from_be_bytes([head[1], head[2]])) % 1010;
        let (content, tail) = tail.split_at(len.min(tail.len()));
        rest = tail;
        now += u64::from(head[1]) * 16;
        let mut block = TunnelData {
            tunnel_id: 1,
            iv: [head[2]; 16],
            data: [1; ENCRYPTED_LEN],
        };
        if head[0] & 1 == 1 {
            let n = content.len().min(ENCRYPTED_LEN);
            block.data[..n].copy_from_slice(&content[..n]);
        } else {
            // Checksum, nonzero padding, zero, content (as a gateway seals a block).
            let content = &content[..content.len().min(ENCRYPTED_LEN - 5)];
            let zero = ENCRYPTED_LEN - content.len() - 1;
            block.data[zero] = 0;
            block.data[zero + 1..].copy_from_slice(content);
            let hash = i2p_crypto::hash::sha256_parts(&[content, &block.iv]);
            block.data[..4].copy_from_slice(&hash[..4]);
        }
        if let Ok(out) = re.receive(&block, now) {
            for d in out {
                assert!(d.message.payload.len() <= 65535);
            }
        }
        assert!(re.partial_messages() <= CFG.max_partial_messages);
        assert!(re.partial_bytes() <= CFG.max_partial_bytes);
    }
});
