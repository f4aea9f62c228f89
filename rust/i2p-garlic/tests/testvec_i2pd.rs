//! A one-time key+tag reply captured from i2pd 2.45.1 (`/usr/sbin/i2pd --version`:
//! "i2pd version 2.45.1 (0.9.57)"), running as a floodfill in a private test network
//! (gousse-testnet). We connected over NTCP2 and sent it a DatabaseLookup for its own
//! RouterInfo with flags `0x19` (reply through tunnel 0x12345678 of our router, ECIES
//! reply encryption, RouterInfo lookup), the reply key `KEY` and the one tag `TAG`.
//! Having no tunnels, it answered directly with a TunnelGateway message whose I2NP
//! message was this Garlic message (`GARLIC` is its payload: `length || data`), built
//! by i2pd's `WrapECIESX25519Message`. `FLOODFILL` is the floodfill's router hash.

#![allow(clippy::unwrap_used, missing_docs)]

use i2p_garlic::block::{parse_blocks, write_blocks, Block};
use i2p_garlic::keytag::{garlic_data, open_with_key_tag};
use i2p_garlic::StaticSecret;
use i2p_garlic::{unwrap_with_key_tag, DeliveryInstructions, Error, Origin, Path, RouterGarlic};
use i2p_wire::i2np::{DatabaseStoreKind, Payload};
use i2p_wire::MessageType;

const KEY: &str = "5061c0715e01f72ee0640b1aaf4b5451cb05b742ff3bd30b7469fb7317d8cf03";
const TAG: &str = "2530587f5d8ddd02";
const FLOODFILL: &str = "4d56e77f4c8f7e88f00558fc36d3ad2685be3695d75013bb9b8c00018b2ebbdf";
const GARLIC: &[&str] = &[
    "000003cd2530587f5d8ddd02a6c6601fb3938c2df6044ddf80caa97df61a9c2258c79a162288d21e28e2c844",
    "6fd0d8d9a7e71ce89efe902a5f83429f6e6f67bc7a4bfe6bfa92418d62e13eb494e21de0e897c794a1485d17",
    "4d7892be23e299e1597ffab89b475ada295dc3f9750e734687090e956b422883754638bd6eeafa89c45cb1a2",
    "5b98af4b395b551fac65349daa3debcc1560a665df1291db45bc843f10109451ec47a91a8e72a3cc5c2b65eb",
    "3af0268d6459137b842663e15bf4f8f84965e4d25e42425c068344ea0473b742b2006a52f68e719287d63f6b",
    "5924bc82d39a66a7e795909f27f93ecea0a232f05bc63f1b78726f58c25699a6c22e391e7d62e01257ba6bc4",
    "890bd589be55d8c254a58dc94f545a91f88594753e5423c9ee2a498a0c2d3e08a43d5a50294f3df494e16a76",
    "39676cdca05c3c1e914d9b47185a77fc5433b4d8e9ab4e524a6e9dec3648fb7c4bea36bbae4cf3caf2bfbe3d",
    "b61a9ab825a0effbf7db87b3f0324b29ebaab2addbc5ec411103ea70d0a6a4c4636150dab15c5dd592a664af",
    "192916b5953d5d5a1caf0ecdc00e92db72d4e1f56e8fdcb34b40d9a62772edb479904e6f0b7fb95797de8519",
    "6e049b0eec15ecc3daf4247080c9dcece619df10ae1fec20ea615691c3c9e8ef553c4bf32a6c1dfc1747c91d",
    "e9d0ec85afb00506c9ced2ab2c7309004ca06506b7409484c7f89787de7e0c4b0a3d38794fbe6f555b495cf2",
    "f035df5380fc9bf0ed9d65d923419534617d1a3baf76b5924480f15b74bf497564bdbec576a15804c9bf81b4",
    "f4c15fab6e3e8cc96657a2aa69826f589b25e6ec2490da4c622ef419adb072529cfd5fbfbe627ef9c17f2775",
    "455da5ebfcef53c928d1044189520a7771273a7d71a6052ebff13a7831fb634f1bc9eb253219842feb556567",
    "2978b5f99d3f610c9e740c2517dff14f2fc8a2fbebde7ef3210eaf43a7e11708586f6fb28c3a634ee48a35fc",
    "bbd42222f7141c8cc2c1f638d903e4aa739ff2db018495e526cfe383c5af617e2e71904d9465a3011a1a0940",
    "fbec07dba6de0255aea9b735dab89f995c36560b40f442d410b8dc508c599fa922ad32948029e1a36cc5839c",
    "b14bc17b192e36cf5a4a569359edab6c64ca4742bd4011b6dc5455a32f83badddc0fa40addfc971b789ed857",
    "82a9d862f761359e57d24cc9d68a360334219bce25372292405530489176016629940eb721872518a3c949de",
    "6ac1b6296e2171bf4a24c56b0325489e7ac865fce4db9c5ad5079998eabcd0ca9dc38114b06f2ef2a71c050b",
    "ca59cf88f85c1971586ca3f3c6341b52ed143b68e873aa198cbdba09b61c9620bcb12aaef37e8317a1b68ef5",
    "09f5ee3d2ee7e60255",
];

