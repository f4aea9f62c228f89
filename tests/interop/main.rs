//! Interop tests: the `gousse` binary among real, unmodified i2pd routers in a private
//! network namespace (docs/testnet.md). Each test re-runs itself in its own namespace
//! (`isolate!`), so nothing leaves the machine and tests do not see each other.
//!
//! Acceptance of the router foundation issue: discovery from one floodfill, publication
//! to the i2pd floodfills, NTCP2 sessions both ways, restart from SQLite without
//! reseeding, `kill -9` safety, SU3 reseed, and hostile handshakes.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub
)]

mod alice;
mod destinations;
mod eepsite;
mod encrypted;
mod gousse;
mod handshakes;
mod hostile_tunnels;
mod sam;
mod tunnels;
mod web;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gousse::Gousse;
use gousse_testnet::{isolate, netns, reseed, wait_until, Testnet};

const NTCP2_PORT: u16 = 23456;
pub(crate) const CONSOLE_PORT: u16 = 7070;

pub(crate) fn our_addr() -> SocketAddr {
    let ip = netns::add_gousse_addr(0).expect("add our address");
    SocketAddr::new(ip.into(), NTCP2_PORT)
}

/// A scratch directory for a test's Gousse data, web bodies and seeds; kept (and
/// its path printed) when `GOUSSE_KEEP_TESTNET` is set, like the i2pd network's.
pub(crate) fn work_dir() -> tempfile::TempDir {
    let mut dir = tempfile::Builder::new()
        .prefix("gousse-interop-")
        .tempdir()
        .unwrap();
    if std::env::var_os(gousse_testnet::KEEP_ENV).is_some() {
        dir.disable_cleanup(true);
        println!("test data kept in {}", dir.path().display());
    }
    dir
}

/// Our router's identity first (a start and stop in `data`), then an i2pd network
/// from `builder` that has our RouterInfo from its start, then a directory of every
/// i2pd RouterInfo to reseed from (`work/seed`).
pub(crate) fn network_knowing_us(
    work: &std::path::Path,
    data: &std::path::Path,
    addr: SocketAddr,
    builder: gousse_testnet::TestnetBuilder,
) -> (Testnet, std::path::PathBuf) {
    let mut first = Gousse::start(data, addr, CONSOLE_PORT, &["--reseed-threshold", "0"]);
    assert!(first.stop().success());
    let our_ri = std::fs::read(data.join("router.info")).unwrap();
    let net = builder
        .seed_router_info(our_ri)
        .start()
        .expect("start i2pd routers");
    let seed = work.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    for ri in net.router_infos().unwrap() {
        let hash = i2p_wire::UncheckedRouterInfo::parse(&ri)
            .unwrap()
            .hash()
            .to_base64();
        std::fs::write(seed.join(format!("routerInfo-{hash}.dat")), ri).unwrap();
    }
    (net, seed)
}

