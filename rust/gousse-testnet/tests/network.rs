//! Real i2pd routers in a private namespace (testnet.md). Each test re-executes
//! itself inside `unshare --user --net --pid` first.
#![allow(clippy::unwrap_used)] // tests

use gousse_testnet::{isolate, wait_until, Testnet};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[test]
fn eight_routers_come_up_and_know_each_other() {
    isolate!("eight_routers_come_up_and_know_each_other");
    let t0 = Instant::now();
    let mut net = Testnet::builder().routers(8).floodfills(2).start().unwrap();
    eprintln!(
        "[timing] start (first run, seeding, second start): {:?}",
        net.startup_time()
    );
    let consoles = net.wait_for_consoles(Duration::from_secs(60)).unwrap();
    eprintln!("[timing] all 8 consoles answer after {consoles:?} more");

    let hashes = net.hashes();
    assert_eq!(
        hashes.iter().collect::<BTreeSet<_>>().len(),
        8,
        "distinct routers"
    );
    for r in net.routers() {
        // Our hash computation agrees with i2pd's own idea of its identity.
        let status = r.console_status().unwrap();
        assert_eq!(
            status.router_ident(),
            Some(r.hash_b64()),
            "router {}",
            r.index()
        );
        assert_eq!(r.is_floodfill(), r.index() < 2);
        // Every router has the other seven in its netDb directory.
        let known = r.netdb_hashes().unwrap();
        for other in net.routers().iter().filter(|o| o.index() != r.index()) {
            assert!(
                known.contains(other.hash_b64()),
                "r{} misses r{}",
                r.index(),
                other.index()
            );
        }
    }
    // ... and i2pd loaded them: its console counts at least the seven others.
    let loaded = wait_until(
        Duration::from_secs(60),
        Duration::from_millis(500),
        "Routers >= 7",
        || {
            net.routers().iter().all(|r| {
                r.console_status()
                    .is_ok_and(|s| s.routers().is_some_and(|n| n >= 7))
            })
        },
    )
    .unwrap();
    eprintln!("[timing] every console counts >= 7 routers after {loaded:?} more");

    // The network settles: every console reports a network status, and tunnels
    // are being built through the others.
    let settled = net.wait_settled(Duration::from_secs(180));
    for r in net.routers() {
        let Ok(s) = r.console_status() else { continue };
        eprintln!(
            "r{} {}: status {:?}, tunnel success {:?}%, routers {:?}, floodfills {:?}, transit {:?}",
            r.index(),
            r.addr(),
            s.network_status(),
            s.tunnel_creation_success_rate(),
            s.routers(),
            s.floodfills(),
            s.transit_tunnels()
        );
    }
    let settled = settled.unwrap();
    eprintln!(
        "[timing] network settled (statuses reported, tunnel success > 0 everywhere) \
         {settled:?} after start; {:?} in all; {} of 8 say Network status OK",
        t0.elapsed(),
        net.count_status_ok()
    );
    for r in net.routers() {
        let s = r.console_status().unwrap();
        let st = s.network_status().unwrap();
        assert!(
            ["OK", "Testing", "Unknown"].contains(&st),
            "router {} reports network status {st:?}",
            r.index()
        );
    }
    let transit: u64 = net
        .routers()
        .iter()
        .filter_map(|r| r.console_status().ok()?.transit_tunnels())
        .sum();
    assert!(transit > 0, "no router carries a transit tunnel");

    // Sessions: each router is connected to at least one other, and the console's
    // view matches the network (every peer it lists is one of ours).
    let prefixes: BTreeSet<String> = hashes.iter().map(|h| h[..4].to_owned()).collect();
    for r in net.routers() {
        let sessions = r.transport_sessions().unwrap();
        assert!(
            !sessions.is_empty(),
            "r{} has no transport session",
            r.index()
        );
        for s in &sessions {
            assert!(prefixes.contains(&s.hash_prefix), "unknown peer {s:?}");
            assert!(s.endpoint.starts_with("198.18.0."), "{s:?}");
        }
    }
    let first = &net.routers()[0];
    let peer = first.transport_sessions().unwrap()[0].hash_prefix.clone();
    let full = hashes.iter().find(|h| h.starts_with(&peer)).unwrap();
    assert!(first.is_connected_to(full).unwrap());

    // Stop and restart one router: same identity, console back.
    let t = Instant::now();
    let r7 = net.router_mut(7).unwrap();
    let before = r7.hash_b64().to_owned();
    r7.stop();
    assert!(!r7.is_running());
    assert!(
        r7.console_status().is_err(),
        "console still answers after stop"
    );
    r7.start().unwrap();
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "r7 console",
        || {
            r7.console_status()
                .is_ok_and(|s| s.router_ident() == Some(before.as_str()))
        },
    )
    .unwrap();
    eprintln!("[timing] router 7 stopped and back in {:?}", t.elapsed());
}

