//! Inbound handshake bytes to a responder (Bob), in fuzzer-chosen chunks. Mode byte:
//! 0 = raw bytes as message 1; 1 = a real message 1 from Alice, then the input as
//! message 3 (and beyond); 2 = a full real handshake, then the input as data phase.
#![no_main]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use i2p_ntcp2::{
    Config, InboundParams, OutboundParams, ReplayFilter, Session, State, StaticSecret,
};
use libfuzzer_sys::fuzz_target;

fn bob(now: Instant, wall: SystemTime, key: &StaticSecret) -> Session {
    Session::new_inbound(
        Config::default(),
        InboundParams {
            local_static_key: key.clone(),
            local_router_hash: [7; 32],
            local_iv: [9; 16],
            replay_filter: ReplayFilter::shared(64, Duration::from_secs(150)),
        },
        now,
        wall,
    )
}

fn drain(s: &mut Session, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while s.poll_transmit(now, &mut out).is_some() {}
    out
}

fn feed(s: &mut Session, now: Instant, data: &[u8], chunk: usize) {
    for c in data.chunks(chunk.max(1)) {
        s.handle_bytes(now, c);
        let _ = drain(s, now);
        while s.poll_event().is_some() {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Some((&chunk, rest)) = rest.split_first() else { return };
    let now = Instant::now();
    let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let bob_key = StaticSecret::from_bytes([3; 32]);
    let mut b = bob(now, wall, &bob_key);
    match mode % 3 {
        0 => feed(&mut b, now, rest, usize::from(chunk)),
        m => {
            let mut a = Session::new_outbound(
                Config::default(),
                OutboundParams {
                    remote_static_key: bob_key.public_key(),
                    remote_iv: [9; 16],
                    remote_router_hash: [7; 32],
                    local_static_key: StaticSecret::from_bytes([4; 32]),
                    local_router_info: vec![1; 400],
                },
                now,
                wall,
            )
            .expect("valid parameters");
            b.handle_bytes(now, &drain(&mut a, now));
            if m == 2 {
                a.handle_bytes(now, &drain(&mut b, now));
                b.handle_bytes(now, &drain(&mut a, now));
                assert_eq!(b.state(), State::AwaitingAccept);
                b.accept(now).expect("awaiting accept");
            }
            feed(&mut b, now, rest, usize::from(chunk));
        }
    }
    b.handle_timeout(now + Duration::from_secs(3600));
    let _ = drain(&mut b, now);
    assert_eq!(b.state(), State::Closed);
});
