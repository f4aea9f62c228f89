//! A RouterInfo written by i2pd 2.45.1 (`router.info` from a throwaway data dir,
//! floodfill, host 198.18.0.1, port 23456, NTCP2 and SSU2 published): parse, verify,
//! read its options, re-serialize byte for byte.
#![allow(clippy::unwrap_used)]

use i2p_wire::i2np::{DatabaseStore, I2npMessage, MessageType, Payload};
use i2p_wire::{
    CryptoKeyType, Readable, RouterIdentity, SigningKeyType, UncheckedRouterInfo, Writeable,
};

const RI: &[u8] = include_bytes!("data/i2pd-2.45.1-router.info");

/// From the `ntcp2.keys` i2pd wrote beside the file: static public key (bytes 0..32)
/// and IV (bytes 64..80). Only the public parts are kept.
const NTCP2_STATIC: &str = "17c73702a300588b0b2d2acbc3cbcbb274755bf121b61c33dbd2a5577e2e3727";
const NTCP2_IV: &str = "032e9d76155a5119ebfbb0386f0fec76";

#[test]
fn i2pd_router_info_parses_verifies_and_round_trips() {
    let unchecked = UncheckedRouterInfo::parse(RI).unwrap();
    let ri = unchecked.verify().unwrap();
    assert_eq!(ri.to_bytes(), RI);

    let id = ri.identity();
    assert_eq!(id.signing_type(), SigningKeyType::EDDSA_SHA512_ED25519);
    assert_eq!(id.crypto_type(), CryptoKeyType::X25519);
    assert_eq!(id.wire_len(), 391);
    assert_eq!(ri.hash().0, i2p_crypto::hash::sha256(&RI[..391]));
    assert_eq!(RouterIdentity::from_bytes(&RI[..391]).unwrap(), *id);

    assert_eq!(ri.caps(), Some("Xf"));
    assert!(ri.is_floodfill());
    assert_eq!(ri.net_id(), Some(2));
    assert_eq!(ri.router_version(), Some("0.9.57"));
    assert!(ri.published() > 1_700_000_000_000);

    let styles: Vec<_> = ri
        .addresses()
        .iter()
        .map(|a| a.transport().unwrap())
        .collect();
    assert_eq!(styles, ["NTCP2", "SSU2"]);
    for a in ri.addresses() {
        assert_eq!(a.expiration.as_millis(), 0);
        assert!(a.options.is_sorted());
    }

    let p = ri.ntcp2_published().unwrap();
    assert_eq!(p.addr, Some("198.18.0.1:23456".parse().unwrap()));
    assert_eq!(hex::encode(p.static_key), NTCP2_STATIC);
    assert_eq!(hex::encode(p.iv.unwrap()), NTCP2_IV);
    assert_eq!(p.version, "2");
    assert_eq!(ri.ntcp2_addresses().count(), 1);
}

#[test]
fn i2pd_router_info_any_flipped_bit_fails() {
    // Every byte is covered by the signature or is the signature: flipping one bit
    // anywhere either breaks parsing or breaks verification.
    for pos in (0..RI.len()).step_by(7) {
        let mut b = RI.to_vec();
        b[pos] ^= 0x40;
        if let Ok(u) = UncheckedRouterInfo::parse(&b) {
            assert!(u.verify().is_err(), "byte {pos}");
        }
    }
}

#[test]
fn i2pd_router_info_through_database_store() {
    let ri = UncheckedRouterInfo::parse(RI).unwrap().verify().unwrap();
    let ds = DatabaseStore::router_info(&ri, None).unwrap();
    let msg =
        I2npMessage::from_payload(0x0102_0304, 1_800_000_000_000, &Payload::DatabaseStore(ds));
    assert_eq!(msg.msg_type, MessageType::DATABASE_STORE);
    let wire = msg.to_short_bytes().unwrap();
    let back = I2npMessage::parse_short(&wire).unwrap();
    let Payload::DatabaseStore(ds) = back.parse_payload().unwrap() else {
        panic!("not a DatabaseStore");
    };
    assert_eq!(ds.key, ri.hash());
    let again = ds.parse_router_info().unwrap().verify().unwrap();
    assert_eq!(again.to_bytes(), RI);
    assert_eq!(ds.to_bytes(), back.payload);
}
