//! A Noise N garlic message to our router, captured from i2pd 2.45.1 (`/usr/sbin/i2pd
//! --version`: "i2pd version 2.45.1 (0.9.57)") in a private test network
//! (gousse-testnet): four i2pd routers and our router, published as a floodfill with
//! the throwaway X25519 key `OUR_KEY`. An i2pd router building a tunnel with us as
//! first hop sent the ShortTunnelBuild out of its outbound tunnel, garlic-wrapped to
//! our static key by `WrapECIESX25519MessageForRouter`; the tunnel's endpoint
//! delivered it to us over NTCP2 as an I2NP Garlic message. `GARLIC` is that
//! message's payload (`length || data`), received at `RECEIVED_MS`.

#![allow(clippy::unwrap_used, missing_docs)]

use i2p_garlic::block::{parse_blocks, write_blocks, Block, MessageKind};
use i2p_garlic::keytag::garlic_data;
use i2p_garlic::router::open_for_router;
use i2p_garlic::StaticSecret;
use i2p_garlic::{check_order, DeliveryInstructions, Error, Origin, Path, RouterGarlic};
use i2p_wire::MessageType;

const OUR_KEY: &str = "f5930cb3c2b4f5ac804f83c57dccaf9b7a525e93dcb6fa2d6772d61919fc8240";
const RECEIVED_MS: u64 = 1795675522502;
const GARLIC: &[&str] = &[
    "000003b041136e253158bd1b5c07c5e5d241c3a1c000b27cbbb4a6d54d414ba29f7dae492139573a06c9c4a1",
    "18170015e1d8c0345a06fb3023e77dc44bc3f836eeff1f824b188a4fef37386385ae26709df126e40d5b53d4",
    "27b21e91187f9e66ccfc2ed8f65660a74dcbbc15315de06654053d85399efe2eb2209b7385226626a0aa705c",
    "2846435748d88c9488d00bb67ff24d3554ddb5e6e657c801d8c50407e12f4171b8048e96a9a6f30c65d48d50",
    "ab19a8d0da9e6a07708345877032d36d8f40ed4b7bd4087c10c44aa9b52a58afa2737643f02da3a2056be61e",
    "85ecf804242bf68d6b33dd0dafc54830276e33e105f92c8c97b16380badeca794248bfb9f512b011be609dbb",
    "e846f3f0d191561896936a00c9c6e8b153afb2d889b3525c63648cb8ebaeabf0709de5e0b3c2b59b75043520",
    "262623b1b72cee5f1571aad3647c450d6a60b1662ebde10276bcfbae01b4e663467d65737930d22adcafab2c",
    "7e2d42b3267cdd9ef432296859b2b4929dab05c5276ed78fba7ffc815c6a66f4401d5a74110af93ab0d10472",
    "6d3cb4744e76407b9c3bca75d8dc5a4ef47a744efbc59b69301bebbca24e1a0d12c56b90717f5d9790d26a27",
    "bb8dea6529bcb4a27e51ec630c8a424250d22138a897f4335777c78e7c711d821bc90b6a8b913a95c1c67f35",
    "e01b0792facb34b9b7b2f30deb23dc4c5ab6d518c85e8a4a656754bf45235efa0bca65e9f9089c13e67333be",
    "980bbffb923d53083f513276264379ca96382d71e522009300c6d2e17a964c334e5c67e543ea362d98d6b673",
    "7fce696e263cb336db4bcbf6bd754f74f9bd123a7b1bf368b3668c996847af3590f37f780653222cccfd19f7",
    "dd3fb5debff97d066ee2261f3eee981a9099178692c82f7e2c242590d76942d63b90785528357d4c94d2734c",
    "560a008ddc5466113f7302974591aeda2964c573ce756f9352882a0abd0e038deff21ca11b5eb9b1fcb6d5ea",
    "9ecc13062e98b20d8be07c16ea690cc3c5f13a95f5bd3ebd6ef67a46fc61c594ed2c770ccf2f80cdc6e45a36",
    "f154f08d892fb696c02f3c5264da285b6e3f4a0959c6aa8a77f93948848a74854fd180de22b0164457d57b3c",
    "2fe52427bb75e88804b02f385f526c436d581f165979a21c160e4dbecd19c3717c509d395610479c983b3af1",
    "97c0bff7a7cd0fcd91d783a709e86be36e9dec2f19d86031a242bcbefd8d37fa0dcdf6eca64cbba3654e33c8",
    "1b00e4e40cd184530bb6b7e270ad212a613a18d86670101a2b2e9ff6ea3b8da44cdda74c736bbb36f6787bb3",
    "37ae47609d0a8b9a5d343cf1c7bf7042ec403b25708d44bf",
];

fn our_key() -> StaticSecret {
    StaticSecret::from_bytes(hex::decode(OUR_KEY).unwrap().try_into().unwrap())
}

fn garlic() -> Vec<u8> {
    hex::decode(GARLIC.concat()).unwrap()
}

#[test]
fn i2pd_noise_n_garlic_decrypts_to_a_short_tunnel_build() {
    let mut us = RouterGarlic::new(our_key());
    let d = us.decrypt_detailed(RECEIVED_MS, &garlic()).unwrap();
    assert_eq!(d.origin, Origin::Anonymous);
    assert_eq!(d.cloves.len(), 1);
    let c = &d.cloves[0];
    assert_eq!(c.delivery, DeliveryInstructions::Local);
    assert_eq!(c.message.msg_type, MessageType::SHORT_TUNNEL_BUILD);
    // ShortTunnelBuild (i2np.rst): a record count, then 218-byte records.
    let n = usize::from(c.message.payload[0]);
    assert_eq!(c.message.payload.len(), 1 + 218 * n);
    assert_eq!(us.stats().new_session_ok, 1);
    // Same bytes again: a replay.
    assert_eq!(
        us.decrypt(RECEIVED_MS + 1_000, &garlic()),
        Err(Error::Replay)
    );
}

#[test]
fn i2pd_payload_is_datetime_clove_padding_and_re_encodes_exactly() {
    let g = garlic();
    let data = garlic_data(&g).unwrap();
    assert_eq!(data.len() + 4, g.len());
    let (_epk, payload) = open_for_router(&our_key(), data).unwrap();
    let blocks = parse_blocks(&payload).unwrap();
    check_order(&blocks, MessageKind::NewSession).unwrap();
    let Block::DateTime { timestamp } = blocks[0] else {
        panic!("DateTime is not first");
    };
    assert!(u64::from(timestamp).abs_diff(RECEIVED_MS / 1000) <= 2);
    assert!(matches!(blocks[1], Block::GarlicClove(_)));
    assert!(blocks.len() <= 3);
    assert_eq!(write_blocks(&blocks).unwrap(), payload.to_vec());
}

#[test]
fn i2pd_noise_n_garlic_refused_with_another_key_or_late() {
    let mut other = RouterGarlic::new(StaticSecret::random());
    assert_eq!(
        other.decrypt(RECEIVED_MS, &garlic()),
        Err(Error::Auth(Path::NewSession))
    );
    let mut us = RouterGarlic::new(our_key());
    assert!(matches!(
        us.decrypt(RECEIVED_MS + 10 * 60 * 1000, &garlic()),
        Err(Error::Stale { .. })
    ));
}
