//! The effective configuration: defaults, then the TOML file, then the command line.
//!
//! The file has one optional top-level key, `log`, and one table, `[router]`, whose keys
//! are the fields of [`RouterConfig`] (unknown keys are refused by its
//! `deny_unknown_fields`). One extension: `console = false` disables the console, since
//! TOML has no null.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use gousse_router::RouterConfig;

use crate::cli::RunArgs;

/// The example file printed by `gousse config-example`.
pub(crate) const EXAMPLE: &str = include_str!("../gousse.example.toml");

/// Log filter used when neither `--log`, `RUST_LOG` nor the file sets one.
pub(crate) const DEFAULT_LOG: &str = "info";

/// Top-level keys of the config file.
const TOP_LEVEL_KEYS: [&str; 2] = ["log", "router"];

/// Everything `gousse run` needs, merged and checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// What the router is built from.
    pub(crate) router: RouterConfig,
    /// tracing's EnvFilter directive string.
    pub(crate) log: String,
}

/// A configuration the user must fix: exit code 2.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum ConfigError {
    /// The file could not be read.
    #[error("config file {}: cannot read it: {reason}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        reason: String,
    },
    /// The file is not valid TOML.
    #[error("config file {}: {reason}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        reason: String,
    },
    /// A key the file may not have.
    #[error("config file {}: unknown key `{key}` {place}{expected}", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key as written.
        key: String,
        /// "in `[router]`" or "at the top level".
        place: &'static str,
        /// "; expected one of ..." or "".
        expected: String,
    },
    /// A known key with a value of the wrong type or out of range.
    #[error("config file {}: {place}: {reason}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// Where: `` `log` ``, `[router]`, `` invalid value for `port` in [router] ``.
        place: String,
        /// What is wrong.
        reason: String,
    },
    /// A merged value that is not acceptable, whichever source gave it.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The option, e.g. `--reseed-url` / `reseed_urls`.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// What the file says, before the command line is applied.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct FileConfig {
    /// The `[router]` table over the defaults.
    pub(crate) router: RouterConfig,
    /// The top-level `log` key.
    pub(crate) log: Option<String>,
    /// `http_proxy = true/false` in `[router]`: the default address, or off.
    pub(crate) http_proxy_switch: Option<bool>,
    /// `socks_proxy = true/false` in `[router]`.
    pub(crate) socks_proxy_switch: Option<bool>,
    /// `sam = true/false` in `[router]`.
    pub(crate) sam_switch: Option<bool>,
}

/// Reads and parses a config file.
pub(crate) fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    parse_file(path, &text)
}

/// Parses the text of a config file; `path` only names it in errors.
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let mut top: toml::Table = toml::from_str(text).map_err(|err| ConfigError::Syntax {
        path: path.to_owned(),
        reason: err.to_string().trim_end().to_owned(),
    })?;
    if let Some(key) = top.keys().find(|k| !TOP_LEVEL_KEYS.contains(&k.as_str())) {
        return Err(ConfigError::UnknownKey {
            path: path.to_owned(),
            key: key.clone(),
            place: "at the top level",
            expected: "; expected `log` or a [router] table".to_owned(),
        });
    }
    let value_error = |place: &str, reason: String| ConfigError::Value {
        path: path.to_owned(),
        place: place.to_owned(),
        reason,
    };

    let log = match top.remove("log") {
        None => None,
        Some(toml::Value::String(s)) => Some(s),
        Some(other) => {
            return Err(value_error(
                "`log`",
                format!("expected a string, found {}", other.type_str()),
            ))
        }
    };

    let mut table = match top.remove("router") {
        None => toml::Table::new(),
        Some(toml::Value::Table(t)) => t,
        Some(other) => {
            return Err(value_error(
                "`router`",
                format!("expected a table, found {}", other.type_str()),
            ))
        }
    };
    // `console = false` disables the console; `console = true` keeps the default.
    let console_switch = match table.get("console") {
        Some(toml::Value::Boolean(on)) => Some(*on),
        _ => None,
    };
    if console_switch.is_some() {
        table.remove("console");
    }
    // The same for the proxies; without either, they are on for the real network
    // and off in test networks.
    let mut switch = |key: &str| match table.get(key) {
        Some(toml::Value::Boolean(on)) => {
            let on = *on;
            table.remove(key);
            Some(on)
        }
        _ => None,
    };
    let http_proxy_switch = switch("http_proxy");
    let socks_proxy_switch = switch("socks_proxy");
    let sam_switch = switch("sam");

    let mut router: RouterConfig = toml::Value::Table(table.clone())
        .try_into()
        .map_err(|err: toml::de::Error| router_error(path, &table, err.message()))?;
    if console_switch == Some(false) {
        router.console = None;
    }
    Ok(FileConfig {
        router,
        log,
        http_proxy_switch,
        socks_proxy_switch,
        sam_switch,
    })
}

