//! Encrypted LeaseSets with i2pd (end-to-end issue, "Destinations"): sites whose
//! LeaseSet is published blinded and encrypted (type 5), reachable only by their
//! `b33` address (encryptedleaseset.rst, b32encrypted.rst).
//!
//! - i2pd hosts a site with `i2cp.leaseSetType = 5`; curl through Gousse's HTTP
//!   proxy fetches it by its b33 address: Gousse derives the day's blinded key, looks
//!   the encrypted LeaseSet up at i2pd's floodfills and opens it.
//! - Gousse hosts a site with `i2cp.leaseSetType = 5`; an i2pd floodfill confirms the
//!   store, the plain b32 address finds nothing, and curl through i2pd's HTTP proxy
//!   fetches the site by the b33 address Gousse shows in `/api/status`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gousse_testnet::{isolate, wait_until, Testnet};

use crate::eepsite::fetch_until_ok;
use crate::gousse::Gousse;
use crate::web::{hex, random_body, serve};
use crate::{our_addr, CONSOLE_PORT};

const BODY_LEN: usize = 1024 * 1024;
const OUR_SITE: u16 = 8080;
const I2PD_SITE: u16 = 8081;
const PROXY_ROUTER: usize = 2;
const SITE_ROUTER: usize = 1;

#[test]
fn encrypted_leasesets_both_ways_with_i2pd() {
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
                    "[hidden]\ntype = http\nhost = 127.0.0.1\nport = {I2PD_SITE}\n\
                     keys = hidden.dat\ni2cp.leaseSetType = 5\n"
                ),
            ),
    );
    // i2pd's b33 address, from the destination in its key file.
    let i2pd_keys = crate::eepsite::i2pd_tunnel_keys(&net, SITE_ROUTER, "hidden.dat");
    let i2pd_b33 = i2p_wire::BlindedAddress::from_destination(i2pd_keys.destination())
        .expect("i2pd's site has an Ed25519 key")
        .to_host();
    println!("i2pd's hidden site: {i2pd_b33}");

    let tunnels = work.path().join("tunnels.conf");
    std::fs::write(
        &tunnels,
        format!(
            "[hidden]\ntype = http\nhost = 127.0.0.1\nport = {OUR_SITE}\nkeys = hidden.dat\n\
             i2cp.leaseSetType = 5\n"
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
        ],
    );

    // 1. Gousse's proxy -> i2pd's encrypted LeaseSet.
    let out = work.path().join("fetched");
    let took = fetch_until_ok(
        &g,
        &["-x", "http://127.0.0.1:4444"],
        &format!("http://{i2pd_b33}/file"),
        &out,
        &want,
        Duration::from_secs(300),
    );
    println!(
        "i2pd's hidden site through our proxy: {took:.1?}, first success {:.1?} after start",
        t0.elapsed()
    );
    let log = g.log();
    assert!(
        log.contains("encrypted LeaseSet opened"),
        "the LeaseSet came encrypted and we opened it"
    );

    // 2. Our encrypted LeaseSet, stored at an i2pd floodfill.
    wait_until(
        Duration::from_secs(240),
        Duration::from_secs(1),
        "our hidden site's LeaseSet stored",
        || g.status()["destinations"][0]["leaseset_stored"].as_bool() == Some(true),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", g.status()));
    let st = g.status();
    let ours = &st["destinations"][0];
    let our_b32 = ours["b32"].as_str().unwrap().to_owned();
    let our_b33 = ours["b33"]
        .as_str()
        .expect("/api/status shows the b33 address")
        .to_owned();
    assert!(our_b33.len() > our_b32.len());
    println!(
        "our hidden site {our_b33}: LeaseSet stored after {:.1?}",
        t0.elapsed()
    );
    let page = g.console_page();
    assert!(page.contains(&our_b33), "the console shows the b33 address");

    // The plain b32 finds nothing: the LeaseSet is not stored under the destination
    // hash.
    let proxy = format!(
        "http://127.0.0.1:{}",
        net.routers()[PROXY_ROUTER].http_proxy_port().unwrap()
    );
    let t = Instant::now();
    let plain = std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "120",
            "-o",
            "-",
            "-w",
            "\nHTTP %{http_code}",
            "-x",
        ])
        .arg(&proxy)
        .arg(format!("http://{our_b32}/file"))
        .output()
        .unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    // i2pd's error page: its heading and first paragraph say why.
    let why: String = plain
        .split("<h1>")
        .nth(1)
        .unwrap_or(&plain)
        .chars()
        .take(300)
        .collect();
    println!(
        "plain b32 through i2pd's proxy, after {:.1?}: {why}",
        t.elapsed()
    );
    assert!(
        !plain.ends_with("HTTP 200") && plain.len() < BODY_LEN,
        "the plain b32 must not find an encrypted LeaseSet"
    );

    // 3. i2pd's proxy -> our encrypted LeaseSet, by its b33.
    let took = fetch_until_ok(
        &g,
        &["-x", &proxy],
        &format!("http://{our_b33}/file"),
        &out,
        &want,
        Duration::from_secs(300),
    );
    println!("our hidden site through i2pd's proxy: {took:.1?}");
}
