//! A small HTTP file server for eepsites in tests, and curl to fetch through proxies.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes that do not compress: a hash chain, so that gzip at the I2CP layer cannot
/// flatter a transfer.
pub fn random_body(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = i2p_crypto::hash::sha256(b"gousse test body");
    while out.len() < len {
        out.extend_from_slice(&block);
        block = i2p_crypto::hash::sha256(&block);
    }
    out.truncate(len);
    out
}

/// Serves `body` for any GET at `addr` (HTTP/1.1, `Connection: close`), each
/// connection on its own thread, until the process ends.
pub fn serve(addr: SocketAddr, body: Arc<Vec<u8>>) {
    let listener = TcpListener::bind(addr).expect("bind the test web server");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                // The head in one write: i2pd 2.45.1's HTTP server tunnel cuts a
                // header line that arrives in two reads in two ("Content-Length: \n"),
                // and curl then refuses the response.
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
                let _ = conn.flush();
            });
        }
    });
}

/// Fetches `url` with curl (through the HTTP proxy `proxy`, if any) into `out`;
/// returns curl's exit status and how long it took.
pub fn curl(args: &[&str], url: &str, out: &Path, timeout: Duration) -> (bool, Duration) {
    let t0 = Instant::now();
    let status = Command::new("curl")
        .args(["-sS", "--fail", "--max-time"])
        .arg(timeout.as_secs().to_string())
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(url)
        .status()
        .expect("run curl");
    (status.success(), t0.elapsed())
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    let data = std::fs::read(path).unwrap_or_default();
    hex(&i2p_crypto::hash::sha256(&data))
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
