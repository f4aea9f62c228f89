//! `testnet-exec`: runs a command (e.g. the Kotlin tests' `mvn ... test`) inside a
//! private network of i2pd routers that knows our router from its start.
//!
//! ```text
//! testnet-exec --gousse PATH [--routers N] [--floodfills F] [--port P] -- COMMAND [ARGS...]
//! ```
//!
//! Outside a namespace it re-executes itself under `unshare --user --map-root-user
//! --net --pid --fork --kill-child --mount-proc` (testnet.md, "Why a namespace and
//! 198.18.0.0/15"): every process it starts, the command included, lives in that
//! namespace and dies with it, and no traffic can leave it. Inside, it
//!
//! 1. brings `lo` up and adds our router's address (`198.18.1.1`);
//! 2. makes our router's identity: runs `gousse run --reseed-threshold 0` once on a
//!    fresh data directory with that address and port, until it writes `router.info`;
//! 3. starts the i2pd routers with that RouterInfo in every netDb, and writes every
//!    i2pd RouterInfo into a reseed directory;
//! 4. runs the command with these variables set, then stops the i2pd routers and
//!    exits with the command's status:
//!
//! | variable | value |
//! |---|---|
//! | `GOUSSE_TESTNET_DATA_DIR` | our router's data directory (keys known to the network) |
//! | `GOUSSE_TESTNET_HOST` | the NTCP2 address to bind and publish (`198.18.1.1`) |
//! | `GOUSSE_TESTNET_PORT` | the NTCP2 port |
//! | `GOUSSE_TESTNET_RESEED_DIR` | a directory of the i2pd routers' `routerInfo-*.dat` |
//! | `GOUSSE_TESTNET_NET_ID` | the network id (99) |
//! | `GOUSSE_TESTNET_ROUTERS` | how many i2pd routers run |
//!
//! The router the command runs must use the same data directory, address and port,
//! so that its RouterInfo is the one the i2pd routers were given.

#![allow(clippy::print_stdout)] // a command-line tool
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use gousse_testnet::{netns, wait_until, Testnet};

/// Network id of the test network (any but 2).
const NET_ID: u32 = 99;
/// Exit status when the arguments are wrong.
const USAGE_STATUS: u8 = 2;
/// Exit status when the network could not be made.
const SETUP_STATUS: u8 = 3;

struct Args {
    gousse: PathBuf,
    routers: usize,
    floodfills: usize,
    port: u16,
    command: Vec<String>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        gousse: PathBuf::from("target/debug/gousse"),
        routers: 10,
        floodfills: 2,
        port: 23456,
        command: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--" {
            a.command = it.cloned().collect();
            break;
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--gousse" => a.gousse = PathBuf::from(value),
            "--routers" => a.routers = number()?,
            "--floodfills" => a.floodfills = number()?,
            "--port" => {
                a.port = value
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or(format!("--port: not a port: {value}"))?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.command.is_empty() {
        return Err("no command given (after --)".into());
    }
    if a.routers < 2 || a.floodfills == 0 || a.floodfills > a.routers {
        return Err(format!(
            "{} routers with {} floodfills: need at least 2 routers and 1 floodfill",
            a.routers, a.floodfills
        ));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&argv) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("testnet-exec: {e}");
            eprintln!(
                "usage: testnet-exec --gousse PATH [--routers N] [--floodfills F] [--port P] -- COMMAND [ARGS...]"
            );
            return ExitCode::from(USAGE_STATUS);
        }
    };
    if !netns::is_isolated() {
        return reexec(&argv);
    }
    if let Err(e) = netns::bring_lo_up() {
        eprintln!("testnet-exec: {e}");
        return ExitCode::from(SETUP_STATUS);
    }
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("testnet-exec: {e}");
            ExitCode::from(SETUP_STATUS)
        }
    }
}

/// Runs this program again inside a new user, network and PID namespace, and
/// returns its exit status.
fn reexec(argv: &[String]) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("testnet-exec: current_exe: {e}");
            return ExitCode::from(SETUP_STATUS);
        }
    };
    let status = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "--",
        ])
        .arg(exe)
        .args(argv)
        .env(netns::MARKER_ENV, "1")
        .stdin(Stdio::null())
        .status();
    match status {
        Ok(s) => exit_code(s),
        Err(e) => {
            eprintln!("testnet-exec: cannot run unshare (util-linux): {e}");
            ExitCode::from(SETUP_STATUS)
        }
    }
}

