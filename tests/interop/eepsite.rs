//! Eepsites both ways with i2pd (end-to-end issue): streams over the ECIES ratchet
//! between our destinations and i2pd's.
//!
//! - curl through an i2pd HTTP proxy fetches 20 MB from an eepsite behind a Gousse
//!   server tunnel (acceptance 2);
//! - curl through a Gousse client tunnel fetches 20 MB from an eepsite behind an i2pd
//!   server tunnel;
//! - curl through Gousse's HTTP proxy fetches 20 MB from that i2pd eepsite (acceptance
//!   1), and curl through Gousse's SOCKS proxy reaches it (acceptance 4); an unknown
//!   host gets a page a person understands.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gousse_testnet::{isolate, wait_until, Testnet};

use crate::gousse::Gousse;
use crate::web::{curl, hex, random_body, serve, sha256_file};
use crate::{our_addr, CONSOLE_PORT};

const BODY_LEN: usize = 20 * 1024 * 1024;
/// The test's web servers: ours behind Gousse, i2pd's behind i2pd.
const OUR_SITE: u16 = 8080;
const I2PD_SITE: u16 = 8081;
/// Gousse's client tunnel to the i2pd eepsite.
const CLIENT_TUNNEL: u16 = 9090;
/// The i2pd router with the HTTP proxy, and the one hosting the eepsite.
const PROXY_ROUTER: usize = 2;
const SITE_ROUTER: usize = 1;

/// Retries curl until it succeeds (a first fetch may find no LeaseSet yet), then
/// checks the bytes. A failed try prints `g`'s loss counters.
pub(crate) fn fetch_until_ok(
    g: &Gousse,
    args: &[&str],
    url: &str,
    out: &std::path::Path,
    want: &str,
    within: Duration,
) -> Duration {
    let deadline = Instant::now() + within;
    loop {
        let _ = std::fs::remove_file(out);
        let (ok, took) = curl(args, url, out, Duration::from_secs(240));
        if ok {
            let got = sha256_file(out);
            assert_eq!(got, want, "SHA-256 of {url}");
            return took;
        }
        println!("fetch failed after {took:.1?}; {}", g.loss_counters());
        assert!(
            Instant::now() < deadline,
            "no successful fetch of {url} in {within:?}"
        );
        std::thread::sleep(Duration::from_secs(3));
    }
}

