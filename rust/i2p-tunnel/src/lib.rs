//! I2P tunnels as sans-IO code (being written): `build` holds the ECIES tunnel build
//! records (tunnel-creation-ecies.rst), `message` the tunnel messages, their layered
//! encryption, fragmentation and reassembly (tunnel-message.rst,
//! tunnel-implementation.md).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod build;
pub mod message;
pub mod pool;
