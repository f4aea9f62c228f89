//! Two destinations talking through the ratchet, with a fake clock.

use i2p_crypto::x25519::{PublicKey, StaticSecret};
use i2p_wire::{I2npMessage, MessageType};

use super::*;
use crate::block::{AckEntry, Block, MessageKind};
use crate::clove::Clove;

const NOW: u64 = 1_764_000_000_000;

fn clove(id: u32) -> Clove {
    Clove::local(I2npMessage::new(
        MessageType::DATA,
        id,
        NOW + 60_000,
        id.to_be_bytes().repeat(5),
    ))
}

fn ids(inc: &Incoming) -> Vec<u32> {
    inc.cloves().map(|c| c.message.msg_id).collect()
}

struct Pair {
    alice: DestinationGarlic,
    bob: DestinationGarlic,
    apk: PublicKey,
    bpk: PublicKey,
    now: u64,
}

impl Pair {
    fn new(cfg: RatchetConfig) -> Self {
        let (a, b) = (StaticSecret::random(), StaticSecret::random());
        let (apk, bpk) = (a.public_key(), b.public_key());
        Pair {
            alice: DestinationGarlic::with_config(a, cfg.clone()),
            bob: DestinationGarlic::with_config(b, cfg),
            apk,
            bpk,
            now: NOW,
        }
    }

    /// NS -> NSR -> ES (Alice) -> ES (Bob): both sides established.
    fn handshaken(cfg: RatchetConfig) -> Self {
        let mut p = Pair::new(cfg);
        let ns = p.alice.encrypt(p.now, &p.bpk, &[clove(1)]).unwrap();
        let inc = p.bob.decrypt(p.now, &ns).unwrap();
        assert_eq!(inc.kind, IncomingKind::NewSession);
        let nsr = p.bob.encrypt(p.now, &p.apk, &[clove(2)]).unwrap();
        assert_eq!(
            p.alice.decrypt(p.now, &nsr).unwrap().kind,
            IncomingKind::NewSessionReply
        );
        let es = p.alice.encrypt(p.now, &p.bpk, &[clove(3)]).unwrap();
        assert_eq!(
            p.bob.decrypt(p.now, &es).unwrap().kind,
            IncomingKind::ExistingSession
        );
        assert!(p.alice.is_established(&p.bpk) && p.bob.is_established(&p.apk));
        p
    }

    fn a_to_b(&mut self, id: u32) -> Incoming {
        let m = self
            .alice
            .encrypt(self.now, &self.bpk, &[clove(id)])
            .unwrap();
        self.bob.decrypt(self.now, &m).unwrap()
    }

    fn b_to_a(&mut self, id: u32) -> Incoming {
        let m = self.bob.encrypt(self.now, &self.apk, &[clove(id)]).unwrap();
        self.alice.decrypt(self.now, &m).unwrap()
    }
}