/// Turns serde's message about `[router]` into one that names the file and key.
fn router_error(path: &Path, table: &toml::Table, message: &str) -> ConfigError {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((key, tail)) = rest.split_once('`') {
            let expected = tail
                .strip_prefix(", expected ")
                .map(|list| format!("; expected {list}"))
                .unwrap_or_default();
            return ConfigError::UnknownKey {
                path: path.to_owned(),
                key: key.to_owned(),
                place: "in [router]",
                expected,
            };
        }
    }
    // serde does not say which key held the bad value: find the first key that fails
    // on its own (every field has a default, so one key alone is a complete table).
    let culprit = table.iter().find_map(|(key, value)| {
        let mut alone = toml::Table::new();
        alone.insert(key.clone(), value.clone());
        let result: Result<RouterConfig, _> = toml::Value::Table(alone).try_into();
        result
            .err()
            .map(|err| (key.clone(), err.message().trim().to_owned()))
    });
    let (place, reason) = match culprit {
        Some((key, reason)) => (format!("invalid value for `{key}` in [router]"), reason),
        None => ("[router]".to_owned(), message.to_owned()),
    };
    ConfigError::Value {
        path: path.to_owned(),
        place,
        reason: reason.replace('\n', " "),
    }
}

/// Merges defaults, the file (if any), the command line and `RUST_LOG` (given as
/// `env_log`), then checks the result.
pub(crate) fn settings(args: &RunArgs, env_log: Option<String>) -> Result<Settings, ConfigError> {
    let file = match &args.config {
        Some(path) => load_file(path)?,
        None => FileConfig::default(),
    };
    let mut router = file.router;

    if let Some(dir) = &args.data_dir {
        router.data_dir = dir.clone();
    }
    if let Some(net_id) = args.net_id {
        router.net_id = net_id;
    }
    if let Some(host) = args.host {
        router.host = Some(host);
    }
    if let Some(port) = args.port {
        router.port = port;
    }
    if let Some(floodfill) = args.floodfill {
        router.floodfill = floodfill;
    }
    // Lists given on the command line replace the file's lists.
    if !args.reseed_from.is_empty() {
        router.reseed_from = args.reseed_from.clone();
    }
    if !args.reseed_urls.is_empty() {
        router.reseed_urls = args.reseed_urls.clone();
    }
    if let Some(dir) = &args.reseed_certificates {
        router.reseed_certificates = Some(dir.clone());
    }
    if let Some(allow) = args.allow_private_addresses {
        router.allow_private_addresses = allow;
    }
    if let Some(console) = args.console {
        router.console = Some(console);
    }
    if args.no_console {
        router.console = None;
    }
    if let Some(max) = args.max_sessions {
        router.max_sessions = max;
    }
    if let Some(n) = args.reseed_threshold {
        router.reseed_threshold = n;
    }
    if args.no_transit {
        router.accept_transit = false;
    }
    if let Some(n) = args.max_transit_tunnels {
        router.max_transit_tunnels = n;
    }
    if let Some(kbps) = args.transit_share {
        router.transit_share_kbps = kbps;
    }
    if let Some(path) = &args.tunnels {
        router.tunnels = Some(path.clone());
    }
    let real_network = router.net_id == gousse_router::config::MAIN_NET_ID;
    router.http_proxy = proxy_address(
        args.http_proxy,
        router.http_proxy,
        file.http_proxy_switch,
        real_network,
        DEFAULT_HTTP_PROXY,
    );
    router.socks_proxy = proxy_address(
        args.socks_proxy,
        router.socks_proxy,
        file.socks_proxy_switch,
        real_network,
        DEFAULT_SOCKS_PROXY,
    );
    router.sam = proxy_address(
        args.sam,
        router.sam,
        file.sam_switch,
        real_network,
        DEFAULT_SAM,
    );

    let log = args
        .log
        .clone()
        .or(env_log.filter(|s| !s.trim().is_empty()))
        .or(file.log)
        .unwrap_or_else(|| DEFAULT_LOG.to_owned());

    let settings = Settings { router, log };
    validate(&settings)?;
    Ok(settings)
}

