//! Round trips gateway -> participants -> endpoint, and the endpoint's defences.

use i2p_wire::{Hash, I2npMessage, MessageType};
use proptest::prelude::*;

use super::gateway::seal_block;
use super::*;

const NOW: u64 = 1_800_000_000_000;

fn random_hops(n: usize) -> Vec<HopCipher> {
    (0..n)
        .map(|_| {
            let mut k = [0u8; 64];
            i2p_crypto::random_bytes(&mut k);
            let (l, i) = k.split_at(32);
            HopCipher::new(&l.try_into().unwrap(), &i.try_into().unwrap())
        })
        .collect()
}

fn message(payload_len: usize, id: u32) -> I2npMessage {
    let mut payload = vec![0u8; payload_len];
    i2p_crypto::random_bytes(&mut payload);
    I2npMessage::new(MessageType::DATA, id, NOW + 60_000, payload)
}

fn hash(b: u8) -> Hash {
    Hash([b; 32])
}

fn deliveries() -> [Delivery; 3] {
    [
        Delivery::Local,
        Delivery::Tunnel {
            tunnel_id: 0x1234_5678,
            gateway: hash(0xaa),
        },
        Delivery::Router(hash(0xbb)),
    ]
}

/// Our outbound tunnel: we fragment and pre-process, every hop (the last being the
/// outbound endpoint) applies its layer, the endpoint reassembles.
fn outbound(hops: &[HopCipher], msgs: &[(Delivery, I2npMessage)]) -> (usize, Vec<Delivered>) {
    let layers = TunnelLayers::new(hops.to_vec());
    let mut fr = Fragmenter::new();
    for (d, m) in msgs {
        fr.push(d, m).unwrap();
    }
    let blocks = fr.flush(99);
    let n = blocks.len();
    let mut re = Reassembler::default();
    let mut out = Vec::new();
    for mut b in blocks {
        layers.encrypt_outbound(&mut b);
        let wire = b.to_bytes();
        let mut b = TunnelData::parse(&wire).unwrap();
        for h in hops {
            h.process(&mut b);
        }
        out.extend(re.receive(&b, NOW).unwrap());
    }
    assert_eq!(re.partial_messages(), 0);
    assert_eq!(re.partial_bytes(), 0);
    (n, out)
}

/// Our inbound tunnel: the inbound gateway (hop 0) fragments and applies its layer,
/// the other hops theirs, we remove them all and reassemble.
fn inbound(hops: &[HopCipher], msgs: &[(Delivery, I2npMessage)]) -> Vec<Delivered> {
    let layers = TunnelLayers::new(hops.to_vec());
    let mut fr = Fragmenter::new();
    for (d, m) in msgs {
        fr.push(d, m).unwrap();
    }
    let mut re = Reassembler::default();
    let mut out = Vec::new();
    for mut b in fr.flush(7) {
        for h in hops {
            h.process(&mut b);
        }
        layers.decrypt_inbound(&mut b);
        out.extend(re.receive(&b, NOW).unwrap());
    }
    out
}

fn expected(msgs: &[(Delivery, I2npMessage)]) -> Vec<Delivered> {
    msgs.iter()
        .map(|(d, m)| Delivered {
            delivery: d.clone(),
            message: m.clone(),
        })
        .collect()
}

#[test]
fn round_trips_every_size_delivery_and_hop_count() {
    let mut id = 1;
    let mut next = |len: usize, d: &Delivery| {
        id += 1;
        (d.clone(), message(len, id))
    };
    for n in 0..=3 {
        let hops = random_hops(n);
        for d in deliveries() {
            // Small, exactly-a-block, two blocks, 16 KB, the largest that fits.
            for len in [1, 100, 1003 - 16 - 39, 1500, 16 * 1024, 61_000] {
                let msgs = vec![next(len, &d)];
                let (_, got) = outbound(&hops, &msgs);
                assert_eq!(
                    got,
                    expected(&msgs),
                    "outbound {n} hops, {len} bytes, {d:?}"
                );
                assert_eq!(
                    inbound(&hops, &msgs),
                    expected(&msgs),
                    "inbound {n} hops, {len} bytes"
                );
            }
        }
        // Many small messages of every delivery type, mixed with a large one.
        let mut msgs = Vec::new();
        for i in 0..40 {
            let d = &deliveries()[i % 3];
            msgs.push(next(20 + (i * 37) % 300, d));
            if i == 20 {
                msgs.push(next(5000, d));
            }
        }
        let (blocks, got) = outbound(&hops, &msgs);
        assert_eq!(got, expected(&msgs));
        assert_eq!(inbound(&hops, &msgs), expected(&msgs));
        let total: usize = msgs.iter().map(|(_, m)| m.payload.len() + 16 + 39).sum();
        // Packed: close to the minimum number of blocks, far below one per message.
        assert!(
            blocks <= total / MAX_BLOCK_PAYLOAD + 3,
            "{blocks} blocks for {total} bytes"
        );
    }
}

