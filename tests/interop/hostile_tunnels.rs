//! Hostile tunnel traffic sent to our router by a peer of our own making (acceptance
//! item 5 of the tunnels issue): malformed and replayed build records, TunnelData with
//! bad checksums or for unknown tunnels, and a flood of partial fragments. Each is
//! dropped and counted, reassembly memory stays within its bound, nothing panics, and
//! the router carries on.

use std::time::Duration;

use gousse_testnet::isolate;
use i2p_tunnel::build::{build_tunnel, BuildPlan, Hop, ReplyPath, TunnelId};
use i2p_tunnel::message::{
    Delivery, Fragmenter, HopCipher, TunnelData, TunnelGateway, TunnelLayers,
};
use i2p_wire::{I2npMessage, Mapping, MessageType, UncheckedRouterInfo};

use crate::alice::Alice;
use crate::gousse::Gousse;
use crate::{our_addr, CONSOLE_PORT};

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn msg(t: MessageType, payload: Vec<u8>) -> I2npMessage {
    let mut id = [0u8; 4];
    i2p_crypto::random_bytes(&mut id);
    I2npMessage::new(t, u32::from_be_bytes(id), now_ms() + 60_000, payload)
}

/// Our router alone in the namespace (no reseed), and a peer of ours connected to it.
/// Returns the work directory (kept alive), the router, its RouterInfo and the peer.
fn router_with_peer(extra: &[&str]) -> (tempfile::TempDir, Gousse, i2p_wire::RouterInfo, Alice) {
    let addr = our_addr();
    let work = crate::work_dir();
    let data = work.path().join("gousse");
    let mut args = vec!["--reseed-threshold", "0"];
    args.extend_from_slice(extra);
    let g = Gousse::start(&data, addr, CONSOLE_PORT, &args);
    let bob_ri = std::fs::read(data.join("router.info")).unwrap();
    let bob = UncheckedRouterInfo::parse(&bob_ri)
        .unwrap()
        .verify()
        .unwrap();
    let alice = Alice::connect(addr, &bob_ri);
    (work, g, bob, alice)
}

#[test]
fn hostile_tunnel_messages_are_dropped() {
    isolate!();
    let (_work, mut g, bob, mut alice) = router_with_peer(&[]);

    // Garbage build requests and TunnelData for tunnels that do not exist.
    for _ in 0..20 {
        let mut junk = vec![0u8; 1 + 218 * 4];
        i2p_crypto::random_bytes(&mut junk);
        junk[0] = 4;
        alice.send(&msg(MessageType::SHORT_TUNNEL_BUILD, junk));
        let mut td = vec![0u8; 1028];
        i2p_crypto::random_bytes(&mut td);
        alice.send(&msg(MessageType::TUNNEL_DATA, td));
        alice.send(&msg(MessageType::TUNNEL_DATA, vec![1, 2, 3]));
    }
    alice.idle(Duration::from_secs(2));
    let st = g.status();
    assert!(g.figure("build_requests_dropped") >= 20, "{st}");
    assert!(g.figure("tunnel_messages_dropped") >= 40, "{st}");

    // A real build: our router as the only hop and endpoint of an outbound tunnel,
    // the reply to us (Alice) through a made-up tunnel id.
    let (outgoing, hop, layers) = build_through(&mut alice, &bob);
    let settle = || std::thread::sleep(Duration::from_millis(1500));
    settle();
    assert_eq!(g.figure("transit_tunnels"), 1);

    // The same build message again: a replay, dropped and counted.
    let replayed_before = g.figure("build_requests_replayed");
    alice.send(&outgoing.message);
    alice.idle(Duration::from_secs(2));
    assert_eq!(
        g.figure("build_requests_replayed"),
        replayed_before + 1,
        "{}",
        g.status()
    );
    assert_eq!(
        g.figure("transit_tunnels"),
        1,
        "no second tunnel from a replay"
    );

    // Through the tunnel, with the right keys: a flood of messages whose last
    // fragment never comes. Reassembly holds at most its bound.
    let dropped_before = g.figure("tunnel_messages_dropped");
    for i in 0..300u32 {
        let big = I2npMessage::new(
            MessageType::DATA,
            1000 + i,
            now_ms() + 60_000,
            vec![7u8; 8000],
        );
        let mut frag = Fragmenter::new();
        frag.push(&Delivery::Router(alice.hash), &big).unwrap();
        let mut blocks = frag.flush(hop.receive_tunnel.0);
        blocks.pop(); // never send the last fragment
        for mut b in blocks {
            layers.encrypt_outbound(&mut b);
            alice.send(&msg(MessageType::TUNNEL_DATA, b.to_bytes().to_vec()));
        }
        if i % 50 == 49 {
            alice.idle(Duration::from_millis(1200));
            let held = g.figure("reassembly_bytes");
            assert!(held <= 256 * 1024, "reassembly within its bound: {held}");
        }
    }
    alice.idle(Duration::from_secs(2));
    let held = g.figure("reassembly_bytes");
    assert!(
        held > 0,
        "the incomplete messages are held (up to the bound)"
    );
    assert!(held <= 256 * 1024, "reassembly within its bound: {held}");
    println!("after 300 incomplete messages: {held} bytes held in reassembly");

    // A TunnelData for that tunnel with a bad checksum: dropped and counted.
    let mut bad = TunnelData {
        tunnel_id: hop.receive_tunnel.0,
        iv: [3; 16],
        data: [9; 1008],
    };
    layers.encrypt_outbound(&mut bad);
    alice.send(&msg(MessageType::TUNNEL_DATA, bad.to_bytes().to_vec()));
    alice.idle(Duration::from_secs(2));
    assert!(
        g.figure("tunnel_messages_dropped") > dropped_before,
        "{}",
        g.status()
    );

    // And a complete message through the tunnel is still delivered: the endpoint
    // sends it to the router its instructions name (Alice).
    let ok = I2npMessage::new(
        MessageType::DATA,
        4242,
        now_ms() + 60_000,
        b"still works".to_vec(),
    );
    let mut frag = Fragmenter::new();
    frag.push(&Delivery::Router(alice.hash), &ok).unwrap();
    for mut b in frag.flush(hop.receive_tunnel.0) {
        layers.encrypt_outbound(&mut b);
        alice.send(&msg(MessageType::TUNNEL_DATA, b.to_bytes().to_vec()));
    }
    let got = alice
        .wait_for(Duration::from_secs(10), |m| {
            m.msg_type == MessageType::DATA && m.msg_id == 4242
        })
        .expect("a good message still goes through");
    assert_eq!(got.payload, b"still works");
    assert!(g.is_running());
    assert!(g.stop().success());
}

