#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod config;
pub mod console;
pub mod ident;
pub mod netns;
pub mod reseed;
mod router;
mod testnet;

pub use config::I2pdConfig;
pub use console::ConsoleStatus;
pub use router::I2pdRouter;
pub use testnet::{Testnet, TestnetBuilder, KEEP_ENV};

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Everything that can go wrong while building or running a test network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An external command (`ip`, `openssl`, `i2pd`, `unshare`) failed.
    #[error("command `{command}` failed: {detail}")]
    Command {
        /// The command line, for the reader.
        command: String,
        /// Its exit status and standard error.
        detail: String,
    },
    /// A router was asked to run outside a private network namespace.
    #[error(
        "not inside a private network namespace: call gousse_testnet::netns::run_isolated first \
         (testnet.md: traffic stays inside namespaces the test created)"
    )]
    NotIsolated,
    /// A condition did not become true in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// A RouterInfo file did not parse (so it cannot be named by its hash).
    #[error("malformed RouterInfo: {0}")]
    BadRouterInfo(#[from] i2p_wire::Error),
    /// The web console answered something we could not read.
    #[error("web console: {0}")]
    Console(String),
    /// Writing the reseed zip failed.
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// The builder was given impossible settings.
    #[error("invalid testnet settings: {0}")]
    Config(String),
    /// A router index out of range.
    #[error("no router with index {0}")]
    NoSuchRouter(usize),
    /// A reseed file could not be made or verified.
    #[error("su3: {0}")]
    Su3(String),
    /// Bytes that are not an SU3 file, or header fields that cannot be written.
    #[error("su3: {0}")]
    Su3Format(#[from] i2p_wire::su3::Su3Error),
    /// The i2pd binary was not found.
    #[error("i2pd not found at {0} (Debian: apt-get install i2pd)")]
    NoI2pd(PathBuf),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

/// Runs `program args...` to completion; a non-zero exit becomes [`Error::Command`]
/// with its standard error. `install_hint` is added when the program cannot be run.
pub(crate) fn run_command(program: &str, args: &[&str], install_hint: &str) -> Result<()> {
    let command = format!("{program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: command.clone(),
            detail: format!("{e} ({install_hint})"),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command,
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

/// Calls `condition` every `poll` until it returns `Some`, or fails with
/// [`Error::Timeout`] after `timeout`. `what` names the condition in the error.
pub fn wait_for<T>(
    timeout: Duration,
    poll: Duration,
    what: &str,
    mut condition: impl FnMut() -> Option<T>,
) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = condition() {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(Error::Timeout(timeout, what.to_owned()));
        }
        std::thread::sleep(poll);
    }
}

/// Calls `condition` every `poll` until it is true; returns how long that took, or
/// fails with [`Error::Timeout`] after `timeout`.
pub fn wait_until(
    timeout: Duration,
    poll: Duration,
    what: &str,
    mut condition: impl FnMut() -> bool,
) -> Result<Duration> {
    let start = Instant::now();
    wait_for(timeout, poll, what, || condition().then(|| start.elapsed()))
}

/// Stops a child process gently: SIGTERM, then SIGKILL if it has not exited within
/// `grace` (the benchmark and test binaries stop their `gousse` routers this way).
pub fn stop_process(mut child: std::process::Child, grace: std::time::Duration) {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + grace;
    while std::time::Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn wait_until_times_out_and_succeeds() {
        let ms = Duration::from_millis(1);
        assert!(matches!(
            wait_until(Duration::from_millis(20), ms, "never", || false),
            Err(Error::Timeout(..))
        ));
        let mut n = 0;
        let got = wait_for(Duration::from_secs(5), ms, "third call", || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(got.unwrap(), 3);
    }
}
