//! The SOCKS proxy over local TCP, with a test backend.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use gousse_addressbook::b32_name;
use gousse_proxy::{ConnectError, SocksProxy, SocksProxyConfig, Target};
use i2p_crypto::hash::sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(backend: Arc<TestBackend>, config: SocksProxyConfig) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(SocksProxy::new(backend, config).serve(l));
    addr
}

fn connect_domain(host: &str, port: u16) -> Vec<u8> {
    let mut r = vec![5, 1, 0, 3, host.len() as u8];
    r.extend_from_slice(host.as_bytes());
    r.extend_from_slice(&port.to_be_bytes());
    r
}

/// Greets with no-auth, sends `request`, returns the reply code and the stream.
async fn socks5(proxy: SocketAddr, request: &[u8]) -> (u8, TcpStream) {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(&[5, 1, 0]).await.unwrap();
    let mut sel = [0u8; 2];
    s.read_exact(&mut sel).await.unwrap();
    assert_eq!(sel, [5, 0]);
    s.write_all(request).await.unwrap();
    let mut rep = [0u8; 10];
    s.read_exact(&mut rep).await.unwrap();
    assert_eq!((rep[0], rep[2], rep[3]), (5, 0, 1), "reply layout");
    (rep[1], s)
}

async fn assert_closed(s: &mut TcpStream) {
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .expect("closed in time")
        .ok();
    assert!(rest.is_empty(), "nothing after the reply: {rest:?}");
}