/// The exit status of a child as ours (a signal becomes 128 + its number, as shells
/// report it).
fn exit_code(s: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = s
        .code()
        .or_else(|| s.signal().map(|n| 128 + n))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn start_gousse(exe: &Path, data: &Path, host: &str, port: u16) -> Result<Child, String> {
    Command::new(exe)
        .args(["run", "--data-dir"])
        .arg(data)
        .args(["--net-id", &NET_ID.to_string(), "--host", host])
        .args(["--port", &port.to_string()])
        .args([
            "--allow-private-addresses",
            "--log",
            "warn",
            "--reseed-threshold",
            "0",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("start {}: {e}", exe.display()))
}

/// SIGTERM, then SIGKILL after 20 s.
/// Stops a `gousse` process: SIGTERM, then SIGKILL after 20 s.
fn stop(child: Child) {
    gousse_testnet::stop_process(child, Duration::from_secs(20));
}

fn run(a: &Args) -> Result<ExitCode, String> {
    let t0 = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("gousse-testnet-exec-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let host = netns::add_gousse_addr(0)
        .map_err(|e| e.to_string())?
        .to_string();
    let data = work.path().join("gousse");

    // Our identity first, so that every i2pd router knows it from its start.
    let first = start_gousse(&a.gousse, &data, &host, a.port)?;
    let written = wait_until(
        Duration::from_secs(60),
        Duration::from_millis(100),
        "our router.info",
        || data.join("router.info").exists(),
    );
    // Let it finish writing before it is stopped.
    std::thread::sleep(Duration::from_millis(500));
    stop(first);
    written.map_err(|e| e.to_string())?;
    let our_ri =
        std::fs::read(data.join("router.info")).map_err(|e| format!("router.info: {e}"))?;
    i2p_wire::UncheckedRouterInfo::parse(&our_ri)
        .and_then(|ri| ri.verify())
        .map_err(|e| format!("our router.info is not valid: {e}"))?;

    let net = Testnet::builder()
        .routers(a.routers)
        .floodfills(a.floodfills)
        .netid(NET_ID)
        .seed_router_info(our_ri)
        .start()
        .map_err(|e| e.to_string())?;
    let seed = work.path().join("seed");
    std::fs::create_dir_all(&seed).map_err(|e| format!("{}: {e}", seed.display()))?;
    for ri in net.router_infos().map_err(|e| e.to_string())? {
        let hash = i2p_wire::UncheckedRouterInfo::parse(&ri)
            .map_err(|e| e.to_string())?
            .hash()
            .to_base64();
        let path = seed.join(format!("routerInfo-{hash}.dat"));
        std::fs::write(&path, ri).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "testnet-exec: {} i2pd routers ({} floodfills) up in {:.1?}; our router: {host}:{} in {}",
        a.routers,
        a.floodfills,
        t0.elapsed(),
        a.port,
        data.display()
    );

    let (program, args) = a.command.split_first().ok_or("no command")?;
    let status = Command::new(program)
        .args(args)
        .env("GOUSSE_TESTNET_DATA_DIR", &data)
        .env("GOUSSE_TESTNET_HOST", &host)
        .env("GOUSSE_TESTNET_PORT", a.port.to_string())
        .env("GOUSSE_TESTNET_RESEED_DIR", &seed)
        .env("GOUSSE_TESTNET_NET_ID", NET_ID.to_string())
        .env("GOUSSE_TESTNET_ROUTERS", a.routers.to_string())
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    println!(
        "testnet-exec: `{program}` ended ({status}) after {:.1?} in all",
        t0.elapsed()
    );
    drop(net);
    if std::env::var_os(gousse_testnet::KEEP_ENV).is_some() {
        let kept = work.keep();
        println!("testnet-exec: kept our router's data in {}", kept.display());
    }
    Ok(exit_code(status))
}

#[cfg(test)]
mod test {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_options_and_the_command() {
        let a = parse(&args(&[
            "--gousse",
            "/x/gousse",
            "--routers",
            "6",
            "--port",
            "30000",
            "--",
            "mvn",
            "-o",
            "--routers",
        ]))
        .unwrap();
        assert_eq!(a.gousse, PathBuf::from("/x/gousse"));
        assert_eq!((a.routers, a.floodfills, a.port), (6, 2, 30000));
        assert_eq!(a.command, args(&["mvn", "-o", "--routers"]));
    }

    #[test]
    fn refuses_bad_arguments() {
        let err = |s: &[&str]| parse(&args(s)).err().unwrap_or_default();
        assert!(err(&["--gousse", "g"]).contains("no command"));
        assert!(err(&["--port", "0", "--", "true"]).contains("not a port"));
        assert!(err(&["--port", "70000", "--", "true"]).contains("not a port"));
        assert!(err(&["--routers", "x", "--", "true"]).contains("not a number"));
        assert!(err(&["--routers", "3", "--floodfills", "4", "--", "true"]).contains("floodfill"));
        assert!(err(&["--frob", "1", "--", "true"]).contains("unknown option"));
        assert!(err(&["--gousse"]).contains("needs a value"));
    }
}