#[test]
fn handshake_then_existing_sessions_both_ways() {
    let mut p = Pair::new(RatchetConfig::default());
    assert_eq!(p.alice.next_kind(&p.bpk), MessageKind::NewSession);
    let ns = p
        .alice
        .encrypt(p.now, &p.bpk, &[clove(10), clove(11)])
        .unwrap();
    // Body framing: 4-byte length, then NS (96 + payload).
    assert_eq!(
        u32::from_be_bytes(ns[..4].try_into().unwrap()) as usize,
        ns.len() - 4
    );
    let inc = p.bob.decrypt(p.now, &ns).unwrap();
    assert_eq!(inc.kind, IncomingKind::NewSession);
    assert_eq!(inc.remote, Some(p.apk), "the bound NS names its sender");
    assert_eq!(ids(&inc), vec![10, 11]);
    assert!(
        matches!(inc.blocks[0], Block::DateTime { timestamp } if u64::from(timestamp) == NOW / 1000)
    );

    assert_eq!(p.bob.next_kind(&p.apk), MessageKind::NewSessionReply);
    // Bob answers twice before Alice confirms: two NSRs with the same split.
    let nsr1 = p.bob.encrypt(p.now, &p.apk, &[clove(20)]).unwrap();
    let nsr2 = p.bob.encrypt(p.now, &p.apk, &[clove(21)]).unwrap();
    let r2 = p.alice.decrypt(p.now, &nsr2).unwrap();
    assert_eq!(
        (r2.kind, r2.remote, ids(&r2)),
        (IncomingKind::NewSessionReply, Some(p.bpk), vec![21])
    );
    // Alice owes Bob an Existing Session (he answers with replies until one comes).
    assert!(r2.reply_due);
    let r1 = p.alice.decrypt(p.now, &nsr1).unwrap();
    assert_eq!(ids(&r1), vec![20]);
    assert_eq!(p.alice.next_kind(&p.bpk), MessageKind::ExistingSession);

    // Bob still replies with NSRs until Alice's first ES arrives.
    let nsr3 = p.bob.encrypt(p.now, &p.apk, &[clove(22)]).unwrap();
    let es = p.alice.encrypt(p.now, &p.bpk, &[clove(30)]).unwrap();
    assert_eq!(ids(&p.alice.decrypt(p.now, &nsr3).unwrap()), vec![22]);
    let inc = p.bob.decrypt(p.now, &es).unwrap();
    assert_eq!(
        (inc.kind, inc.remote),
        (IncomingKind::ExistingSession, Some(p.apk))
    );
    assert_eq!(inc.id, Some(AckEntry { tagset_id: 0, n: 0 }));
    assert_eq!(p.bob.next_kind(&p.apk), MessageKind::ExistingSession);
    assert_eq!(ids(&p.b_to_a(40)), vec![40]);
    assert_eq!(ids(&p.a_to_b(41)), vec![41]);
    let (sa, sb) = (p.alice.stats(), p.bob.stats());
    assert_eq!(
        (sa.ns_sent, sa.nsr_received, sa.es_sent, sa.es_received),
        (1, 3, 2, 1)
    );
    assert_eq!(
        (sb.ns_received, sb.nsr_sent, sb.es_received, sb.es_sent),
        (1, 3, 2, 1)
    );
}

#[test]
fn thousands_of_messages_with_dh_ratchets() {
    let cfg = RatchetConfig {
        send_ratchet_after: 40,
        ..RatchetConfig::default()
    };
    let mut p = Pair::handshaken(cfg);
    let mut seen_ids = Vec::new();
    for i in 0..3000u32 {
        // Mostly Bob to Alice (as HTTP), with Alice answering every third message.
        let inc = p.b_to_a(i);
        assert_eq!(ids(&inc), vec![i]);
        if i % 3 == 0 || inc.reply_due {
            let back = p.a_to_b(100_000 + i);
            assert_eq!(ids(&back), vec![100_000 + i]);
        }
        if let Some(sid) = p.bob.session_mut(&p.apk).and_then(|s| s.send_tagset_id()) {
            if seen_ids.last() != Some(&sid) {
                seen_ids.push(sid);
            }
        }
    }
    // Tag set IDs go up one by one: 0, 1, 2, 3, ...
    assert!(seen_ids.len() > 20, "{seen_ids:?}");
    for (i, id) in seen_ids.iter().enumerate() {
        assert_eq!(usize::from(*id), i);
    }
    let (sa, sb) = (p.alice.stats(), p.bob.stats());
    assert!(sb.send_ratchets >= 20 && sa.receive_ratchets >= sb.send_ratchets);
    assert!(
        sa.send_ratchets >= 5,
        "Alice's direction ratchets too: {sa:?}"
    );
    assert_eq!(
        sa.auth_failed + sb.auth_failed + sa.malformed + sb.malformed,
        0
    );
    // Old inbound tag sets are bounded.
    let tags = p.alice.session_mut(&p.bpk).unwrap().tag_count();
    let cfg = RatchetConfig::default();
    let per_set = usize::from(cfg.max_lookahead) + usize::from(cfg.keep_behind) + 100;
    assert!(tags <= cfg.max_receive_tagsets * per_set, "{tags}");
}

