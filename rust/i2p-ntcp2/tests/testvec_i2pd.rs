//! Bytes captured from i2pd 2.45.1 acting as Alice against our Bob
//! (scripts/i2pd-interop.sh with NTCP2_CAPTURE; the keys are throwaway test keys).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant, UNIX_EPOCH};

use i2p_ntcp2::{
    CloseReason, Config, Error, Event, InboundParams, ReplayFilter, Session, State, StaticSecret,
};

const STATIC_KEY: &str = "f49bfd7d772b51aa33ecf74f804a8937ff8c84a085d735ed29c259e4385221eb";
const ROUTER_HASH: &str = "58147d9cd251511ba0493fd19ab142173cc451dc22b4de9cf5fb4e7751debb0a";
const IV: &str = "7baf9261e640ba99b1527db1c0ab85a2";
const UNIX_SECS: u64 = 1795673409;
/// i2pd's SessionRequest: 64 bytes, then its cleartext padding.
const MSG1: &str = "2268c7cce46bd780fe6f6e722a07f50e31ba94f72a1c299a9db304ac6a4ae8351a351fee11b012ec2bd1f46349ffbab9104bbf6bc439202ef49e957854d8963ebf22be3ea2d015cf37e85bd25ef2e667dc32b32675548af018b070692060f7fc3d3e5af2c64da690eee484dae742ab5f78db0b8853882372cd5975d6fe753974705d62cf08f336755bdcdd0b55a392d4369fdb3f06e190b0af55b90db5b5943d1b5dc6201ba69413d6ad5ff8c2302c565cd6633528895fe779f474ba21ed83";

fn bob(now: Instant, skew: i64) -> Session {
    Session::new_inbound(
        Config::default(),
        InboundParams {
            local_static_key: StaticSecret::from_bytes(
                hex::decode(STATIC_KEY).unwrap().try_into().unwrap(),
            ),
            local_router_hash: hex::decode(ROUTER_HASH).unwrap().try_into().unwrap(),
            local_iv: hex::decode(IV).unwrap().try_into().unwrap(),
            replay_filter: ReplayFilter::shared(16, Duration::from_secs(150)),
        },
        now,
        UNIX_EPOCH + Duration::from_secs((UNIX_SECS as i64 + skew) as u64),
    )
}

#[test]
fn i2pd_session_request_is_accepted() {
    let t = Instant::now();
    let msg1 = hex::decode(MSG1).unwrap();
    let mut b = bob(t, 0);
    // Byte by byte, to exercise the padding length read from i2pd's options block.
    for byte in &msg1 {
        b.handle_bytes(t, std::slice::from_ref(byte));
    }
    let mut m2 = Vec::new();
    assert!(
        b.poll_transmit(t, &mut m2).is_some(),
        "Bob answers with message 2"
    );
    assert!((64..=64 + 64).contains(&m2.len()));
    assert_eq!(b.state(), State::Handshaking);
    // i2pd's tsA, read from the options block, is within a second of the capture time.
    assert!(b.peer_clock_skew().unwrap().abs() <= 1);
}

#[test]
fn flipped_padding_is_answered_flipped_options_are_not() {
    // The padding is authenticated only through message 2's AD, so Bob still answers;
    // a flipped options byte fails the AEAD at once.
    let t = Instant::now();
    let mut msg1 = hex::decode(MSG1).unwrap();
    assert!(msg1.len() > 64, "i2pd sent padding");
    let last = msg1.len() - 1;
    msg1[last] ^= 1;
    let mut b = bob(t, 0);
    b.handle_bytes(t, &msg1);
    assert_eq!(b.state(), State::Handshaking);
    msg1[last] ^= 1;
    msg1[40] ^= 1;
    let mut b = bob(t, 0);
    b.handle_bytes(t, &msg1);
    assert_eq!(b.state(), State::Closing);
    b.handle_timeout(b.poll_timeout().unwrap());
    let closed: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
    assert_eq!(
        closed,
        vec![Event::Closed {
            reason: CloseReason::Error(Error::HandshakeAead { msg: 1 })
        }]
    );
}

#[test]
fn i2pd_session_request_an_hour_later_is_clock_skew() {
    let t = Instant::now();
    let mut b = bob(t, 3600);
    b.handle_bytes(t, &hex::decode(MSG1).unwrap());
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.peer_clock_skew(), Some(-3600));
}
