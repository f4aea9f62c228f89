//! placeholder: i2p-wire is being written; `su3` is its SU3 module.

pub mod su3;
