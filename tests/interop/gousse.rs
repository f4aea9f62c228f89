//! Runs the `gousse` binary as a child process, as a person would, and reads its
//! `/api/status`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gousse_testnet::console::http_get;

/// Our transit share in tests not about the share, KB/s: the i2pd routers of the
/// test network (bandwidth X) relay without limit, and so do we. At the default
/// share (256 KB/s), a bulk stream whose tunnels i2pd built through our router lost
/// packets to the share, and i2pd's sender, which resends only on its timer (9 s
/// once it has resent twice without an answer), crawled at tens of KB/s: the
/// eepsite test's 20 MB did not come in 240 s.
const TESTNET_SHARE_KBPS: u32 = 64 * 1024;

/// A `gousse run` process.
pub struct Gousse {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub console: SocketAddr,
}

impl Gousse {
    /// Starts `gousse run` on `ntcp2` for network 99 with `extra` options, and waits
    /// until it says it is running.
    pub fn start(data_dir: &Path, ntcp2: SocketAddr, console_port: u16, extra: &[&str]) -> Gousse {
        let console: SocketAddr = ([127, 0, 0, 1], console_port).into();
        let mut args: Vec<String> = vec![
            "run".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--net-id".into(),
            "99".into(),
            "--host".into(),
            ntcp2.ip().to_string(),
            "--port".into(),
            ntcp2.port().to_string(),
            "--allow-private-addresses".into(),
            "--console".into(),
            console.to_string(),
            "--log".into(),
            "info,gousse::ntcp2=debug,gousse::netdb=debug,gousse::tunnels=debug,gousse::dest=debug,gousse::streams=debug,gousse::garlic=trace,gousse::i2ptunnel=debug"
                .into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        if !extra
            .iter()
            .any(|a| *a == "--transit-share" || *a == "--no-transit")
        {
            args.extend(["--transit-share".into(), TESTNET_SHARE_KBPS.to_string()]);
        }
        let log = data_dir.join("gousse.log");
        let start_len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let child = Command::new(env!("CARGO_BIN_EXE_gousse"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gousse");
        let mut g = Gousse {
            child: Some(child),
            data_dir: data_dir.to_owned(),
            console,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if g.log_since(start_len).contains("router running") {
                break;
            }
            if let Some(st) = g.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("gousse exited with {st}: {}", g.log_since(start_len));
            }
            assert!(
                Instant::now() < deadline,
                "gousse did not start: {}",
                g.log_since(start_len)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        g
    }

    /// The whole log file.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("gousse.log")).unwrap_or_default()
    }

    /// The log from byte `from` on.
    pub fn log_since(&self, from: u64) -> String {
        let log = self.log();
        log.get(usize::try_from(from).unwrap_or(0)..)
            .unwrap_or("")
            .to_owned()
    }

    /// `GET /api/status`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let body =
            http_get(self.console, "/api/status", Duration::from_secs(5)).expect("GET /api/status");
        serde_json::from_str(&body).expect("status is JSON")
    }

    /// `GET /`, the console's page.
    pub fn console_page(&self) -> String {
        http_get(self.console, "/", Duration::from_secs(5)).expect("GET /")
    }

    /// A numeric field of the status (`a.b` for nested fields).
    pub fn figure(&self, path: &str) -> u64 {
        let st = self.status();
        let mut v = &st;
        for part in path.split('.') {
            v = &v[part];
        }
        v.as_u64()
            .unwrap_or_else(|| panic!("status has no number at {path}: {st}"))
    }

    /// The counters that say where traffic was lost, on one line: to read beside a
    /// slow or failed transfer.
    pub fn loss_counters(&self) -> String {
        let st = self.status();
        [
            "transit_bytes",
            "transit_dropped",
            "tunnel_messages_dropped",
            "peer_messages_dropped",
            "destination_garlic_undecryptable",
            "tunnel_tests_ok",
            "tunnel_tests_failed",
        ]
        .iter()
        .map(|k| format!("{k}={}", st[k]))
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Our router hash (I2P base64), from the status.
    pub fn router_hash(&self) -> String {
        self.status()["router_hash"]
            .as_str()
            .expect("router_hash")
            .to_owned()
    }

    /// SIGTERM and wait: a clean stop.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        child.wait().expect("wait gousse")
    }

    /// SIGKILL: the process dies wherever it is.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Whether the process is still alive.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Gousse {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Gousse {
    /// `POST /api/transit` with a JSON body; returns the status code and the body.
    pub fn post_transit(&self, json: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.console).expect("connect console");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let req = format!(
            "POST /api/transit HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
            self.console,
            json.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        let _ = s.read_to_string(&mut raw);
        let code = raw
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = raw.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
        (code, body)
    }
}
