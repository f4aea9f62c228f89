//! A private network of i2pd routers (testnet.md): build, seed each netDb with the
//! others' RouterInfos, start, and stop on drop.

use crate::config::{I2pdConfig, RouterSettings};
use crate::router::I2pdRouter;
use crate::{io_err, netns, wait_until, Error, Result};
use i2p_wire::UncheckedRouterInfo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Set this (to anything) to keep the routers' data directories after the test.
pub const KEEP_ENV: &str = "GOUSSE_KEEP_TESTNET";
/// The Debian package's i2pd.
const DEFAULT_I2PD: &str = "/usr/sbin/i2pd";
/// Most i2pd routers in one network (addresses 198.18.0.1 to .250).
const MAX_ROUTERS: usize = 250;

/// Port bases: router `i` uses `base + i + 1`.
const PORT_BASE: u16 = 20000;
const CONSOLE_BASE: u16 = 17000;
const SAM_BASE: u16 = 17700;
const HTTP_PROXY_BASE: u16 = 14400;
const SOCKS_PROXY_BASE: u16 = 14500;

enum SeedTargets {
    All,
    Only(BTreeSet<usize>),
}

struct Su3Reseed {
    su3: PathBuf,
    cert: PathBuf,
}

/// Settings of a [`Testnet`]; see [`Testnet::builder`].
pub struct TestnetBuilder {
    routers: usize,
    floodfills: usize,
    netid: u32,
    bandwidth: String,
    log_level: String,
    i2pd: PathBuf,
    dir: Option<PathBuf>,
    sam: BTreeSet<usize>,
    http_proxy: BTreeSet<usize>,
    socks_proxy: BTreeSet<usize>,
    seeds: Vec<(Vec<u8>, SeedTargets)>,
    options: Vec<(Option<usize>, String, String, String)>,
    tunnels_conf: BTreeMap<usize, String>,
    reseed: BTreeMap<usize, Su3Reseed>,
}

impl Default for TestnetBuilder {
    fn default() -> Self {
        Self {
            routers: 8,
            floodfills: 2,
            netid: 99,
            bandwidth: "X".into(),
            log_level: "info".into(),
            i2pd: PathBuf::from(DEFAULT_I2PD),
            dir: None,
            sam: BTreeSet::new(),
            http_proxy: BTreeSet::new(),
            socks_proxy: BTreeSet::new(),
            seeds: Vec::new(),
            options: Vec::new(),
            tunnels_conf: BTreeMap::new(),
            reseed: BTreeMap::new(),
        }
    }
}

impl TestnetBuilder {
    /// Number of i2pd routers (default 8, at most 250).
    pub fn routers(mut self, n: usize) -> Self {
        self.routers = n;
        self
    }

    /// How many of them, the first ones, are floodfills (default 2).
    pub fn floodfills(mut self, f: usize) -> Self {
        self.floodfills = f;
        self
    }

    /// Network id (default 99; 2 is the real network and is refused).
    pub fn netid(mut self, netid: u32) -> Self {
        self.netid = netid;
        self
    }

    /// i2pd `bandwidth` (default `X`: high-bandwidth caps, preferred for hops).
    pub fn bandwidth(mut self, caps: &str) -> Self {
        self.bandwidth = caps.to_owned();
        self
    }

    /// i2pd `loglevel`: `none`, `critical`, `error`, `warn`, `info` (default), `debug`.
    pub fn log_level(mut self, level: &str) -> Self {
        self.log_level = level.to_owned();
        self
    }

