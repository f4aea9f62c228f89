//! Virtual-time tests: Alice and Bob joined by in-memory buffers (style.md Q5).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use i2p_ntcp2::{
    CloseReason, Config, Error, Event, InboundParams, OutboundParams, ReplayFilter, SendError,
    Session, SharedReplayFilter, State, StaticSecret, TerminationReason,
};

/// Small deterministic generator for chunk sizes and test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const WALL0: u64 = 1_700_000_000;

struct Keys {
    bob_static: StaticSecret,
    bob_hash: [u8; 32],
    bob_iv: [u8; 16],
    alice_static: StaticSecret,
    alice_ri: Vec<u8>,
}

fn keys() -> Keys {
    let mut r = Rng(0x1234_5678);
    Keys {
        bob_static: StaticSecret::random(),
        bob_hash: r.bytes(32).try_into().unwrap(),
        bob_iv: r.bytes(16).try_into().unwrap(),
        alice_static: StaticSecret::random(),
        alice_ri: r.bytes(900),
    }
}

fn wall(offset_secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs((WALL0 as i64 + offset_secs) as u64)
}

fn alice_for(k: &Keys, cfg: Config, now: Instant, skew: i64) -> Session {
    Session::new_outbound(
        cfg,
        OutboundParams {
            remote_static_key: k.bob_static.public_key(),
            remote_iv: k.bob_iv,
            remote_router_hash: k.bob_hash,
            local_static_key: k.alice_static.clone(),
            local_router_info: k.alice_ri.clone(),
        },
        now,
        wall(skew),
    )
    .unwrap()
}

fn bob_for(k: &Keys, cfg: Config, now: Instant, filter: SharedReplayFilter) -> Session {
    Session::new_inbound(
        cfg,
        InboundParams {
            local_static_key: k.bob_static.clone(),
            local_router_hash: k.bob_hash,
            local_iv: k.bob_iv,
            replay_filter: filter,
        },
        now,
        wall(0),
    )
}

