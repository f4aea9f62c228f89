#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Tests may unwrap (preamble: "tests may unwrap").
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod backend;
pub mod command;
pub mod datagram;
pub mod error;
pub mod framing;
pub mod line;
mod naming;
pub mod reply;
pub mod server;
mod session;
pub mod version;

pub use backend::{
    BackendError, DatagramFrom, ReceivedDatagram, SamBackend, SamStream, SessionOptions,
};
pub use command::{
    Command, DatagramSend, DestGenerate, DestinationSpec, Hello, NamingLookup, Options,
    PortOptions, RawSend, SendOptions, SessionAdd, SessionCreate, SessionRemove, SignatureType,
    StreamAccept, StreamConnect, StreamForward, Style,
};
pub use error::ParseError;
pub use framing::{LineReader, MAX_BUFFERED};
pub use line::{tokenize, Line, MAX_KEY_LEN, MAX_LINE_LEN, MAX_PAIRS, MAX_VALUE_LEN};
pub use reply::{Reply, ResultCode};
pub use server::{SamConfig, SamServer, DEFAULT_TCP_PORT, DEFAULT_UDP_PORT};
pub use version::{negotiate, Version, SUPPORTED};
