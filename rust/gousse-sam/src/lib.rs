#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// Tests may unwrap (preamble: "tests may unwrap").
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod command;
pub mod error;
pub mod framing;
pub mod line;
pub mod reply;
pub mod version;

pub use command::{
    Command, DatagramSend, DestGenerate, DestinationSpec, Hello, NamingLookup, Options,
    PortOptions, RawSend, SendOptions, SessionAdd, SessionCreate, SessionRemove, SignatureType,
    StreamAccept, StreamConnect, StreamForward, Style,
};
pub use error::ParseError;
pub use framing::{LineReader, MAX_BUFFERED};
pub use line::{tokenize, Line, MAX_KEY_LEN, MAX_LINE_LEN, MAX_PAIRS, MAX_VALUE_LEN};
pub use reply::{Reply, ResultCode};
pub use version::{negotiate, Version, SUPPORTED};