#[test]
fn out_of_order_and_lost_messages_within_the_window() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    let msgs: Vec<Vec<u8>> = (0..60u32)
        .map(|i| p.bob.encrypt(p.now, &p.apk, &[clove(i)]).unwrap())
        .collect();
    // Deliver in a scrambled order, losing every 7th.
    let mut order: Vec<usize> = (0..60).collect();
    order.reverse();
    order.swap(3, 40);
    order.swap(10, 55);
    let mut got = Vec::new();
    // The first 20 are within the initial window of 24; deliver them first (reversed).
    for &i in order.iter().filter(|&&i| i < 20) {
        if i % 7 == 3 {
            continue;
        }
        got.extend(ids(&p.alice.decrypt(p.now, &msgs[i]).unwrap()));
    }
    for &i in order.iter().filter(|&&i| i >= 20) {
        if i % 7 == 3 {
            continue;
        }
        // Beyond the window now? The window grows as messages arrive; a message far
        // ahead may be refused, and is then retried after the others.
        if let Ok(inc) = p.alice.decrypt(p.now, &msgs[i]) {
            got.extend(ids(&inc));
        }
    }
    for (i, m) in msgs.iter().enumerate().skip(20) {
        if i % 7 != 3 && !got.contains(&(i as u32)) {
            got.extend(ids(&p.alice.decrypt(p.now, m).unwrap()));
        }
    }
    got.sort_unstable();
    let want: Vec<u32> = (0..60).filter(|i| i % 7 != 3).collect();
    assert_eq!(got, want);
    // A lost message that arrives late is still accepted.
    assert_eq!(ids(&p.alice.decrypt(p.now, &msgs[3]).unwrap()), vec![3]);
    // Far beyond the look-ahead: refused.
    for i in 0..1200u32 {
        let _ = p.bob.encrypt(p.now, &p.apk, &[clove(i)]).unwrap();
    }
    let far = p.bob.encrypt(p.now, &p.apk, &[clove(9999)]).unwrap();
    assert!(p.alice.decrypt(p.now, &far).is_err());
}

/// i2pd's streaming sender resends its whole window (up to 128 messages) each time
/// its timer fires, and picks another lease only at the second firing: a window in
/// flight and two resends can vanish into a dead lease before a message arrives
/// again. The session must survive that, from the start of a tag set on.
#[test]
fn three_lost_windows_do_not_end_a_session() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    for round in 0..3u32 {
        for i in 0..3 * 128u32 {
            let _lost = p.bob.encrypt(p.now, &p.apk, &[clove(round * 1000 + i)]);
        }
        let m = p.bob.encrypt(p.now, &p.apk, &[clove(round)]).unwrap();
        assert_eq!(
            ids(&p.alice.decrypt(p.now, &m).unwrap()),
            vec![round],
            "after {} lost messages",
            3 * 128 * (round + 1)
        );
    }
}

#[test]
fn replayed_tampered_truncated_messages_are_rejected() {
    let mut p = Pair::new(RatchetConfig::default());
    let ns = p.alice.encrypt(p.now, &p.bpk, &[clove(1)]).unwrap();
    // Tampered NS: every region.
    for i in [4usize, 20, 36, 60, 100, ns.len() - 1] {
        let mut bad = ns.clone();
        bad[i] ^= 0x04;
        assert!(p.bob.decrypt(p.now, &bad).is_err(), "byte {i}");
    }
    // Truncations of the body (and of its length field) never panic or succeed.
    for len in 0..ns.len() {
        let mut t = ns[..len].to_vec();
        assert!(p.bob.decrypt(p.now, &t).is_err());
        if len >= 4 {
            let l = (len - 4) as u32;
            t[..4].copy_from_slice(&l.to_be_bytes());
            assert!(p.bob.decrypt(p.now, &t).is_err(), "len {len}");
        }
    }
    p.bob.decrypt(p.now, &ns).unwrap();
    assert_eq!(
        p.bob.decrypt(p.now, &ns).unwrap_err(),
        RatchetError::Garlic(crate::Error::Replay)
    );
    assert_eq!(p.bob.stats().replayed, 1);

    let nsr = p.bob.encrypt(p.now, &p.apk, &[clove(2)]).unwrap();
    let mut bad = nsr.clone();
    bad[60] ^= 1;
    assert_eq!(
        p.alice.decrypt(p.now, &bad).unwrap_err(),
        RatchetError::Auth(RatchetPath::NewSessionReply)
    );
    // The failed attempt did not use up the tag.
    p.alice.decrypt(p.now, &nsr).unwrap();
    assert!(p.alice.decrypt(p.now, &nsr).is_err(), "NSR replay");

    let es = p.alice.encrypt(p.now, &p.bpk, &[clove(3)]).unwrap();
    let mut bad = es.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    assert_eq!(
        p.bob.decrypt(p.now, &bad).unwrap_err(),
        RatchetError::Auth(RatchetPath::ExistingSession)
    );
    assert_eq!(ids(&p.bob.decrypt(p.now, &es).unwrap()), vec![3]);
    assert!(p.bob.decrypt(p.now, &es).is_err(), "ES replay");
    for len in 0..es.len() {
        let mut t = es[..len].to_vec();
        if len >= 4 {
            t[..4].copy_from_slice(&((len - 4) as u32).to_be_bytes());
        }
        assert!(p.bob.decrypt(p.now, &t).is_err());
    }
}