#[test]
fn too_large_message_refused_without_change() {
    let mut fr = Fragmenter::new();
    let big = message(63 * 1024, 5);
    assert_eq!(
        fr.push(&Delivery::Local, &big),
        Err(Error::MessageTooLarge(63 * 1024 + 16))
    );
    assert_eq!(fr.pending_blocks(), 0);
    // With TUNNEL delivery into an empty block: a 960-byte first fragment and 63
    // follow-ons of 996 bytes, 63708 bytes (the spec's "approximately 62708" counts
    // a smaller first fragment and one fragment fewer). One byte more is refused.
    let d = deliveries()[1].clone();
    let over = message(960 + 63 * 996 - 16 + 1, 7);
    assert!(matches!(fr.push(&d, &over), Err(Error::MessageTooLarge(_))));
    let max = message(960 + 63 * 996 - 16, 6);
    fr.push(&d, &max).unwrap();
    let blocks = fr.flush(1);
    assert_eq!(blocks.len(), 64);
    let mut re = Reassembler::default();
    let got: Vec<_> = blocks
        .iter()
        .flat_map(|b| re.receive(b, NOW).unwrap())
        .collect();
    assert_eq!(got, expected(&[(d, max)]));
}

#[test]
fn cleartext_layout_matches_spec() {
    // One ROUTER message: checksum, nonzero padding, zero, flag 0x40, hash, size, msg.
    let m = message(50, 0x0a0b_0c0d);
    let mut fr = Fragmenter::new();
    fr.push(&Delivery::Router(hash(0x11)), &m).unwrap();
    let blocks = fr.flush(3);
    assert_eq!(blocks.len(), 1);
    let b = &blocks[0];
    assert_eq!(b.tunnel_id, 3);
    let body_len = 1 + 32 + 2 + 66;
    let zero = ENCRYPTED_LEN - body_len - 1;
    assert!(b.data[4..zero].iter().all(|&x| x != 0));
    assert_eq!(b.data[zero], 0);
    let body = &b.data[zero + 1..];
    assert_eq!(body[0], 0x40);
    assert_eq!(&body[1..33], &[0x11; 32]);
    assert_eq!(&body[33..35], &66u16.to_be_bytes());
    assert_eq!(&body[35..], &m.to_standard_bytes().unwrap()[..]);
    let mut h = body.to_vec();
    h.extend_from_slice(&b.iv);
    assert_eq!(&b.data[..4], &i2p_crypto::hash::sha256(&h)[..4]);

    // A fragmented TUNNEL message: first flag 0x28 with the I2NP message id, then
    // follow-on flags 0x80 | n << 1 | last.
    let m = message(2500, 0x0102_0304);
    fr.push(&deliveries()[1], &m).unwrap();
    let blocks = fr.flush(3);
    assert_eq!(blocks.len(), 3);
    let frags: Vec<_> = blocks.iter().map(|b| parse_block(b).unwrap()).collect();
    match &frags[0][..] {
        [Fragment::First {
            delivery,
            msg_id: Some(0x0102_0304),
            data,
        }] => {
            assert_eq!(delivery, &deliveries()[1]);
            assert_eq!(data.len(), MAX_BLOCK_PAYLOAD - 1 - 36 - 4 - 2);
        }
        other => panic!("{other:?}"),
    }
    let zero = blocks[0].data[4..].iter().position(|&x| x == 0).unwrap() + 4;
    assert_eq!(zero, 4, "a full block has no padding");
    assert_eq!(blocks[0].data[5], 0x28);
    assert_eq!(&blocks[1].data[5..10], &[0x82, 1, 2, 3, 4]);
    assert_eq!(&blocks[1].data[10..12], &996u16.to_be_bytes());
    let z2 = blocks[2].data[4..].iter().position(|&x| x == 0).unwrap() + 4;
    assert_eq!(blocks[2].data[z2 + 1], 0x85);
}

