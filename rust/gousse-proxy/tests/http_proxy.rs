//! The HTTP proxy over local TCP, with a test backend: requests, tunnels, address
//! helpers and every error page.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use gousse_addressbook::b32_name;
use gousse_proxy::{ConnectError, HttpProxy, HttpProxyConfig, Target};
use i2p_crypto::hash::sha256;
use i2p_wire::base64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start(backend: Arc<TestBackend>, config: HttpProxyConfig) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(HttpProxy::new(backend, config).serve(l));
    addr
}

async fn exchange(proxy: SocketAddr, request: &[u8]) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(request).await.unwrap();
    let resp = read_all(&mut s).await;
    split_response(&resp)
}

async fn get(proxy: SocketAddr, url: &str) -> (String, Vec<u8>) {
    let req = format!("GET {url} HTTP/1.1\r\nHost: x\r\nUser-Agent: Firefox\r\n\r\n");
    exchange(proxy, req.as_bytes()).await
}

fn status(head: &str) -> u16 {
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

fn text(body: &[u8]) -> String {
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn get_returns_the_body_byte_for_byte_and_rewrites_the_request() {
    for size in [0, 13, 2 * 1024 * 1024] {
        let body = pattern(size);
        let (origin, mut seen) = http_origin(body.clone()).await;
        let backend = TestBackend::new();
        backend.site(Some("site.i2p"), Behaviour::Tcp(origin));
        let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
        let req = "GET http://Site.i2p/dir/page?q=1 HTTP/1.1\r\nHost: site.i2p\r\n\
                   User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0\r\n\
                   Referer: http://elsewhere.i2p/\r\nAccept-Language: fr\r\n\
                   X-Forwarded-For: 192.168.1.2\r\nVia: 1.1 x\r\n\
                   Proxy-Connection: keep-alive\r\nCookie: c=1\r\n\r\n";
        let (head, got) = exchange(proxy, req.as_bytes()).await;
        assert_eq!(status(&head), 200, "{head}");
        assert_eq!(got.len(), body.len());
        assert!(got == body, "body differs for size {size}");
        assert!(head.contains("Connection: close\r\n"), "{head}");
        assert!(
            !head.contains("keep-alive") && !head.contains("Keep-Alive"),
            "{head}"
        );
        assert!(head.contains("X-Origin: yes\r\n"));
        let (sent, _) = seen.recv().await.unwrap();
        assert!(sent.starts_with("GET /dir/page?q=1 HTTP/1.1\r\n"), "{sent}");
        assert!(sent.contains("\r\nHost: site.i2p\r\n"), "{sent}");
        assert!(
            sent.contains("\r\nUser-Agent: MYOB/6.66 (AN/ON)\r\n"),
            "{sent}"
        );
        assert!(sent.contains("\r\nCookie: c=1\r\n"));
        assert!(sent.contains("\r\nConnection: close\r\n"));
        for gone in [
            "Referer",
            "Accept-Language",
            "X-Forwarded-For",
            "Via",
            "Proxy-",
            "Firefox",
        ] {
            assert!(!sent.contains(gone), "{gone} leaked: {sent}");
        }
        let connects = backend.connects.lock().unwrap().clone();
        assert_eq!(
            connects,
            vec![(Target::Destination(backend.name("site.i2p").unwrap()), 80)]
        );
    }
}

#[tokio::test]
async fn post_body_and_port_reach_the_site() {
    let (origin, mut seen) = http_origin(b"ok".to_vec()).await;
    let backend = TestBackend::new();
    backend.site(Some("form.i2p"), Behaviour::Tcp(origin));
    let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(b"POST http://form.i2p:8080/submit HTTP/1.1\r\nHost: form.i2p:8080\r\nContent-Length: 11\r\n\r\nhello")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    s.write_all(b" world").await.unwrap();
    let (head, body) = split_response(&read_all(&mut s).await);
    assert_eq!((status(&head), body.as_slice()), (200, &b"ok"[..]));
    let (sent, req_body) = seen.recv().await.unwrap();
    assert!(sent.starts_with("POST /submit HTTP/1.1\r\n"));
    assert!(sent.contains("\r\nHost: form.i2p:8080\r\n"), "{sent}");
    assert_eq!(req_body, b"hello world");
    assert_eq!(backend.connects.lock().unwrap()[0].1, 8080);
}

#[tokio::test]
async fn b32_hosts_connect_by_hash() {
    let (origin, _seen) = http_origin(b"by hash".to_vec()).await;
    let backend = TestBackend::new();
    let d = backend.site(None, Behaviour::Tcp(origin));
    let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
    let (head, body) = get(proxy, &format!("http://{}/", b32_name(&d))).await;
    assert_eq!((status(&head), body.as_slice()), (200, &b"by hash"[..]));
    assert_eq!(
        backend.connects.lock().unwrap()[0],
        (Target::Hash(sha256(&d)), 80)
    );
}

#[tokio::test]
async fn connect_tunnels_bytes_both_ways() {
    let echo = echo_server().await;
    let backend = TestBackend::new();
    backend.site(Some("tls.i2p"), Behaviour::Tcp(echo));
    let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
    let mut s = TcpStream::connect(proxy).await.unwrap();
    // Bytes sent right after the head (a TLS ClientHello would be) go through too.
    s.write_all(b"CONNECT tls.i2p:443 HTTP/1.1\r\nHost: tls.i2p:443\r\n\r\nearly")
        .await
        .unwrap();
    let expect = b"HTTP/1.1 200 Connection established\r\n\r\nearly";
    let mut got = vec![0u8; expect.len()];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(got, expect);
    let data = pattern(300_000);
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
        data
    });
    let mut back = Vec::new();
    r.read_to_end(&mut back).await.unwrap();
    assert_eq!(back, writer.await.unwrap());
    assert_eq!(backend.connects.lock().unwrap()[0].1, 443);
}