#[test]
fn new_session_datetime_window() {
    let mut p = Pair::new(RatchetConfig::default());
    let old = p.alice.encrypt(NOW - 301_000, &p.bpk, &[clove(1)]).unwrap();
    assert!(matches!(
        p.bob.decrypt(NOW, &old).unwrap_err(),
        RatchetError::Garlic(crate::Error::Stale { .. })
    ));
    let future = p.alice.encrypt(NOW + 301_000, &p.bpk, &[clove(1)]).unwrap();
    assert!(p.bob.decrypt(NOW, &future).is_err());
    let ok = p.alice.encrypt(NOW - 200_000, &p.bpk, &[clove(1)]).unwrap();
    p.bob.decrypt(NOW, &ok).unwrap();
    assert_eq!(p.bob.stats().stale, 2);
}

#[test]
fn one_time_messages_have_no_sender_and_no_session() {
    let mut p = Pair::new(RatchetConfig::default());
    let m = p
        .alice
        .encrypt_one_time(p.now, &p.bpk, &[clove(5)])
        .unwrap();
    let inc = p.bob.decrypt(p.now, &m).unwrap();
    assert_eq!(
        (inc.kind, inc.remote, ids(&inc)),
        (IncomingKind::OneTime, None, vec![5])
    );
    assert_eq!((p.alice.session_count(), p.bob.session_count()), (0, 0));
    assert!(p.bob.decrypt(p.now, &m).is_err(), "replay");
}

#[test]
fn several_new_sessions_before_a_reply() {
    let mut p = Pair::new(RatchetConfig::default());
    let ns: Vec<_> = (0..3u32)
        .map(|i| p.alice.encrypt(p.now, &p.bpk, &[clove(i)]).unwrap())
        .collect();
    assert_eq!(p.alice.session_mut(&p.bpk).unwrap().attempts(), 3);
    // Bob gets the first and the third; each replaces his session with Alice.
    p.bob.decrypt(p.now, &ns[0]).unwrap();
    p.bob.decrypt(p.now, &ns[2]).unwrap();
    assert_eq!(p.bob.session_count(), 1);
    let nsr = p.bob.encrypt(p.now, &p.apk, &[clove(9)]).unwrap();
    assert_eq!(ids(&p.alice.decrypt(p.now, &nsr).unwrap()), vec![9]);
    assert_eq!(ids(&p.a_to_b(10)), vec![10]);
    assert_eq!(ids(&p.b_to_a(11)), vec![11]);
    // Beyond max_ns_attempts, the oldest attempt's reply tags go.
    let mut q = Pair::new(RatchetConfig::default());
    let first = q.alice.encrypt(q.now, &q.bpk, &[clove(0)]).unwrap();
    for i in 1..6 {
        q.alice.encrypt(q.now, &q.bpk, &[clove(i)]).unwrap();
    }
    assert_eq!(q.alice.session_mut(&q.bpk).unwrap().attempts(), 4);
    q.bob.decrypt(q.now, &first).unwrap();
    let nsr = q.bob.encrypt(q.now, &q.apk, &[clove(9)]).unwrap();
    assert!(q.alice.decrypt(q.now, &nsr).is_err());
}