fn drain(s: &mut Session, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while s.poll_transmit(now, &mut out).is_some() {}
    out
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn closed_reason(evs: &[Event]) -> Option<CloseReason> {
    evs.iter().find_map(|e| match e {
        Event::Closed { reason } => Some(reason.clone()),
        _ => None,
    })
}

struct Pair {
    time: Instant,
    alice: Session,
    bob: Session,
    alice_events: Vec<Event>,
    bob_events: Vec<Event>,
    rng: Rng,
    /// Largest chunk delivered at once (1 = byte by byte).
    max_chunk: usize,
    auto_accept: bool,
}

impl Pair {
    fn with(acfg: Config, bcfg: Config, alice_skew: i64, seed: u64) -> Self {
        let k = keys();
        let time = Instant::now();
        let alice = alice_for(&k, acfg, time, alice_skew);
        let bob = bob_for(
            &k,
            bcfg,
            time,
            ReplayFilter::shared(1024, Duration::from_secs(150)),
        );
        Self {
            time,
            alice,
            bob,
            alice_events: Vec::new(),
            bob_events: Vec::new(),
            rng: Rng(seed | 1),
            max_chunk: 4096,
            auto_accept: true,
        }
    }

    fn new() -> Self {
        Self::with(Config::default(), Config::default(), 0, 7)
    }

    fn handshaken() -> Self {
        let mut p = Self::new();
        p.drive();
        assert_eq!(p.alice.state(), State::Established);
        assert_eq!(p.bob.state(), State::Established);
        p
    }

    fn deliver(&mut self, to_bob: bool, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = 1 + self.rng.below(self.max_chunk.min(rest.len()));
            let (c, r) = rest.split_at(n);
            if to_bob {
                self.bob.handle_bytes(self.time, c);
            } else {
                self.alice.handle_bytes(self.time, c);
            }
            rest = r;
        }
    }

    /// Moves bytes and events once; true if anything happened.
    fn step(&mut self) -> bool {
        let a = drain(&mut self.alice, self.time);
        let b = drain(&mut self.bob, self.time);
        let progress = !a.is_empty() || !b.is_empty();
        self.deliver(true, &a);
        self.deliver(false, &b);
        let ae = events(&mut self.alice);
        let be = events(&mut self.bob);
        let progress = progress || !ae.is_empty() || !be.is_empty();
        for e in &be {
            if matches!(e, Event::SessionConfirmed { .. }) && self.auto_accept {
                self.bob.accept(self.time).unwrap();
            }
        }
        self.alice_events.extend(ae);
        self.bob_events.extend(be);
        progress
    }

    fn drive(&mut self) {
        for _ in 0..10_000 {
            if !self.step() {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Advances virtual time by `d`, firing timeouts, then drives.
    fn advance(&mut self, d: Duration) {
        self.time += d;
        for s in [&mut self.alice, &mut self.bob] {
            if s.poll_timeout().is_some_and(|t| t <= self.time) {
                s.handle_timeout(self.time);
            }
        }
        self.drive();
    }

    fn i2np_at_bob(&self) -> Vec<Vec<u8>> {
        collect_i2np(&self.bob_events)
    }

    fn i2np_at_alice(&self) -> Vec<Vec<u8>> {
        collect_i2np(&self.alice_events)
    }
}

fn collect_i2np(evs: &[Event]) -> Vec<Vec<u8>> {
    evs.iter()
        .filter_map(|e| match e {
            Event::I2np(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn i2np(id: u32, body_len: usize, fill: u8) -> Vec<u8> {
    let mut m = vec![18u8];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(WALL0 as u32 + 60).to_be_bytes());
    m.extend(std::iter::repeat_n(fill, body_len));
    m
}

#[test]
fn handshake_completes_and_bob_sees_alice() {
    let k = keys();
    let t = Instant::now();
    let mut a = alice_for(&k, Config::default(), t, 0);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    let m1 = drain(&mut a, t);
    assert!(
        (64..=64 + 64).contains(&m1.len()),
        "message 1 is 64 bytes + padding"
    );
    b.handle_bytes(t, &m1);
    let m2 = drain(&mut b, t);
    assert!((64..=128).contains(&m2.len()));
    assert_eq!(a.state(), State::Handshaking);
    a.handle_bytes(t, &m2);
    assert_eq!(a.state(), State::Established);
    assert_eq!(events(&mut a), vec![Event::Established]);
    let m3 = drain(&mut a, t);
    b.handle_bytes(t, &m3);
    assert_eq!(b.state(), State::AwaitingAccept);
    match events(&mut b).as_slice() {
        [Event::SessionConfirmed {
            peer_static_key,
            router_info,
            flood,
            options,
        }] => {
            assert_eq!(peer_static_key, &k.alice_static.public_key());
            assert_eq!(router_info, &k.alice_ri);
            assert!(!flood);
            assert!(options.is_none());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(b.peer_static_key(), Some(k.alice_static.public_key()));
    assert_eq!(a.peer_static_key(), Some(k.bob_static.public_key()));
    b.accept(t).unwrap();
    assert_eq!(b.state(), State::Established);
    assert_eq!(b.peer_clock_skew(), Some(0));
    assert!(b.accept(t).is_err(), "accept only once");
}

#[test]
fn i2np_both_ways_large_and_many_small() {
    let mut p = Pair::handshaken();
    let big = i2np(1, 65516 - 9, 0xab);
    p.alice.send_i2np(p.time, big.clone()).unwrap();
    let small: Vec<Vec<u8>> = (0..500)
        .map(|i| i2np(100 + i, (i % 97) as usize, i as u8))
        .collect();
    for m in &small {
        p.bob.send_i2np(p.time, m.clone()).unwrap();
        p.alice.send_i2np(p.time, m.clone()).unwrap();
    }
    p.drive();
    let mut want_at_bob = vec![big];
    want_at_bob.extend(small.iter().cloned());
    assert_eq!(p.i2np_at_bob(), want_at_bob);
    assert_eq!(p.i2np_at_alice(), small);
    // Small messages are batched: far fewer frames than messages.
    let st = p.bob.stats();
    assert_eq!(st.i2np_sent, 500);
    assert!(
        st.frames_sent < 100,
        "{} frames for 500 messages",
        st.frames_sent
    );
    assert_eq!(p.alice.stats().frames_received, st.frames_sent);
    assert_eq!(p.alice.stats().bytes_received, st.bytes_sent);
}

#[test]
fn byte_by_byte_delivery() {
    let mut p = Pair::new();
    p.max_chunk = 1;
    p.alice.send_i2np(p.time, i2np(9, 3000, 1)).unwrap();
    p.drive();
    p.bob.send_i2np(p.time, i2np(10, 20, 2)).unwrap();
    p.drive();
    assert_eq!(p.i2np_at_bob(), vec![i2np(9, 3000, 1)]);
    assert_eq!(p.i2np_at_alice(), vec![i2np(10, 20, 2)]);
}

#[test]
fn random_chunks_many_seeds() {
    for seed in 1..20u64 {
        let mut p = Pair::with(Config::default(), Config::default(), 0, seed * 7919);
        p.max_chunk = 1 + (seed as usize * 37) % 300;
        let msgs: Vec<Vec<u8>> = (0..30)
            .map(|i| i2np(i, (i * 131 % 2000) as usize, i as u8))
            .collect();
        for m in &msgs {
            p.alice.send_i2np(p.time, m.clone()).unwrap();
        }
        p.drive();
        assert_eq!(p.i2np_at_bob(), msgs, "seed {seed}");
    }
}

#[test]
fn queued_before_handshake_goes_out_with_message_3() {
    let mut p = Pair::new();
    p.alice.send_i2np(p.time, i2np(1, 10, 1)).unwrap();
    p.drive();
    assert_eq!(p.i2np_at_bob(), vec![i2np(1, 10, 1)]);
}

#[test]
fn router_info_datetime_options_blocks() {
    let mut p = Pair::handshaken();
    p.bob.send_router_info(p.time, vec![7; 500], true).unwrap();
    p.bob.send_datetime(p.time).unwrap();
    let opts = i2p_ntcp2::OptionsBlock {
        rmax: 16,
        ..Default::default()
    };
    p.bob.send_options(p.time, opts.clone()).unwrap();
    p.drive();
    assert!(p.alice_events.contains(&Event::RouterInfo {
        bytes: vec![7; 500],
        flood: true
    }));
    assert!(p.alice_events.contains(&Event::DateTime {
        unix_secs: WALL0 as u32
    }));
    assert!(p.alice_events.contains(&Event::Options(opts)));
}

#[test]
fn idle_timeout_terminates_both() {
    let mut p = Pair::handshaken();
    p.advance(Duration::from_secs(100));
    assert_eq!(p.alice.state(), State::Established);
    p.advance(Duration::from_secs(81));
    assert_eq!(p.alice.state(), State::Closed);
    assert_eq!(p.bob.state(), State::Closed);
    // Both timers fire at the same virtual instant; each side closed for idleness.
    assert_eq!(
        closed_reason(&p.alice_events),
        Some(CloseReason::Local(TerminationReason::IDLE_TIMEOUT))
    );
    assert!(matches!(
        closed_reason(&p.bob_events),
        Some(CloseReason::Local(TerminationReason::IDLE_TIMEOUT))
            | Some(CloseReason::Peer(TerminationReason::IDLE_TIMEOUT))
    ));
}

#[test]
fn idle_timeout_on_one_side_reaches_the_other() {
    let acfg = Config {
        idle_timeout: Duration::from_secs(60),
        ..Config::default()
    };
    let mut p = Pair::with(acfg, Config::default(), 0, 3);
    p.drive();
    p.advance(Duration::from_secs(61));
    assert!(p.bob_events.contains(&Event::Terminated {
        reason: TerminationReason::IDLE_TIMEOUT,
        frames_received: 0
    }));
    assert_eq!(
        closed_reason(&p.bob_events),
        Some(CloseReason::Peer(TerminationReason::IDLE_TIMEOUT))
    );
    assert!(!p.bob.reset_on_close());
}

#[test]
fn traffic_keeps_session_alive() {
    let mut p = Pair::handshaken();
    for i in 0..5 {
        p.advance(Duration::from_secs(120));
        p.alice.send_i2np(p.time, i2np(i, 1, 1)).unwrap();
        p.drive();
    }
    assert_eq!(p.alice.state(), State::Established);
    assert_eq!(p.i2np_at_bob().len(), 5);
}

#[test]
fn terminate_flushes_queue_then_reason() {
    let mut p = Pair::handshaken();
    p.bob.send_i2np(p.time, i2np(1, 5, 5)).unwrap();
    p.drive();
    p.alice.send_i2np(p.time, i2np(2, 5, 5)).unwrap();
    p.alice
        .terminate(p.time, TerminationReason::ROUTER_SHUTDOWN);
    assert_eq!(
        p.alice.send_i2np(p.time, i2np(3, 5, 5)),
        Err(SendError::Closed)
    );
    p.drive();
    assert_eq!(p.i2np_at_bob(), vec![i2np(2, 5, 5)]);
    // Alice received one frame from Bob and says so.
    assert!(p.bob_events.contains(&Event::Terminated {
        reason: TerminationReason::ROUTER_SHUTDOWN,
        frames_received: 1
    }));
    assert_eq!(p.bob.state(), State::Closed);
    assert_eq!(p.bob.poll_timeout(), None);
}

#[test]
fn bob_rejects_router_info() {
    let mut p = Pair::new();
    p.auto_accept = false;
    p.alice.send_i2np(p.time, i2np(1, 10, 1)).unwrap();
    p.drive();
    assert_eq!(p.bob.state(), State::AwaitingAccept);
    assert!(
        p.i2np_at_bob().is_empty(),
        "nothing delivered before accept"
    );
    p.bob
        .terminate(p.time, TerminationReason::S_PARAMETER_MISMATCH);
    p.drive();
    assert!(p.alice_events.contains(&Event::Terminated {
        reason: TerminationReason::S_PARAMETER_MISMATCH,
        frames_received: 0
    }));
    assert!(p.i2np_at_bob().is_empty());
}

#[test]
fn data_sent_before_accept_is_delivered_after() {
    let mut p = Pair::new();
    p.auto_accept = false;
    p.alice.send_i2np(p.time, i2np(1, 10, 1)).unwrap();
    p.drive();
    assert!(p.i2np_at_bob().is_empty());
    p.bob.accept(p.time).unwrap();
    p.drive();
    assert_eq!(p.i2np_at_bob(), vec![i2np(1, 10, 1)]);
}

#[test]
fn send_queue_is_bounded() {
    let cfg = Config {
        max_send_queue: 3,
        ..Config::default()
    };
    let mut p = Pair::with(cfg, Config::default(), 0, 5);
    for i in 0..3 {
        p.alice.send_i2np(p.time, i2np(i, 1, 1)).unwrap();
    }
    assert_eq!(
        p.alice.send_i2np(p.time, i2np(9, 1, 1)),
        Err(SendError::QueueFull)
    );
    assert_eq!(p.alice.stats().dropped_queue_full, 1);
    assert_eq!(
        p.alice.send_i2np(p.time, vec![1; 8]),
        Err(SendError::TooShort(8))
    );
    assert_eq!(
        p.alice.send_i2np(p.time, vec![1; 65517]),
        Err(SendError::TooLarge(65517))
    );
    p.drive();
    assert_eq!(p.i2np_at_bob().len(), 3);
    assert!(p.alice.send_i2np(p.time, i2np(9, 1, 1)).is_ok());
}

// ----- negative handshake tests -----

/// Bob after a bad message 1: no answer, closes at a deadline or after more bytes.
fn assert_probing_close(b: &mut Session, t: Instant, want: Error) {
    assert_eq!(b.state(), State::Closing);
    assert!(drain(b, t).is_empty(), "Bob must not answer");
    let deadline = b.poll_timeout().unwrap();
    let d = deadline - t;
    assert!(
        d >= Duration::from_secs(2) && d <= Duration::from_secs(15),
        "{d:?}"
    );
    b.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(b.state(), State::Closing);
    b.handle_timeout(deadline);
    assert_eq!(b.state(), State::Closed);
    assert!(drain(b, t).is_empty());
    assert!(b.reset_on_close());
    assert_eq!(closed_reason(&events(b)), Some(CloseReason::Error(want)));
}

#[test]
fn wrong_network_id() {
    let k = keys();
    let t = Instant::now();
    let acfg = Config {
        net_id: 3,
        ..Config::default()
    };
    let mut a = alice_for(&k, acfg, t, 0);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &drain(&mut a, t));
    assert_probing_close(
        &mut b,
        t,
        Error::NetworkId {
            got: 3,
            expected: 2,
        },
    );
}

#[test]
fn probing_close_after_random_byte_count() {
    let k = keys();
    let t = Instant::now();
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    let mut r = Rng(99);
    let mut junk = r.bytes(64);
    junk[31] &= 0x7f; // pass the MSB check, fail the AEAD
    b.handle_bytes(t, &junk);
    assert_eq!(b.state(), State::Closing);
    let mut fed = 0;
    while b.state() == State::Closing && fed < 70_000 {
        b.handle_bytes(t, &[0u8; 100]);
        fed += 100;
    }
    assert_eq!(b.state(), State::Closed);
    assert!(
        (256..=65536 + 100).contains(&fed),
        "closed after {fed} bytes"
    );
    assert!(drain(&mut b, t).is_empty());
    // The decrypted X fails either the MSB check or the AEAD.
    assert!(matches!(
        closed_reason(&events(&mut b)),
        Some(CloseReason::Error(
            Error::HandshakeAead { msg: 1 } | Error::BadKey { msg: 1 }
        ))
    ));
}

#[test]
fn skewed_clock() {
    let k = keys();
    let t = Instant::now();
    let padded = Config {
        handshake_padding_max: 200,
        ..Config::default()
    };
    let mut a = alice_for(&k, padded, t, 120);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &drain(&mut a, t));
    // Bob answers with message 2 so Alice learns his time, then closes.
    assert_eq!(b.state(), State::Closed);
    let m2 = drain(&mut b, t);
    assert!(m2.len() >= 64);
    assert_eq!(
        closed_reason(&events(&mut b)),
        Some(CloseReason::Error(Error::ClockSkew {
            peer_unix_secs: (WALL0 + 120) as u32,
            local_unix_secs: WALL0
        }))
    );
    assert_eq!(b.peer_clock_skew(), Some(120));
    a.handle_bytes(t, &m2);
    assert_eq!(a.state(), State::Closed);
    assert_eq!(a.peer_clock_skew(), Some(-120));
    assert!(drain(&mut a, t).is_empty(), "no message 3");
    assert!(matches!(
        closed_reason(&events(&mut a)),
        Some(CloseReason::Error(Error::ClockSkew { .. }))
    ));
    // Within the bound, it works.
    let mut p = Pair::with(Config::default(), Config::default(), 59, 11);
    p.drive();
    assert_eq!(p.bob.state(), State::Established);
}

#[test]
fn replayed_message_1_is_caught() {
    let k = keys();
    let t = Instant::now();
    let filter = ReplayFilter::shared(16, Duration::from_secs(150));
    let mut a = alice_for(&k, Config::default(), t, 0);
    let m1 = drain(&mut a, t);
    let mut b1 = bob_for(&k, Config::default(), t, filter.clone());
    b1.handle_bytes(t, &m1);
    assert!(!drain(&mut b1, t).is_empty(), "first copy answered");
    let t2 = t + Duration::from_secs(5);
    let mut b2 = bob_for(&k, Config::default(), t2, filter.clone());
    b2.handle_bytes(t2, &m1);
    assert_probing_close(&mut b2, t2, Error::Replay);
    assert_eq!(filter.lock().unwrap().len(), 1);
}

#[test]
fn tampered_message_1() {
    let k = keys();
    let t = Instant::now();
    for pos in [0usize, 20, 40, 63] {
        let mut a = alice_for(&k, Config::default(), t, 0);
        let mut m1 = drain(&mut a, t);
        m1[pos] ^= 0x01;
        let mut b = bob_for(
            &k,
            Config::default(),
            t,
            ReplayFilter::shared(16, Duration::from_secs(150)),
        );
        b.handle_bytes(t, &m1);
        assert_eq!(b.state(), State::Closing, "flip at {pos}");
        assert!(drain(&mut b, t).is_empty());
    }
}

#[test]
fn tampered_padding_of_message_1_fails_message_2() {
    // Padding is not encrypted but is mixed into h: Bob answers, Alice then fails.
    let k = keys();
    let t = Instant::now();
    let cfg = Config {
        handshake_padding_max: 200,
        ..Config::default()
    };
    let (mut a, mut m1) = loop {
        let mut a = alice_for(&k, cfg.clone(), t, 0);
        let m1 = drain(&mut a, t);
        if m1.len() > 64 {
            break (a, m1);
        }
    };
    let last = m1.len() - 1;
    m1[last] ^= 1;
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &m1);
    let m2 = drain(&mut b, t);
    a.handle_bytes(t, &m2);
    assert_eq!(a.state(), State::Closed);
    assert!(drain(&mut a, t).is_empty());
    assert_eq!(
        closed_reason(&events(&mut a)),
        Some(CloseReason::Error(Error::HandshakeAead { msg: 2 }))
    );
}

#[test]
fn tampered_message_2_and_3() {
    let k = keys();
    let t = Instant::now();
    // Message 2.
    let mut a = alice_for(&k, Config::default(), t, 0);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &drain(&mut a, t));
    let mut m2 = drain(&mut b, t);
    m2[50] ^= 0x80;
    a.handle_bytes(t, &m2);
    assert_eq!(a.state(), State::Closed);
    assert!(a.reset_on_close());
    assert!(drain(&mut a, t).is_empty());
    assert_eq!(
        closed_reason(&events(&mut a)),
        Some(CloseReason::Error(Error::HandshakeAead { msg: 2 }))
    );
    // Message 3, part 1 and part 2.
    for pos in [10usize, 100] {
        let mut a = alice_for(&k, Config::default(), t, 0);
        let mut b = bob_for(
            &k,
            Config::default(),
            t,
            ReplayFilter::shared(16, Duration::from_secs(150)),
        );
        b.handle_bytes(t, &drain(&mut a, t));
        a.handle_bytes(t, &drain(&mut b, t));
        let mut m3 = drain(&mut a, t);
        m3[pos] ^= 0x04;
        b.handle_bytes(t, &m3);
        assert_eq!(b.state(), State::Closed);
        assert!(drain(&mut b, t).is_empty());
        assert_eq!(
            closed_reason(&events(&mut b)),
            Some(CloseReason::Error(Error::HandshakeAead { msg: 3 }))
        );
    }
}

#[test]
fn extra_data_after_message_1() {
    let k = keys();
    let t = Instant::now();
    let mut a = alice_for(&k, Config::default(), t, 0);
    let mut m1 = drain(&mut a, t);
    m1.push(0);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &m1);
    assert_probing_close(&mut b, t, Error::ExtraData { msg: 1 });
}

#[test]
fn garbage_and_truncated_handshake() {
    let k = keys();
    let t = Instant::now();
    let mut r = Rng(5);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &r.bytes(300));
    assert_eq!(b.state(), State::Closing);
    assert!(drain(&mut b, t).is_empty());

    // Truncated: 40 bytes of a real message 1, then silence.
    let mut a = alice_for(&k, Config::default(), t, 0);
    let m1 = drain(&mut a, t);
    let mut b = bob_for(
        &k,
        Config::default(),
        t,
        ReplayFilter::shared(16, Duration::from_secs(150)),
    );
    b.handle_bytes(t, &m1[..40]);
    assert_eq!(b.state(), State::Handshaking);
    let deadline = b.poll_timeout().unwrap();
    assert_eq!(deadline, t + Duration::from_secs(15));
    b.handle_timeout(deadline);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(
        closed_reason(&events(&mut b)),
        Some(CloseReason::Error(Error::HandshakeTimeout))
    );
    // Alice, never answered, times out as well.
    a.handle_timeout(a.poll_timeout().unwrap());
    assert_eq!(a.state(), State::Closed);
}

#[test]
fn data_phase_bad_tag() {
    let mut p = Pair::handshaken();
    p.alice.send_i2np(p.time, i2np(1, 100, 1)).unwrap();
    let mut frame = drain(&mut p.alice, p.time);
    let last = frame.len() - 1;
    frame[last] ^= 0x01;
    p.bob.handle_bytes(p.time, &frame);
    assert_eq!(p.bob.state(), State::Closing);
    assert!(drain(&mut p.bob, p.time).is_empty(), "no immediate answer");
    let deadline = p.bob.poll_timeout().unwrap();
    p.advance(deadline - p.time);
    assert_eq!(p.bob.state(), State::Closed);
    assert!(p.i2np_at_bob().is_empty());
    assert!(p.alice_events.contains(&Event::Terminated {
        reason: TerminationReason::DATA_PHASE_AEAD_FAILURE,
        frames_received: 0
    }));
}

#[test]
fn router_info_too_short_or_long_refused() {
    let k = keys();
    let mk = |ri: Vec<u8>| {
        Session::new_outbound(
            Config::default(),
            OutboundParams {
                remote_static_key: k.bob_static.public_key(),
                remote_iv: k.bob_iv,
                remote_router_hash: k.bob_hash,
                local_static_key: k.alice_static.clone(),
                local_router_info: ri,
            },
            Instant::now(),
            wall(0),
        )
    };
    assert_eq!(mk(vec![0; 100]).err(), Some(Error::RouterInfoSize(100)));
    assert_eq!(mk(vec![0; 65500]).err(), Some(Error::RouterInfoSize(65500)));
    assert!(mk(vec![0; 60000]).is_ok());
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn responder_survives_any_input(data in proptest::collection::vec(any::<u8>(), 0..2000),
                                        cuts in proptest::collection::vec(1usize..300, 1..20)) {
            let k = keys();
            let t = Instant::now();
            let mut b = bob_for(&k, Config::default(), t, ReplayFilter::shared(16, Duration::from_secs(150)));
            let mut rest = data.as_slice();
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let n = (*c).min(rest.len());
                b.handle_bytes(t, &rest[..n]);
                rest = &rest[n..];
            }
            let _ = drain(&mut b, t);
            b.handle_timeout(t + Duration::from_secs(100));
            prop_assert_eq!(b.state(), State::Closed);
        }

        #[test]
        fn established_session_survives_any_input(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut p = Pair::handshaken();
            p.bob.handle_bytes(p.time, &data);
            // Random bytes never authenticate: no I2NP, and no immediate answer (no oracle).
            prop_assert!(drain(&mut p.bob, p.time).is_empty());
            prop_assert!(events(&mut p.bob).iter().all(|e| !matches!(e, Event::I2np(_))));
            prop_assert!(matches!(p.bob.state(), State::Established | State::Closing));
        }

        #[test]
        fn alice_survives_any_reply(data in proptest::collection::vec(any::<u8>(), 0..500)) {
            let k = keys();
            let t = Instant::now();
            let mut a = alice_for(&k, Config::default(), t, 0);
            let _ = drain(&mut a, t);
            a.handle_bytes(t, &data);
            prop_assert!(drain(&mut a, t).is_empty(), "no message 3 for garbage");
            prop_assert_ne!(a.state(), State::Established);
        }
    }
}