fn key() -> [u8; 32] {
    hex::decode(KEY).unwrap().try_into().unwrap()
}

fn tag() -> [u8; 8] {
    hex::decode(TAG).unwrap().try_into().unwrap()
}

fn garlic() -> Vec<u8> {
    hex::decode(GARLIC.concat()).unwrap()
}

#[test]
fn i2pd_reply_unwraps_to_a_router_info_store() {
    let cloves = unwrap_with_key_tag(&key(), &tag(), &garlic()).unwrap();
    assert_eq!(cloves.len(), 1);
    let c = &cloves[0];
    assert_eq!(c.delivery, DeliveryInstructions::Local);
    assert_eq!(c.message.msg_type, MessageType::DATABASE_STORE);
    let Payload::DatabaseStore(store) = c.message.parse_payload().unwrap() else {
        panic!("not a DatabaseStore");
    };
    assert_eq!(hex::encode(store.key.as_bytes()), FLOODFILL);
    assert!(matches!(store.kind, DatabaseStoreKind::RouterInfo { .. }));
    let ri = store.parse_router_info().unwrap().verify().unwrap();
    assert_eq!(hex::encode(ri.hash().as_bytes()), FLOODFILL);
}

#[test]
fn i2pd_payload_is_clove_then_padding_and_re_encodes_exactly() {
    let g = garlic();
    let data = garlic_data(&g).unwrap();
    assert_eq!(
        data.len() + 4,
        g.len(),
        "length field covers the rest exactly"
    );
    assert_eq!(&data[..8], &tag());
    let payload = open_with_key_tag(&key(), &tag(), data).unwrap();
    let blocks = parse_blocks(&payload).unwrap();
    assert!(matches!(blocks[0], Block::GarlicClove(_)));
    match blocks.get(1) {
        None => {}
        Some(Block::Padding(p)) => assert!(p.len() <= 15),
        Some(other) => panic!("unexpected block {other:?}"),
    }
    assert!(blocks.len() <= 2);
    assert_eq!(write_blocks(&blocks).unwrap(), payload.to_vec());
}

#[test]
fn router_garlic_recognises_the_i2pd_reply_by_its_tag() {
    let now_ms = 1_764_000_000_000;
    let mut us = RouterGarlic::new(StaticSecret::random());
    us.expect_reply_with(now_ms, &key(), tag());
    let d = us.decrypt_detailed(now_ms + 1_000, &garlic()).unwrap();
    assert_eq!(d.origin, Origin::Reply { tag: tag() });
    assert_eq!(d.cloves.len(), 1);
    assert_eq!(us.stats().reply_ok, 1);
}

#[test]
fn i2pd_reply_with_wrong_key_fails() {
    let mut k = key();
    k[31] ^= 1;
    assert_eq!(
        unwrap_with_key_tag(&k, &tag(), &garlic()),
        Err(Error::Auth(Path::ReplyTag))
    );
}