#[test]
fn ack_request_is_answered_with_its_id() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    let out = p
        .alice
        .encrypt_detailed(p.now, &p.bpk, &[clove(1)], true)
        .unwrap();
    let want = out.ack_id.unwrap();
    let inc = p.bob.decrypt(p.now, &out.body).unwrap();
    assert!(inc.reply_due);
    assert_eq!(inc.id, Some(want));
    // Bob has nothing to say but owes the ACK: an empty message carries it.
    let ack = p.bob.encrypt(p.now, &p.apk, &[]).unwrap();
    let inc = p.alice.decrypt(p.now, &ack).unwrap();
    assert_eq!(inc.acks().copied().collect::<Vec<_>>(), vec![want]);
    assert_eq!(inc.cloves().count(), 0);
    // Paid: the next message has no ACK.
    assert_eq!(p.b_to_a(2).acks().count(), 0);
}

#[test]
fn termination_ends_both_sides() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    let t = p.alice.terminate(p.now, &p.bpk).unwrap().unwrap();
    assert_eq!(p.alice.session_count(), 0);
    assert_eq!(p.alice.tag_count(), 0);
    let inc = p.bob.decrypt(p.now, &t).unwrap();
    assert!(inc.terminated);
    assert!(inc
        .blocks
        .iter()
        .any(|b| matches!(b, Block::Termination { reason: 0, .. })));
    assert_eq!(p.bob.session_count(), 0);
    assert_eq!(p.bob.tag_count(), 0);
    // A new message starts over with a New Session.
    assert_eq!(p.bob.next_kind(&p.apk), MessageKind::NewSession);
}

#[test]
fn expiry_with_a_fake_clock() {
    let cfg = RatchetConfig::default();
    let mut p = Pair::handshaken(cfg.clone());
    assert!(p.alice.tag_count() > 0 && p.bob.tag_count() > 0);
    let deadline = p.alice.poll_timeout().unwrap();
    assert!(deadline > p.now);
    // Active sessions stay.
    p.now += 100_000;
    p.a_to_b(1);
    p.b_to_a(2);
    p.alice.handle_timeout(p.now);
    assert!(p.alice.is_established(&p.bpk));
    // Idle for longer than the idle timeout: gone, with all their tags.
    p.now += u64::try_from(cfg.session_idle_timeout.as_millis()).unwrap() + 1;
    p.alice.handle_timeout(p.now);
    p.bob.handle_timeout(p.now);
    assert_eq!((p.alice.session_count(), p.bob.session_count()), (0, 0));
    assert_eq!((p.alice.tag_count(), p.bob.tag_count()), (0, 0));
    assert_eq!(p.alice.poll_timeout(), None);
    assert!(p.alice.stats().sessions_expired >= 1);

    // An unanswered New Session: its reply tags go after ns_reply_timeout.
    let mut q = Pair::new(cfg.clone());
    q.alice.encrypt(q.now, &q.bpk, &[clove(1)]).unwrap();
    assert_eq!(q.alice.tag_count(), usize::from(cfg.nsr_tags));
    assert_eq!(q.alice.poll_timeout(), Some(q.now + 60_000));
    q.alice.handle_timeout(q.now + 59_999);
    assert_eq!(q.alice.session_count(), 1);
    q.alice.handle_timeout(q.now + 60_000);
    assert_eq!((q.alice.session_count(), q.alice.tag_count()), (0, 0));

    // Bob's reply never confirmed: dropped after nsr_confirm_timeout.
    let mut r = Pair::new(cfg.clone());
    let ns = r.alice.encrypt(r.now, &r.bpk, &[clove(1)]).unwrap();
    r.bob.decrypt(r.now, &ns).unwrap();
    r.bob.encrypt(r.now, &r.apk, &[clove(2)]).unwrap();
    r.bob.handle_timeout(r.now + 179_000);
    assert_eq!(r.bob.session_count(), 1);
    r.bob.handle_timeout(r.now + 180_000);
    assert_eq!((r.bob.session_count(), r.bob.tag_count()), (0, 0));
}

