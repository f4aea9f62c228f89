//! `bench-idle`: what an idle router costs (not a test; run by `scripts/bench-idle.sh`,
//! which builds release binaries and makes the namespace).
//!
//! A private network of i2pd routers and one or two Gousse routers (transit on, as a
//! normal router has it; and a second one with `--no-transit`), with no client traffic:
//! only what routers do by themselves (tunnel building and testing, netDb, sessions).
//! After a warm-up, over a window, for every router process:
//!
//! - CPU time: utime + stime of `/proc/PID/stat` (all threads, dead ones included);
//! - wake-ups: voluntary + involuntary context switches of every thread
//!   (`/proc/PID/task/TID/status`), polled every second so that threads that come and
//!   go during the window are counted (the proxy for wake-ups: each is one time a
//!   thread went to sleep and was woken, or was preempted);
//! - resident memory: `VmRSS` (mean over the window and at its end) and `VmHWM`.
//!
//! Figures are scaled to 10 minutes. The i2pd reference is the median (min, max) of
//! the i2pd routers that are not floodfills, like ours. The routers' consoles are
//! read only just before and just after the window, so the window does not pay for
//! them.
//!
//! ```text
//! bench-idle --gousse PATH [--minutes M] [--warmup M] [--routers R] [--floodfills F]
//!            [--variants transit,no-transit]
//! ```

#![allow(clippy::print_stdout)] // a command-line tool

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use gousse_testnet::{console, netns, ConsoleStatus, Testnet};

/// Consoles of our routers: 127.0.0.1:7070 + k.
const GOUSSE_CONSOLE_BASE: u16 = 7070;
/// How often the threads' context switches and the RSS are read.
const POLL: Duration = Duration::from_secs(1);
/// Timeline step.
const STEP: Duration = Duration::from_secs(60);
/// What the figures are scaled to.
const PER: Duration = Duration::from_secs(600);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

struct Args {
    gousse: PathBuf,
    routers: usize,
    floodfills: usize,
    warmup: Duration,
    window: Duration,
    /// Gousse variants: `true` for transit on.
    variants: Vec<bool>,
}

fn minutes(flag: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|m| m.is_finite() && *m >= 0.0 && *m <= 24.0 * 60.0)
        .map(|m| Duration::from_secs_f64(m * 60.0))
        .ok_or(format!("{flag}: not a number of minutes: {value}"))
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        gousse: PathBuf::from("target/release/gousse"),
        routers: 8,
        floodfills: 2,
        warmup: Duration::from_secs(120),
        window: PER,
        variants: vec![true, false],
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--gousse" => a.gousse = PathBuf::from(value),
            "--routers" => a.routers = number()?.clamp(3, 200),
            "--floodfills" => a.floodfills = number()?.max(1),
            "--warmup" => a.warmup = minutes(flag, value)?,
            "--minutes" => a.window = minutes(flag, value)?.max(Duration::from_secs(10)),
            "--variants" => {
                a.variants = value
                    .split(',')
                    .map(|v| match v.trim() {
                        "transit" => Ok(true),
                        "no-transit" => Ok(false),
                        other => Err(format!("--variants: transit or no-transit, not {other}")),
                    })
                    .collect::<Result<_, _>>()?;
                a.variants.dedup();
                if a.variants.is_empty() {
                    return Err("--variants: at least one".into());
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.floodfills >= a.routers {
        return Err("--floodfills must leave some routers that are not floodfills".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse(&std::env::args().skip(1).collect::<Vec<_>>()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench-idle: {e}");
            return ExitCode::from(2);
        }
    };
    if !netns::is_isolated() {
        eprintln!("bench-idle: run it inside its own namespace (scripts/bench-idle.sh)");
        return ExitCode::from(2);
    }
    if let Err(e) = netns::bring_lo_up() {
        eprintln!("bench-idle: {e}");
        return ExitCode::FAILURE;
    }
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-idle: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- /proc readings

/// Clock ticks per second (`getconf CLK_TCK`; 100 when it cannot be asked).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of a process (every thread, exited ones included), in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of proc(5); `rest` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   value` line of a `/proc/.../status` file, as a number (the unit dropped).
fn status_field(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// (voluntary, involuntary) context switches of every live thread of `pid`, by TID.
fn thread_switches(pid: u32) -> BTreeMap<u32, (u64, u64)> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue; // the thread just ended
        };
        if let (Some(v), Some(n)) = (
            status_field(&status, "voluntary_ctxt_switches"),
            status_field(&status, "nonvoluntary_ctxt_switches"),
        ) {
            out.insert(tid, (v, n));
        }
    }
    out
}

/// Every thread's name and CPU seconds since it started, busiest first.
fn thread_cpu(pid: u32, tck: f64) -> String {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for entry in dir.flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let name = stat
                .split_once('(')
                .and_then(|(_, r)| r.rsplit_once(')'))
                .map_or("?", |(n, _)| n)
                .to_owned();
            let ticks = stat.rsplit_once(')').and_then(|(_, rest)| {
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            });
            out.push((ticks.unwrap_or(0), name));
        }
    }
    out.sort_by_key(|t| std::cmp::Reverse(t.0));
    out.iter()
        .map(|(t, n)| format!("{n} {:.2}", *t as f64 / tck))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One thread's switches: at the start of the window (0 for a thread born during it)