/// Asks our router to be the one hop (and endpoint) of an outbound tunnel, with the
/// reply sent to Alice; returns the build message (to replay it), the hop and the
/// outcome read from the reply.
pub(crate) fn try_build_through(
    alice: &mut Alice,
    bob: &i2p_wire::RouterInfo,
) -> (
    i2p_tunnel::build::OutgoingBuild,
    Hop,
    i2p_tunnel::build::BuildOutcome,
) {
    let reply_tunnel = TunnelId::random();
    let hop = Hop {
        router: bob.hash(),
        static_key: bob.identity().x25519_public_key().unwrap(),
        receive_tunnel: TunnelId::random(),
        options: Mapping::empty(),
    };
    let plan = BuildPlan {
        hops: vec![hop.clone()],
        reply: ReplyPath::Outbound {
            reply_router: alice.hash,
            reply_tunnel,
        },
        reply_message_id: 77,
        now_ms: now_ms(),
        expiration_ms: now_ms() + 60_000,
    };
    let (outgoing, pending) = build_tunnel(&plan).unwrap();
    alice.send(&outgoing.message);
    let reply = alice
        .wait_for(Duration::from_secs(10), |m| {
            m.msg_type == MessageType::TUNNEL_GATEWAY
        })
        .expect("the build reply comes back in a TunnelGateway");
    let tg = TunnelGateway::parse(&reply.payload).unwrap();
    assert_eq!(tg.tunnel_id, reply_tunnel.0);
    let outcome = pending
        .handle_garlic_reply(&tg.message.payload)
        .expect("garlic reply opens");
    (outgoing, hop, outcome)
}

/// [`try_build_through`], which must succeed; also returns the tunnel's layers.
fn build_through(
    alice: &mut Alice,
    bob: &i2p_wire::RouterInfo,
) -> (i2p_tunnel::build::OutgoingBuild, Hop, TunnelLayers) {
    let (outgoing, hop, outcome) = try_build_through(alice, bob);
    assert!(outcome.built, "our router accepted the transit tunnel");
    let layers = TunnelLayers::new(vec![HopCipher::from_keys(&outcome.hops[0].layer)]);
    (outgoing, hop, layers)
}