    /// The i2pd binary (default `/usr/sbin/i2pd`).
    pub fn i2pd_binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.i2pd = path.into();
        self
    }

    /// Puts the routers' data directories under `dir` (`dir/r0`, `dir/r1`, ...),
    /// kept afterwards, instead of a temporary directory.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Enables the SAM bridge of router `index` (port 17701 + index).
    pub fn sam(mut self, index: usize) -> Self {
        self.sam.insert(index);
        self
    }

    /// Enables the HTTP proxy of router `index` (port 14401 + index).
    pub fn http_proxy(mut self, index: usize) -> Self {
        self.http_proxy.insert(index);
        self
    }

    /// Enables the SOCKS proxy of router `index` (port 14501 + index).
    pub fn socks_proxy(mut self, index: usize) -> Self {
        self.socks_proxy.insert(index);
        self
    }

    /// Gives every router this RouterInfo (e.g. our router's) in its netDb from the
    /// start.
    pub fn seed_router_info(mut self, router_info: Vec<u8>) -> Self {
        self.seeds.push((router_info, SeedTargets::All));
        self
    }

    /// Gives only the routers in `to` this RouterInfo.
    pub fn seed_router_info_to(mut self, router_info: Vec<u8>, to: &[usize]) -> Self {
        self.seeds
            .push((router_info, SeedTargets::Only(to.iter().copied().collect())));
        self
    }

    /// Sets an i2pd.conf option (`section` `""` for top-level keys) on every router.
    pub fn option(mut self, section: &str, key: &str, value: &str) -> Self {
        self.options
            .push((None, section.into(), key.into(), value.into()));
        self
    }

    /// Sets an i2pd.conf option on router `index` only.
    pub fn router_option(mut self, index: usize, section: &str, key: &str, value: &str) -> Self {
        self.options
            .push((Some(index), section.into(), key.into(), value.into()));
        self
    }

    /// The `tunnels.conf` of router `index` (e.g. an eepsite:
    /// `[web]\ntype = http\nhost = 127.0.0.1\nport = 8080\nkeys = web.dat\n`).
    pub fn tunnels_conf(mut self, index: usize, text: &str) -> Self {
        self.tunnels_conf.insert(index, text.to_owned());
        self
    }

    /// Router `index` gets no RouterInfos copied in and reseeds from the SU3 file
    /// `su3` instead, verifying it with `cert` (see [`crate::reseed`]).
    pub fn reseed_from_su3(mut self, index: usize, su3: &Path, cert: &Path) -> Self {
        self.reseed.insert(
            index,
            Su3Reseed {
                su3: su3.to_owned(),
                cert: cert.to_owned(),
            },
        );
        self
    }

    fn check(&self) -> Result<()> {
        let n = self.routers;
        let bad = |m: String| Err(Error::Config(m));
        if n == 0 || n > MAX_ROUTERS {
            return bad(format!("{n} routers (1 to {MAX_ROUTERS})"));
        }
        if self.floodfills > n {
            return bad(format!("{} floodfills of {n} routers", self.floodfills));
        }
        if self.netid == 2 {
            return bad("netid 2 is the real I2P network".into());
        }
        let indices = self
            .sam
            .iter()
            .chain(&self.http_proxy)
            .chain(&self.socks_proxy)
            .chain(self.tunnels_conf.keys())
            .chain(self.reseed.keys())
            .chain(self.options.iter().filter_map(|o| o.0.as_ref()));
        for &i in indices {
            if i >= n {
                return Err(Error::NoSuchRouter(i));
            }
        }
        for (_, t) in &self.seeds {
            if let SeedTargets::Only(s) = t {
                if let Some(&i) = s.iter().find(|&&i| i >= n) {
                    return Err(Error::NoSuchRouter(i));
                }
            }
        }
        Ok(())
    }

    /// Writes every router's files, runs each once to make its keys and
    /// `router.info`, copies every RouterInfo into every other router's netDb (plus
    /// the seeds), and starts them all. Must run inside [`netns::run_isolated`].
    pub fn start(self) -> Result<Testnet> {
        let t0 = Instant::now();
        self.check()?;
        if !netns::is_isolated() {
            return Err(Error::NotIsolated);
        }
        if !self.i2pd.exists() {
            return Err(Error::NoI2pd(self.i2pd.clone()));
        }
        let (root, tempdir) = match &self.dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(io_err(format!("creating {}", d.display())))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("gousse-testnet-")
                    .tempdir()
                    .map_err(io_err("creating a temporary directory"))?;
                (t.path().to_owned(), Some(t))
            }
        };
        let mut net = Testnet {
            routers: Vec::new(),
            root,
            tempdir,
            startup: Duration::ZERO,
        };
        for i in 0..self.routers {
            net.routers.push(self.prepare(i, &net.root)?);
        }

        // First run: each router makes its keys and router.info.
        for r in &mut net.routers {
            r.start()?;
        }
        for r in &mut net.routers {
            let path = r.router_info_path();
            wait_until(
                Duration::from_secs(30),
                Duration::from_millis(50),
                &format!("{} to be written", path.display()),
                || std::fs::read(&path).is_ok_and(|b| UncheckedRouterInfo::parse(&b).is_ok()),
            )?;
        }
        stop_all(&mut net.routers);
        let infos = net
            .routers
            .iter()
            .map(I2pdRouter::router_info)
            .collect::<Result<Vec<_>>>()?;
        for (r, info) in net.routers.iter_mut().zip(&infos) {
            r.hash_b64 = UncheckedRouterInfo::parse(info)?.hash().to_base64();
        }

        // Seeding (testnet.md, "Seeding without reseed servers").
        for (i, r) in net.routers.iter().enumerate() {
            if !self.reseed.contains_key(&i) {
                for (j, info) in infos.iter().enumerate() {
                    if i != j {
                        r.add_router_info(info)?;
                    }
                }
            }
            for (info, to) in &self.seeds {
                if matches!(to, SeedTargets::All)
                    || matches!(to, SeedTargets::Only(s) if s.contains(&i))
                {
                    r.add_router_info(info)?;
                }
            }
        }

        for r in &mut net.routers {
            r.start()?;
        }
        net.startup = t0.elapsed();
        Ok(net)
    }

    /// Makes router `i`'s directory, address and files.
    fn prepare(&self, i: usize, root: &Path) -> Result<I2pdRouter> {
        let idx = u16::try_from(i + 1).map_err(|_| Error::NoSuchRouter(i))?;
        let addr = netns::i2pd_addr(u8::try_from(i).map_err(|_| Error::NoSuchRouter(i))?);
        netns::add_address(addr)?;
        let data_dir = root.join(format!("r{i}"));
        if data_dir.exists() {
            std::fs::remove_dir_all(&data_dir)
                .map_err(io_err(format!("clearing {}", data_dir.display())))?;
        }
        std::fs::create_dir_all(data_dir.join("tunnels.d"))
            .map_err(io_err(format!("creating {}", data_dir.display())))?;
        let pick = |set: &BTreeSet<usize>, base: u16| set.contains(&i).then_some(base + idx);
        let mut router = I2pdRouter {
            index: i,
            addr,
            port: PORT_BASE + idx,
            console_port: CONSOLE_BASE + idx,
            sam_port: pick(&self.sam, SAM_BASE),
            http_proxy_port: pick(&self.http_proxy, HTTP_PROXY_BASE),
            socks_proxy_port: pick(&self.socks_proxy, SOCKS_PROXY_BASE),
            floodfill: i < self.floodfills,
            data_dir: data_dir.clone(),
            i2pd: self.i2pd.clone(),
            certs_dir: PathBuf::from("/usr/share/i2pd/certificates"),
            child: None,
            hash_b64: String::new(),
            conf: I2pdConfig::default(),
            started_at: None,
        };
        let mut conf = I2pdConfig::for_router(&RouterSettings {
            data_dir: &data_dir,
            netid: self.netid,
            addr,
            port: router.port,
            floodfill: router.floodfill,
            bandwidth: &self.bandwidth,
            log_level: &self.log_level,
            console_port: router.console_port,
            sam_port: router.sam_port,
            http_proxy_port: router.http_proxy_port,
            socks_proxy_port: router.socks_proxy_port,
        });
        for (only, section, key, value) in &self.options {
            if only.is_none_or(|o| o == i) {
                conf.set(section, key, value.as_str());
            }
        }
        router.conf = conf;
        router.write_config()?;
        if let Some(r) = self.reseed.get(&i) {
            router.use_su3_reseed(&r.su3, &r.cert)?;
        }
        let p = data_dir.join("tunnels.conf");
        let text = self.tunnels_conf.get(&i).map_or("", String::as_str);
        std::fs::write(&p, text).map_err(io_err(format!("writing {}", p.display())))?;
        Ok(router)
    }
}