/// and when last seen.
#[derive(Clone, Copy, Default)]
struct ThreadCount {
    base: (u64, u64),
    last: (u64, u64),
}

/// One router process followed over the window.
struct Tracker {
    name: String,
    floodfill: bool,
    pid: u32,
    start_ticks: u64,
    end_ticks: u64,
    threads: BTreeMap<u32, ThreadCount>,
    /// Switches of threads whose TID was reused since (kept, not lost).
    retired: (u64, u64),
    rss_sum_kib: u64,
    rss_samples: u64,
    rss_end_kib: u64,
    hwm_kib: u64,
    max_threads: usize,
    alive: bool,
    /// (CPU ticks, switches) at the start and at every minute of the window.
    marks: Vec<(u64, u64)>,
}

impl Tracker {
    /// Starts following `pid`: the window begins now.
    fn start(name: String, floodfill: bool, pid: u32) -> Self {
        let threads = thread_switches(pid)
            .into_iter()
            .map(|(tid, c)| (tid, ThreadCount { base: c, last: c }))
            .collect::<BTreeMap<_, _>>();
        let start_ticks = cpu_ticks(pid).unwrap_or(0);
        Self {
            name,
            floodfill,
            pid,
            start_ticks,
            end_ticks: start_ticks,
            max_threads: threads.len(),
            threads,
            retired: (0, 0),
            rss_sum_kib: 0,
            rss_samples: 0,
            rss_end_kib: 0,
            hwm_kib: 0,
            alive: true,
            marks: vec![(start_ticks, 0)],
        }
    }

    /// Records a timeline point (after a [`Self::poll`]).
    fn mark(&mut self) {
        let (v, n) = self.switches();
        self.marks.push((self.end_ticks, v + n));
    }

    /// (CPU s, switches) of the last timeline step.
    fn last_step(&self, tck: f64) -> (f64, f64) {
        match self.marks.as_slice() {
            [.., a, b] => (
                b.0.saturating_sub(a.0) as f64 / tck,
                b.1.saturating_sub(a.1) as f64,
            ),
            _ => (f64::NAN, f64::NAN),
        }
    }