/// The transit bandwidth share holds under load: Alice pushes about three times the
/// share through a transit tunnel of ours for a minute; what our router relays stays
/// within 10% of the share, and the excess is dropped and counted.
#[test]
fn transit_share_holds_under_load() {
    isolate!();
    const SHARE_KBPS: u64 = 32;
    let share = (SHARE_KBPS * 1024) as f64;
    let share_arg = SHARE_KBPS.to_string();
    let (_work, mut g, bob, mut alice) = router_with_peer(&["--transit-share", &share_arg]);
    let (_, hop, layers) = build_through(&mut alice, &bob);

    // One complete 900-byte message per TunnelData, to be delivered back to Alice.
    let mut blocks = Vec::new();
    for i in 0..100u32 {
        let m = I2npMessage::new(
            MessageType::DATA,
            10_000 + i,
            now_ms() + 120_000,
            vec![5u8; 900],
        );
        let mut frag = Fragmenter::new();
        frag.push(&Delivery::Router(alice.hash), &m).unwrap();
        for mut b in frag.flush(hop.receive_tunnel.0) {
            layers.encrypt_outbound(&mut b);
            blocks.push(msg(MessageType::TUNNEL_DATA, b.to_bytes().to_vec()));
        }
    }
    // Warm up 5 s so the first burst is spent, then measure 60 s.
    let offered_per_s = 96; // TunnelData messages, ~96 KB/s, three times the share
    let run = |alice: &mut Alice, secs: u64| {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        let mut i = 0usize;
        while std::time::Instant::now() < end {
            let tick = std::time::Instant::now();
            for _ in 0..offered_per_s / 10 {
                alice.send(&blocks[i % blocks.len()]);
                i += 1;
            }
            alice.idle(Duration::from_millis(100).saturating_sub(tick.elapsed()));
        }
    };
    run(&mut alice, 5);
    std::thread::sleep(Duration::from_millis(1100));
    let (b0, d0, t0) = (
        g.figure("transit_bytes"),
        g.figure("transit_dropped"),
        std::time::Instant::now(),
    );
    run(&mut alice, 60);
    std::thread::sleep(Duration::from_millis(1100));
    let (b1, d1) = (g.figure("transit_bytes"), g.figure("transit_dropped"));
    let secs = t0.elapsed().as_secs_f64();
    let rate = (b1 - b0) as f64 / secs;
    println!(
        "transit share {SHARE_KBPS} KB/s: relayed {:.1} KB/s over {secs:.0} s ({:+.1}%), {} messages dropped",
        rate / 1024.0,
        100.0 * (rate - share) / share,
        d1 - d0
    );
    assert!(d1 > d0, "the offered load exceeded the share");
    assert!(
        (rate - share).abs() <= 0.10 * share,
        "relayed {rate:.0} B/s for a share of {share} B/s"
    );
    assert!(g.stop().success());
}

/// A DatabaseLookup that asks for the answer through a reply tunnel, encrypted with a
/// key and tag (as i2pd sends its lookups): our router answers into that tunnel, and
/// only the holder of the key can read it.
#[test]
fn lookup_with_reply_tunnel_is_answered_encrypted() {
    isolate!();
    let (_work, mut g, bob, mut alice) = router_with_peer(&[]);
    let (key, tag) = ([0x42u8; 32], [7u8; 8]);
    let reply_tunnel = TunnelId::random().0;
    let lookup = i2p_wire::i2np::DatabaseLookup {
        key: bob.hash(),
        from: alice.hash,
        reply_tunnel_id: Some(reply_tunnel),
        lookup_type: i2p_wire::i2np::LookupType::RouterInfo,
        excluded_peers: vec![],
        reply_encryption: Some(i2p_wire::i2np::ReplyEncryption::Ecies {
            key: i2p_wire::i2np::ReplyKey(key),
            tags: vec![tag],
        }),
        reserved_flags: 0,
    };
    let payload = i2p_wire::i2np::Payload::DatabaseLookup(lookup);
    alice.send(&I2npMessage::from_payload(5, now_ms() + 60_000, &payload));
    let reply = alice
        .wait_for(Duration::from_secs(10), |m| {
            m.msg_type == MessageType::TUNNEL_GATEWAY
        })
        .expect("the answer comes into the reply tunnel");
    let tg = TunnelGateway::parse(&reply.payload).unwrap();
    assert_eq!(tg.tunnel_id, reply_tunnel);
    assert_eq!(
        tg.message.msg_type,
        MessageType::GARLIC,
        "the answer is encrypted"
    );
    assert!(i2p_garlic::unwrap_with_key_tag(&[0u8; 32], &tag, &tg.message.payload).is_err());
    let cloves =
        i2p_garlic::unwrap_with_key_tag(&key, &tag, &tg.message.payload).expect("our key opens it");
    let store = match cloves[0].message.parse_payload().unwrap() {
        i2p_wire::i2np::Payload::DatabaseStore(s) => s,
        other => panic!("expected a DatabaseStore, got {other:?}"),
    };
    let ri = store.parse_router_info().unwrap().verify().unwrap();
    assert_eq!(ri.hash(), bob.hash(), "our router's own RouterInfo");
    assert!(g.stop().success());
}
