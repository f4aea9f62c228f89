#![doc = include_str!("../README.md")]

mod policy;
mod signals;

pub use policy::{Block, Decision, Reason, SharingPolicy, SharingState, WaitFor};
pub use signals::{PlugType, PolicyConfig, PowerSignals, SharingMode, SharingPrefs, ThermalStatus};
