//! Destinations with i2pd (end-to-end issue, first part): a server tunnel's
//! destination gets its client tunnels, and its LeaseSet2 reaches the i2pd floodfills
//! through those tunnels, where i2pd checks its signature and lists it.

use std::time::{Duration, Instant};

use gousse_testnet::{isolate, wait_until, Testnet};

use crate::gousse::Gousse;
use crate::{our_addr, CONSOLE_PORT};

#[test]
fn leaseset_is_published_to_i2pd_floodfills() {
    isolate!();
    let addr = our_addr();
    let work = crate::work_dir();
    let data = work.path().join("gousse");
    // Our identity first, so that the i2pd routers know us from their start.
    let (net, seed) = crate::network_knowing_us(
        work.path(),
        &data,
        addr,
        Testnet::builder().routers(6).floodfills(2),
    );
    let tunnels = work.path().join("tunnels.conf");
    std::fs::write(
        &tunnels,
        "[site]\ntype = http\nhost = 127.0.0.1\nport = 8080\nkeys = site.dat\n\
         inbound.length = 2\noutbound.length = 2\n",
    )
    .unwrap();
    let (seed_arg, tunnels_arg) = (seed.display().to_string(), tunnels.display().to_string());
    let args = [
        "--reseed-from",
        &seed_arg,
        "--reseed-threshold",
        "1",
        "--tunnels",
        &tunnels_arg,
    ];
    let t0 = Instant::now();
    let mut g = Gousse::start(&data, addr, CONSOLE_PORT, &args);

    // The destination's client tunnels, then a floodfill's confirmation.
    let took = wait_until(
        Duration::from_secs(240),
        Duration::from_secs(1),
        "LeaseSet stored",
        || {
            let d = &g.status()["destinations"][0];
            d["leaseset_stored"].as_bool() == Some(true)
                && d["inbound_tunnels"].as_u64() >= Some(2)
                && d["outbound_tunnels"].as_u64() >= Some(2)
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {}", g.status()));
    let st = g.status();
    let d = &st["destinations"][0];
    println!(
        "LeaseSet stored after {:.1?} ({took:.1?} of waiting): {d}",
        t0.elapsed()
    );
    assert_eq!(d["name"], "site");
    assert_eq!(d["publishes"], true);
    let b32 = d["b32"].as_str().unwrap().to_owned();
    assert!(b32.ends_with(".b32.i2p") && b32.len() == 52 + 8, "{b32}");
    let client_tunnels = st["tunnel_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["pool"].as_str().is_some_and(|p| p.starts_with("client")))
        .count();
    assert!(client_tunnels >= 4, "client tunnels listed: {st}");

    // An i2pd floodfill lists it, valid, as a LeaseSet2 with leases.
    let name = b32.trim_end_matches(".b32.i2p").to_owned();
    let floodfills: Vec<_> = net.routers().iter().filter(|r| r.is_floodfill()).collect();
    let listed = wait_until(
        Duration::from_secs(30),
        Duration::from_secs(1),
        "an i2pd floodfill lists our LeaseSet",
        || {
            floodfills
                .iter()
                .any(|r| r.console_page("leasesets").is_ok_and(|p| p.contains(&name)))
        },
    );
    listed.unwrap_or_else(|e| panic!("{e}"));
    for r in &floodfills {
        let page = r.console_page("leasesets").unwrap();
        let Some(at) = page.find(&name) else {
            continue;
        };
        let entry = &page[page[..at].rfind("<div class=\"leaseset").unwrap_or(0)..];
        let entry = &entry[..entry
            .find("</div>\r\n</div>\r\n</div>")
            .unwrap_or(entry.len())];
        println!("i2pd floodfill {} has it", r.index());
        assert!(!entry.contains("Invalid"), "i2pd finds it invalid: {entry}");
        assert!(entry.contains("Store type:</b> 3"), "{entry}");
        assert!(
            !entry.contains("Non Expired Leases: 0"),
            "leases present: {entry}"
        );
    }

    // The keys are kept (0600) and the address survives a restart.
    let key_file = data.join("site.dat");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(g.stop().success());
    let g = Gousse::start(&data, addr, CONSOLE_PORT, &args);
    wait_until(
        Duration::from_secs(30),
        Duration::from_secs(1),
        "destination back",
        || g.status()["destinations"][0]["b32"].as_str() == Some(b32.as_str()),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", g.status()));
}
