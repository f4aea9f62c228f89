//! The settings record Kotlin builds, checked eagerly and mapped onto
//! [`gousse_router::RouterConfig`].

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use gousse_router::RouterConfig;

use crate::error::GousseError;
use crate::sharing::SharingPrefs;

/// Most hops of exploratory tunnels (i2pd's limit).
const MAX_TUNNEL_LENGTH: u8 = 7;
/// Most exploratory tunnels each way.
const MAX_TUNNEL_QUANTITY: u8 = 16;
/// Shortest and longest period of the listener's `on_status`.
const STATUS_INTERVAL_MS: std::ops::RangeInclusive<u64> = 100..=3_600_000;
/// Longest stable interval the sharing policy may be asked to wait.
const MAX_STABLE_SECS: u64 = 24 * 3600;

/// How to build a router. Every field but `data_dir` and `sharing` has a default in
/// Kotlin.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RouterSettings {
    /// Keys, netDb and state live here; created if missing, must be writable.
    pub data_dir: String,
    /// Network id: 2 is the real network, anything else a private one.
    #[uniffi(default = 2)]
    pub net_id: u8,
    /// IP address to bind and publish for NTCP2; none binds all and publishes nothing
    /// until an address is known.
    #[uniffi(default = None)]
    pub host: Option<String>,
    /// NTCP2 port; 0 picks one once and keeps it. Above 65535 is an error.
    #[uniffi(default = 0)]
    pub port: u32,
    /// Local reseed sources: directories of `routerInfo-*.dat`, `.zip` or `.su3`
    /// files. Each must exist.
    #[uniffi(default = [])]
    pub reseed_dirs: Vec<String>,
    /// HTTPS reseed servers (`https://...`); empty means the real network's list on
    /// net id 2 and none elsewhere.
    #[uniffi(default = [])]
    pub reseed_urls: Vec<String>,
    /// Act as a floodfill.
    #[uniffi(default = false)]
    pub floodfill: bool,
    /// Local web console and JSON status API, `ip:port`; none disables it.
    #[uniffi(default = None)]
    pub console: Option<String>,
    /// Accept and publish non-public addresses (test networks only).
    #[uniffi(default = false)]
    pub allow_private_addresses: bool,
    /// Most NTCP2 sessions at once, 1 or more.
    #[uniffi(default = 128)]
    pub max_sessions: u32,
    /// Hops of exploratory tunnels, 0-7.
    #[uniffi(default = 2)]
    pub exploratory_length: u8,
    /// Exploratory tunnels kept each way, 1-16.
    #[uniffi(default = 2)]
    pub exploratory_quantity: u8,
    /// Most transit tunnels at once while sharing.
    #[uniffi(default = 200)]
    pub max_transit_tunnels: u32,
    /// The user's sharing preferences (changeable later with `set_sharing_prefs`).
    pub sharing: SharingPrefs,
    /// How long the power signals must stay favourable before sharing starts, seconds
    /// (the policy doubles it after each drop of the conditions, against flapping).
    #[uniffi(default = 60)]
    pub sharing_stable_secs: u64,
    /// Period of the listener's `on_status`, milliseconds (100 ms to 1 hour).
    #[uniffi(default = 5000)]
    pub status_interval_ms: u64,
    /// Log filter (`info`, `gousse=debug,info`, ...), applied by the first router
    /// object of the process only; none means `info`.
    #[uniffi(default = None)]
    pub log_filter: Option<String>,
}

/// Settings after their checks.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    /// The router's configuration (transit fields are set from the sharing decision
    /// at each start).
    pub(crate) router: RouterConfig,
    pub(crate) sharing: SharingPrefs,
    pub(crate) stable: Duration,
    pub(crate) status_interval: Duration,
    pub(crate) log_filter: Option<String>,
}

fn invalid(msg: String) -> GousseError {
    GousseError::invalid_config(msg)
}

