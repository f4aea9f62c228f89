//! Running a test inside a throwaway user + network (+ PID) namespace (testnet.md,
//! "Why a namespace and 198.18.0.0/15").
//!
//! A test that needs routers calls [`run_isolated`] (or the [`isolate!`](crate::isolate)
//! macro) first. Outside a namespace it re-executes the current test binary as
//! `unshare --user --map-root-user --net --pid --fork --kill-child <exe> <test> --exact
//! --nocapture --test-threads=1` with [`MARKER_ENV`] set, streams the child's output
//! and panics if the child's test did not pass; then the outer call returns `false`
//! and the test returns. Inside, it brings `lo` up and returns `true`.
//!
//! The PID namespace makes the re-executed test binary its PID 1: when it exits,
//! for whatever reason, the kernel kills every i2pd it started. `--kill-child`
//! does the same if the outer test binary is killed. Nothing in the namespace can
//! reach the host's network: it has only its own `lo`.

use crate::{Error, Result};
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

/// Set (to `1`) in the environment of a test re-executed inside its namespace.
pub const MARKER_ENV: &str = "GOUSSE_TESTNET_NETNS";

/// True if this process runs inside a namespace made by [`run_isolated`] (or by the
/// `gousse-testnet serve` command).
pub fn is_isolated() -> bool {
    std::env::var_os(MARKER_ENV).is_some_and(|v| !v.is_empty())
}

/// The address of i2pd router `index` (0-based): `198.18.0.<index + 1>`.
pub fn i2pd_addr(index: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, index.saturating_add(1))
}

/// An address for one of our own routers (`k` from 0): `198.18.1.<k + 1>`.
/// Add it to `lo` with [`add_address`] before binding to it.
pub fn gousse_addr(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1, k.saturating_add(1))
}

/// The name libtest gives the running test (its thread name, e.g. `eight_routers`
/// or `module::name`). `None` when tests run on the main thread.
pub fn current_test_name() -> Option<String> {
    std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .map(str::to_owned)
}

/// Runs the current test inside a private namespace.
///
/// Returns `true` when the caller is inside (go on with the test), `false` when the
/// caller is the outer process and the re-executed test passed (return at once).
/// Panics if the inner test failed or the namespace could not be made.
///
/// `test_name` is the test's path as libtest prints it (`eight_routers` for a test at
/// the root of `tests/x.rs`, `module::name` otherwise).
pub fn run_isolated(test_name: &str) -> bool {
    if is_isolated() {
        if let Err(e) = bring_lo_up() {
            panic!("inside the test namespace: {e}");
        }
        return true;
    }
    if let Err(e) = run_child(test_name) {
        panic!("isolated run of `{test_name}`: {e}");
    }
    false
}

/// `if !run_isolated(name) { return; }`, with the name taken from the test thread
/// when not given: put `gousse_testnet::isolate!();` first in a `#[test] fn`.
#[macro_export]
macro_rules! isolate {
    () => {
        let __name = $crate::netns::current_test_name()
            .expect("tests run on the main thread: pass the name, isolate!(\"my_test\")");
        if !$crate::netns::run_isolated(&__name) {
            return;
        }
    };
    ($name:expr) => {
        if !$crate::netns::run_isolated($name) {
            return;
        }
    };
}

fn run_child(test_name: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--net",
            "--pid",
            "--fork",
            "--kill-child",
            "--",
        ])
        .arg(&exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(MARKER_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                "`unshare` not found: install util-linux".to_owned()
            } else {
                format!("spawning unshare: {e}")
            }
        })?;
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut tail = Vec::new();
        if let Some(s) = stderr {
            for line in BufReader::new(s).lines().map_while(|l| l.ok()) {
                eprintln!("{line}");
                tail.push(line);
                if tail.len() > 20 {
                    tail.remove(0);
                }
            }
        }
        tail
    });
    let mut passed = false;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            if line.starts_with("test result: ok. 1 passed") {
                passed = true;
            }
            #[allow(clippy::print_stdout)] // libtest captures it like the test's own output
            {
                println!("{line}");
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for unshare: {e}"))?;
    let tail = err_thread.join().unwrap_or_default();
    if status.success() && passed {
        return Ok(());
    }
    let tail = tail.join("\n");
    if tail.contains("unshare failed") || tail.contains("unshare:") {
        return Err(format!(
            "could not create the namespace ({status}); user namespaces must be allowed \
             (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0). \
             unshare said:\n{tail}"
        ));
    }
    if status.success() {
        return Err(format!(
            "the re-executed test binary ran no test named `{test_name}` (pass the path \
             libtest prints, e.g. `module::name`)"
        ));
    }
    Err(format!("the test failed inside the namespace ({status})"))
}

/// `ip link set lo up`, inside a namespace made for this crate only (refused
/// when [`MARKER_ENV`] is unset). [`run_isolated`] calls it; tools that make their
/// own namespace (`unshare -rn env GOUSSE_TESTNET_NETNS=1 ...`) call it first.
pub fn bring_lo_up() -> Result<()> {
    if !is_isolated() {
        return Err(Error::NotIsolated);
    }
    ip(&["link", "set", "lo", "up"])
}

/// Adds `addr/32` to `lo`. Refused outside a namespace made by this crate; adding an
/// address twice is not an error.
pub fn add_address(addr: Ipv4Addr) -> Result<()> {
    if !is_isolated() {
        return Err(Error::NotIsolated);
    }
    match ip(&["addr", "add", &format!("{addr}/32"), "dev", "lo"]) {
        Err(Error::Command { detail, .. })
            if detail.contains("File exists") || detail.contains("already assigned") =>
        {
            Ok(())
        }
        other => other,
    }
}

/// [`gousse_addr`]`(k)`, added to `lo`: the address for one of our routers.
pub fn add_gousse_addr(k: u8) -> Result<Ipv4Addr> {
    let a = gousse_addr(k);
    add_address(a)?;
    Ok(a)
}

fn ip(args: &[&str]) -> Result<()> {
    crate::run_command("ip", args, "iproute2 installed?")
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn addresses_are_in_the_benchmark_block() {
        assert_eq!(i2pd_addr(0), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(i2pd_addr(7), Ipv4Addr::new(198, 18, 0, 8));
        assert_eq!(gousse_addr(0), Ipv4Addr::new(198, 18, 1, 1));
        // RFC 2544: 198.18.0.0/15
        for a in [i2pd_addr(200), gousse_addr(3)] {
            assert_eq!(
                u32::from(a) >> 17,
                u32::from(Ipv4Addr::new(198, 18, 0, 0)) >> 17
            );
        }
    }

    #[test]
    fn namespace_has_only_its_own_loopback() {
        if !run_isolated("netns::test::namespace_has_only_its_own_loopback") {
            return;
        }
        add_address(i2pd_addr(0)).unwrap();
        add_address(i2pd_addr(0)).unwrap(); // twice is fine
        let out = Command::new("ip").args(["-o", "addr"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("198.18.0.1/32"), "{text}");
        let links = Command::new("ip").args(["-o", "link"]).output().unwrap();
        let links = String::from_utf8_lossy(&links.stdout);
        assert_eq!(
            links.lines().count(),
            1,
            "only lo in the namespace: {links}"
        );
        // A listener on the new address is reachable from inside.
        let l = std::net::TcpListener::bind((i2pd_addr(0), 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        std::net::TcpStream::connect((i2pd_addr(0), port)).unwrap();
    }
}
