//! Serves the console over a made-up, slowly changing status, to look at the page:
//! `cargo run -p gousse-console --example demo -- 127.0.0.1:7070`, then open the URL.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gousse_console::{
    Console, ConsoleError, HostEntry, HostsAdd, HostsSearch, StatusSource, TransitControl,
};
use gousse_router::status::SessionCounts;
use gousse_router::{Status, TransitLimits, TunnelCounts, TunnelInfo};

const HASHES: [&str; 6] = [
    "q7Zk2mR~Vb0xLw9sYc4pTn8hJd1aGf5uEo3iKr6lMtQ=",
    "Hn4sP-w8cVz1Qa7eYr2mBk5tLx9dGu0oJi3fNl6hWpE=",
    "0bTq9YxR2cLm~Ke7sZa4nVw1gHd8pJu5oFi3tMl6rQA=",
    "Xw3eN7kPq1Lz~Ra9sYc2mTb5hJd8vGu0oFi4tKl6nMB=",
    "fR8tLm2Kq-Zs9Vx1cYa7nPw4eHd3bJu0oGi5gNl6kQC=",
    "Lk5mQ2wR8zXc1Vb-Ya9sTn4eJd7pHu0oFi3gKl6rMtD=",
];

fn demo_tunnel(direction: &str, first: usize, hops: usize, expires_in_s: u64) -> TunnelInfo {
    TunnelInfo {
        direction: direction.into(),
        pool: "exploratory".into(),
        hops: (0..hops)
            .map(|i| HASHES[(first + i) % HASHES.len()].to_owned())
            .collect(),
        expires_in_s,
    }
}

// `..Status::default()` keeps the demo compiling when the status gains fields.
#[allow(clippy::needless_update)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ConsoleError> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7070)));
    let started = Instant::now();
    let limits = Arc::new(Mutex::new(TransitLimits::default()));
    let read_limits = Arc::clone(&limits);
    let control: TransitControl = Arc::new(move |new| {
        if let Ok(mut l) = limits.lock() {
            *l = new;
        }
        Box::pin(async {})
    });
    let source: StatusSource = Arc::new(move || {
        let transit_limits = read_limits.lock().map(|l| *l).unwrap_or_default();
        let up = started.elapsed().as_secs() + 3 * 3600 + 17 * 60;
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            net_id: 2,
            router_hash: "Yq3Rk~9mQbW2lZc0hE4pXv7nUoT1sJd8aGf5yLr6iKw=".into(),
            uptime_s: up,
            known_routers: 2417,
            known_floodfills: 312,
            active_sessions: SessionCounts {
                inbound: 14,
                outbound: 23,
            },
            bytes_sent: 734_003_200 + up * 1000,
            bytes_received: 1_288_490_188 + up * 1500,
            ntcp2_address: Some("203.0.113.42:28713".into()),
            floodfill: false,
            router_info_stores_confirmed: 6,
            tunnels: TunnelCounts {
                exploratory_inbound: 2,
                exploratory_outbound: 2,
                client_inbound: 0,
                client_outbound: 0,
            },
            tunnel_build_success_pct: Some(78),
            tunnel_builds_ok: 18,
            tunnel_builds_failed: 5,
            transit_tunnels: 37,
            transit_bytes: 48_234_496 + up * 2000,
            transit_rejected: 112,
            transit_dropped: 9,
            transit_limits,
            netdb_through_tunnels: true,
            netdb_messages_through_tunnels: 1432,
            netdb_messages_direct: 58,
            tunnel_tests_ok: 44,
            tunnel_tests_failed: 3,
            build_requests_dropped: 21,
            build_requests_replayed: 2,
            tunnel_messages_dropped: 5,
            reassembly_bytes: 6144,
            tunnel_list: vec![
                demo_tunnel("inbound", 0, 2, 540 - up % 540),
                demo_tunnel("inbound", 2, 2, 312),
                demo_tunnel("outbound", 4, 2, 475),
                demo_tunnel("outbound", 1, 3, 96),
            ],
            ..Status::default()
        }
    });
    let (search, add) = demo_hosts();
    let console = Console::bind(addr, source)
        .await?
        .with_transit_control(control)
        .with_hosts(search, add);
    eprintln!("demo console on http://{}/", console.local_addr());
    console
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// An address book in memory: a few names; adding checks only the obvious.
fn demo_hosts() -> (HostsSearch, HostsAdd) {
    let b32 = |seed: &str| format!("{:a<52}.b32.i2p", seed.replace('.', ""));
    let book: Vec<HostEntry> = ["stats.i2p", "forum.i2p", "zzz.i2p", "notbob.i2p"]
        .iter()
        .map(|name| HostEntry {
            name: (*name).to_owned(),
            b32: b32(name),
            source: "http://i2p-projekt.i2p/hosts.txt".to_owned(),
        })
        .collect();
    let book = Arc::new(Mutex::new(book));
    let read = Arc::clone(&book);
    let search: HostsSearch = Arc::new(move |q, limit| {
        let book = read.lock().map_err(|_| "poisoned".to_owned())?;
        Ok(book
            .iter()
            .filter(|e| e.name.contains(&q))
            .take(limit)
            .cloned()
            .collect())
    });
    let add: HostsAdd = Arc::new(move |name, destination| {
        if !name.ends_with(".i2p") || name.len() > 67 {
            return Err(format!("invalid host name {name:?}"));
        }
        if destination.len() < 516 {
            return Err("invalid destination: too short".to_owned());
        }
        let mut book = book.lock().map_err(|_| "poisoned".to_owned())?;
        if book.iter().any(|e| e.name == name) {
            return Err(format!("{name} is already in the address book"));
        }
        let entry = HostEntry {
            b32: b32(&name.to_ascii_lowercase()),
            name,
            source: "console".to_owned(),
        };
        book.push(entry.clone());
        Ok(entry)
    });
    (search, add)
}