/// Acceptance 1-4 of the router foundation, in one i2pd network (starting one costs
/// most of the time): 8 i2pd routers (2 floodfills); our router is seeded with ONE
/// floodfill's RouterInfo, through a signed SU3 file.
#[test]
fn joins_an_i2pd_network() {
    isolate!();
    let t0 = Instant::now();
    let addr = our_addr();
    let net = Testnet::builder()
        .routers(8)
        .floodfills(2)
        .start()
        .expect("start i2pd routers");
    println!("i2pd network of 8 started in {:.1?}", net.startup_time());
    let all: Vec<String> = net.hashes();
    let floodfills: Vec<String> = net
        .routers()
        .iter()
        .filter(|r| r.is_floodfill())
        .map(|r| r.hash_b64().to_owned())
        .collect();
    assert_eq!(floodfills.len(), 2);

    // Reseed from a test-signed su3 holding only the first floodfill's RouterInfo.
    let work = crate::work_dir();
    let zip = reseed::make_zip(&[net.router(0).unwrap().router_info().unwrap()]).unwrap();
    let (su3, cert) = reseed::make_signed_su3(&zip, "testnet@mail.i2p", work.path()).unwrap();
    let cert_dir = cert.parent().unwrap().to_owned();
    let data = work.path().join("gousse");
    let su3_arg = su3.display().to_string();
    let cert_arg = cert_dir.display().to_string();
    let mut g = Gousse::start(
        &data,
        addr,
        CONSOLE_PORT,
        &[
            "--reseed-from",
            &su3_arg,
            "--reseed-certificates",
            &cert_arg,
            "--reseed-threshold",
            "1",
        ],
    );
    assert!(
        g.log().contains("taken=1"),
        "the su3 gave one RouterInfo: {}",
        g.log()
    );
    let ours = g.router_hash();
    println!("our router {ours} started");

    // 1. Discovery: every i2pd router and both floodfills, through lookups and
    // exploration from one floodfill.
    let took = wait_until(
        Duration::from_secs(240),
        Duration::from_secs(1),
        "discover all routers",
        || g.figure("known_routers") >= 8 && g.figure("known_floodfills") >= 2,
    )
    .unwrap_or_else(|e| panic!("{e}: status {}\n{}", g.status(), g.log()));
    println!(
        "discovered {} routers in {took:.1?}",
        g.figure("known_routers")
    );

    // Our RouterInfo was stored (DeliveryStatus) and is in the i2pd floodfills' netDb
    // (i2pd writes its netDb to disk every minute).
    assert!(
        g.figure("router_info_stores_confirmed") >= 1,
        "{}",
        g.status()
    );
    for ff in net.routers().iter().filter(|r| r.is_floodfill()) {
        let took = wait_until(
            Duration::from_secs(180),
            Duration::from_secs(2),
            "floodfill stores us",
            || ff.netdb_hashes().is_ok_and(|h| h.contains(&ours)),
        )
        .unwrap_or_else(|e| panic!("floodfill {}: {e}", ff.hash_b64()));
        println!(
            "floodfill {} has our RouterInfo after {took:.1?}",
            ff.hash_b64()
        );
    }

    // NTCP2 both ways: we dialed i2pd routers, and i2pd routers dialed us.
    let took = wait_until(
        Duration::from_secs(240),
        Duration::from_secs(1),
        "sessions both ways",
        || g.figure("active_sessions.outbound") >= 1 && g.figure("active_sessions.inbound") >= 1,
    )
    .unwrap_or_else(|e| panic!("{e}: {}", g.status()));
    println!(
        "sessions both ways after {took:.1?}: {}",
        g.status()["active_sessions"]
    );
    let connected = net
        .routers()
        .iter()
        .filter(|r| r.is_connected_to(&ours).unwrap_or(false))
        .count();
    println!("{connected} i2pd routers list a session with us");
    assert!(connected >= 1);
    assert!(all.iter().all(|h| h != &ours));

    // 4. Hostile handshakes: dropped without an answer, and the router carries on.
    let our_ri = std::fs::read(data.join("router.info")).unwrap();
    handshakes::garbage_gets_no_answer(addr);
    handshakes::truncated_message_1_gets_no_answer(addr, &our_ri);
    handshakes::replayed_message_1_gets_no_answer(addr, &our_ri);
    assert!(g.is_running(), "gousse survived the hostile handshakes");
    let before = g.figure("bytes_received");
    wait_until(
        Duration::from_secs(120),
        Duration::from_secs(1),
        "i2pd traffic goes on",
        || {
            g.figure("bytes_received") > before
                && g.figure("active_sessions.inbound") + g.figure("active_sessions.outbound") >= 1
        },
    )
    .unwrap();
    println!("after the hostile handshakes: {}", g.status());

    // 2. Restart: same identity, netDb from SQLite, no reseed.
    let known = g.figure("known_routers");
    assert!(g.stop().success(), "clean exit on SIGTERM");
    let log_len = g.log().len() as u64;
    let g2 = Gousse::start(&data, addr, CONSOLE_PORT, &["--reseed-threshold", "1"]);
    let restart_log = g2.log_since(log_len);
    assert_eq!(g2.router_hash(), ours, "same identity after restart");
    assert!(
        !restart_log.contains("reseeded"),
        "no reseed after restart: {restart_log}"
    );
    let loaded = loaded_count(&restart_log);
    assert!(
        loaded >= known,
        "netDb loaded from SQLite: {loaded} of {known}"
    );
    wait_until(
        Duration::from_secs(10),
        Duration::from_millis(200),
        "status shows the netDb",
        || g2.figure("known_routers") >= known,
    )
    .unwrap();
    let mut g2 = g2;

    // kill -9 while the router is writing (just started: every RouterInfo it learns is
    // written), several times; the database opens and is consistent each time.
    for round in 0..3 {
        std::thread::sleep(Duration::from_millis(300 + 400 * round));
        g2.kill9();
        let store = gousse_store::Store::open(data.join("netdb.sqlite"))
            .expect("netDb opens after kill -9");
        assert_eq!(store.integrity_check().unwrap(), "ok");
        let rows = store.load_router_infos().unwrap();
        for r in &rows {
            let ri = i2p_wire::UncheckedRouterInfo::parse(&r.bytes)
                .and_then(|u| u.verify())
                .expect("stored RouterInfo verifies");
            assert_eq!(ri.hash().0, r.hash, "row key is the RouterInfo's hash");
            assert_eq!(ri.published(), r.published);
        }
        assert!(
            rows.len() as u64 >= known,
            "kept {} of {known} RouterInfos",
            rows.len()
        );
        drop(store);
        let log_len = g2.log().len() as u64;
        g2 = Gousse::start(&data, addr, CONSOLE_PORT, &["--reseed-threshold", "1"]);
        assert_eq!(g2.router_hash(), ours);
        assert!(!g2.log_since(log_len).contains("reseeded"));
    }
    assert!(g2.stop().success());
    println!("joins_an_i2pd_network: {:.1?} in all", t0.elapsed());
}