/// SIGTERM to all, then wait for all (SIGKILL after 10 s).
fn stop_all(routers: &mut [I2pdRouter]) {
    for r in routers.iter_mut() {
        r.signal_stop();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for r in routers.iter_mut() {
        r.reap(deadline);
    }
}

/// A running private network of i2pd routers. Dropping it stops every router and
/// deletes the data directories (unless `GOUSSE_KEEP_TESTNET` is set or
/// [`TestnetBuilder::data_dir`] was given).
pub struct Testnet {
    routers: Vec<I2pdRouter>,
    root: PathBuf,
    tempdir: Option<tempfile::TempDir>,
    startup: Duration,
}

impl Testnet {
    /// A builder with the defaults: 8 routers, 2 floodfills, netid 99, caps `X`.
    pub fn builder() -> TestnetBuilder {
        TestnetBuilder::default()
    }

    /// All routers.
    pub fn routers(&self) -> &[I2pdRouter] {
        &self.routers
    }

    /// Router `index`.
    pub fn router(&self, index: usize) -> Result<&I2pdRouter> {
        self.routers.get(index).ok_or(Error::NoSuchRouter(index))
    }

    /// Router `index`, to stop, start or restart it.
    pub fn router_mut(&mut self, index: usize) -> Result<&mut I2pdRouter> {
        self.routers
            .get_mut(index)
            .ok_or(Error::NoSuchRouter(index))
    }

    /// The directory holding `r0`, `r1`, ...
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Time [`TestnetBuilder::start`] took (first run, seeding, second start).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Current `router.info` bytes of every router.
    pub fn router_infos(&self) -> Result<Vec<Vec<u8>>> {
        self.routers.iter().map(I2pdRouter::router_info).collect()
    }

    /// Every router's hash (base64), by index.
    pub fn hashes(&self) -> Vec<String> {
        self.routers.iter().map(|r| r.hash_b64.clone()).collect()
    }

    /// Waits until every router's console answers; returns the time it took.
    pub fn wait_for_consoles(&self, timeout: Duration) -> Result<Duration> {
        wait_until(
            timeout,
            Duration::from_millis(200),
            "every console to answer",
            || self.routers.iter().all(|r| r.console_status().is_ok()),
        )
    }

    /// Waits until the network carries traffic: every console answers, counts all
    /// the other routers, and reports a network status and a non-zero tunnel
    /// creation success rate. Returns the time it took.
    ///
    /// It does not wait for "Network status: OK" everywhere: in a network this small
    /// every i2pd soon holds a session with every other, and i2pd 2.45.1's SSU2 peer
    /// tests then fail with Charlie's code 68 ("Alice is already connected to
    /// Charlie", ssu2.rst "Peer Test"), so a few routers stay at "Testing" or
    /// "Unknown" while their tunnels work. [`Self::count_status_ok`] tells how many
    /// reached OK.
    pub fn wait_settled(&self, timeout: Duration) -> Result<Duration> {
        let others = u64::try_from(self.routers.len().saturating_sub(1)).unwrap_or(u64::MAX);
        let start = Instant::now();
        let last = std::cell::RefCell::new(Vec::new());
        let done = wait_until(
            timeout,
            Duration::from_secs(1),
            "the network to settle",
            || {
                let statuses: Vec<_> = self
                    .routers
                    .iter()
                    .map(|r| r.console_status().ok())
                    .collect();
                let ok = statuses.iter().all(|s| {
                    s.as_ref().is_some_and(|s| {
                        s.network_status().is_some_and(|n| !n.is_empty())
                            && s.tunnel_creation_success_rate().is_some_and(|p| p > 0)
                            && s.routers().is_some_and(|n| n >= others)
                    })
                });
                *last.borrow_mut() = statuses;
                ok
            },
        );
        match done {
            Ok(_) => Ok(start.elapsed()),
            Err(_) => {
                let summary: Vec<String> = last
                    .borrow()
                    .iter()
                    .enumerate()
                    .map(|(i, s)| match s {
                        Some(s) => format!(
                            "r{i}: {} {}% {} routers",
                            s.network_status().unwrap_or("-"),
                            s.tunnel_creation_success_rate().unwrap_or(0),
                            s.routers().unwrap_or(0)
                        ),
                        None => format!("r{i}: no console"),
                    })
                    .collect();
                Err(Error::Timeout(
                    timeout,
                    format!("the network to settle ({})", summary.join(", ")),
                ))
            }
        }
    }

    /// How many routers' consoles now say "Network status: OK".
    pub fn count_status_ok(&self) -> usize {
        self.routers
            .iter()
            .filter(|r| {
                r.console_status()
                    .is_ok_and(|s| s.network_status() == Some("OK"))
            })
            .count()
    }

    /// Stops every router now (also done on drop).
    pub fn stop(&mut self) {
        stop_all(&mut self.routers);
    }
}

impl Drop for Testnet {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os(KEEP_ENV).is_some() {
            if let Some(t) = self.tempdir.take() {
                let kept = t.keep();
                eprintln!("gousse-testnet: kept data in {}", kept.display());
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn impossible_settings_are_refused() {
        let err = |b: TestnetBuilder| b.start().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Testnet::builder().routers(0)).contains("0 routers"));
        assert!(err(Testnet::builder().routers(300)).contains("300 routers"));
        assert!(err(Testnet::builder().routers(2).floodfills(3)).contains("3 floodfills"));
        assert!(err(Testnet::builder().netid(2)).contains("real I2P network"));
        assert!(err(Testnet::builder().routers(2).sam(2)).contains("no router with index 2"));
        assert!(err(Testnet::builder()
            .routers(2)
            .seed_router_info_to(vec![], &[5]))
        .contains("index 5"));
    }

    #[test]
    fn refuses_to_run_outside_a_namespace() {
        if netns::is_isolated() {
            return; // only meaningful in the host's namespace
        }
        assert!(matches!(
            Testnet::builder().routers(1).floodfills(0).start(),
            Err(Error::NotIsolated)
        ));
        assert!(matches!(
            netns::add_address(netns::i2pd_addr(0)),
            Err(Error::NotIsolated)
        ));
    }
}
