//! Tunnel build messages at a participant with a fixed X25519 key.
//!
//! Byte 0 picks the mode: raw ShortTunnelBuild / VariableTunnelBuild bodies and raw
//! garlic replies (parsing only: they never authenticate), or a fuzzed clear-text
//! short / long record that the harness encrypts to the fixed key (Noise N), so the
//! record parser, time checks, KDF and reply paths run on arbitrary clear text. A
//! record that is accepted must produce a reply; an OBEP's garlic reply must open with
//! its own key.
#![no_main]

use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::StaticSecret;
use i2p_tunnel::build::record::{BuildRequestRecord, RecordFormat};
use i2p_tunnel::build::{
    garlic, BuildRequestHandler, GarlicReplyKey, ReplyCode, TransitAction, NOISE_N_PROTOCOL_NAME,
};
use i2p_wire::{Hash, MessageType};
use libfuzzer_sys::fuzz_target;

const OUR_KEY: [u8; 32] = [0x42; 32];
const EPH_KEY: [u8; 32] = [0x17; 32];
const OUR_HASH: [u8; 32] = [0x99; 32];
/// 2025-11-26 00:00 UTC: request times near it pass the time checks.
const NOW_MS: u64 = 1_764_115_200_000;

fn encrypt_record(clear: &[u8], static_pub: &[u8; 32]) -> Vec<u8> {
    let mut ss = SymmetricState::new(NOISE_N_PROTOCOL_NAME);
    ss.mix_hash(&[]);
    ss.mix_hash(static_pub);
    let eph = StaticSecret::from_bytes(EPH_KEY);
    let epk = eph.public_key();
    ss.mix_hash(&epk);
    let dh = eph.diffie_hellman(static_pub).unwrap();
    ss.mix_key(&dh[..]);
    let ct = ss.encrypt_and_hash(clear);
    let mut out = OUR_HASH[..16].to_vec();
    out.extend_from_slice(&epk);
    out.extend_from_slice(&ct);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let secret = StaticSecret::from_bytes(OUR_KEY);
    let static_pub = secret.public_key();
    let mut handler = BuildRequestHandler::new(secret, Hash(OUR_HASH));
    match mode % 4 {
        0 => {
            let _ = handler.handle(MessageType::SHORT_TUNNEL_BUILD, rest, NOW_MS);
            let _ = BuildRequestRecord::parse_short(rest);
            let key = GarlicReplyKey { key: [1; 32], tag: [2; 8] };
            let _ = garlic::unwrap(&key, rest);
        }
        1 => {
            let _ = handler.handle(MessageType::VARIABLE_TUNNEL_BUILD, rest, NOW_MS);
            let _ = BuildRequestRecord::parse_long(rest);
        }
        m => {
            let format = if m == 2 { RecordFormat::Short } else { RecordFormat::Long };
            let (msg_type, clear_len) = match format {
                RecordFormat::Short => (MessageType::SHORT_TUNNEL_BUILD, 154),
                RecordFormat::Long => (MessageType::VARIABLE_TUNNEL_BUILD, 464),
            };
            let Some((&ctl, rest)) = rest.split_first() else {
                return;
            };
            let mut clear = vec![0u8; clear_len];
            let n = rest.len().min(clear_len);
            clear[..n].copy_from_slice(&rest[..n]);
            // Put the request time near NOW_MS half of the time, so the later
            // checks and the reply run.
            if ctl & 1 == 1 {
                let t = ((NOW_MS / 60_000) as u32).to_be_bytes();
                let off = if format == RecordFormat::Short { 44 } else { 156 };
                clear[off..off + 4].copy_from_slice(&t);
                clear[off + 4..off + 8].copy_from_slice(&600u32.to_be_bytes());
            }
            let num = usize::from(ctl >> 5) + 1; // 1..=8
            let idx = usize::from((ctl >> 1) & 0x0f) % num;
            let mut payload = vec![num as u8];
            for i in 0..num {
                if i == idx {
                    payload.extend_from_slice(&encrypt_record(&clear, &static_pub));
                } else {
                    payload.extend(std::iter::repeat(i as u8).take(format.record_len()));
                }
            }
            let Ok(req) = handler.handle(msg_type, &payload, NOW_MS) else {
                return;
            };
            assert_eq!(usize::from(req.record_index), idx);
            let garlic_key = req.garlic_reply_key().cloned();
            let action = req
                .reply(ReplyCode::REJECT_BANDWIDTH, NOW_MS)
                .expect("an accepted record gets a reply");
            let body_len = 1 + num * format.record_len();
            match action {
                TransitAction::Forward { message, .. } | TransitAction::LocalReply { message, .. } => {
                    assert_eq!(message.payload.len(), body_len);
                }
                TransitAction::ReplyToGateway { message, .. } => match garlic_key {
                    Some(k) => {
                        let inner = garlic::unwrap(&k, &message.payload).expect("own garlic opens");
                        assert_eq!(inner.msg_type, MessageType::OUTBOUND_TUNNEL_BUILD_REPLY);
                        assert_eq!(inner.payload.len(), body_len);
                    }
                    None => assert_eq!(message.payload.len(), body_len),
                },
            }
            // The same record again is a replay.
            assert!(handler.handle(msg_type, &payload, NOW_MS).is_err());
        }
    }
});