fn fragmented_blocks(len: usize, id: u32) -> (I2npMessage, Vec<TunnelData>) {
    let m = message(len, id);
    let mut fr = Fragmenter::new();
    fr.push(&Delivery::Local, &m).unwrap();
    (m, fr.flush(1))
}

#[test]
fn out_of_order_fragments_reassemble() {
    let (m, mut blocks) = fragmented_blocks(10_000, 42);
    assert!(blocks.len() >= 10);
    blocks.reverse();
    blocks.swap(2, 5);
    let mut re = Reassembler::default();
    let mut got = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let out = re.receive(b, NOW).unwrap();
        if i + 1 < blocks.len() {
            assert!(out.is_empty());
            assert!(re.partial_messages() == 1);
        }
        got.extend(out);
    }
    assert_eq!(got, expected(&[(Delivery::Local, m)]));
    assert_eq!(re.partial_messages(), 0);
    assert_eq!(re.partial_bytes(), 0);
}

#[test]
fn duplicate_fragments_ignored() {
    let (m, blocks) = fragmented_blocks(3000, 43);
    let mut re = Reassembler::default();
    let mut got = Vec::new();
    for b in &blocks[..blocks.len() - 1] {
        got.extend(re.receive(b, NOW).unwrap());
        got.extend(re.receive(b, NOW).unwrap());
    }
    got.extend(re.receive(&blocks[blocks.len() - 1], NOW).unwrap());
    assert_eq!(got, expected(&[(Delivery::Local, m)]));
    assert_eq!(re.stats().duplicate_fragments, blocks.len() as u64 - 1);
    assert_eq!(re.stats().delivered, 1);
}

#[test]
fn bad_checksum_and_wrong_keys_refused() {
    let (_, blocks) = fragmented_blocks(100, 44);
    let mut re = Reassembler::default();
    let mut b = blocks[0].clone();
    b.data[ENCRYPTED_LEN - 1] ^= 1;
    assert_eq!(re.receive(&b, NOW), Err(Error::BadChecksum));
    let mut b = blocks[0].clone();
    b.iv[0] ^= 1;
    assert_eq!(re.receive(&b, NOW), Err(Error::BadChecksum));
    // Decrypting with the wrong keys gives noise.
    let hops = random_hops(2);
    let mut b = blocks[0].clone();
    TunnelLayers::new(hops.clone()).encrypt_outbound(&mut b);
    hops[0].process(&mut b);
    random_hops(1)[0].process(&mut b);
    assert!(re.receive(&b, NOW).is_err());
    assert_eq!(re.stats().bad_blocks, 3);
    assert_eq!(re.stats().delivered, 0);
}

#[test]
fn incomplete_message_times_out() {
    let (_, blocks) = fragmented_blocks(3000, 45);
    let cfg = ReassemblyConfig::default();
    let mut re = Reassembler::new(cfg);
    assert!(re.receive(&blocks[0], NOW).unwrap().is_empty());
    assert!(re.receive(&blocks[1], NOW + 1000).unwrap().is_empty());
    re.expire(NOW + cfg.timeout_ms - 1);
    assert_eq!(re.partial_messages(), 1);
    // The last fragment arrives too late: the message is gone, and the late
    // fragment alone never completes either.
    let late = NOW + cfg.timeout_ms;
    assert!(re
        .receive(&blocks[blocks.len() - 1], late)
        .unwrap()
        .is_empty());
    assert_eq!(re.stats().timed_out, 1);
    assert_eq!(re.partial_messages(), 1);
    re.expire(late + cfg.timeout_ms);
    assert_eq!(re.partial_messages(), 0);
    assert_eq!(re.partial_bytes(), 0);
    assert_eq!(re.stats().timed_out, 2);
    assert_eq!(re.stats().delivered, 0);
}

fn nonzero_padding() -> Vec<u8> {
    vec![0x55; MAX_BLOCK_PAYLOAD]
}