#[test]
fn i2pd_reseeds_from_our_signed_su3() {
    isolate!("i2pd_reseeds_from_our_signed_su3");
    let mut net = Testnet::builder().routers(4).floodfills(2).start().unwrap();
    net.wait_for_consoles(Duration::from_secs(60)).unwrap();
    let infos = net.router_infos().unwrap();
    let seeds: Vec<&Vec<u8>> = infos.iter().take(3).collect();
    let zip = gousse_testnet::reseed::make_zip(&seeds).unwrap();
    let out = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let (su3, cert) =
        gousse_testnet::reseed::make_signed_su3(&zip, "testnet@mail.i2p", out.path()).unwrap();
    eprintln!(
        "[timing] RSA-4096 key, certificate and SU3 signature: {:?}",
        t.elapsed()
    );
    let bytes = std::fs::read(&su3).unwrap();
    gousse_testnet::reseed::verify_su3(&bytes, &std::fs::read(&cert).unwrap()).unwrap();

    // A copy with one flipped byte in the zip: i2pd must refuse it.
    let mut bad = bytes.clone();
    let at = bytes.len() - 600;
    bad[at] ^= 0x40;
    let bad_path = out.path().join("tampered.su3");
    std::fs::write(&bad_path, &bad).unwrap();

    let hashes = net.hashes();
    let r3 = net.router_mut(3).unwrap();
    let mark = r3.log_position();
    r3.reseed_from_su3(&bad_path, &cert).unwrap();
    let log = || r3.log_since(mark).unwrap();
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "tampered SU3 refused",
        || log().contains("Failed to reseed from"),
    )
    .unwrap();
    assert!(
        log().contains("SU3 signature verification failed"),
        "{}",
        log()
    );
    assert!(r3.netdb_hashes().unwrap().is_empty());
    let routers_after_bad = r3.console_status().unwrap().routers().unwrap();
    assert!(
        routers_after_bad <= 1,
        "knows {routers_after_bad} routers without a reseed"
    );

    // The good file: i2pd checks our signature and takes the three RouterInfos.
    let mark = r3.log_position();
    r3.reseed_from_su3(&su3, &cert).unwrap();
    let log = || r3.log_since(mark).unwrap();
    let took = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        "reseed from SU3",
        || {
            r3.console_status()
                .is_ok_and(|s| s.routers().is_some_and(|n| n >= 3))
        },
    );
    eprintln!("--- r3 log, reseed lines ---");
    for l in log().lines().filter(|l| l.contains("Reseed")) {
        eprintln!("{l}");
    }
    eprintln!("[timing] i2pd reseeded from our SU3 in {:?}", took.unwrap());
    let text = log();
    assert!(!text.contains("verification failed"), "{text}");
    assert!(!text.contains("Failed to reseed from"), "{text}");
    // i2pd 2.45.1 reseeds before it starts its transports: the three RouterInfos
    // it adds before "Starting Transports" can only have come from our file.
    let before_transports = text.split("Starting Transports").next().unwrap_or_default();
    for h in &hashes[..3] {
        assert!(
            before_transports.contains(&format!("RouterInfo added: {h}")),
            "{h} not taken from the SU3:\n{text}"
        );
    }
}

#[test]
fn seeded_router_info_reaches_only_the_chosen_routers() {
    isolate!(); // the name comes from libtest's thread name
                // A real, signed RouterInfo of a router that is not part of the next network
                // (it stands for ours): router 3 of a first, short-lived network.
    let outsider = {
        let net = Testnet::builder().routers(4).floodfills(1).start().unwrap();
        net.router(3).unwrap().router_info().unwrap()
    };
    let outsider_hash = i2p_wire::UncheckedRouterInfo::parse(&outsider)
        .unwrap()
        .hash()
        .to_base64();

    let net = Testnet::builder()
        .routers(3)
        .floodfills(1)
        .seed_router_info_to(outsider.clone(), &[0])
        .start()
        .unwrap();
    net.wait_for_consoles(Duration::from_secs(60)).unwrap();
    assert!(net
        .router(0)
        .unwrap()
        .netdb_hashes()
        .unwrap()
        .contains(&outsider_hash));
    for i in [1, 2] {
        assert!(!net
            .router(i)
            .unwrap()
            .netdb_hashes()
            .unwrap()
            .contains(&outsider_hash));
    }
    // i2pd loaded it: router 0 counts one router more than router 1 (both count the
    // three routers of the network).
    let count = |i: usize| {
        net.router(i)
            .unwrap()
            .console_status()
            .unwrap()
            .routers()
            .unwrap()
    };
    assert_eq!(count(0), count(1) + 1, "r0 {} r1 {}", count(0), count(1));
    assert!(net.router(5).is_err());
}
