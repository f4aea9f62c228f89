//! Feeds a sequence of arbitrary packets to a stream manager with one open
//! inbound stream, interleaved with timer runs, reads and writes; checks that
//! nothing panics and that every peer-controlled buffer stays within its bound.
//!
//! Input: records of `op: u8`, `len: u16 BE`, `len` bytes. `op` bit 0 patches
//! the stream IDs so the packet reaches the open stream; bit 1 names the peer
//! as the sender; bits 2-4 advance the clock; bit 5 writes the bytes to the
//! stream; bit 6 reads; bit 7 runs the timers.
#![no_main]

use std::time::{Duration, Instant};

use i2p_crypto::ed25519::SigningKey;
use i2p_streaming::{Destination, Flags, ManagerConfig, Packet, Ports, StreamManager};
use libfuzzer_sys::fuzz_target;

const PEER_STREAM_ID: u32 = 1234;

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let bob_key = SigningKey::from_bytes(&[2; 32]);
    let bob = Destination::new_ed25519(&bob_key.verifying_key());
    let alice_key = SigningKey::from_bytes(&[1; 32]);
    let alice = Destination::new_ed25519(&alice_key.verifying_key());
    let alice_hash = alice.hash();

    let mut cfg = ManagerConfig::default();
    cfg.stream.receive_buffer = 16 * 1024;
    let receive_bound = cfg.stream.receive_buffer + 4096;
    let send_bound = cfg.stream.send_buffer;
    let (max_conns, max_events, pre_syn_bytes) =
        (cfg.max_connections, cfg.max_events, cfg.pre_syn_bytes);
    let mut m = StreamManager::new(bob.clone(), bob_key, cfg);

    let mut syn = Packet {
        receive_stream_id: PEER_STREAM_ID,
        flags: Flags::SYNCHRONIZE | Flags::NO_ACK,
        from: Some(alice),
        max_packet_size: Some(1730),
        ..Packet::default()
    };
    syn.set_replay_hash(&bob.hash());
    syn.sign(&alice_key).expect("sign SYN");
    let syn = syn.to_bytes().expect("write SYN");
    m.handle_packet(now, Some(&alice_hash), Ports::default(), &syn);
    let id = m.accept().expect("the SYN opens a stream");

    let mut rest = data;
    let mut buf = [0u8; 4096];
    while rest.len() >= 3 {
        let op = rest[0];
        let len = usize::from(u16::from_be_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let (chunk, tail) = rest[3..].split_at(len);
        rest = tail;

        let mut bytes = chunk.to_vec();
        if op & 1 != 0 && bytes.len() >= 8 {
            bytes[0..4].copy_from_slice(&id.0.to_be_bytes());
            bytes[4..8].copy_from_slice(&PEER_STREAM_ID.to_be_bytes());
        }
        let from = (op & 2 != 0).then_some(&alice_hash);
        now += Duration::from_millis(u64::from((op >> 2) & 7) * 997);
        m.handle_packet(now, from, Ports::default(), &bytes);
        if op & 0x80 != 0 {
            m.handle_timeout(now);
        }
        while m.poll_transmit(now).is_some() {}
        if op & 0x80 != 0 {
            // Timers run and output drained: the next timer is in the future.
            assert!(m.poll_timeout().is_none_or(|t| t > now));
        }
        if op & 0x40 != 0 {
            let _ = m.read(id, &mut buf);
        }
        if op & 0x20 != 0 {
            let _ = m.write(id, chunk);
        }

        if let Some(s) = m.stream_stats(id) {
            assert!(s.recv_buffered + s.out_of_order_bytes <= receive_bound);
            assert!(s.out_of_order_packets <= 256);
            assert!(s.send_buffered <= send_bound);
            assert!(s.in_flight <= 256);
        }
        assert!(m.connection_count() <= max_conns);
        assert!(m.pre_syn_buffered().1 <= pre_syn_bytes);
        assert!(m.control_queue_len() <= 64);
        assert!(m.event_queue_len() <= max_events);
        while m.poll_event().is_some() {}
    }
});
