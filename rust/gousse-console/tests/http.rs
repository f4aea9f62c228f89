//! The console as a client sees it: a real socket on port 0, a fake status source.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gousse_console::{Console, StatusSource, TransitControl, MAX_HEADER_BYTES};
use gousse_router::status::SessionCounts;
use gousse_router::{Status, TransitLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn sample_status(uptime_s: u64) -> Status {
    Status {
        version: "0.1.0-test".into(),
        net_id: 42,
        router_hash: "z4Kq~Rtr-HASH0123456789abcdefghijklmnopqrst=".into(),
        uptime_s,
        known_routers: 321,
        known_floodfills: 17,
        active_sessions: SessionCounts {
            inbound: 5,
            outbound: 11,
        },
        bytes_sent: 10 * 1024 * 1024,
        bytes_received: 1536,
        ntcp2_address: Some("127.0.0.1:29001".into()),
        floodfill: true,
        router_info_stores_confirmed: 3,
        transit_limits: TransitLimits {
            accept: true,
            max_tunnels: 500,
            share_bytes_per_s: 256 * 1024,
        },
        ..Status::default()
    }
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), gousse_console::ConsoleError>>,
    calls: Arc<AtomicU64>,
    /// What the transit control callback received, in order.
    applied: Arc<std::sync::Mutex<Vec<TransitLimits>>>,
}

async fn start() -> Running {
    start_with(true).await
}

async fn start_with(control: bool) -> Running {
    let calls = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&calls);
    // Each call reports a growing uptime, as a live router would.
    let source: StatusSource =
        Arc::new(move || sample_status(3600 + counter.fetch_add(1, Ordering::SeqCst)));
    let mut console = Console::bind(SocketAddr::from(([127, 0, 0, 1], 0)), source)
        .await
        .unwrap();
    let applied = Arc::new(std::sync::Mutex::new(Vec::new()));
    if control {
        let record = Arc::clone(&applied);
        let control: TransitControl = Arc::new(move |limits| {
            let record = Arc::clone(&record);
            Box::pin(async move {
                // The router takes a moment; the console must wait for it.
                tokio::task::yield_now().await;
                record.lock().unwrap().push(limits);
            })
        });
        console = console.with_transit_control(control);
    }
    let addr = console.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(console.run(async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
        calls,
        applied,
    }
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("console stops promptly")
            .unwrap()
            .unwrap();
    }
}

/// Sends raw bytes, half-closes, reads everything the server answers (bounded in time).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may close before reading everything (e.g. oversized heads).
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("server answers or closes within 10 s");
    // A reset after a refused request is fine; we keep what was read.
    let _ = read;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    split(&exchange(addr, req.as_bytes()).await)
}

