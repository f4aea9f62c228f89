#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod backend;
pub mod http;
pub mod http_proxy;
pub mod pages;
mod relay;
pub mod socks;
pub mod socks_proxy;

pub use backend::{AddHostError, ConnectError, I2pBackend, ResolveError, Target};
pub use http_proxy::{HttpProxy, HttpProxyConfig, DEFAULT_HTTP_PROXY_ADDR};
pub use socks_proxy::{SocksProxy, SocksProxyConfig, DEFAULT_SOCKS_PROXY_ADDR};