#[test]
fn flood_of_partial_fragments_stays_bounded() {
    let cfg = ReassemblyConfig {
        timeout_ms: 60_000,
        max_partial_messages: 8,
        max_partial_bytes: 16 * 1024,
    };
    let mut re = Reassembler::new(cfg);
    let pad = nonzero_padding();
    for i in 0..5000u32 {
        // A first fragment (or a follow-on) of a fresh message id that never ends.
        let mut content = Vec::new();
        if i % 2 == 0 {
            Delivery::Local.write_first(&mut content, Some(i), 900);
        } else {
            super::delivery::write_follow_on(&mut content, i, 1 + (i % 62) as u8, false, 900);
        }
        content.extend_from_slice(&[7; 900]);
        let b = seal_block(&pad, 1, &content);
        assert!(re.receive(&b, NOW + u64::from(i)).unwrap().is_empty());
        assert!(re.partial_messages() <= 8);
        assert!(re.partial_bytes() <= 16 * 1024);
    }
    assert!(re.stats().evicted >= 5000 - 8);
    // Still works afterwards.
    let (m, blocks) = fragmented_blocks(5000, 46);
    let got: Vec<_> = blocks
        .iter()
        .flat_map(|b| re.receive(b, NOW + 6000).unwrap())
        .collect();
    assert_eq!(got, expected(&[(Delivery::Local, m)]));
}

#[test]
fn impossible_instructions_refused() {
    let pad = nonzero_padding();
    let mut re = Reassembler::default();
    let cases: [(&[u8], Error); 5] = [
        (
            &[0x60, 0, 1, 0xaa],
            Error::BadInstructions("delivery type 3"),
        ),
        (
            &[0x80, 0, 0, 0, 1, 0, 1, 0xaa],
            Error::BadInstructions("follow-on fragment number 0"),
        ),
        (
            &[0x00, 0, 5, 1, 2],
            Error::BadInstructions("fragment size past the end of the block"),
        ),
        (
            &[0x20, 0, 0, 0, 0],
            Error::BadInstructions("TUNNEL delivery to tunnel id 0"),
        ),
        (
            &[0x00, 0, 5, 1, 2, 3, 4, 5, 0x00, 0x00],
            Error::Wire(i2p_wire::Error::Truncated {
                object: "tunnel delivery instructions",
                needed: 1,
            }),
        ),
    ];
    for (content, err) in cases {
        let b = seal_block(&pad, 1, content);
        assert_eq!(re.receive(&b, NOW), Err(err));
    }
    // No zero byte after the checksum.
    let b = TunnelData {
        tunnel_id: 1,
        iv: [0; 16],
        data: [1; ENCRYPTED_LEN],
    };
    assert_eq!(re.receive(&b, NOW), Err(Error::NoZeroByte));
    // Cover traffic: nothing after the zero byte.
    let b = seal_block(&pad, 1, &[]);
    assert_eq!(re.receive(&b, NOW), Ok(vec![]));
    assert_eq!(re.stats().bad_blocks, 6);
}

#[test]
fn contradictory_last_fragments_drop_message() {
    let pad = nonzero_padding();
    let mut re = Reassembler::default();
    let mut c = Vec::new();
    super::delivery::write_follow_on(&mut c, 9, 3, true, 1);
    c.push(1);
    super::delivery::write_follow_on(&mut c, 9, 2, true, 1);
    c.push(2);
    assert!(re
        .receive(&seal_block(&pad, 1, &c), NOW)
        .unwrap()
        .is_empty());
    assert_eq!(re.stats().inconsistent, 1);
    assert_eq!(re.partial_messages(), 0);
    // A fragment past the last one is just as impossible.
    let mut c = Vec::new();
    super::delivery::write_follow_on(&mut c, 10, 2, true, 1);
    c.push(1);
    super::delivery::write_follow_on(&mut c, 10, 5, false, 1);
    c.push(2);
    assert!(re
        .receive(&seal_block(&pad, 1, &c), NOW)
        .unwrap()
        .is_empty());
    assert_eq!(re.stats().inconsistent, 2);
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1100)) {
        let _ = TunnelData::parse(&bytes);
        let _ = TunnelGateway::parse(&bytes);
        let mut re = Reassembler::new(ReassemblyConfig {
            timeout_ms: 1000, max_partial_messages: 4, max_partial_bytes: 4096,
        });
        // As a raw decrypted block, and as block content with a valid checksum.
        let mut data = [0u8; ENCRYPTED_LEN];
        let n = bytes.len().min(ENCRYPTED_LEN);
        data[..n].copy_from_slice(&bytes[..n]);
        let _ = re.receive(&TunnelData { tunnel_id: 1, iv: [0; 16], data }, 0);
        let _ = re.receive(&seal_block(&nonzero_padding(), 1, &bytes), 10);
        prop_assert!(re.partial_messages() <= 4);
        prop_assert!(re.partial_bytes() <= 4096);
    }
}