async fn echo_round_trip(s: TcpStream, len: usize) {
    let data = pattern(len);
    let (mut r, mut w) = s.into_split();
    let sent = data.clone();
    let writer = tokio::spawn(async move {
        w.write_all(&sent).await.unwrap();
        w.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    r.read_to_end(&mut back).await.unwrap();
    writer.await.unwrap();
    assert!(back == data, "echoed bytes differ");
}

#[tokio::test]
async fn socks5_connect_by_name_carries_data_both_ways() {
    let echo = echo_server().await;
    let backend = TestBackend::new();
    backend.site(Some("irc.i2p"), Behaviour::Tcp(echo));
    let proxy = start(Arc::clone(&backend), SocksProxyConfig::default()).await;
    let (code, s) = socks5(proxy, &connect_domain("IRC.i2p", 6667)).await;
    assert_eq!(code, 0);
    echo_round_trip(s, 1_000_000).await;
    let connects = backend.connects.lock().unwrap().clone();
    assert_eq!(
        connects,
        vec![(Target::Destination(backend.name("irc.i2p").unwrap()), 6667)]
    );
}

#[tokio::test]
async fn socks5_connect_by_b32_and_data_in_the_request_packet() {
    let echo = echo_server().await;
    let backend = TestBackend::new();
    let d = backend.site(None, Behaviour::Tcp(echo));
    let proxy = start(Arc::clone(&backend), SocksProxyConfig::default()).await;
    let mut req = connect_domain(&b32_name(&d), 80);
    // A client that sends data before the reply: kept and forwarded.
    req.extend_from_slice(b"eager");
    let (code, mut s) = socks5(proxy, &req).await;
    assert_eq!(code, 0);
    let mut back = [0u8; 5];
    s.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"eager");
    assert_eq!(
        backend.connects.lock().unwrap()[0],
        (Target::Hash(sha256(&d)), 80)
    );
}

#[tokio::test]
async fn socks5_errors_have_their_codes() {
    let backend = TestBackend::new();
    backend.site(
        Some("nolease.i2p"),
        Behaviour::Fail(ConnectError::LeaseSetNotFound),
    );
    backend.site(Some("closed.i2p"), Behaviour::Fail(ConnectError::Refused));
    backend.site(Some("early.i2p"), Behaviour::Fail(ConnectError::NotReady));
    backend.site(Some("slow.i2p"), Behaviour::Hang);
    let config = SocksProxyConfig {
        connect_timeout: Duration::from_millis(300),
        ..SocksProxyConfig::default()
    };
    let proxy = start(Arc::clone(&backend), config).await;
    let mut ipv6 = vec![5, 1, 0, 4];
    ipv6.extend_from_slice(&[0; 16]);
    ipv6.extend_from_slice(&[0, 80]);
    let cases: Vec<(Vec<u8>, u8, &str)> = vec![
        (vec![5, 1, 0, 1, 93, 184, 216, 34, 0, 80], 0x08, "IPv4"),
        (ipv6, 0x08, "IPv6"),
        (
            vec![5, 2, 0, 3, 5, b'a', b'.', b'i', b'2', b'p', 0, 80],
            0x07,
            "BIND",
        ),
        (vec![5, 3, 0, 1, 0, 0, 0, 0, 0, 0], 0x07, "UDP ASSOCIATE"),
        (connect_domain("example.com", 80), 0x02, "clearnet name"),
        (connect_domain("unknown.i2p", 80), 0x04, "unknown name"),
        (connect_domain("nolease.i2p", 80), 0x04, "no LeaseSet"),
        (connect_domain("closed.i2p", 80), 0x05, "refused"),
        (connect_domain("early.i2p", 80), 0x03, "tunnels not ready"),
        (connect_domain("slow.i2p", 80), 0x06, "timeout"),
        (vec![5, 1, 0, 9, 0, 0], 0x08, "unknown address type"),
    ];
    for (req, code, what) in cases {
        let (got, mut s) = socks5(proxy, &req).await;
        assert_eq!(got, code, "{what}");
        assert_closed(&mut s).await;
    }
}

#[tokio::test]
async fn no_acceptable_method_and_garbage_close_while_others_carry_on() {
    let echo = echo_server().await;
    let backend = TestBackend::new();
    backend.site(Some("irc.i2p"), Behaviour::Tcp(echo));
    let proxy = start(Arc::clone(&backend), SocksProxyConfig::default()).await;
    let (code, mut open) = socks5(proxy, &connect_domain("irc.i2p", 6667)).await;
    assert_eq!(code, 0);
    // Username/password only: "X'FF' NO ACCEPTABLE METHODS", then closed.
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(&[5, 1, 2]).await.unwrap();
    let mut sel = [0u8; 2];
    s.read_exact(&mut sel).await.unwrap();
    assert_eq!(sel, [5, 0xff]);
    assert_closed(&mut s).await;
    // Not SOCKS at all: closed without a byte.
    for garbage in [&b"GET / HTTP/1.1\r\n\r\n"[..], &[5, 0], &[0xff; 2000]] {
        let mut s = TcpStream::connect(proxy).await.unwrap();
        s.write_all(garbage).await.unwrap();
        assert_closed(&mut s).await;
    }
    open.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    open.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
}

#[tokio::test]
async fn socks4a_connects_and_socks4_ip_is_rejected() {
    let echo = echo_server().await;
    let backend = TestBackend::new();
    backend.site(Some("irc.i2p"), Behaviour::Tcp(echo));
    let proxy = start(Arc::clone(&backend), SocksProxyConfig::default()).await;
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(b"\x04\x01\x1a\x0b\x00\x00\x00\x01me\x00irc.i2p\x00")
        .await
        .unwrap();
    let mut rep = [0u8; 8];
    s.read_exact(&mut rep).await.unwrap();
    assert_eq!(rep[..2], [0, 0x5a]);
    echo_round_trip(s, 10_000).await;
    assert_eq!(backend.connects.lock().unwrap()[0].1, 6667);
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(b"\x04\x01\x00\x50\x5d\xb8\xd8\x22me\x00")
        .await
        .unwrap();
    s.read_exact(&mut rep).await.unwrap();
    assert_eq!(rep[..2], [0, 0x5b]);
    assert_closed(&mut s).await;
}

#[tokio::test]
async fn silent_clients_are_dropped_after_the_handshake_timeout() {
    let config = SocksProxyConfig {
        handshake_timeout: Duration::from_millis(200),
        ..SocksProxyConfig::default()
    };
    let proxy = start(TestBackend::new(), config).await;
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(&[5, 1]).await.unwrap();
    let started = tokio::time::Instant::now();
    assert_closed(&mut s).await;
    assert!(started.elapsed() < Duration::from_secs(3));
}
