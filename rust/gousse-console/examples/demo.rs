//! Serves the console over a made-up, slowly changing status, to look at the page:
//! `cargo run -p gousse-console --example demo -- 127.0.0.1:7070`, then open the URL.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use gousse_console::{Console, ConsoleError, StatusSource};
use gousse_router::status::SessionCounts;
use gousse_router::Status;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ConsoleError> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7070)));
    let started = Instant::now();
    let source: StatusSource = Arc::new(move || {
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
        }
    });
    let console = Console::bind(addr, source).await?;
    eprintln!("demo console on http://{}/", console.local_addr());
    console
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
