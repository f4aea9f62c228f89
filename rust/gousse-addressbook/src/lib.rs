#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod book;
pub mod hosts_txt;
pub mod name;
pub mod subscription;

pub use book::{AddressBook, BookError, Entry, ImportReport, Resolved};
pub use gousse_store::HostInsert;
pub use hosts_txt::{parse_hosts_txt, parse_line, LineError, Record};
pub use name::{b32_name, b32_name_of_hash, HostKind, HostName, NameError};
pub use subscription::{FetchOutcome, FetchRequest, Schedule, Subscription};