#[tokio::test]
async fn each_failure_has_its_page() {
    let backend = TestBackend::new();
    backend.site(
        Some("nolease.i2p"),
        Behaviour::Fail(ConnectError::LeaseSetNotFound),
    );
    backend.site(Some("down.i2p"), Behaviour::Fail(ConnectError::Unreachable));
    backend.site(Some("closed.i2p"), Behaviour::Fail(ConnectError::Refused));
    backend.site(Some("early.i2p"), Behaviour::Fail(ConnectError::NotReady));
    backend.site(Some("slow.i2p"), Behaviour::Hang);
    let config = HttpProxyConfig {
        connect_timeout: Duration::from_millis(300),
        ..HttpProxyConfig::default()
    };
    let proxy = start(Arc::clone(&backend), config).await;
    let bad_b33 = format!("http://{}.b32.i2p/", "b".repeat(56));
    let keys = i2p_wire::DestinationKeys::generate();
    let address = i2p_wire::BlindedAddress::from_destination(keys.destination()).unwrap();
    let b33 = format!("http://{}/", address.to_host());
    let b33_auth = format!("http://{}/", address.requiring_client_auth().to_host());
    let cases: Vec<(String, u16, &str)> = vec![
        (
            "http://unknown.i2p/x".into(),
            404,
            "not found in the address book",
        ),
        ("http://nolease.i2p/".into(), 504, "destination not found"),
        ("http://down.i2p/".into(), 504, "did not answer."),
        ("http://slow.i2p/".into(), 504, "did not answer in time"),
        ("http://closed.i2p/".into(), 502, "Connection refused"),
        ("http://early.i2p/".into(), 503, "tunnels are not ready"),
        (
            "http://example.com/".into(),
            503,
            "no outproxy is configured",
        ),
        ("http://10.1.2.3/".into(), 503, "no outproxy is configured"),
        (bad_b33, 400, "Invalid .b32.i2p address"),
        (b33, 504, "destination not found"),
        (b33_auth, 501, "needs client authorization"),
        (
            "http://abcd.b32.i2p/".into(),
            400,
            "Invalid .b32.i2p address",
        ),
        ("https://site.i2p/".into(), 400, "must use CONNECT"),
        ("ftp://site.i2p/".into(), 400, "Bad request"),
    ];
    for (url, code, phrase) in cases {
        let (head, body) = get(proxy, &url).await;
        let body = text(&body);
        assert_eq!(status(&head), code, "{url}: {head}");
        assert!(body.contains(phrase), "{url}: {body}");
        assert!(head.contains("Content-Type: text/html"), "{url}");
    }
    // The unknown host page offers jump services and the address helper form.
    let (_, body) = get(proxy, "http://unknown.i2p/x").await;
    let body = text(&body);
    assert!(body.contains("jump.cgi?a=unknown.i2p"), "{body}");
    assert!(
        body.contains("http://unknown.i2p/x?i2paddresshelper="),
        "{body}"
    );
    // An address book failure.
    *backend.fail_resolve.lock().unwrap() = true;
    let (head, body) = get(proxy, "http://any.i2p/").await;
    assert_eq!(status(&head), 500);
    assert!(text(&body).contains("disk on fire"));
    // CONNECT to unknown names and clearnet hosts gets pages too.
    *backend.fail_resolve.lock().unwrap() = false;
    let (head, _) = exchange(proxy, b"CONNECT unknown.i2p:443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status(&head), 404);
    let (head, _) = exchange(proxy, b"CONNECT example.com:443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status(&head), 503);
}

#[tokio::test]
async fn garbage_gets_400_and_other_connections_carry_on() {
    let echo = echo_server().await;
    let backend = TestBackend::new();
    backend.site(Some("tls.i2p"), Behaviour::Tcp(echo));
    let proxy = start(backend, HttpProxyConfig::default()).await;
    // A tunnel open before and during the garbage.
    let mut tunnel = TcpStream::connect(proxy).await.unwrap();
    tunnel
        .write_all(b"CONNECT tls.i2p:443 HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut est = [0u8; 39];
    tunnel.read_exact(&mut est).await.unwrap();
    for garbage in [
        &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n"[..],
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /no-host HTTP/1.1\r\n\r\n",
        b"GET http://a.i2p/ HTTP/1.1\r\nBad Header\r\n\r\n",
        b"CONNECT a.i2p HTTP/1.1\r\n\r\n",
    ] {
        let (head, body) = exchange(proxy, garbage).await;
        assert_eq!(status(&head), 400, "{:?}", String::from_utf8_lossy(garbage));
        assert!(head.contains("Connection: close"));
        assert!(text(&body).contains("Bad request"));
    }
    tunnel.write_all(b"still here").await.unwrap();
    let mut back = [0u8; 10];
    tunnel.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"still here");
}

#[tokio::test]
async fn oversized_heads_and_slow_clients_are_cut_off() {
    let config = HttpProxyConfig {
        head_timeout: Duration::from_millis(300),
        ..HttpProxyConfig::default()
    };
    let proxy = start(TestBackend::new(), config).await;
    let big = format!(
        "GET http://a.i2p/ HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let (head, _) = exchange(proxy, big.as_bytes()).await;
    assert_eq!(status(&head), 431);
    let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
    let (head, _) = exchange(
        proxy,
        format!("GET http://a.i2p/ HTTP/1.1\r\n{many}\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status(&head), 431);
    // Slow loris: half a head, then silence.
    let mut s = TcpStream::connect(proxy).await.unwrap();
    s.write_all(b"GET http://a.i2p/ HTTP/1.1\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let (head, _) = split_response(&read_all(&mut s).await);
    assert_eq!(status(&head), 408);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn outproxy_carries_clearnet_requests_in_absolute_form() {
    let (origin, mut seen) = http_origin(b"clearnet".to_vec()).await;
    let backend = TestBackend::new();
    backend.site(Some("exit.i2p"), Behaviour::Tcp(origin));
    let config = HttpProxyConfig {
        outproxy: Some("exit.i2p:4444".into()),
        ..HttpProxyConfig::default()
    };
    let proxy = start(Arc::clone(&backend), config).await;
    let (head, body) = get(proxy, "http://example.com/a?b").await;
    assert_eq!((status(&head), body.as_slice()), (200, &b"clearnet"[..]));
    let (sent, _) = seen.recv().await.unwrap();
    assert!(
        sent.starts_with("GET http://example.com/a?b HTTP/1.1\r\n"),
        "{sent}"
    );
    assert!(sent.contains("\r\nHost: example.com\r\n"));
    assert!(
        sent.contains("User-Agent: Mozilla/5.0 (Windows NT 10.0"),
        "{sent}"
    );
    assert_eq!(backend.connects.lock().unwrap()[0].1, 4444);
    // Local addresses never reach the outproxy.
    for url in [
        "http://localhost:631/",
        "http://192.168.1.1/",
        "http://[::1]/",
        "http://127.0.0.1:7657/",
    ] {
        let (head, body) = get(proxy, url).await;
        assert_eq!(status(&head), 403, "{url}");
        assert!(text(&body).contains("Local addresses are not proxied"));
    }
    let (head, _) = exchange(proxy, b"CONNECT 10.0.0.1:443 HTTP/1.1\r\n\r\n").await;
    assert_eq!(status(&head), 403);
    assert_eq!(backend.connects.lock().unwrap().len(), 1);
    // A browser treating the proxy as a web server.
    let (head, _) = exchange(proxy, b"GET / HTTP/1.1\r\nHost: 127.0.0.1:4444\r\n\r\n").await;
    assert_eq!(status(&head), 400);
}

fn save_link(page: &str) -> String {
    let start = page.find("<a href=\"").unwrap() + 9;
    let end = start + page[start..].find('"').unwrap();
    page[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn address_helper_asks_before_saving_then_redirects() {
    let backend = TestBackend::new();
    let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
    let dest = new_destination();
    let b64 = base64::encode(&dest);
    let url = format!("http://new.i2p/page?a=1&i2paddresshelper={b64}");
    let (head, body) = get(proxy, &url).await;
    let page = text(&body);
    assert_eq!(status(&head), 200);
    assert!(page.contains("Save this address?"), "{page}");
    assert!(page.contains(&b32_name(&dest)), "the page shows the b32");
    assert_eq!(
        backend.name("new.i2p"),
        None,
        "nothing saved before the click"
    );
    assert!(
        backend.connects.lock().unwrap().is_empty(),
        "the helper is never sent to a site"
    );
    // "Continue without saving" goes to the b32 with the helper stripped.
    assert!(page.contains(&format!("http://{}/page?a=1", b32_name(&dest))));
    // A forged confirmation saves nothing.
    let forged = format!("{url}&i2paddresshelper_confirm=00000000000000000000000000000000");
    let (head, _) = get(proxy, &forged).await;
    assert_eq!(status(&head), 403);
    assert_eq!(backend.name("new.i2p"), None);
    // The real link saves and redirects to the URL without the helper.
    let link = save_link(&page);
    assert!(
        link.starts_with("http://new.i2p/page?a=1&i2paddresshelper="),
        "{link}"
    );
    let (head, _) = get(proxy, &link).await;
    assert_eq!(status(&head), 302, "{head}");
    assert!(
        head.contains("\r\nLocation: http://new.i2p/page?a=1\r\n"),
        "{head}"
    );
    assert_eq!(backend.name("new.i2p"), Some(dest.clone()));
    // Known with the same destination: straight redirect.
    let (head, _) = get(proxy, &format!("http://new.i2p/?i2paddresshelper={b64}")).await;
    assert_eq!(status(&head), 302);
    assert!(head.contains("\r\nLocation: http://new.i2p/\r\n"));
}

#[tokio::test]
async fn address_helper_for_a_known_name_warns_and_replaces_only_on_confirmation() {
    let backend = TestBackend::new();
    let old = backend.site(Some("known.i2p"), Behaviour::Hang);
    let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
    let new = new_destination();
    let url = format!(
        "http://known.i2p/?i2paddresshelper={}",
        base64::encode(&new).replace('=', "%3D")
    );
    let (head, body) = get(proxy, &url).await;
    let page = text(&body);
    assert_eq!(status(&head), 200);
    assert!(page.contains("already has"), "{page}");
    assert!(
        page.contains(&b32_name(&old)),
        "shows the stored destination"
    );
    assert_eq!(backend.name("known.i2p"), Some(old));
    let (head, _) = get(proxy, &save_link(&page)).await;
    assert_eq!(status(&head), 302);
    assert_eq!(backend.name("known.i2p"), Some(new));
}

#[tokio::test]
async fn bad_address_helpers_are_explained() {
    let backend = TestBackend::new();
    let proxy = start(Arc::clone(&backend), HttpProxyConfig::default()).await;
    let b64 = base64::encode(&new_destination());
    for url in [
        "http://x.i2p/?i2paddresshelper=notbase64!".to_string(),
        "http://x.i2p/?i2paddresshelper=AAAA".to_string(),
        format!("http://proxy.i2p/?i2paddresshelper={b64}"),
        format!("http://example.com/?i2paddresshelper={b64}"),
    ] {
        let (head, body) = get(proxy, &url).await;
        assert_eq!(status(&head), 400, "{url}");
        assert!(text(&body).contains("Invalid address helper"), "{url}");
    }
    assert!(backend.names.lock().unwrap().is_empty());
}

#[tokio::test]
async fn busy_proxy_answers_503_and_recovers() {
    let config = HttpProxyConfig {
        max_connections: 1,
        head_timeout: Duration::from_millis(500),
        ..HttpProxyConfig::default()
    };
    let proxy = start(TestBackend::new(), config).await;
    let mut hog = TcpStream::connect(proxy).await.unwrap();
    hog.write_all(b"GET ").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (head, _) = get(proxy, "http://a.i2p/").await;
    assert_eq!(status(&head), 503);
    // Once the slow client is cut off, the slot is free again.
    let (head, _) = split_response(&read_all(&mut hog).await);
    assert_eq!(status(&head), 408);
    drop(hog);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (head, _) = get(proxy, "http://a.i2p/").await;
    assert_eq!(status(&head), 404);
}

#[tokio::test]
async fn origin_form_with_an_i2p_host_header_is_forwarded() {
    let (origin, mut seen) = http_origin(b"transparent".to_vec()).await;
    let backend = TestBackend::new();
    backend.site(Some("site.i2p"), Behaviour::Tcp(origin));
    let proxy = start(backend, HttpProxyConfig::default()).await;
    let (head, body) = exchange(
        proxy,
        b"GET /x HTTP/1.1\r\nHost: site.i2p\r\nUser-Agent: Firefox\r\n\r\n",
    )
    .await;
    assert_eq!((status(&head), body.as_slice()), (200, &b"transparent"[..]));
    let (sent, _) = seen.recv().await.unwrap();
    assert!(
        sent.starts_with("GET /x HTTP/1.1\r\nHost: site.i2p\r\nUser-Agent: MYOB"),
        "{sent}"
    );
}
