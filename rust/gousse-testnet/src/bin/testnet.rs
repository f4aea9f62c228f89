//! `gousse-testnet`: a test network for a person, driven by `scripts/testnet.sh`.
//!
//! ```text
//! gousse-testnet serve --dir DIR [--routers N] [--floodfills F] [--log-level L]
//!                      [--sam I] [--http-proxy I] [--socks-proxy I]
//! gousse-testnet status --dir DIR
//! ```
//! `serve` runs inside a namespace made by the script (`unshare -rn` with
//! `GOUSSE_TESTNET_NETNS=1`), starts the routers under `DIR/net`, writes
//! `DIR/routers.txt`, `DIR/pid` and `DIR/ready`, and runs until `DIR/stop` appears.
//! `status` (run inside the namespace, e.g. through `nsenter`) prints each
//! console's figures.

#![allow(clippy::print_stdout)] // a command-line tool

use gousse_testnet::{netns, Testnet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gousse-testnet: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    dir: Option<PathBuf>,
    routers: usize,
    floodfills: usize,
    log_level: String,
    sam: Vec<usize>,
    http_proxy: Vec<usize>,
    socks_proxy: Vec<usize>,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        dir: None,
        routers: 8,
        floodfills: 2,
        log_level: "info".into(),
        sam: Vec::new(),
        http_proxy: Vec::new(),
        socks_proxy: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--dir" => a.dir = Some(PathBuf::from(value()?)),
            "--routers" => a.routers = number(value()?)?,
            "--floodfills" => a.floodfills = number(value()?)?,
            "--log-level" => a.log_level = value()?,
            "--sam" => a.sam.push(number(value()?)?),
            "--http-proxy" => a.http_proxy.push(number(value()?)?),
            "--socks-proxy" => a.socks_proxy.push(number(value()?)?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

fn run(args: Vec<String>) -> Result<(), String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err("usage: gousse-testnet serve|status --dir DIR [options]".into());
    };
    let a = parse(rest)?;
    let dir = a.dir.clone().ok_or("--dir is required")?;
    match cmd.as_str() {
        "serve" => serve(&a, &dir),
        "status" => status(&dir),
        other => Err(format!("unknown command {other}")),
    }
}

fn serve(a: &Args, dir: &Path) -> Result<(), String> {
    netns::bring_lo_up().map_err(|e| e.to_string())?;
    let w = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("writing {name}: {e}"))
    };
    w("pid", &format!("{}\n", std::process::id()))?;
    let mut b = Testnet::builder()
        .routers(a.routers)
        .floodfills(a.floodfills)
        .log_level(&a.log_level)
        .data_dir(dir.join("net"));
    for &i in &a.sam {
        b = b.sam(i);
    }
    for &i in &a.http_proxy {
        b = b.http_proxy(i);
    }
    for &i in &a.socks_proxy {
        b = b.socks_proxy(i);
    }
    let mut net = b.start().map_err(|e| e.to_string())?;
    let mut table = String::new();
    for r in net.routers() {
        let extra = [
            r.sam_port().map(|p| format!(" sam=127.0.0.1:{p}")),
            r.http_proxy_port()
                .map(|p| format!(" httpproxy=127.0.0.1:{p}")),
            r.socks_proxy_port()
                .map(|p| format!(" socks=127.0.0.1:{p}")),
        ]
        .into_iter()
        .flatten()
        .collect::<String>();
        table.push_str(&format!(
            "r{} {}:{} {} console={}{} hash={} dir={}\n",
            r.index(),
            r.addr(),
            r.port(),
            if r.is_floodfill() {
                "floodfill"
            } else {
                "router"
            },
            r.console_url(),
            extra,
            r.hash_b64(),
            r.data_dir().display()
        ));
    }
    w("routers.txt", &table)?;
    w("ready", &format!("started in {:?}\n", net.startup_time()))?;
    print!("{table}");
    let stop = dir.join("stop");
    while !stop.exists() {
        std::thread::sleep(Duration::from_millis(300));
        let mut alive = 0;
        for i in 0..net.routers().len() {
            if net.router_mut(i).is_ok_and(|r| r.is_running()) {
                alive += 1;
            }
        }
        if alive == 0 {
            eprintln!("every i2pd router has exited; see the i2pd.log files");
            break;
        }
    }
    net.stop();
    let _ = std::fs::remove_file(&stop);
    let _ = std::fs::remove_file(dir.join("ready"));
    Ok(())
}

fn status(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("routers.txt"))
        .map_err(|e| format!("no running test network in {}: {e}", dir.display()))?;
    for line in text.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let port = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("console=http://127.0.0.1:"))
            .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok());
        let Some(port) = port else { continue };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        match gousse_testnet::console::http_get(addr, "/", Duration::from_secs(5)) {
            Ok(page) => {
                let s = gousse_testnet::ConsoleStatus::parse(&page);
                let f = |l: &str| s.get(l).unwrap_or("?").to_owned();
                println!(
                    "{name}: status {} | tunnels {} | routers {} floodfills {} | client {} transit {} | up {}",
                    f("Network status"),
                    f("Tunnel creation success rate"),
                    f("Routers"),
                    f("Floodfills"),
                    f("Client Tunnels"),
                    f("Transit Tunnels"),
                    f("Uptime")
                );
            }
            Err(e) => println!("{name}: console not answering ({e})"),
        }
    }
    Ok(())
}
