//! The command line (clap derive).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// Gousse: an I2P router.
#[derive(Debug, clap::Parser)]
#[command(name = "gousse", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to do.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Run the router until SIGINT or SIGTERM.
    Run(Box<RunArgs>),
    /// Print a commented example configuration file.
    ConfigExample,
}

/// Options of `gousse run`. Each one, when given, wins over the config file.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct RunArgs {
    /// TOML configuration file (see `gousse config-example`)
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Directory for keys, the SQLite database and logs [default: gousse-data]
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Network id (2 = the real network) [default: 2]
    #[arg(long, value_name = "N")]
    pub(crate) net_id: Option<u8>,

    /// IP address to bind and publish for NTCP2 [default: all addresses, none published]
    #[arg(long, value_name = "IP")]
    pub(crate) host: Option<IpAddr>,

    /// NTCP2 port; 0 picks one at random and keeps it [default: 0]
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<u16>,

    /// Act as a floodfill (`--floodfill=false` overrides the config file)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub(crate) floodfill: Option<bool>,

    /// Directory of routerInfo-*.dat files, a .zip or a .su3 to reseed from (repeatable)
    #[arg(long = "reseed-from", value_name = "PATH")]
    pub(crate) reseed_from: Vec<PathBuf>,

    /// HTTPS reseed server (repeatable) [default: the real network's list]
    #[arg(long = "reseed-url", value_name = "URL")]
    pub(crate) reseed_urls: Vec<String>,

    /// Directory of extra trusted reseed signer certificates (*.crt)
    #[arg(long, value_name = "DIR")]
    pub(crate) reseed_certificates: Option<PathBuf>,

    /// Accept and publish non-public addresses (test networks)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub(crate) allow_private_addresses: Option<bool>,

    /// Local web console address [default: 127.0.0.1:7070]
    #[arg(long, value_name = "ADDR", conflicts_with = "no_console")]
    pub(crate) console: Option<SocketAddr>,

    /// Disable the local web console
    #[arg(long)]
    pub(crate) no_console: bool,

    /// Reseed at start when the netDb knows fewer routers than this [default: 25]
    #[arg(long, value_name = "N")]
    pub(crate) reseed_threshold: Option<usize>,

    /// Most NTCP2 sessions, inbound and outbound together [default: 256]
    #[arg(long, value_name = "N")]
    pub(crate) max_sessions: Option<usize>,

    /// Refuse to relay other routers' tunnels (transit); changeable at run time
    /// through the console's POST /api/transit
    #[arg(long)]
    pub(crate) no_transit: bool,

    /// Most transit tunnels at once, 0 to 10000 [default: 500]
    #[arg(long, value_name = "N")]
    pub(crate) max_transit_tunnels: Option<usize>,

    /// Bandwidth shared with transit tunnels, KB/s each way, 0 to 1048576; also sets
    /// the bandwidth class we publish [default: 256]
    #[arg(long, value_name = "KBPS")]
    pub(crate) transit_share: Option<u64>,

    /// HTTP proxy into I2P [default: 127.0.0.1:4444 on the real network, off on others]
    #[arg(long, value_name = "ADDR")]
    pub(crate) http_proxy: Option<SocketAddr>,

    /// SOCKS5 proxy into I2P [default: 127.0.0.1:4447 on the real network, off on others]
    #[arg(long, value_name = "ADDR")]
    pub(crate) socks_proxy: Option<SocketAddr>,

    /// SAMv3 bridge, datagrams on the UDP port below it [default: 127.0.0.1:7656 on the
    /// real network, off on others]
    #[arg(long, value_name = "ADDR")]
    pub(crate) sam: Option<SocketAddr>,

    /// Client and server tunnels file, in i2pd's tunnels.conf form
    #[arg(long, value_name = "FILE")]
    pub(crate) tunnels: Option<PathBuf>,

    /// Log filter, e.g. `info` or `info,gousse::console=debug` (also RUST_LOG) [default: info]
    #[arg(long, value_name = "LEVEL")]
    pub(crate) log: Option<String>,

    /// Print the effective configuration (file and options merged) as TOML and exit
    #[arg(long)]
    pub(crate) print_config: bool,
}