/// Checks every field and builds the router's configuration. Creates the data
/// directory and checks that a file can be written in it.
pub(crate) fn check(s: &RouterSettings) -> Result<Checked, GousseError> {
    let port =
        u16::try_from(s.port).map_err(|_| invalid(format!("port {} is above 65535", s.port)))?;
    let host = match s.host.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(h) => Some(
            h.parse::<IpAddr>()
                .map_err(|_| invalid(format!("host {h:?} is not an IP address")))?,
        ),
    };
    if let Some(h) = host {
        if !s.allow_private_addresses && !gousse_router::addr::is_public(h) {
            return Err(invalid(format!(
                "host {h} is not a public address; set allow_private_addresses for a test network"
            )));
        }
    }
    let console = match s.console.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<SocketAddr>()
                .map_err(|_| invalid(format!("console {c:?} is not an ip:port address")))?,
        ),
    };
    if s.max_sessions == 0 {
        return Err(invalid("max_sessions must be at least 1".into()));
    }
    if s.exploratory_length > MAX_TUNNEL_LENGTH {
        return Err(invalid(format!(
            "exploratory_length {} is above {MAX_TUNNEL_LENGTH}",
            s.exploratory_length
        )));
    }
    if s.exploratory_quantity == 0 || s.exploratory_quantity > MAX_TUNNEL_QUANTITY {
        return Err(invalid(format!(
            "exploratory_quantity {} is not in 1-{MAX_TUNNEL_QUANTITY}",
            s.exploratory_quantity
        )));
    }
    if !STATUS_INTERVAL_MS.contains(&s.status_interval_ms) {
        return Err(invalid(format!(
            "status_interval_ms {} is not in {}-{}",
            s.status_interval_ms,
            STATUS_INTERVAL_MS.start(),
            STATUS_INTERVAL_MS.end()
        )));
    }
    if s.sharing_stable_secs > MAX_STABLE_SECS {
        return Err(invalid(format!(
            "sharing_stable_secs {} is above {MAX_STABLE_SECS}",
            s.sharing_stable_secs
        )));
    }
    crate::sharing::check_prefs(&s.sharing).map_err(invalid)?;
    let mut reseed_from = Vec::with_capacity(s.reseed_dirs.len());
    for d in &s.reseed_dirs {
        let p = PathBuf::from(d);
        if !p.is_dir() {
            return Err(invalid(format!(
                "reseed directory {d:?} is not a directory"
            )));
        }
        reseed_from.push(p);
    }
    for u in &s.reseed_urls {
        if !u.starts_with("https://") || u.len() <= "https://".len() {
            return Err(invalid(format!("reseed URL {u:?} is not an https:// URL")));
        }
    }
    let log_filter = match s.log_filter.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(f) => {
            crate::logs::check_filter(f).map_err(invalid)?;
            Some(f.to_string())
        }
    };
    let data_dir = check_data_dir(&s.data_dir)?;
    let router = RouterConfig {
        data_dir,
        net_id: s.net_id,
        host,
        port,
        floodfill: s.floodfill,
        reseed_from,
        reseed_urls: s.reseed_urls.clone(),
        console,
        allow_private_addresses: s.allow_private_addresses,
        max_sessions: usize::try_from(s.max_sessions).unwrap_or(usize::MAX),
        max_transit_tunnels: usize::try_from(s.max_transit_tunnels).unwrap_or(usize::MAX),
        exploratory_length: usize::from(s.exploratory_length),
        exploratory_quantity: usize::from(s.exploratory_quantity),
        // Set from the sharing policy's decision at each start.
        accept_transit: false,
        transit_share_kbps: 0,
        // No local proxies, SAM or tunnels file from the mobile API.
        http_proxy: None,
        socks_proxy: None,
        sam: None,
        tunnels: None,
        ..RouterConfig::default()
    };
    Ok(Checked {
        router,
        sharing: s.sharing.clone(),
        stable: Duration::from_secs(s.sharing_stable_secs),
        status_interval: Duration::from_millis(s.status_interval_ms),
        log_filter,
    })
}

/// Creates the data directory (0700) and writes and removes a probe file in it.
fn check_data_dir(dir: &str) -> Result<PathBuf, GousseError> {
    if dir.trim().is_empty() {
        return Err(invalid("data_dir is empty".into()));
    }
    let path = PathBuf::from(dir);
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(&path)
        .map_err(|e| invalid(format!("data directory {dir:?} cannot be created: {e}")))?;
    probe_write(&path)
        .map_err(|e| invalid(format!("data directory {dir:?} is not writable: {e}")))?;
    Ok(path)
}

fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(".gousse-write-probe");
    let mut f = std::fs::File::create(&probe)?;
    let written = f.write_all(b"ok").and_then(|()| f.sync_all());
    drop(f);
    let removed = std::fs::remove_file(&probe);
    written.and(removed)
}

#[cfg(test)]
pub(crate) mod test {
    use super::*;
    use crate::sharing::SharingMode;

    pub(crate) fn settings(dir: &Path) -> RouterSettings {
        RouterSettings {
            data_dir: dir.display().to_string(),
            net_id: 99,
            host: Some("127.0.0.1".into()),
            port: 0,
            reseed_dirs: vec![],
            reseed_urls: vec![],
            floodfill: false,
            console: None,
            allow_private_addresses: true,
            max_sessions: 128,
            exploratory_length: 2,
            exploratory_quantity: 2,
            max_transit_tunnels: 200,
            sharing: SharingPrefs {
                mode: SharingMode::WhenChargingUnmetered,
                cap_kbps: 64,
                min_battery_pct: 30,
            },
            sharing_stable_secs: 120,
            status_interval_ms: 5000,
            log_filter: None,
        }
    }