/// The HTTP proxy's address on a normal run.
const DEFAULT_HTTP_PROXY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4444);
/// The SAM bridge's address on a normal run.
const DEFAULT_SAM: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7656);
/// The SOCKS proxy's address on a normal run.
const DEFAULT_SOCKS_PROXY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4447);

/// A proxy's address: the command line's, else the file's (an address, `true` for
/// the default, `false` for off), else the default on the real network and off in
/// test networks.
fn proxy_address(
    cli: Option<SocketAddr>,
    file: Option<SocketAddr>,
    switch: Option<bool>,
    real_network: bool,
    default: SocketAddr,
) -> Option<SocketAddr> {
    match (cli, file, switch) {
        (Some(a), _, _) => Some(a),
        (None, _, Some(false)) => None,
        (None, Some(a), _) => Some(a),
        (None, None, Some(true)) => Some(default),
        (None, None, None) => real_network.then_some(default),
    }
}

/// Checks what the types alone do not.
fn validate(settings: &Settings) -> Result<(), ConfigError> {
    let router = &settings.router;
    if router.data_dir.as_os_str().is_empty() {
        return Err(ConfigError::Invalid {
            what: "--data-dir / data_dir",
            reason: "must not be empty".to_owned(),
        });
    }
    for url in &router.reseed_urls {
        check_reseed_url(url).map_err(|reason| ConfigError::Invalid {
            what: "--reseed-url / reseed_urls",
            reason: format!("{url:?}: {reason}"),
        })?;
    }
    if router.max_sessions == 0 {
        return Err(ConfigError::Invalid {
            what: "--max-sessions / max_sessions",
            reason: "must be at least 1".to_owned(),
        });
    }
    // The same bounds as the console's POST /api/transit.
    if u64::try_from(router.max_transit_tunnels)
        .map_or(true, |n| n > gousse_console::MAX_TRANSIT_TUNNELS)
    {
        return Err(ConfigError::Invalid {
            what: "--max-transit-tunnels / max_transit_tunnels",
            reason: format!(
                "{} is more than {}",
                router.max_transit_tunnels,
                gousse_console::MAX_TRANSIT_TUNNELS
            ),
        });
    }
    if router.transit_share_kbps > gousse_console::MAX_SHARE_KBPS {
        return Err(ConfigError::Invalid {
            what: "--transit-share / transit_share_kbps",
            reason: format!(
                "{} KB/s is more than {} (1 GiB/s)",
                router.transit_share_kbps,
                gousse_console::MAX_SHARE_KBPS
            ),
        });
    }
    if let Some(path) = &router.tunnels {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
            what: "--tunnels / tunnels",
            reason: format!("{}: {e}", path.display()),
        })?;
        gousse_router::tunnels_conf::parse(&text).map_err(|e| ConfigError::Invalid {
            what: "--tunnels / tunnels",
            reason: format!("{}: {e}", path.display()),
        })?;
    }
    tracing_subscriber::EnvFilter::try_new(&settings.log).map_err(|err| ConfigError::Invalid {
        what: "--log / RUST_LOG / log",
        reason: format!("{:?}: {err}", settings.log),
    })?;
    Ok(())
}

/// A reseed URL must be `https://host[:port][/path]`.
fn check_reseed_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .ok_or("must start with https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host");
    }
    if authority.contains('@') {
        return Err("must not carry credentials");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains spaces or control characters");
    }
    Ok(())
}

