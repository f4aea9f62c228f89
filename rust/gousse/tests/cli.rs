//! The `gousse` binary as a user runs it.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::Path;
use std::process::{Command, Output};

use gousse_router::RouterConfig;

const BIN: &str = env!("CARGO_BIN_EXE_gousse");

fn gousse(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `[router]` table of a `--print-config` output.
fn printed_router(out: &Output) -> RouterConfig {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let mut top: toml::Table = toml::from_str(&stdout(out)).unwrap();
    let mut router = top.remove("router").unwrap();
    // `console = false` is the file's spelling of "no console"; the same for the
    // proxies.
    let mut off = |key: &str| {
        let is_off = router.get(key) == Some(&toml::Value::Boolean(false));
        if is_off {
            router.as_table_mut().unwrap().remove(key);
        }
        is_off
    };
    let (no_console, no_http, no_socks, no_sam) = (
        off("console"),
        off("http_proxy"),
        off("socks_proxy"),
        off("sam"),
    );
    let mut config: RouterConfig = router.try_into().unwrap();
    if no_console {
        config.console = None;
    }
    if no_http {
        config.http_proxy = None;
    }
    if no_socks {
        config.socks_proxy = None;
    }
    if no_sam {
        config.sam = None;
    }
    config
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn help_lists_every_option() {
    let out = gousse(&["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for option in [
        "--config <FILE>",
        "--data-dir <DIR>",
        "--net-id <N>",
        "--host <IP>",
        "--port <PORT>",
        "--floodfill",
        "--reseed-from <PATH>",
        "--reseed-url <URL>",
        "--reseed-certificates <DIR>",
        "--allow-private-addresses",
        "--console <ADDR>",
        "--no-console",
        "--log <LEVEL>",
        "--max-sessions <N>",
        "--no-transit",
        "--max-transit-tunnels <N>",
        "--transit-share <KBPS>",
        "--http-proxy <ADDR>",
        "--socks-proxy <ADDR>",
        "--tunnels <FILE>",
        "--sam <ADDR>",
        "--print-config",
    ] {
        assert!(help.contains(option), "run --help lacks {option}:\n{help}");
    }
    let top = stdout(&gousse(&["--help"]));
    assert!(
        top.contains("run") && top.contains("config-example"),
        "{top}"
    );
}

#[test]
fn version_is_printed() {
    let out = gousse(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        format!("gousse {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn config_example_is_a_valid_config() {
    let out = gousse(&["config-example"]);
    assert_eq!(out.status.code(), Some(0));
    let example = stdout(&out);
    assert!(
        example.lines().filter(|l| l.starts_with('#')).count() > 10,
        "commented"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "example.toml", &example);
    let config = printed_router(&gousse(&["run", "--config", &path, "--print-config"]));
    assert_eq!(
        config,
        RouterConfig {
            http_proxy: Some("127.0.0.1:4444".parse().unwrap()),
            socks_proxy: Some("127.0.0.1:4447".parse().unwrap()),
            sam: Some("127.0.0.1:7656".parse().unwrap()),
            ..RouterConfig::default()
        },
        "the example shows the defaults of a normal run"
    );
}

#[test]
fn command_line_wins_over_file_which_wins_over_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "g.toml",
        "log = \"warn\"\n[router]\nport = 1111\nnet_id = 7\nfloodfill = true\n\
         reseed_from = [\"/from/file\"]\nconsole = \"127.0.0.1:8000\"\n",
    );
    let from_file = printed_router(&gousse(&["run", "--config", &path, "--print-config"]));
    assert_eq!(from_file.port, 1111);
    assert_eq!(from_file.net_id, 7);
    assert!(from_file.floodfill);
    assert_eq!(from_file.console, Some("127.0.0.1:8000".parse().unwrap()));
    assert_eq!(from_file.max_sessions, RouterConfig::default().max_sessions);

    let merged = printed_router(&gousse(&[
        "run",
        "--config",
        &path,
        "--port",
        "2222",
        "--floodfill=false",
        "--reseed-from",
        "/a",
        "--reseed-from",
        "/b.su3",
        "--host",
        "127.0.0.5",
        "--no-console",
        "--allow-private-addresses",
        "--print-config",
    ]));
    assert_eq!(merged.port, 2222);
    assert_eq!(merged.net_id, 7, "file value kept where no option");
    assert!(!merged.floodfill);
    assert_eq!(
        merged.reseed_from,
        vec![Path::new("/a"), Path::new("/b.su3")]
    );
    assert_eq!(merged.host, Some("127.0.0.5".parse().unwrap()));
    assert_eq!(merged.console, None);
    assert!(merged.allow_private_addresses);
}

#[test]
fn transit_options_precedence() {
    let defaults = printed_router(&gousse(&["run", "--print-config"]));
    assert!(defaults.accept_transit);
    assert_eq!(defaults.max_transit_tunnels, 500);
    assert_eq!(defaults.transit_share_kbps, 256);

    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "t.toml",
        "[router]\naccept_transit = true\nmax_transit_tunnels = 40\ntransit_share_kbps = 64\n",
    );
    let from_file = printed_router(&gousse(&["run", "--config", &path, "--print-config"]));
    assert!(from_file.accept_transit);
    assert_eq!(from_file.max_transit_tunnels, 40);
    assert_eq!(from_file.transit_share_kbps, 64);

    let merged = printed_router(&gousse(&[
        "run",
        "--config",
        &path,
        "--no-transit",
        "--transit-share",
        "1024",
        "--print-config",
    ]));
    assert!(!merged.accept_transit, "--no-transit wins over the file");
    assert_eq!(merged.max_transit_tunnels, 40, "file value kept");
    assert_eq!(merged.transit_share_kbps, 1024, "flag wins");
    let merged = printed_router(&gousse(&[
        "run",
        "--max-transit-tunnels",
        "0",
        "--print-config",
    ]));
    assert_eq!(merged.max_transit_tunnels, 0);
    assert!(merged.accept_transit);
}

#[test]
fn log_filter_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "g.toml", "log = \"warn\"\n");
    let log_of = |out: Output| -> String {
        let top: toml::Table = toml::from_str(&stdout(&out)).unwrap();
        top["log"].as_str().unwrap().to_owned()
    };
    assert_eq!(log_of(gousse(&["run", "--print-config"])), "info");
    assert_eq!(
        log_of(gousse(&["run", "--config", &path, "--print-config"])),
        "warn"
    );
    let with_env = Command::new(BIN)
        .args(["run", "--config", &path, "--print-config"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(log_of(with_env), "debug");
    let flag = Command::new(BIN)
        .args(["run", "--config", &path, "--log", "trace", "--print-config"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(log_of(flag), "trace");
}

#[test]
fn unknown_keys_are_refused_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "typo.toml", "[router]\nprot = 7070\n");
    let out = gousse(&["run", "--config", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "config file {path}: unknown key `prot` in [router]"
        )),
        "{err}"
    );
    let path = write(dir.path(), "top.toml", "[console]\nport = 1\n");
    let out = gousse(&["run", "--config", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown key `console` at the top level"));
}

#[test]
fn bad_values_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--port".into(), "70000".into()], "--port"),
        (vec!["--port".into(), "http".into()], "--port"),
        (vec!["--net-id".into(), "256".into()], "--net-id"),
        (vec!["--host".into(), "example.org".into()], "--host"),
        (vec!["--console".into(), "localhost".into()], "--console"),
        (vec!["--floodfill=sometimes".into()], "--floodfill"),
        (
            vec!["--reseed-url".into(), "http://reseed.example/".into()],
            "https://",
        ),
        (vec!["--log".into(), "info,[[".into()], "--log"),
        (vec!["--max-sessions".into(), "0".into()], "--max-sessions"),
        (
            vec![
                "--console".into(),
                "127.0.0.1:1".into(),
                "--no-console".into(),
            ],
            "cannot be used with",
        ),
        (
            vec!["--max-transit-tunnels".into(), "10001".into()],
            "--max-transit-tunnels",
        ),
        (
            vec!["--max-transit-tunnels=-1".into()],
            "--max-transit-tunnels",
        ),
        (
            vec!["--transit-share".into(), "lots".into()],
            "--transit-share",
        ),
        (
            vec!["--transit-share".into(), "2000000".into()],
            "--transit-share",
        ),
        (vec!["--no-transit=yes".into()], "--no-transit"),
        (
            vec![
                "--config".into(),
                write(
                    dir.path(),
                    "t.toml",
                    "[router]\nmax_transit_tunnels = 20000\n",
                ),
            ],
            "max_transit_tunnels",
        ),
        (
            vec![
                "--config".into(),
                write(dir.path(), "a.toml", "[router]\naccept_transit = \"no\"\n"),
            ],
            "invalid value for `accept_transit` in [router]",
        ),
        (vec!["--bogus".into()], "--bogus"),
        (
            vec![
                "--config".into(),
                write(dir.path(), "p.toml", "[router]\nport = \"abc\"\n"),
            ],
            "invalid value for `port` in [router]",
        ),
        (
            vec!["--config".into(), write(dir.path(), "s.toml", "[router\n")],
            "line 1",
        ),
        (
            vec!["--config".into(), "/nonexistent/g.toml".into()],
            "config file /nonexistent/g.toml: cannot read it",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = vec!["run".to_owned()];
        args.extend(extra.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = gousse(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

/// `gousse run` starts a router that keeps its identity in a 0600 key file and its
/// netDb in SQLite, and stops cleanly on SIGTERM.
#[test]
fn run_starts_a_router_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gousse"))
        .args([
            "run",
            "--data-dir",
            data.to_str().unwrap(),
            "--no-console",
            "--net-id",
            "99",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--allow-private-addresses",
            "--reseed-threshold",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log_path = data.join("gousse.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("router running") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "router did not start: {log}"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "gousse exited early: {log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // It listens for NTCP2 on the given port.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "data directory is private");
        let mode = std::fs::metadata(data.join("router.keys"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "key file is private");
    }
    assert!(data.join("netdb.sqlite").exists());
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "clean exit on SIGTERM");
}