#[test]
fn eepsites_both_ways_with_i2pd() {
    isolate!();
    let addr = our_addr();
    let work = crate::work_dir();
    let data = work.path().join("gousse");
    let body = Arc::new(random_body(BODY_LEN));
    let want = hex(&i2p_crypto::hash::sha256(&body));
    serve(SocketAddr::from(([127, 0, 0, 1], OUR_SITE)), body.clone());
    serve(SocketAddr::from(([127, 0, 0, 1], I2PD_SITE)), body.clone());

    let (net, seed) = crate::network_knowing_us(
        work.path(),
        &data,
        addr,
        Testnet::builder()
            .routers(8)
            .floodfills(2)
            .http_proxy(PROXY_ROUTER)
            .tunnels_conf(
                SITE_ROUTER,
                &format!(
                    "[web]\ntype = http\nhost = 127.0.0.1\nport = {I2PD_SITE}\nkeys = web.dat\n"
                ),
            ),
    );
    // i2pd's eepsite address, from its key file.
    let i2pd_b32 = i2pd_tunnel_keys(&net, SITE_ROUTER, "web.dat")
        .destination()
        .b32_address();
    println!("i2pd eepsite: {i2pd_b32}");

    let tunnels = work.path().join("tunnels.conf");
    std::fs::write(
        &tunnels,
        format!(
            "[site]\ntype = http\nhost = 127.0.0.1\nport = {OUR_SITE}\nkeys = site.dat\n\n\
             [to-i2pd]\ntype = client\naddress = 127.0.0.1\nport = {CLIENT_TUNNEL}\n\
             destination = {i2pd_b32}\n"
        ),
    )
    .unwrap();
    let (seed_arg, tunnels_arg) = (seed.display().to_string(), tunnels.display().to_string());
    let t0 = Instant::now();
    let g = Gousse::start(
        &data,
        addr,
        CONSOLE_PORT,
        &[
            "--reseed-from",
            &seed_arg,
            "--reseed-threshold",
            "1",
            "--tunnels",
            &tunnels_arg,
            "--http-proxy",
            "127.0.0.1:4444",
            "--socks-proxy",
            "127.0.0.1:4447",
        ],
    );
    wait_until(
        Duration::from_secs(240),
        Duration::from_secs(1),
        "our eepsite's LeaseSet stored",
        || g.status()["destinations"][0]["leaseset_stored"].as_bool() == Some(true),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", g.status()));
    let our_b32 = g.status()["destinations"][0]["b32"]
        .as_str()
        .unwrap()
        .to_owned();
    println!(
        "our eepsite {our_b32}: LeaseSet stored after {:.1?}",
        t0.elapsed()
    );

    // 1. i2pd's HTTP proxy -> our server tunnel.
    let proxy = format!(
        "http://127.0.0.1:{}",
        net.routers()[PROXY_ROUTER].http_proxy_port().unwrap()
    );
    let out = work.path().join("fetched");
    let took = fetch_until_ok(
        &g,
        &["-x", &proxy],
        &format!("http://{our_b32}/file"),
        &out,
        &want,
        Duration::from_secs(300),
    );
    println!(
        "20 MB from our eepsite through i2pd's proxy: {took:.1?} ({:.2} MB/s); first success {:.1?} after start",
        BODY_LEN as f64 / 1e6 / took.as_secs_f64(),
        t0.elapsed()
    );

    // 2. Our client tunnel -> i2pd's server tunnel.
    let took = fetch_until_ok(
        &g,
        &[],
        &format!("http://127.0.0.1:{CLIENT_TUNNEL}/file"),
        &out,
        &want,
        Duration::from_secs(300),
    );
    println!(
        "20 MB from i2pd's eepsite through our client tunnel: {took:.1?} ({:.2} MB/s)",
        BODY_LEN as f64 / 1e6 / took.as_secs_f64()
    );

    // 3. Our HTTP proxy -> i2pd's server tunnel, while garbage hits both proxies.
    let stop_garbage = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let garbage = {
        let stop = stop_garbage.clone();
        std::thread::spawn(move || hostile_proxy_clients(&stop))
    };
    let took = fetch_until_ok(
        &g,
        &["-x", "http://127.0.0.1:4444"],
        &format!("http://{i2pd_b32}/file"),
        &out,
        &want,
        Duration::from_secs(300),
    );
    println!(
        "20 MB from i2pd's eepsite through our HTTP proxy: {took:.1?} ({:.2} MB/s)",
        BODY_LEN as f64 / 1e6 / took.as_secs_f64()
    );
    stop_garbage.store(true, std::sync::atomic::Ordering::SeqCst);
    let (answered, http_400) = garbage.join().unwrap();
    println!("garbage clients during the fetch: {answered} closed by the proxies, {http_400} with HTTP 400");
    assert!(
        answered >= 2 && http_400 >= 1,
        "garbage gets an answer or a close"
    );

    // 4. Our SOCKS proxy -> i2pd's server tunnel, the name resolved by the proxy.
    let took = fetch_until_ok(
        &g,
        &["--socks5-hostname", "127.0.0.1:4447"],
        &format!("http://{i2pd_b32}/file"),
        &out,
        &want,
        Duration::from_secs(300),
    );
    println!("20 MB from i2pd's eepsite through our SOCKS proxy: {took:.1?}");

    // An unknown host name: an error page that says so.
    let page = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "30",
            "-x",
            "http://127.0.0.1:4444",
            "http://nosuchsite.i2p/",
        ])
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout);
    assert!(page.contains("nosuchsite.i2p"), "{page}");
    let st = g.status();
    println!("destinations: {}", st["destinations"]);
    println!("{}", g.loss_counters());
}

/// The keys of an i2pd tunnel from its key file `file`, once i2pd has written it.
pub(crate) fn i2pd_tunnel_keys(
    net: &Testnet,
    router: usize,
    file: &str,
) -> i2p_wire::DestinationKeys {
    let key_file = net.routers()[router].data_dir().join(file);
    wait_until(
        Duration::from_secs(60),
        Duration::from_millis(500),
        "i2pd's tunnel keys",
        || std::fs::read(&key_file).is_ok(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    i2p_wire::DestinationKeys::parse(&std::fs::read(&key_file).unwrap())
        .expect("i2pd's key file parses")
}

/// Connects to both proxies again and again with garbage until `stop`; returns how
/// many connections the proxies closed (with or without an answer) and how many got
/// an HTTP 400.
fn hostile_proxy_clients(stop: &std::sync::atomic::AtomicBool) -> (usize, usize) {
    use std::io::{Read, Write};
    let (mut closed, mut bad_request) = (0, 0);
    let mut seed = 1u32;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        for port in [4444u16, 4447] {
            let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let _ = s.set_read_timeout(Some(Duration::from_secs(40)));
            let junk: Vec<u8> = (0..600)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    (seed >> 16) as u8
                })
                .collect();
            let mut msg = junk.clone();
            if port == 4444 {
                msg.extend_from_slice(b"\r\n\r\n");
            }
            let _ = s.write_all(&msg);
            let mut reply = Vec::new();
            if s.read_to_end(&mut reply).is_ok() {
                closed += 1;
                if reply.starts_with(b"HTTP/1.1 400") || reply.starts_with(b"HTTP/1.0 400") {
                    bad_request += 1;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    (closed, bad_request)
}