/// The effective configuration as a config file that `gousse run --config` reads back.
pub(crate) fn to_toml(settings: &Settings) -> Result<String, toml::ser::Error> {
    let mut router = toml::Table::try_from(&settings.router)?;
    if settings.router.console.is_none() {
        router.insert("console".to_owned(), toml::Value::Boolean(false));
    }
    for (key, value) in [
        ("http_proxy", settings.router.http_proxy),
        ("socks_proxy", settings.router.socks_proxy),
        ("sam", settings.router.sam),
    ] {
        if value.is_none() {
            router.insert(key.to_owned(), toml::Value::Boolean(false));
        }
    }
    let mut top = toml::Table::new();
    top.insert("log".to_owned(), toml::Value::String(settings.log.clone()));
    top.insert("router".to_owned(), toml::Value::Table(router));
    let mut text = toml::to_string(&top)?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod test {
    use super::*;
    use std::net::{IpAddr, SocketAddr};

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        parse_file(Path::new("test.toml"), text)
    }

    fn file_with(text: &str) -> (tempfile::NamedTempFile, RunArgs) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        let args = RunArgs {
            config: Some(file.path().to_owned()),
            ..RunArgs::default()
        };
        (file, args)
    }

    #[test]
    fn example_parses_to_the_defaults() {
        let file = parse(EXAMPLE).unwrap();
        assert_eq!(file.router, RouterConfig::default());
        assert_eq!(file.log.as_deref(), Some(DEFAULT_LOG));
    }

    #[test]
    fn empty_file_and_no_file_give_defaults() {
        assert_eq!(parse("").unwrap(), FileConfig::default());
        let s = settings(&RunArgs::default(), None).unwrap();
        assert_eq!(
            s.router,
            RouterConfig {
                http_proxy: Some(DEFAULT_HTTP_PROXY),
                socks_proxy: Some(DEFAULT_SOCKS_PROXY),
                sam: Some(DEFAULT_SAM),
                ..RouterConfig::default()
            },
            "the proxies are on for a normal run"
        );
        assert_eq!(s.log, "info");
    }

    #[test]
    fn proxies_on_for_the_real_network_off_in_test_networks() {
        let test_net = RunArgs {
            net_id: Some(99),
            ..RunArgs::default()
        };
        let s = settings(&test_net, None).unwrap();
        assert_eq!(
            (s.router.http_proxy, s.router.socks_proxy, s.router.sam),
            (None, None, None)
        );
        let addr: SocketAddr = "127.0.0.1:14444".parse().unwrap();
        let given = RunArgs {
            net_id: Some(99),
            http_proxy: Some(addr),
            ..RunArgs::default()
        };
        let s = settings(&given, None).unwrap();
        assert_eq!(
            (s.router.http_proxy, s.router.socks_proxy),
            (Some(addr), None)
        );
        // In the file: an address, true (the default address) or false (off).
        let (_f, args) =
            file_with("[router]\nhttp_proxy = false\nsocks_proxy = \"127.0.0.1:1080\"\n");
        let s = settings(&args, None).unwrap();
        assert_eq!(s.router.http_proxy, None);
        assert_eq!(
            s.router.socks_proxy,
            Some("127.0.0.1:1080".parse().unwrap())
        );
        let (_f, mut args) = file_with("[router]\nnet_id = 99\nhttp_proxy = true\n");
        let s = settings(&args, None).unwrap();
        assert_eq!(s.router.http_proxy, Some(DEFAULT_HTTP_PROXY));
        // The printed configuration reads back the same, off included.
        let printed = to_toml(&s).unwrap();
        let (_g, again) = file_with(&printed);
        assert_eq!(settings(&again, None).unwrap().router, s.router);
        args.http_proxy = Some(addr);
        assert_eq!(settings(&args, None).unwrap().router.http_proxy, Some(addr));
    }

    #[test]
    fn file_values_are_taken() {
        let file = parse(
            "log = \"debug\"\n[router]\nnet_id = 9\nhost = \"10.1.2.3\"\nport = 4567\n\
             floodfill = true\nreseed_from = [\"/a\", \"/b.su3\"]\nconsole = \"127.0.0.1:9999\"\n",
        )
        .unwrap();
        assert_eq!(file.log.as_deref(), Some("debug"));
        assert_eq!(file.router.net_id, 9);
        assert_eq!(file.router.host, Some(IpAddr::from([10, 1, 2, 3])));
        assert_eq!(file.router.port, 4567);
        assert!(file.router.floodfill);
        assert_eq!(
            file.router.reseed_from,
            vec![PathBuf::from("/a"), PathBuf::from("/b.su3")]
        );
        assert_eq!(
            file.router.console,
            Some(SocketAddr::from(([127, 0, 0, 1], 9999)))
        );
    }

    #[test]
    fn console_false_disables_console_true_keeps_default() {
        assert_eq!(
            parse("[router]\nconsole = false").unwrap().router.console,
            None
        );
        assert_eq!(
            parse("[router]\nconsole = true").unwrap().router.console,
            RouterConfig::default().console
        );
    }

    #[test]
    fn command_line_wins_over_file() {
        let (_f, mut args) = file_with(
            "log = \"warn\"\n[router]\nport = 1111\nnet_id = 5\nfloodfill = true\n\
             reseed_urls = [\"https://file.example/\"]\n",
        );
        args.port = Some(2222);
        args.reseed_urls = vec!["https://cli.example/".into()];
        args.floodfill = Some(false);
        args.no_console = true;
        let s = settings(&args, Some("error".into())).unwrap();
        assert_eq!(s.router.port, 2222, "flag wins");
        assert_eq!(s.router.net_id, 5, "file value kept where no flag");
        assert!(!s.router.floodfill, "--floodfill=false overrides the file");
        assert_eq!(
            s.router.reseed_urls,
            vec!["https://cli.example/".to_owned()]
        );
        assert_eq!(s.router.console, None);
        assert_eq!(s.log, "error", "RUST_LOG wins over the file");
        args.log = Some("trace".into());
        assert_eq!(settings(&args, Some("error".into())).unwrap().log, "trace");
        args.log = None;
        assert_eq!(settings(&args, None).unwrap().log, "warn");
    }

    #[test]
    fn unknown_router_key_is_named() {
        let err = parse("[router]\nprot = 7070\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("config file test.toml: unknown key `prot` in [router]"),
            "{msg}"
        );
        assert!(msg.contains("port"), "lists the known keys: {msg}");
    }

    #[test]
    fn unknown_top_level_key_or_table_is_named() {
        let msg = parse("colour = 1\n").unwrap_err().to_string();
        assert!(
            msg.contains("unknown key `colour` at the top level"),
            "{msg}"
        );
        let msg = parse("[routr]\nport = 1\n").unwrap_err().to_string();
        assert!(msg.contains("unknown key `routr`"), "{msg}");
    }

    #[test]
    fn bad_values_in_file_are_refused() {
        for (text, needle) in [
            (
                "[router]\nport = \"abc\"",
                "invalid value for `port` in [router]",
            ),
            (
                "[router]\nnet_id = 2\nport = 70000",
                "invalid value for `port` in [router]",
            ),
            (
                "[router]\nnet_id = 300",
                "invalid value for `net_id` in [router]",
            ),
            (
                "[router]\nhost = \"not-an-ip\"",
                "invalid value for `host` in [router]",
            ),
            (
                "[router]\nconsole = \"localhost\"",
                "invalid value for `console`",
            ),
            (
                "[router]\nreseed_from = \"/one\"",
                "invalid value for `reseed_from`",
            ),
            ("log = 3", "`log`"),
            ("router = 1", "`router`"),
        ] {
            let err = parse(text).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, ConfigError::Value { .. }), "{text}: {msg}");
            assert!(msg.starts_with("config file test.toml: "), "{msg}");
            assert!(msg.contains(needle), "{text}: {msg}");
        }
        let msg = parse("[router\nport = 1").unwrap_err().to_string();
        assert!(msg.contains("line 1"), "syntax errors say where: {msg}");
    }

    #[test]
    fn bad_merged_values_are_refused() {
        let mut args = RunArgs {
            reseed_urls: vec!["http://plain.example/".into()],
            ..RunArgs::default()
        };
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(
            msg.contains("--reseed-url") && msg.contains("https://"),
            "{msg}"
        );
        args.reseed_urls = vec!["https:///nohost".into()];
        assert!(settings(&args, None).is_err());
        args.reseed_urls = vec!["https://user:pw@host/".into()];
        assert!(settings(&args, None).is_err());
        args.reseed_urls = vec!["https://reseed.example:8443/path/".into()];
        assert!(settings(&args, None).is_ok());

        let args = RunArgs {
            log: Some("info,[[".into()),
            ..RunArgs::default()
        };
        assert!(settings(&args, None)
            .unwrap_err()
            .to_string()
            .contains("--log"));
        let args = RunArgs {
            max_sessions: Some(0),
            ..RunArgs::default()
        };
        assert!(settings(&args, None).is_err());
    }

    #[test]
    fn tunnels_file_is_checked_before_start() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(
            &mut file,
            b"[site]\ntype = http\nport = 8080\nkeys = site.dat\n",
        )
        .unwrap();
        let mut args = RunArgs {
            tunnels: Some(file.path().to_owned()),
            ..RunArgs::default()
        };
        let s = settings(&args, None).unwrap();
        assert_eq!(s.router.tunnels.as_deref(), Some(file.path()));
        std::io::Write::write_all(&mut file, b"prot = 80\n").unwrap();
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(
            msg.contains("--tunnels") && msg.contains("unknown key `prot`"),
            "{msg}"
        );
        args.tunnels = Some("/nonexistent/tunnels.conf".into());
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(msg.contains("/nonexistent/tunnels.conf"), "{msg}");
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let args = RunArgs {
            config: Some("/nonexistent/gousse.toml".into()),
            ..RunArgs::default()
        };
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(
            msg.starts_with("config file /nonexistent/gousse.toml: cannot read it"),
            "{msg}"
        );
    }

    #[test]
    fn printed_config_reads_back_the_same() {
        let args = RunArgs {
            host: Some(IpAddr::from([192, 0, 2, 1])),
            port: Some(1234),
            no_console: true,
            reseed_certificates: Some("/certs".into()),
            log: Some("debug".into()),
            ..RunArgs::default()
        };
        let s = settings(&args, None).unwrap();
        let text = to_toml(&s).unwrap();
        let back = parse(&text).unwrap();
        assert_eq!(back.router, s.router);
        assert_eq!(back.log.as_deref(), Some("debug"));
    }

    #[test]
    fn transit_options_from_file_and_command_line() {
        let (_f, mut args) = file_with(
            "[router]\naccept_transit = true\nmax_transit_tunnels = 50\ntransit_share_kbps = 64\n",
        );
        let s = settings(&args, None).unwrap();
        assert!(s.router.accept_transit);
        assert_eq!(s.router.max_transit_tunnels, 50, "file value");
        assert_eq!(s.router.transit_share_kbps, 64, "file value");
        assert_eq!(s.router.transit_limits().share_bytes_per_s, 64 * 1024);

        args.no_transit = true;
        args.max_transit_tunnels = Some(7);
        let s = settings(&args, None).unwrap();
        assert!(!s.router.accept_transit, "--no-transit wins over the file");
        assert_eq!(s.router.max_transit_tunnels, 7, "flag wins");
        assert_eq!(s.router.transit_share_kbps, 64, "file kept where no flag");
        args.transit_share = Some(2048);
        assert_eq!(
            settings(&args, None).unwrap().router.transit_share_kbps,
            2048
        );

        let (_f, args) = file_with("[router]\naccept_transit = false\n");
        assert!(!settings(&args, None).unwrap().router.accept_transit);
        let defaults = settings(&RunArgs::default(), None).unwrap().router;
        assert!(defaults.accept_transit);
        assert_eq!(defaults.max_transit_tunnels, 500);
        assert_eq!(defaults.transit_share_kbps, 256);
    }

    #[test]
    fn transit_limits_out_of_range_are_refused() {
        let args = RunArgs {
            max_transit_tunnels: Some(10_001),
            ..RunArgs::default()
        };
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(msg.contains("--max-transit-tunnels"), "{msg}");
        let args = RunArgs {
            transit_share: Some(1_048_577),
            ..RunArgs::default()
        };
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(msg.contains("--transit-share"), "{msg}");
        let (_f, args) = file_with("[router]\nmax_transit_tunnels = 20000\n");
        assert!(settings(&args, None).is_err(), "from the file too");
        let (_f, args) = file_with("[router]\ntransit_share_kbps = -1\n");
        let msg = settings(&args, None).unwrap_err().to_string();
        assert!(
            msg.contains("invalid value for `transit_share_kbps` in [router]"),
            "{msg}"
        );
        // The bounds themselves are fine.
        let args = RunArgs {
            max_transit_tunnels: Some(10_000),
            transit_share: Some(1_048_576),
            ..RunArgs::default()
        };
        assert!(settings(&args, None).is_ok());
    }
}