    fn poll(&mut self) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", self.pid)) else {
            self.alive = false;
            return;
        };
        if let Some(rss) = status_field(&status, "VmRSS") {
            self.rss_sum_kib += rss;
            self.rss_samples += 1;
            self.rss_end_kib = rss;
        }
        if let Some(hwm) = status_field(&status, "VmHWM") {
            self.hwm_kib = hwm;
        }
        if let Some(t) = cpu_ticks(self.pid) {
            self.end_ticks = t;
        }
        let now = thread_switches(self.pid);
        self.max_threads = self.max_threads.max(now.len());
        for (tid, c) in now {
            let e = self.threads.entry(tid).or_default();
            if c.0 < e.last.0 || c.1 < e.last.1 {
                // A new thread with a reused TID: keep what the old one did.
                self.retired.0 += e.last.0.saturating_sub(e.base.0);
                self.retired.1 += e.last.1.saturating_sub(e.base.1);
                *e = ThreadCount::default();
            }
            e.last = c;
        }
    }

    /// (voluntary, involuntary) switches over the window.
    fn switches(&self) -> (u64, u64) {
        self.threads.values().fold(self.retired, |acc, t| {
            (
                acc.0 + t.last.0.saturating_sub(t.base.0),
                acc.1 + t.last.1.saturating_sub(t.base.1),
            )
        })
    }
}

/// Per-10-minute figures of one router.
#[derive(Clone, Copy)]
struct Figures {
    cpu_s: f64,
    wakeups: f64,
    involuntary: f64,
    rss_mean_mib: f64,
    rss_end_mib: f64,
    hwm_mib: f64,
    threads: usize,
}

fn figures(t: &Tracker, window: Duration, tck: f64) -> Figures {
    let scale = PER.as_secs_f64() / window.as_secs_f64();
    let (v, n) = t.switches();
    let mib = |k: u64| k as f64 / 1024.0;
    Figures {
        cpu_s: t.end_ticks.saturating_sub(t.start_ticks) as f64 / tck * scale,
        wakeups: (v + n) as f64 * scale,
        involuntary: n as f64 * scale,
        rss_mean_mib: if t.rss_samples == 0 {
            f64::NAN
        } else {
            mib(t.rss_sum_kib) / t.rss_samples as f64
        },
        rss_end_mib: mib(t.rss_end_kib),
        hwm_mib: mib(t.hwm_kib),
        threads: t.max_threads,
    }
}

/// (median, min, max); NaN for none.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let median = match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    let first = v.first().copied().unwrap_or(f64::NAN);
    let last = v.last().copied().unwrap_or(f64::NAN);
    (median, first, last)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---------------------------------------------------------------- routers' own figures