#[test]
fn replaced_session_keeps_late_messages_for_a_while() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    let late = p.alice.encrypt(p.now, &p.bpk, &[clove(7)]).unwrap();
    // Alice restarts (lost her state): a new New Session from the same key.
    let a2 = StaticSecret::from_bytes(*p.alice_static_bytes());
    let mut alice2 = DestinationGarlic::new(a2);
    let ns = alice2.encrypt(p.now, &p.bpk, &[clove(8)]).unwrap();
    assert_eq!(p.bob.decrypt(p.now, &ns).unwrap().remote, Some(p.apk));
    assert_eq!(p.bob.next_kind(&p.apk), MessageKind::NewSessionReply);
    assert_eq!(ids(&p.bob.decrypt(p.now, &late).unwrap()), vec![7]);
    assert_eq!(p.bob.session_count(), 2);
    // The new session completes; the replaced one goes after 3 minutes.
    let nsr = p.bob.encrypt(p.now, &p.apk, &[clove(9)]).unwrap();
    alice2.decrypt(p.now, &nsr).unwrap();
    let es = alice2.encrypt(p.now, &p.bpk, &[clove(10)]).unwrap();
    p.bob.decrypt(p.now, &es).unwrap();
    p.bob.handle_timeout(p.now + 179_999);
    assert_eq!(p.bob.session_count(), 2);
    p.bob.handle_timeout(p.now + 180_000);
    assert_eq!(p.bob.session_count(), 1);
    assert!(p.bob.is_established(&p.apk));
}

impl Pair {
    fn alice_static_bytes(&self) -> Box<[u8; 32]> {
        Box::new(*self.alice.static_key_for_test().to_bytes())
    }
}

#[test]
fn floods_of_bogus_messages_change_nothing() {
    let cfg = RatchetConfig {
        max_unconfirmed_inbound: 8,
        ..RatchetConfig::default()
    };
    let mut p = Pair::handshaken(cfg);
    let (sessions, tags) = (p.bob.session_count(), p.bob.tag_count());
    let mut buf = [0u8; 200];
    for i in 0..3000usize {
        let len = 4 + i % 190;
        i2p_crypto::random_bytes(&mut buf[4..len]);
        buf[..4].copy_from_slice(&((len - 4) as u32).to_be_bytes());
        assert!(p.bob.decrypt(p.now, &buf[..len]).is_err());
    }
    assert_eq!((p.bob.session_count(), p.bob.tag_count()), (sessions, tags));
    let s = p.bob.stats();
    assert_eq!(s.auth_failed + s.malformed, 3000);
    // Valid New Sessions from many made-up static keys: unconfirmed sessions capped.
    for i in 0..40 {
        let mut eve = DestinationGarlic::new(StaticSecret::random());
        let ns = eve.encrypt(p.now, &p.bpk, &[clove(i)]).unwrap();
        p.bob.decrypt(p.now, &ns).unwrap();
    }
    assert!(
        p.bob.session_count() <= sessions + 8,
        "{}",
        p.bob.session_count()
    );
    // The real session still works.
    assert_eq!(ids(&p.a_to_b(5)), vec![5]);
    assert_eq!(ids(&p.b_to_a(6)), vec![6]);
}

#[test]
fn tag_and_session_limits_hold() {
    let cfg = RatchetConfig {
        max_tags: 100,
        max_sessions: 5,
        ..RatchetConfig::default()
    };
    let mut alice = DestinationGarlic::with_config(StaticSecret::random(), cfg.clone());
    let mut peers = Vec::new();
    for _ in 0..12 {
        let mut bob = DestinationGarlic::with_config(StaticSecret::random(), cfg.clone());
        let ns = alice.encrypt(NOW, &bob.public_key(), &[clove(1)]).unwrap();
        bob.decrypt(NOW, &ns).unwrap();
        peers.push(bob);
        assert!(alice.tag_count() <= 100);
        assert!(alice.session_count() <= 5);
    }
    assert!(alice.stats().sessions_evicted >= 7);
    // Sessions with the most recent peers still complete.
    let last = peers.last_mut().unwrap();
    let nsr = last.encrypt(NOW, &alice.public_key(), &[clove(2)]).unwrap();
    alice.decrypt(NOW, &nsr).unwrap();
    assert!(alice.tag_count() <= 100);
}

#[test]
fn ratchet_round_trip_with_loss_of_key_messages() {
    // Next Key blocks are repeated until answered, so losing some does not stall.
    let cfg = RatchetConfig {
        send_ratchet_after: 10,
        ..RatchetConfig::default()
    };
    let mut p = Pair::handshaken(cfg);
    let mut delivered = 0;
    for i in 0..400u32 {
        let m = p.bob.encrypt(p.now, &p.apk, &[clove(i)]).unwrap();
        if i % 5 == 4 {
            continue; // lost
        }
        assert_eq!(ids(&p.alice.decrypt(p.now, &m).unwrap()), vec![i]);
        delivered += 1;
        if i % 2 == 0 {
            let back = p.alice.encrypt(p.now, &p.bpk, &[]).unwrap();
            if i % 6 != 0 {
                p.bob.decrypt(p.now, &back).unwrap();
            }
        }
    }
    assert_eq!(delivered, 320);
    assert!(p.bob.stats().send_ratchets >= 10, "{:?}", p.bob.stats());
}