    fn err_of(s: &RouterSettings) -> String {
        match check(s) {
            Err(GousseError::InvalidConfig { message }) => message,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn maps_onto_router_config() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = settings(&tmp.path().join("data"));
        s.port = 12345;
        s.console = Some("127.0.0.1:7071".into());
        s.reseed_dirs = vec![tmp.path().display().to_string()];
        s.reseed_urls = vec!["https://reseed.example/".into()];
        s.floodfill = true;
        s.exploratory_length = 1;
        s.exploratory_quantity = 3;
        let c = check(&s).unwrap();
        let r = &c.router;
        assert_eq!(r.data_dir, tmp.path().join("data"));
        assert!(r.data_dir.is_dir(), "data dir created");
        assert_eq!(r.net_id, 99);
        assert_eq!(r.host, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(r.port, 12345);
        assert_eq!(r.console, Some("127.0.0.1:7071".parse().unwrap()));
        assert_eq!(r.reseed_from, vec![tmp.path().to_path_buf()]);
        assert_eq!(r.reseed_urls, vec!["https://reseed.example/".to_string()]);
        assert!(r.floodfill && r.allow_private_addresses);
        assert_eq!((r.exploratory_length, r.exploratory_quantity), (1, 3));
        assert_eq!(r.max_transit_tunnels, 200);
        assert_eq!((r.http_proxy, r.socks_proxy, r.sam), (None, None, None));
        assert!(!r.accept_transit, "transit waits for the sharing policy");
        assert_eq!(c.stable, Duration::from_secs(120));
        assert_eq!(c.status_interval, Duration::from_millis(5000));
        // No probe file left behind.
        assert_eq!(std::fs::read_dir(&r.data_dir).unwrap().count(), 0);
    }

    #[test]
    fn bad_values_are_invalid_config_naming_the_field() {
        let tmp = tempfile::tempdir().unwrap();
        let base = settings(tmp.path());
        type Change = Box<dyn Fn(&mut RouterSettings)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|s| s.port = 70_000), "port 70000"),
            (Box::new(|s| s.port = u32::MAX), "above 65535"),
            (Box::new(|s| s.host = Some("localhost:x".into())), "host"),
            (
                Box::new(|s| s.host = Some("999.1.1.1".into())),
                "not an IP address",
            ),
            (
                Box::new(|s| s.allow_private_addresses = false),
                "not a public address",
            ),
            (
                Box::new(|s| s.console = Some("127.0.0.1".into())),
                "console",
            ),
            (Box::new(|s| s.max_sessions = 0), "max_sessions"),
            (Box::new(|s| s.exploratory_length = 8), "exploratory_length"),
            (
                Box::new(|s| s.exploratory_quantity = 0),
                "exploratory_quantity",
            ),
            (Box::new(|s| s.status_interval_ms = 0), "status_interval_ms"),
            (
                Box::new(|s| s.sharing_stable_secs = u64::MAX),
                "sharing_stable_secs",
            ),
            (
                Box::new(|s| s.sharing.min_battery_pct = 101),
                "min_battery_pct",
            ),
            (
                Box::new(|s| s.reseed_dirs = vec!["/nonexistent/gousse".into()]),
                "reseed directory",
            ),
            (
                Box::new(|s| s.reseed_urls = vec!["http://plain.example/".into()]),
                "https://",
            ),
            (
                Box::new(|s| s.log_filter = Some("gousse=loud".into())),
                "log filter",
            ),
            (Box::new(|s| s.data_dir = "  ".into()), "data_dir is empty"),
        ];
        for (change, want) in cases {
            let mut s = base.clone();
            change(&mut s);
            let msg = err_of(&s);
            assert!(msg.contains(want), "{msg:?} should mention {want:?}");
        }
        // The unchanged settings are fine.
        check(&base).unwrap();
    }

    #[test]
    fn unusable_data_dirs_are_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        for dir in [file.join("data"), file.clone()] {
            let s = settings(&dir);
            let msg = err_of(&s);
            assert!(msg.contains("data directory"), "{msg}");
        }
        // /proc refuses new directories even to root.
        let msg = err_of(&settings(Path::new("/proc/gousse-test-data")));
        assert!(msg.contains("cannot be created"), "{msg}");
    }
}