/// Acceptance 3: a tampered su3 is refused with a clear error, and nothing from it is
/// used. (The accepted case runs in `joins_an_i2pd_network`.)
#[test]
fn tampered_su3_is_refused() {
    isolate!();
    let addr = our_addr();
    let work = crate::work_dir();
    let ri = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../i2p-wire/tests/data/i2pd-2.45.1-router.info"
    ))
    .unwrap();
    let zip = reseed::make_zip(&[ri]).unwrap();
    let (su3, cert) = reseed::make_signed_su3(&zip, "testnet@mail.i2p", work.path()).unwrap();
    let mut bytes = std::fs::read(&su3).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    let bad = work.path().join("tampered.su3");
    std::fs::write(&bad, &bytes).unwrap();
    let data = work.path().join("gousse");
    let bad_arg = bad.display().to_string();
    let cert_arg = cert.parent().unwrap().display().to_string();
    let mut g = Gousse::start(
        &data,
        addr,
        CONSOLE_PORT,
        &[
            "--reseed-from",
            &bad_arg,
            "--reseed-certificates",
            &cert_arg,
        ],
    );
    let log = g.log();
    assert!(
        log.contains("bad su3 signature"),
        "clear error in the log: {log}"
    );
    assert!(
        !log.contains("reseed source read"),
        "nothing taken from it: {log}"
    );
    assert_eq!(g.figure("known_routers"), 0);
    assert!(g.stop().success());
}

fn loaded_count(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("netDb loaded from"))
        .filter_map(|l| l.split("routers=").nth(1))
        .filter_map(|r| r.split_whitespace().next())
        .filter_map(|n| n.parse().ok())
        .next_back()
        .unwrap_or(0)
}