#[test]
fn forced_ratchet_uses_expected_key_ids() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    for round in 1..=5u16 {
        p.bob.session_mut(&p.apk).unwrap().force_send_ratchet();
        let m = p.bob.encrypt(p.now, &p.apk, &[clove(1)]).unwrap();
        let inc = p.alice.decrypt(p.now, &m).unwrap();
        let nk: Vec<_> = inc
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::NextKey(k) => Some(k.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(nk.len(), 1);
        // Key IDs: 0 (new, request), 1 (new), 1 (old, request), 2 (new), 2 (old, request)
        let (want_id, want_key, want_req) = match round {
            1 => (0, true, true),
            2 => (1, true, false),
            3 => (1, false, true),
            4 => (2, true, false),
            _ => (2, false, true),
        };
        assert_eq!(
            (
                nk[0].key_id,
                nk[0].public_key.is_some(),
                nk[0].request_reverse,
                nk[0].reverse
            ),
            (want_id, want_key, want_req, false),
            "round {round}"
        );
        assert!(inc.reply_due);
        let reply = p.alice.encrypt(p.now, &p.bpk, &[]).unwrap();
        p.bob.decrypt(p.now, &reply).unwrap();
        assert_eq!(
            p.bob.session_mut(&p.apk).unwrap().send_tagset_id(),
            Some(round)
        );
        // The new tag set works, and both sides number it the same.
        let inc = p.b_to_a(50);
        assert_eq!(ids(&inc), vec![50]);
        assert_eq!(inc.id.unwrap().tagset_id, round);
    }
}

#[test]
fn bob_converges_on_the_handshake_alice_chose() {
    let mut p = Pair::new(RatchetConfig::default());
    let ns1 = p.alice.encrypt(p.now, &p.bpk, &[clove(1)]).unwrap();
    p.bob.decrypt(p.now, &ns1).unwrap();
    let nsr1 = p.bob.encrypt(p.now, &p.apk, &[clove(2)]).unwrap();
    // Alice has no reply yet and sends again; Bob answers the second one too.
    let ns2 = p.alice.encrypt(p.now, &p.bpk, &[clove(3)]).unwrap();
    p.bob.decrypt(p.now, &ns2).unwrap();
    let nsr2 = p.bob.encrypt(p.now, &p.apk, &[clove(4)]).unwrap();
    assert_eq!(p.bob.session_count(), 2);
    // The first reply arrives first: Alice takes its keys; the second still reads.
    assert_eq!(ids(&p.alice.decrypt(p.now, &nsr1).unwrap()), vec![2]);
    assert_eq!(ids(&p.alice.decrypt(p.now, &nsr2).unwrap()), vec![4]);
    // Alice's ES confirms Bob's first session, which becomes current again.
    assert_eq!(ids(&p.a_to_b(5)), vec![5]);
    assert!(p.bob.is_established(&p.apk));
    assert_eq!(ids(&p.b_to_a(6)), vec![6]);
    assert_eq!(ids(&p.a_to_b(7)), vec![7]);
    // The unused second session goes with time.
    p.now += 180_000;
    p.bob.handle_timeout(p.now);
    assert_eq!(p.bob.session_count(), 1);
    assert_eq!(ids(&p.b_to_a(8)), vec![8]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Arbitrary payload bytes behind valid Existing Session encryption (including
    /// Next Key, ACK, Termination blocks with any content): errors or blocks, never a
    /// panic, and the session's tags stay bounded.
    #[test]
    fn arbitrary_payloads_behind_valid_encryption(
        payloads in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120), 1..8)
    ) {
        let mut p = Pair::handshaken(RatchetConfig::default());
        for payload in payloads {
            let Ok(m) = p.alice.encrypt_raw_payload(&p.bpk, &payload) else { break };
            let _ = p.bob.decrypt(p.now, &m);
            if let Ok(back) = p.bob.encrypt(p.now, &p.apk, &[]) {
                let _ = p.alice.decrypt(p.now, &back);
            }
            proptest::prop_assert!(p.bob.tag_count() <= 4 * 700);
        }
    }

    #[test]
    fn crafted_next_key_blocks_never_break_the_session(
        flags in proptest::collection::vec((0u8..8, 0u16..6, proptest::prelude::any::<bool>()), 1..10)
    ) {
        let mut p = Pair::handshaken(RatchetConfig::default());
        for (flag, key_id, with_key) in flags {
            let mut payload = vec![7u8, 0, if with_key { 35 } else { 3 }, flag | u8::from(with_key), 0, key_id as u8];
            if with_key {
                payload.extend_from_slice(&StaticSecret::random().public_key());
            }
            let m = p.alice.encrypt_raw_payload(&p.bpk, &payload).unwrap();
            let _ = p.bob.decrypt(p.now, &m);
            // Bob's answer and normal traffic still go through both ways.
            let back = p.bob.encrypt(p.now, &p.apk, &[clove(1)]).unwrap();
            proptest::prop_assert_eq!(ids(&p.alice.decrypt(p.now, &back).unwrap()), vec![1]);
        }
    }
}

