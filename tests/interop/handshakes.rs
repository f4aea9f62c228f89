//! Hostile NTCP2 handshakes sent to our router's port (ntcp2.rst, SessionRequest
//! "Notes": on an error Bob must close "without responding", after a random delay or
//! a random number of further bytes, to resist probing).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use i2p_crypto::{ed25519::SigningKey, x25519::StaticSecret};
use i2p_ntcp2::{OutboundParams, Session};
use i2p_wire::{Mapping, RouterIdentity, RouterInfo, UncheckedRouterInfo};

/// How long we wait for our router to close a connection it refuses: the spec's
/// random delay is at most 15 s here, the handshake timeout 15 s.
const CLOSE_WITHIN: Duration = Duration::from_secs(30);

/// Reads until the peer closes; returns the bytes it sent and how long that took.
fn drain_until_closed(mut s: TcpStream) -> (usize, Duration) {
    let start = Instant::now();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut got = 0;
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, start.elapsed()),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (got, start.elapsed()), // reset
        }
        assert!(
            start.elapsed() < CLOSE_WITHIN,
            "connection not closed within {CLOSE_WITHIN:?}"
        );
    }
}

/// A real SessionRequest (message 1) from a throwaway Alice to our router.
fn message_1(our_ri: &[u8]) -> Vec<u8> {
    let ri = UncheckedRouterInfo::parse(our_ri)
        .unwrap()
        .verify()
        .unwrap();
    let ntcp2 = ri.ntcp2_published().expect("our router publishes NTCP2");
    let alice_static = StaticSecret::random();
    let alice_signing = SigningKey::random();
    let alice_id = RouterIdentity::new_x25519_ed25519(
        &alice_static.public_key(),
        &alice_signing.verifying_key(),
    );
    let opts = Mapping::new([("caps", "LU"), ("netId", "99")]).unwrap();
    let alice_ri = RouterInfo::new_signed(alice_id, 1, vec![], opts, &alice_signing).unwrap();
    let config = i2p_ntcp2::Config {
        net_id: 99,
        ..Default::default()
    };
    let params = OutboundParams {
        remote_static_key: ntcp2.static_key,
        remote_iv: ntcp2.iv.unwrap(),
        remote_router_hash: ri.hash().0,
        local_static_key: alice_static,
        local_router_info: alice_ri.as_bytes().to_vec(),
    };
    let now = std::time::Instant::now();
    let mut alice = Session::new_outbound(config, params, now, SystemTime::now()).unwrap();
    let mut out = Vec::new();
    while alice.poll_transmit(now, &mut out).is_some() {}
    assert!(out.len() >= 64, "message 1 is at least 64 bytes");
    out
}

pub fn garbage_gets_no_answer(addr: SocketAddr) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut junk = [0u8; 100];
    i2p_crypto::random_bytes(&mut junk);
    s.write_all(&junk).unwrap();
    let (got, took) = drain_until_closed(s);
    assert_eq!(got, 0, "no answer to garbage");
    println!("garbage: closed without an answer after {took:.1?}");
}

pub fn truncated_message_1_gets_no_answer(addr: SocketAddr, our_ri: &[u8]) {
    let m1 = message_1(our_ri);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&m1[..40]).unwrap();
    let (got, took) = drain_until_closed(s);
    assert_eq!(got, 0, "no answer to a truncated message 1");
    println!("truncated message 1: closed without an answer after {took:.1?}");
}

pub fn replayed_message_1_gets_no_answer(addr: SocketAddr, our_ri: &[u8]) {
    let m1 = message_1(our_ri);
    // The first time, a SessionCreated comes back: the message is valid.
    let mut first = TcpStream::connect(addr).unwrap();
    first.write_all(&m1).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut m2 = [0u8; 64];
    first
        .read_exact(&mut m2)
        .expect("SessionCreated for a fresh message 1");
    drop(first);
    // The same bytes again: a replay, dropped without an answer.
    let mut again = TcpStream::connect(addr).unwrap();
    again.write_all(&m1).unwrap();
    let (got, took) = drain_until_closed(again);
    assert_eq!(got, 0, "no answer to a replayed message 1");
    println!("replayed message 1: closed without an answer after {took:.1?}");
}
