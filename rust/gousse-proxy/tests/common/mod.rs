//! A backend for the proxy tests: names and destinations in memory, streams over
//! local TCP to servers run by the test.
#![allow(dead_code, clippy::unwrap_used, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gousse_proxy::{AddHostError, ConnectError, I2pBackend, ResolveError, Target};
use i2p_crypto::ed25519::SigningKey;
use i2p_crypto::hash::sha256;
use i2p_wire::{Destination, Writeable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What connecting to a destination does.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Open a TCP connection to this local server.
    Tcp(SocketAddr),
    /// Fail with this error.
    Fail(ConnectError),
    /// Never answer.
    Hang,
}

#[derive(Default)]
pub struct TestBackend {
    pub names: Mutex<HashMap<String, Vec<u8>>>,
    pub routes: Mutex<HashMap<[u8; 32], Behaviour>>,
    pub connects: Mutex<Vec<(Target, u16)>>,
    pub fail_resolve: Mutex<bool>,
}

pub fn new_destination() -> Vec<u8> {
    Destination::new_ed25519(&SigningKey::random().verifying_key()).to_bytes()
}

impl TestBackend {
    pub fn new() -> Arc<Self> {
        Arc::new(TestBackend::default())
    }

    /// Registers `name` (if any) for a new destination that behaves as `b`.
    pub fn site(&self, name: Option<&str>, b: Behaviour) -> Vec<u8> {
        let d = new_destination();
        if let Some(n) = name {
            self.names.lock().unwrap().insert(n.to_owned(), d.clone());
        }
        self.routes.lock().unwrap().insert(sha256(&d), b);
        d
    }

    pub fn name(&self, n: &str) -> Option<Vec<u8>> {
        self.names.lock().unwrap().get(n).cloned()
    }
}

impl I2pBackend for TestBackend {
    type Stream = TcpStream;

    async fn resolve(&self, host: &str) -> Result<Target, ResolveError> {
        if *self.fail_resolve.lock().unwrap() {
            return Err(ResolveError::Failed("disk on fire".into()));
        }
        let d = self.names.lock().unwrap().get(host).cloned();
        d.map(Target::Destination).ok_or(ResolveError::NotFound)
    }

    async fn connect(&self, target: &Target, port: u16) -> Result<TcpStream, ConnectError> {
        self.connects.lock().unwrap().push((target.clone(), port));
        let hash = match target {
            Target::Hash(h) => *h,
            Target::Destination(d) => sha256(d),
            // The tests route a b33 address by its signing key's hash.
            Target::Blinded(a) => sha256(a.public_key()),
        };
        let b = self.routes.lock().unwrap().get(&hash).cloned();
        match b {
            Some(Behaviour::Tcp(addr)) => TcpStream::connect(addr)
                .await
                .map_err(|e| ConnectError::Other(e.to_string())),
            Some(Behaviour::Fail(e)) => Err(e),
            Some(Behaviour::Hang) => std::future::pending().await,
            None => Err(ConnectError::LeaseSetNotFound),
        }
    }

    async fn add_host(&self, host: &str, destination: &[u8]) -> Result<(), AddHostError> {
        self.names
            .lock()
            .unwrap()
            .insert(host.to_owned(), destination.to_vec());
        Ok(())
    }
}

/// An echo server: every connection gets its bytes back until EOF.
pub async fn echo_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// An HTTP origin: reads a request head (and `Content-Length` body), reports both,
/// answers `200` with `body` and a keep-alive header, then closes.
pub async fn http_origin(
    body: Vec<u8>,
) -> (
    SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let body = Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let tx = tx.clone();
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                let mut req_body = buf[head_end..].to_vec();
                while req_body.len() < len {
                    let n = s.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    req_body.extend_from_slice(&chunk[..n]);
                }
                tx.send((head, req_body)).unwrap();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\
                     Keep-Alive: timeout=5\r\nX-Origin: yes\r\n\r\n",
                    body.len()
                );
                s.write_all(resp.as_bytes()).await.unwrap();
                s.write_all(&body).await.unwrap();
                s.shutdown().await.unwrap();
            });
        }
    });
    (addr, rx)
}

/// Deterministic pseudo-random bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Reads everything until EOF (bounded in time).
pub async fn read_all(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
        .await
        .expect("the proxy closed the connection in time")
        .unwrap();
    out
}

/// Splits a response into its head (text) and body.
pub fn split_response(resp: &[u8]) -> (String, Vec<u8>) {
    let p = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    (
        String::from_utf8(resp[..p + 4].to_vec()).unwrap(),
        resp[p + 4..].to_vec(),
    )
}