#[test]
fn a_payload_too_large_changes_nothing() {
    let mut p = Pair::handshaken(RatchetConfig::default());
    let out = p
        .alice
        .encrypt_detailed(p.now, &p.bpk, &[clove(1)], true)
        .unwrap();
    p.bob.decrypt(p.now, &out.body).unwrap();
    let huge = Clove::local(I2npMessage::new(MessageType::DATA, 2, NOW, vec![0; 70_000]));
    assert!(matches!(
        p.bob.encrypt(p.now, &p.apk, &[huge]).unwrap_err(),
        RatchetError::Garlic(crate::Error::TooLarge(_))
    ));
    // The ACK owed is still sent with the next message, on the next tag.
    let inc = p.b_to_a(3);
    assert_eq!(
        inc.acks().copied().collect::<Vec<_>>(),
        vec![out.ack_id.unwrap()]
    );
    assert_eq!(inc.id.unwrap().n, 0);
}

#[test]
fn both_sides_open_at_once() {
    let mut p = Pair::new(RatchetConfig::default());
    // `s` has the smaller static key: both keep the session `s` started.
    let Pair {
        alice,
        bob,
        apk,
        bpk,
        now,
    } = &mut p;
    let (s, l, spk, lpk) = if apk < bpk {
        (alice, bob, *apk, *bpk)
    } else {
        (bob, alice, *bpk, *apk)
    };
    let now = *now;
    let ns_s = s.encrypt(now, &lpk, &[clove(1)]).unwrap();
    let ns_l = l.encrypt(now, &spk, &[clove(2)]).unwrap();
    assert_eq!(ids(&l.decrypt(now, &ns_s).unwrap()), vec![1]);
    assert_eq!(ids(&s.decrypt(now, &ns_l).unwrap()), vec![2]);
    assert_eq!(s.next_kind(&lpk), MessageKind::NewSession);
    assert_eq!(l.next_kind(&spk), MessageKind::NewSessionReply);
    let nsr = l.encrypt(now, &spk, &[clove(3)]).unwrap();
    assert_eq!(
        s.decrypt(now, &nsr).unwrap().kind,
        IncomingKind::NewSessionReply
    );
    let es = s.encrypt(now, &lpk, &[clove(4)]).unwrap();
    assert_eq!(
        l.decrypt(now, &es).unwrap().kind,
        IncomingKind::ExistingSession
    );
    for i in 5..20 {
        let m = l.encrypt(now, &spk, &[clove(i)]).unwrap();
        let inc = s.decrypt(now, &m).unwrap();
        assert_eq!(
            (inc.kind, ids(&inc)),
            (IncomingKind::ExistingSession, vec![i])
        );
        let m = s.encrypt(now, &lpk, &[clove(100 + i)]).unwrap();
        assert_eq!(ids(&l.decrypt(now, &m).unwrap()), vec![100 + i]);
    }
    // The unused halves go with time.
    s.handle_timeout(now + 180_000);
    l.handle_timeout(now + 180_000);
    assert_eq!((s.session_count(), l.session_count()), (1, 1));
}
