//! One i2pd process of the test network: its addresses, files, console and process.

use crate::console::{self, ConsoleStatus};
use crate::{ident, io_err, Error, I2pdConfig, Result};
use i2p_wire::UncheckedRouterInfo;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a stopping i2pd gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Timeout of one console request.
const CONSOLE_TIMEOUT: Duration = Duration::from_secs(10);

/// One i2pd router of a [`Testnet`](crate::Testnet).
#[derive(Debug)]
pub struct I2pdRouter {
    pub(crate) index: usize,
    pub(crate) addr: Ipv4Addr,
    pub(crate) port: u16,
    pub(crate) console_port: u16,
    pub(crate) sam_port: Option<u16>,
    pub(crate) http_proxy_port: Option<u16>,
    pub(crate) socks_proxy_port: Option<u16>,
    pub(crate) floodfill: bool,
    pub(crate) data_dir: PathBuf,
    pub(crate) i2pd: PathBuf,
    pub(crate) certs_dir: PathBuf,
    pub(crate) child: Option<Child>,
    pub(crate) hash_b64: String,
    pub(crate) conf: I2pdConfig,
    pub(crate) started_at: Option<Instant>,
}

impl I2pdRouter {
    /// Its index in the network, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its address in the namespace (`198.18.0.<index + 1>`).
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// Its NTCP2 (TCP) and SSU2 (UDP) port: both use the same number.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Address and port of its NTCP2 listener (and of its SSU2 socket).
    pub fn transport_addr(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.addr, self.port)
    }

    /// True for the floodfills.
    pub fn is_floodfill(&self) -> bool {
        self.floodfill
    }

    /// Its router hash in I2P base64, as in `routerInfo-<HASH>.dat`.
    pub fn hash_b64(&self) -> &str {
        &self.hash_b64
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `<data dir>/router.info`, which i2pd rewrites when its RouterInfo changes.
    pub fn router_info_path(&self) -> PathBuf {
        self.data_dir.join("router.info")
    }

    /// The current bytes of its `router.info`. i2pd rewrites the file in place, so a
    /// read can catch it half written: this retries (for up to 5 s) until the bytes
    /// parse as a whole RouterInfo.
    pub fn router_info(&self) -> Result<Vec<u8>> {
        let p = self.router_info_path();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let bytes = std::fs::read(&p).map_err(io_err(format!("reading {}", p.display())))?;
            match i2p_wire::UncheckedRouterInfo::parse(&bytes) {
                Ok(_) => return Ok(bytes),
                Err(e) if std::time::Instant::now() >= deadline => {
                    return Err(Error::BadRouterInfo(e))
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }

    /// `<data dir>/i2pd.log`.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("i2pd.log")
    }

    /// The current length of its log: pass it to [`log_since`](Self::log_since) to
    /// read only what i2pd writes after this point (the log is appended to across
    /// restarts).
    pub fn log_position(&self) -> u64 {
        std::fs::metadata(self.log_path()).map_or(0, |m| m.len())
    }

    /// The log from byte `position` on (lossy UTF-8).
    pub fn log_since(&self, position: u64) -> Result<String> {
        let p = self.log_path();
        let bytes = std::fs::read(&p).map_err(io_err(format!("reading {}", p.display())))?;
        let from = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[from..]).into_owned())
    }

    /// The web console's port on 127.0.0.1.
    pub fn console_port(&self) -> u16 {
        self.console_port
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn console_url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.console_port)
    }

    /// SAM bridge port on 127.0.0.1, if enabled for this router.
    pub fn sam_port(&self) -> Option<u16> {
        self.sam_port
    }

    /// HTTP proxy port on 127.0.0.1, if enabled.
    pub fn http_proxy_port(&self) -> Option<u16> {
        self.http_proxy_port
    }

    /// SOCKS proxy port on 127.0.0.1, if enabled.
    pub fn socks_proxy_port(&self) -> Option<u16> {
        self.socks_proxy_port
    }

    /// GETs a console page: `""` for the front page, `"i2p_tunnels"`,
    /// `"transports"`, ... for `/?page=...`.
    pub fn console_page(&self, page: &str) -> Result<String> {
        let path = if page.is_empty() {
            "/".to_owned()
        } else {
            format!("/?page={page}")
        };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.console_port));
        console::http_get(addr, &path, CONSOLE_TIMEOUT)
    }

    /// The figures of the console's front page.
    pub fn console_status(&self) -> Result<ConsoleStatus> {
        Ok(ConsoleStatus::parse(&self.console_page("")?))
    }

    /// Its current transport sessions (`?page=transports`).
    pub fn transport_sessions(&self) -> Result<Vec<console::TransportSession>> {
        Ok(console::parse_transports(&self.console_page("transports")?))
    }

    /// True if it has a transport session with the router whose hash (base64) is
    /// `hash_b64`. i2pd shows only the first 4 characters of a peer's hash, so two
    /// routers sharing them cannot be told apart (1 chance in 16 million per pair).
    pub fn is_connected_to(&self, hash_b64: &str) -> Result<bool> {
        let prefix: String = hash_b64.chars().take(4).collect();
        Ok(self
            .transport_sessions()?
            .iter()
            .any(|s| s.hash_prefix == prefix))
    }

    /// Router hashes (base64) of the RouterInfo files in its netDb directory
    /// (`netDb/r*/routerInfo-*.dat`), its own included if i2pd stored it.
    pub fn netdb_hashes(&self) -> Result<BTreeSet<String>> {
        let netdb = self.data_dir.join("netDb");
        let mut out = BTreeSet::new();
        let dirs = match std::fs::read_dir(&netdb) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io_err(format!("reading {}", netdb.display()))(e)),
        };
        for d in dirs.flatten() {
            if !d.file_name().to_string_lossy().starts_with('r') {
                continue;
            }
            let Ok(files) = std::fs::read_dir(d.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if let Some(h) = name
                    .strip_prefix("routerInfo-")
                    .and_then(|n| n.strip_suffix(".dat"))
                {
                    out.insert(h.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// Writes a RouterInfo into its netDb directory (read by i2pd when it starts:
    /// stop it first, or restart it after). Returns the router hash.
    pub fn add_router_info(&self, router_info: &[u8]) -> Result<String> {
        let hash = UncheckedRouterInfo::parse(router_info)?.hash().to_base64();
        let path = self
            .data_dir
            .join("netDb")
            .join(ident::netdb_relative_path(&hash));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io_err(format!("creating {}", parent.display())))?;
        }
        std::fs::write(&path, router_info)
            .map_err(io_err(format!("writing {}", path.display())))?;
        Ok(hash)
    }

    /// Its i2pd.conf as last written.
    pub fn config(&self) -> &I2pdConfig {
        &self.conf
    }

    /// Sets an option and rewrites i2pd.conf; i2pd reads it at its next start.
    pub fn set_option(&mut self, section: &str, key: &str, value: &str) -> Result<()> {
        self.conf.set(section, key, value);
        self.write_config()
    }

    pub(crate) fn write_config(&self) -> Result<()> {
        let p = self.data_dir.join("i2pd.conf");
        std::fs::write(&p, self.conf.render())
            .map_err(io_err(format!("writing {}", p.display())))?;
        // An i2pd 2.45.1 address book with nothing loaded downloads its default
        // subscription a few minutes after start, and with no URL (nothing may leave
        // the test network) the router then exits. A hosts.txt, even empty, counts as
        // loaded: no download.
        if self.conf.get("addressbook", "enabled") == Some("true") {
            let hosts = self.data_dir.join("hosts.txt");
            if !hosts.exists() {
                std::fs::write(&hosts, "")
                    .map_err(io_err(format!("writing {}", hosts.display())))?;
            }
        }
        Ok(())
    }

    /// Makes i2pd reseed from a signed SU3 file at its next start: copies `cert` into
    /// a private `certificates/reseed/` (i2pd finds a signer's certificate there by
    /// the signer id of the SU3 header), sets `reseed.file`, `reseed.verify = true`
    /// and a threshold above the network's size, so that the file is used.
    pub fn use_su3_reseed(&mut self, su3: &Path, cert: &Path) -> Result<()> {
        let certs = self.data_dir.join("certificates");
        let reseed_dir = certs.join("reseed");
        for d in [&reseed_dir, &certs.join("family")] {
            std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
        }
        let name = cert.file_name().ok_or_else(|| {
            Error::Config(format!(
                "certificate path {} has no file name",
                cert.display()
            ))
        })?;
        std::fs::copy(cert, reseed_dir.join(name))
            .map_err(io_err(format!("copying {}", cert.display())))?;
        self.certs_dir = certs;
        self.conf
            .set("reseed", "verify", "true")
            .set("reseed", "file", su3.display().to_string())
            .set("reseed", "threshold", "1000");
        self.write_config()
    }

    /// Stops i2pd, empties its netDb directory, and starts it again reseeding from
    /// `su3` (see [`use_su3_reseed`](Self::use_su3_reseed)).
    pub fn reseed_from_su3(&mut self, su3: &Path, cert: &Path) -> Result<()> {
        self.stop();
        let netdb = self.data_dir.join("netDb");
        if netdb.exists() {
            std::fs::remove_dir_all(&netdb)
                .map_err(io_err(format!("clearing {}", netdb.display())))?;
        }
        self.use_su3_reseed(su3, cert)?;
        self.start()
    }

    /// True while its process runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// When its process was last started, while it runs.
    pub fn started_at(&self) -> Option<Instant> {
        self.child.as_ref().and(self.started_at)
    }

    /// Its process id (in the namespace's PID namespace), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts i2pd (no-op if it runs).
    pub fn start(&mut self) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let d = &self.data_dir;
        let out =
            std::fs::File::create(d.join("i2pd.stdout")).map_err(io_err("creating i2pd.stdout"))?;
        let err = out.try_clone().map_err(io_err("cloning a file handle"))?;
        let child = Command::new(&self.i2pd)
            .arg(format!("--datadir={}", d.display()))
            .arg(format!("--conf={}", d.join("i2pd.conf").display()))
            .arg(format!("--tunconf={}", d.join("tunnels.conf").display()))
            .arg(format!("--tunnelsdir={}", d.join("tunnels.d").display()))
            .arg(format!("--certsdir={}", self.certs_dir.display()))
            .arg(format!("--pidfile={}", d.join("i2pd.pid").display()))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::NoI2pd(self.i2pd.clone())
                } else {
                    io_err(format!("starting {}", self.i2pd.display()))(e)
                }
            })?;
        self.child = Some(child);
        self.started_at = Some(Instant::now());
        Ok(())
    }

    /// Asks i2pd to stop now (SIGTERM: i2pd's immediate shutdown; SIGINT would wait
    /// for transit tunnels to end).
    pub(crate) fn signal_stop(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Waits for the process until `deadline`, then kills it. Always reaps it.
    pub(crate) fn reap(&mut self, deadline: Instant) {
        if let Some(mut c) = self.child.take() {
            while Instant::now() < deadline {
                if !matches!(c.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops i2pd: SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) {
        self.signal_stop();
        self.reap(Instant::now() + STOP_GRACE);
    }

    /// Kills i2pd at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        self.reap(Instant::now());
    }

    /// Stops and starts it again.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.start()
    }
}

impl Drop for I2pdRouter {
    fn drop(&mut self) {
        self.stop();
    }
}
