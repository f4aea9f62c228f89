#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Tests may unwrap (preamble: "tests may unwrap").
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod base32;
pub mod base64;
pub mod bytes;
pub mod common;
pub mod datagram;
pub mod encrypted_leaseset;
pub mod i2cp_payload;
pub mod i2np;
pub mod identity;
pub mod leaseset;
pub mod mapping;
pub mod private_keys;
pub mod router_info;
pub mod su3;

pub use bytes::{Error, Readable, Reader, Result, Writeable, Writer};
pub use common::{Date, Hash, I2pString};
pub use encrypted_leaseset::{BlindedAddress, EncryptedLeaseSet};
pub use i2np::{I2npMessage, MessageType};
pub use identity::{
    Certificate, CryptoKeyType, Destination, KeyCertificate, KeysAndCert, RouterIdentity,
    SigningKeyType,
};
pub use leaseset::{EncryptionKey, Lease2, LeaseSet2, OfflineSignature, UncheckedLeaseSet2};
pub use mapping::Mapping;
pub use private_keys::DestinationKeys;
pub use router_info::{Ntcp2Params, RouterAddress, RouterInfo, UncheckedRouterInfo};
