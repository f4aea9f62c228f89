//! Serves the console over a made-up, slowly changing status, to look at the page:
//! `cargo run -p gousse-console --example demo -- 127.0.0.1:7070`, then open the URL.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gousse_console::{Console, ConsoleError, StatusSource, TransitControl};
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
    let console = Console::bind(addr, source)
        .await?
        .with_transit_control(control);
    eprintln!("demo console on http://{}/", console.local_addr());
    console
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