#[test]
fn handshake_messages_respect_i2pd_size_limit() {
    // i2pd 2.45 refuses messages 1 and 2 longer than 287 bytes; padding is clamped.
    let cfg = Config {
        handshake_padding_max: 5000,
        ..Config::default()
    };
    let k = keys();
    let t = Instant::now();
    let mut longest = (0, 0);
    for _ in 0..40 {
        let mut a = alice_for(&k, cfg.clone(), t, 0);
        let mut b = bob_for(
            &k,
            cfg.clone(),
            t,
            ReplayFilter::shared(16, Duration::from_secs(150)),
        );
        let m1 = drain(&mut a, t);
        b.handle_bytes(t, &m1);
        let m2 = drain(&mut b, t);
        longest = (longest.0.max(m1.len()), longest.1.max(m2.len()));
    }
    assert!(longest.0 <= 287 && longest.1 <= 287, "{longest:?}");
    assert!(
        longest.0 > 64 && longest.1 > 64,
        "padding is used: {longest:?}"
    );
}

#[test]
fn network_id_zero_is_accepted() {
    // ntcp2.rst: "If this field is nonzero, and does not match Bob's network ID, Bob
    // should disconnect".
    let acfg = Config {
        net_id: 0,
        ..Config::default()
    };
    let mut p = Pair::with(acfg, Config::default(), 0, 13);
    p.drive();
    assert_eq!(p.bob.state(), State::Established);
}
