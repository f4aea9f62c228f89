//! Tunnel message throughput: per-hop participant processing of a 1028-byte
//! TunnelData beside raw AES-256-CBC over the same 1008 bytes, and gateway
//! fragmentation + endpoint reassembly of a 16 KB message.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use i2p_tunnel::message::{
    Delivery, Fragmenter, HopCipher, Reassembler, TunnelData, TunnelLayers, ENCRYPTED_LEN,
    TUNNEL_DATA_LEN,
};
use i2p_wire::{I2npMessage, MessageType};

fn layers(c: &mut Criterion) {
    let mut g = c.benchmark_group("layer");
    g.throughput(Throughput::Bytes(TUNNEL_DATA_LEN as u64));
    let hop = HopCipher::new(&[7; 32], &[9; 32]);
    let mut msg = TunnelData {
        tunnel_id: 1,
        iv: [3; 16],
        data: [5; ENCRYPTED_LEN],
    };
    g.bench_function("participant_process_1028", |b| {
        b.iter(|| hop.process(black_box(&mut msg)))
    });
    let three = TunnelLayers::new(vec![hop.clone(), hop.clone(), hop.clone()]);
    g.bench_function("inbound_endpoint_decrypt_3_hops_1028", |b| {
        b.iter(|| three.decrypt_inbound(black_box(&mut msg)))
    });
    g.throughput(Throughput::Bytes(ENCRYPTED_LEN as u64));
    let mut data = [5u8; ENCRYPTED_LEN];
    g.bench_function("raw_aes256_cbc_encrypt_1008", |b| {
        b.iter(|| i2p_crypto::aes::cbc_encrypt(&[7; 32], &[3; 16], black_box(&mut data)).unwrap())
    });
    g.finish();
}

fn fragmentation(c: &mut Criterion) {
    let mut g = c.benchmark_group("fragmentation");
    let msg = I2npMessage::new(
        MessageType::DATA,
        77,
        1_800_000_000_000,
        vec![0xab; 16 * 1024],
    );
    g.throughput(Throughput::Bytes(16 * 1024));
    let mut fr = Fragmenter::new();
    let mut re = Reassembler::default();
    g.bench_function("fragment_and_reassemble_16k", |b| {
        b.iter(|| {
            fr.push(&Delivery::Local, black_box(&msg)).unwrap();
            let mut n = 0;
            for block in fr.flush(1) {
                n += re.receive(&block, 0).unwrap().len();
            }
            assert_eq!(n, 1);
        })
    });
    g.finish();
}

criterion_group!(benches, layers, fragmentation);
criterion_main!(benches);
