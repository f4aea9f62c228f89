#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
mod error;
mod logs;
mod router;
mod sharing;
mod status;

pub use config::RouterSettings;
pub use error::{GousseError, ListenerError};
pub use logs::{LogLevel, LogLine};
pub use router::{default_sharing_prefs, GousseRouter, RouterListener};
pub use sharing::{
    PlugType, PowerState, SharingMode, SharingPrefs, SharingState, SharingStatus, ThermalStatus,
};
pub use status::{RouterState, RouterStatus};

uniffi::setup_scaffolding!();