/// (status code, head, body)
fn split(answer: &str) -> (u16, String, String) {
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((answer, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn api_status_is_json_that_parses_back() {
    let console = start().await;
    let (code, head, body) = get(console.addr, "/api/status").await;
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    let status: Status = serde_json::from_str(&body).unwrap();
    assert_eq!(status, sample_status(3600));
    // The source is read per request, not cached.
    let (_, _, body) = get(console.addr, "/api/status?x=1").await;
    let status: Status = serde_json::from_str(&body).unwrap();
    assert_eq!(status.uptime_s, 3601);
    assert_eq!(console.calls.load(Ordering::SeqCst), 2);
    console.stop().await;
}

#[tokio::test]
async fn page_shows_the_figures() {
    let console = start().await;
    let (code, head, body) = get(console.addr, "/").await;
    assert_eq!(code, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(head.contains("content-security-policy"), "{head}");
    for needle in [
        "z4Kq~Rtr-HASH0123456789abcdefghijklmnopqrst=",
        "0.1.0-test",
        "42 (private network)",
        "1 h 0 min",
        "321",
        "17 floodfills",
        "5 / 11",
        "10.0 MiB",
        "1.5 KiB",
        "127.0.0.1:29001",
        "<td>yes</td>",
    ] {
        assert!(body.contains(needle), "page lacks {needle:?}");
    }
    console.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let console = start().await;
    assert_eq!(get(console.addr, "/nope").await.0, 404);
    assert_eq!(get(console.addr, "/api/status/extra").await.0, 404);
    let post = format!(
        "POST /api/status HTTP/1.1\r\nHost: {}\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        console.addr
    );
    let (code, head, _) = split(&exchange(console.addr, post.as_bytes()).await);
    assert_eq!(code, 405);
    assert!(head.contains("allow: get, head"), "{head}");
    let head_req = format!(
        "HEAD / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        console.addr
    );
    let (code, _, body) = split(&exchange(console.addr, head_req.as_bytes()).await);
    assert_eq!(code, 200);
    assert!(body.is_empty(), "HEAD has no body");
    console.stop().await;
}

#[tokio::test]
async fn foreign_host_is_refused() {
    let console = start().await;
    let req =
        b"GET /api/status HTTP/1.1\r\nHost: attacker.example:7070\r\nConnection: close\r\n\r\n";
    let (code, _, body) = split(&exchange(console.addr, req).await);
    assert_eq!(code, 421);
    assert!(!body.contains("router_hash"));
    let req = b"GET /api/status HTTP/1.1\r\nHost: localhost:7070\r\nConnection: close\r\n\r\n";
    assert_eq!(split(&exchange(console.addr, req).await).0, 200);
    console.stop().await;
}

#[tokio::test]
async fn garbage_gets_400_or_close_and_server_survives() {
    let console = start().await;
    let mut junk: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    junk.extend_from_slice(b"\r\n\r\n");
    for request in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..], // a TLS ClientHello start
        b"HELLO\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        &junk,
    ] {
        let answer = exchange(console.addr, request).await;
        if !answer.is_empty() {
            assert!(answer.starts_with("HTTP/1.1 4"), "{answer:?}");
        }
    }
    // Oversized head: refused with 431/400, or closed.
    let mut huge = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
    huge.resize(huge.len() + 4 * MAX_HEADER_BYTES, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let answer = exchange(console.addr, &huge).await;
    assert!(!answer.contains("200 OK"), "{answer:?}");
    if !answer.is_empty() {
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer:?}");
    }
    // Still serving.
    assert_eq!(get(console.addr, "/api/status").await.0, 200);
    console.stop().await;
}

#[tokio::test(start_paused = true)]
async fn slow_client_is_dropped() {
    let console = start().await;
    let mut stream = TcpStream::connect(console.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: 127")
        .await
        .unwrap();
    // Never finish the head; with time paused the header timeout fires at once.
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        gousse_console::HEADER_READ_TIMEOUT + Duration::from_secs(1),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "connection closed by the server");
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    assert_eq!(get(console.addr, "/api/status").await.0, 200);
    console.stop().await;
}

#[tokio::test]
async fn shutdown_with_an_idle_connection_open() {
    let console = start().await;
    // A keep-alive client that stays connected must not hold shutdown up.
    let mut idle = TcpStream::connect(console.addr).await.unwrap();
    let req = format!("GET /api/status HTTP/1.1\r\nHost: {}\r\n\r\n", console.addr);
    idle.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let addr = console.addr;
    console.stop().await;
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}

/// Sends `POST /api/transit` with the given content type (if any) and extra header lines.
async fn post_transit(
    addr: SocketAddr,
    content_type: Option<&str>,
    extra: &str,
    body: &[u8],
) -> (u16, String, serde_json::Value) {
    let mut req = format!(
        "POST /api/transit HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}",
        body.len()
    );
    if let Some(ct) = content_type {
        req.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    let (code, head, body) = split(&exchange(addr, &bytes).await);
    let json = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    (code, head, json)
}

#[tokio::test]
async fn transit_post_applies_merged_limits() {
    let console = start().await;
    let (code, head, json) = post_transit(
        console.addr,
        Some("application/json"),
        "",
        br#"{"accept": false}"#,
    )
    .await;
    assert_eq!(code, 200, "{head} {json}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(
        json,
        serde_json::json!({"accept": false, "max_tunnels": 500, "share_kbps": 256})
    );
    // The fake status never changes; the second change merges over the first anyway.
    let (code, _, json) = post_transit(
        console.addr,
        Some("application/json; charset=utf-8"),
        "Origin: http://127.0.0.1:7070\r\n",
        br#"{"max_tunnels": 40, "share_kbps": 1024}"#,
    )
    .await;
    assert_eq!(code, 200, "{json}");
    assert_eq!(
        json,
        serde_json::json!({"accept": false, "max_tunnels": 40, "share_kbps": 1024})
    );
    assert_eq!(
        *console.applied.lock().unwrap(),
        vec![
            TransitLimits {
                accept: false,
                max_tunnels: 500,
                share_bytes_per_s: 256 * 1024,
            },
            TransitLimits {
                accept: false,
                max_tunnels: 40,
                share_bytes_per_s: 1024 * 1024,
            },
        ]
    );
    console.stop().await;
}

#[tokio::test]
async fn transit_post_refuses_bad_requests() {
    let console = start().await;
    let addr = console.addr;
    let good = br#"{"accept": false}"#;
    let big = format!(r#"{{"accept": true, "pad": "{}"}}"#, "x".repeat(5000));
    // (content type, extra header lines, body, expected code, words of the error)
    type Case<'a> = (Option<&'a str>, &'a str, &'a [u8], u16, &'a str);
    let cases: Vec<Case> = vec![
        (None, "", good, 415, "application/json"),
        (Some("text/plain"), "", good, 415, "application/json"),
        (
            Some("application/x-www-form-urlencoded"),
            "",
            b"accept=false",
            415,
            "application/json",
        ),
        (
            Some("multipart/form-data; boundary=x"),
            "",
            good,
            415,
            "application/json",
        ),
        (Some("application/json"), "", big.as_bytes(), 413, "4096"),
        (
            Some("application/json"),
            "",
            b"{\"accept\": fals",
            400,
            "invalid JSON",
        ),
        (Some("application/json"), "", b"[true]", 400, "object"),
        (
            Some("application/json"),
            "",
            br#"{"accept": 1}"#,
            400,
            "accept",
        ),
        (
            Some("application/json"),
            "",
            br#"{"bogus": 1}"#,
            400,
            "unknown field",
        ),
        (
            Some("application/json"),
            "",
            br#"{"max_tunnels": 10001}"#,
            422,
            "at most 10000",
        ),
        (
            Some("application/json"),
            "",
            br#"{"share_kbps": 2000000}"#,
            422,
            "at most 1048576",
        ),
        (
            Some("application/json"),
            "",
            br#"{"max_tunnels": -3}"#,
            422,
            "whole number",
        ),
        (
            Some("application/json"),
            "Origin: http://evil.example\r\n",
            good,
            403,
            "cross-origin",
        ),
        (
            Some("application/json"),
            "Origin: null\r\n",
            good,
            403,
            "cross-origin",
        ),
    ];
    for (ct, extra, body, want, needle) in cases {
        let (code, head, json) = post_transit(addr, ct, extra, body).await;
        assert_eq!(code, want, "{ct:?} {extra:?}: {head} {json}");
        let msg = json["error"].as_str().unwrap_or_default();
        assert!(msg.contains(needle), "{ct:?}: {msg:?}");
    }
    // A body longer than declared is cut off by hyper; a chunked one is bounded too.
    let mut chunked = format!(
        "POST /api/transit HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..3 {
        chunked.extend_from_slice(format!("800\r\n{}\r\n", " ".repeat(0x800)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(split(&exchange(addr, &chunked).await).0, 413);
    // A foreign Host is still refused before anything else.
    let req = b"POST /api/transit HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert_eq!(split(&exchange(addr, req).await).0, 421);
    // Other methods on the endpoint.
    let (code, head, _) = split(
        &exchange(
            addr,
            format!("GET /api/transit HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await,
    );
    assert_eq!(code, 405);
    assert!(head.contains("allow: post"), "{head}");
    assert!(
        console.applied.lock().unwrap().is_empty(),
        "nothing applied"
    );
    console.stop().await;
}

#[tokio::test]
async fn transit_post_without_control_is_unavailable() {
    let console = start_with(false).await;
    let (code, _, json) = post_transit(console.addr, Some("application/json"), "", b"{}").await;
    assert_eq!(code, 503);
    assert!(json["error"].as_str().unwrap().contains("cannot change"));
    console.stop().await;
}