/// A number after `"key":` in compact JSON (the first occurrence).
fn json_u64(json: &str, key: &str) -> Option<u64> {
    let pat = format!("\"{key}\":");
    let at = json.find(&pat)? + pat.len();
    let digits: String = json
        .get(at..)?
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// What our router says about itself (`/api/status`).
#[derive(Clone, Copy, Default)]
struct GousseStatus {
    sessions: u64,
    exploratory_in: u64,
    exploratory_out: u64,
    transit_tunnels: u64,
    transit_accept: bool,
    builds_ok: u64,
    builds_failed: u64,
    tests_ok: u64,
    tests_failed: u64,
    known_routers: u64,
    bytes_sent: u64,
    bytes_received: u64,
    transit_bytes: u64,
}

fn gousse_status(console: SocketAddr) -> Option<GousseStatus> {
    let j = console::http_get(console, "/api/status", HTTP_TIMEOUT).ok()?;
    let n = |k: &str| json_u64(&j, k).unwrap_or(0);
    Some(GousseStatus {
        sessions: n("inbound") + n("outbound"),
        exploratory_in: n("exploratory_inbound"),
        exploratory_out: n("exploratory_outbound"),
        transit_tunnels: n("transit_tunnels"),
        transit_accept: j.contains("\"accept\":true"),
        builds_ok: n("tunnel_builds_ok"),
        builds_failed: n("tunnel_builds_failed"),
        tests_ok: n("tunnel_tests_ok"),
        tests_failed: n("tunnel_tests_failed"),
        known_routers: n("known_routers"),
        bytes_sent: n("bytes_sent"),
        bytes_received: n("bytes_received"),
        transit_bytes: n("transit_bytes"),
    })
}

/// An i2pd byte count as its console writes it (`12.34 KiB (0.50 KiB/s)`), in bytes.
fn i2pd_bytes(text: &str) -> Option<f64> {
    let mut words = text.split_whitespace();
    let value: f64 = words.next()?.parse().ok()?;
    let unit = match words.next()? {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(value * unit)
}

/// What an i2pd router's console says.
#[derive(Clone, Copy, Default)]
struct I2pdStatus {
    sessions: u64,
    transit_tunnels: u64,
    sent: f64,
    received: f64,
}

fn i2pd_status(r: &gousse_testnet::I2pdRouter) -> I2pdStatus {
    let page: Option<ConsoleStatus> = r.console_status().ok();
    let bytes = |label: &str| {
        page.as_ref()
            .and_then(|p| p.get(label))
            .and_then(i2pd_bytes)
            .unwrap_or(f64::NAN)
    };
    I2pdStatus {
        sessions: r.transport_sessions().map_or(0, |s| s.len() as u64),
        transit_tunnels: page
            .as_ref()
            .and_then(ConsoleStatus::transit_tunnels)
            .unwrap_or(0),
        sent: bytes("Sent"),
        received: bytes("Received"),
    }
}

// ---------------------------------------------------------------- our routers

fn start_gousse(
    exe: &Path,
    data: &Path,
    addr: SocketAddr,
    console: SocketAddr,
    extra: &[&str],
) -> Result<Child, String> {
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let log = std::fs::File::create(data.join("gousse.stderr"))
        .map_err(|e| format!("gousse.stderr: {e}"))?;
    Command::new(exe)
        .args(["run", "--data-dir"])
        .arg(data)
        .args(["--net-id", "99", "--host"])
        .arg(addr.ip().to_string())
        .args(["--port", &addr.port().to_string()])
        .args(["--allow-private-addresses", "--console"])
        .arg(console.to_string())
        .args(["--log", "warn"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("start {}: {e}", exe.display()))
}

/// Stops a `gousse` process: SIGTERM, then SIGKILL after 20 s.
fn stop(child: Child) {
    gousse_testnet::stop_process(child, Duration::from_secs(20));
}

struct Ours {
    label: &'static str,
    child: Child,
    console: SocketAddr,
}

fn run(a: &Args) -> Result<(), String> {
    let tck = clock_ticks();
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;

    // Our identities first, so that every i2pd router knows them from its start.
    let mut plans = Vec::new();
    for (k, &transit) in a.variants.iter().enumerate() {
        let k8 = u8::try_from(k).map_err(|e| e.to_string())?;
        let addr = SocketAddr::new(
            netns::add_gousse_addr(k8)
                .map_err(|e| e.to_string())?
                .into(),
            23456,
        );
        let console = SocketAddr::from((Ipv4Addr::LOCALHOST, GOUSSE_CONSOLE_BASE + u16::from(k8)));
        let data = work.path().join(format!("gousse{k}"));
        let first = start_gousse(
            &a.gousse,
            &data,
            addr,
            console,
            &["--reseed-threshold", "0"],
        )?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while !data.join("router.info").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        stop(first);
        let ri =
            std::fs::read(data.join("router.info")).map_err(|e| format!("router.info: {e}"))?;
        plans.push((transit, data, addr, console, ri));
    }
    let mut builder = Testnet::builder()
        .routers(a.routers)
        .floodfills(a.floodfills)
        // Like our routers' `--log warn`: neither pays for writing an info log.
        .log_level("warn");
    for p in &plans {
        builder = builder.seed_router_info(p.4.clone());
    }
    let net = builder.start().map_err(|e| e.to_string())?;
    let seed = work.path().join("seed");
    std::fs::create_dir_all(&seed).map_err(|e| e.to_string())?;
    for ri in net.router_infos().map_err(|e| e.to_string())? {
        let hash = i2p_wire::UncheckedRouterInfo::parse(&ri)
            .map_err(|e| e.to_string())?
            .hash()
            .to_base64();
        std::fs::write(seed.join(format!("routerInfo-{hash}.dat")), ri)
            .map_err(|e| e.to_string())?;
    }
    let seed_arg = seed.display().to_string();
    let mut ours = Vec::new();
    for (transit, data, addr, console, _) in &plans {
        let mut extra = vec!["--reseed-from", &seed_arg, "--reseed-threshold", "1"];
        if !transit {
            extra.push("--no-transit");
        }
        ours.push(Ours {
            label: if *transit {
                "gousse"
            } else {
                "gousse --no-transit"
            },
            child: start_gousse(&a.gousse, data, *addr, *console, &extra)?,
            console: *console,
        });
    }
    println!(
        "network: {} i2pd routers ({} floodfills, log warn), {} Gousse router(s) (release, log warn); \
         no client traffic. Warm-up {:.1} min, window {:.1} min.",
        a.routers,
        a.floodfills,
        ours.len(),
        a.warmup.as_secs_f64() / 60.0,
        a.window.as_secs_f64() / 60.0,
    );
    std::thread::sleep(a.warmup);

    // Just before the window: the routers' own counters.
    let before_ours: Vec<_> = ours.iter().map(|o| gousse_status(o.console)).collect();
    let before_i2pd: Vec<_> = net.routers().iter().map(i2pd_status).collect();
    let load_start = loadavg();

    let mut trackers: Vec<Tracker> = ours
        .iter()
        .map(|o| Tracker::start(o.label.to_owned(), false, o.child.id()))
        .collect();
    for r in net.routers() {
        let pid = r
            .pid()
            .ok_or(format!("i2pd r{} is not running", r.index()))?;
        trackers.push(Tracker::start(
            format!("i2pd r{}", r.index()),
            r.is_floodfill(),
            pid,
        ));
    }
    let t0 = Instant::now();
    let mut next_mark = STEP;
    println!(
        "timeline, CPU s / wake-ups per minute: {}, i2pd median of non-floodfills",
        ours.iter().map(|o| o.label).collect::<Vec<_>>().join(", ")
    );
    while t0.elapsed() < a.window {
        std::thread::sleep(POLL.min(a.window.saturating_sub(t0.elapsed())));
        for t in &mut trackers {
            t.poll();
        }
        if t0.elapsed() >= next_mark && t0.elapsed() < a.window {
            next_mark += STEP;
            for t in &mut trackers {
                t.mark();
            }
            let steps: Vec<(f64, f64)> = trackers.iter().map(|t| t.last_step(tck)).collect();
            let mut line = format!("  min {:>2}:", t0.elapsed().as_secs() / 60);
            for (cpu, wake) in steps.iter().take(ours.len()) {
                line.push_str(&format!(" {cpu:6.2} s {wake:7.0} |"));
            }
            let refs = || {
                trackers
                    .iter()
                    .zip(&steps)
                    .skip(ours.len())
                    .filter(|(t, _)| !t.floodfill)
            };
            let cpu = stats(refs().map(|(_, s)| s.0).collect()).0;
            let wake = stats(refs().map(|(_, s)| s.1).collect()).0;
            println!("{line} {cpu:6.2} s {wake:7.0}   (load {})", loadavg());
        }
    }
    let window = t0.elapsed();
    let load_end = loadavg();

    // Just after: counters again.
    let after_ours: Vec<_> = ours.iter().map(|o| gousse_status(o.console)).collect();
    let after_i2pd: Vec<_> = net.routers().iter().map(i2pd_status).collect();

    // ------------------------------------------------------------ the table
    let fig: Vec<Figures> = trackers.iter().map(|t| figures(t, window, tck)).collect();
    println!();
    println!(
        "per 10 minutes (window {:.1} min, scaled); load average {load_start} -> {load_end} on {} CPUs",
        window.as_secs_f64() / 60.0,
        std::thread::available_parallelism().map_or(0, usize::from),
    );
    println!(
        "{:<22} {:>7} {:>9} {:>7} {:>8} {:>8} {:>8} {:>4} {:>5} {:>7} {:>14}",
        "router",
        "CPU s",
        "wake-ups",
        "invol%",
        "RSS avg",
        "RSS end",
        "RSS peak",
        "thr",
        "sess",
        "transit",
        "sent/recv KiB"
    );
    for (i, (t, f)) in trackers.iter().zip(&fig).enumerate() {
        let (sess, transit, traffic) = if let Some(k) = i.checked_sub(ours.len()) {
            let (b, e) = (before_i2pd.get(k), after_i2pd.get(k));
            let (b, e) = (
                b.copied().unwrap_or_default(),
                e.copied().unwrap_or_default(),
            );
            let scale = PER.as_secs_f64() / window.as_secs_f64() / 1024.0;
            (e.sessions, e.transit_tunnels, {
                // "-" when a console figure could not be read.
                let kib = |x: f64| {
                    if x.is_finite() {
                        format!("{x:.0}")
                    } else {
                        "-".to_owned()
                    }
                };
                format!(
                    "{}/{}",
                    kib((e.sent - b.sent) * scale),
                    kib((e.received - b.received) * scale)
                )
            })
        } else {
            let (b, e) = (
                before_ours[i].unwrap_or_default(),
                after_ours[i].unwrap_or_default(),
            );
            let scale = PER.as_secs_f64() / window.as_secs_f64() / 1024.0;
            (
                e.sessions,
                e.transit_tunnels,
                format!(
                    "{:.0}/{:.0}",
                    e.bytes_sent.saturating_sub(b.bytes_sent) as f64 * scale,
                    e.bytes_received.saturating_sub(b.bytes_received) as f64 * scale
                ),
            )
        };
        println!(
            "{:<22} {:>7.2} {:>9.0} {:>6.0}% {:>8.1} {:>8.1} {:>8.1} {:>4} {:>5} {:>7} {:>14}{}",
            format!("{}{}", t.name, if t.floodfill { " (ff)" } else { "" }),
            f.cpu_s,
            f.wakeups,
            100.0 * f.involuntary / f.wakeups.max(1.0),
            f.rss_mean_mib,
            f.rss_end_mib,
            f.hwm_mib,
            f.threads,
            sess,
            transit,
            traffic,
            if t.alive {
                ""
            } else {
                "  (EXITED during the window)"
            },
        );
    }
    println!(
        "(wake-ups: voluntary + involuntary context switches summed over all threads, polled \
         every {} s; invol% = preemptions among them. RSS in MiB. sess, transit: at the end. \
         sent/recv: per 10 min.)",
        POLL.as_secs()
    );

    // ------------------------------------------------------------ summary block
    let refs: Vec<&Figures> = trackers
        .iter()
        .zip(&fig)
        .skip(ours.len())
        .filter(|(t, _)| !t.floodfill && t.alive)
        .map(|(_, f)| f)
        .collect();
    let col = |get: fn(&Figures) -> f64| stats(refs.iter().map(|f| get(f)).collect());
    let cpu = col(|f| f.cpu_s);
    let wake = col(|f| f.wakeups);
    let rss = col(|f| f.rss_mean_mib);
    let hwm = col(|f| f.hwm_mib);
    let i2pd_sess = stats(
        after_i2pd
            .iter()
            .zip(net.routers())
            .filter(|(_, r)| !r.is_floodfill())
            .map(|(s, _)| s.sessions as f64)
            .collect(),
    );
    let i2pd_transit = stats(
        after_i2pd
            .iter()
            .zip(net.routers())
            .filter(|(_, r)| !r.is_floodfill())
            .map(|(s, _)| s.transit_tunnels as f64)
            .collect(),
    );
    println!();
    println!("===== idle router, per 10 minutes =====");
    println!(
        "setup: {} i2pd {} routers ({} floodfills) + Gousse (release), private net, \
         no client traffic; warm-up {:.1} min, window {:.1} min; load avg {load_start} -> {load_end}",
        a.routers,
        i2pd_version(),
        a.floodfills,
        a.warmup.as_secs_f64() / 60.0,
        window.as_secs_f64() / 60.0,
    );
    println!(
        "{:<40} {:>11} {:>13} {:>11} {:>11}",
        "", "CPU s", "wake-ups", "RSS MiB", "peak MiB"
    );
    for (o, f) in ours.iter().zip(&fig) {
        println!(
            "{:<40} {:>11.2} {:>13.0} {:>11.1} {:>11.1}",
            o.label, f.cpu_s, f.wakeups, f.rss_mean_mib, f.hwm_mib
        );
    }
    println!(
        "{:<40} {:>11.2} {:>13.0} {:>11.1} {:>11.1}",
        format!("i2pd median ({} non-floodfills)", refs.len()),
        cpu.0,
        wake.0,
        rss.0,
        hwm.0
    );
    println!(
        "{:<40} {:>11} {:>13} {:>11} {:>11}",
        "i2pd non-floodfills min..max",
        format!("{:.2}..{:.2}", cpu.1, cpu.2),
        format!("{:.0}..{:.0}", wake.1, wake.2),
        format!("{:.1}..{:.1}", rss.1, rss.2),
        format!("{:.1}..{:.1}", hwm.1, hwm.2),
    );
    for (o, f) in ours.iter().zip(&fig) {
        println!(
            "{:<40} {:>11.2} {:>13.2} {:>11.2} {:>11.2}",
            format!("ratio {} / i2pd median", o.label),
            f.cpu_s / cpu.0,
            f.wakeups / wake.0,
            f.rss_mean_mib / rss.0,
            f.hwm_mib / hwm.0
        );
    }
    println!("work done (at the end of the window; builds over the last 10 min):");
    for (o, s) in ours.iter().zip(&after_ours) {
        match s {
            Some(s) => println!(
                "  {}: {} sessions, {} routers known, exploratory tunnels {} in + {} out, \
                 builds {} ok / {} failed, tests {} ok / {} failed (since start), \
                 transit {} tunnels ({}, {} KiB relayed since start)",
                o.label,
                s.sessions,
                s.known_routers,
                s.exploratory_in,
                s.exploratory_out,
                s.builds_ok,
                s.builds_failed,
                s.tests_ok,
                s.tests_failed,
                s.transit_tunnels,
                if s.transit_accept {
                    "accepting"
                } else {
                    "refusing"
                },
                s.transit_bytes / 1024,
            ),
            None => println!("  {}: /api/status did not answer", o.label),
        }
    }
    println!(
        "  i2pd non-floodfills: sessions median {:.0} ({:.0}..{:.0}), transit tunnels median {:.0} ({:.0}..{:.0})",
        i2pd_sess.0, i2pd_sess.1, i2pd_sess.2, i2pd_transit.0, i2pd_transit.1, i2pd_transit.2
    );
    println!(
        "wake-ups = voluntary + involuntary context switches over all threads (/proc/PID/task/*/status), \
         a proxy for wake-ups; CPU = utime+stime (/proc/PID/stat); RSS = mean VmRSS over the window, \
         peak = VmHWM."
    );

    for o in &ours {
        println!(
            "{} threads, CPU s since start: {}",
            o.label,
            thread_cpu(o.child.id(), tck)
        );
    }
    for o in ours {
        stop(o.child);
    }
    drop(net);
    Ok(())
}

/// `i2pd --version`'s first line, shortened.
fn i2pd_version() -> String {
    Command::new("/usr/sbin/i2pd")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "?".into())
}
