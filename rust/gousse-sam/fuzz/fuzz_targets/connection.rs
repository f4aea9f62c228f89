//! Drives one SAM control connection with arbitrary client bytes over an in-memory
//! pipe: the bridge must never panic, must answer with whole lines, and must finish
//! once the client has sent everything and closed its side.
#![no_main]

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use gousse_sam::{
    BackendError, ReceivedDatagram, SamBackend, SamConfig, SamServer, SamStream, SessionOptions,
};
use i2p_wire::{Destination, DestinationKeys, Hash};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::mpsc;

/// A stream that never carries anything (the fuzz backend reaches nobody).
struct NoStream(DuplexStream, Destination);

impl AsyncRead for NoStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}
impl AsyncWrite for NoStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
impl SamStream for NoStream {
    fn remote_destination(&self) -> Destination {
        self.1.clone()
    }
}

/// Runs destinations that nobody can reach.
struct Lonely;

impl SamBackend for Lonely {
    type Stream = NoStream;
    async fn add_destination(&self, _: DestinationKeys, _: SessionOptions) -> Result<u32, BackendError> {
        Ok(1)
    }
    async fn remove_destination(&self, _: u32) {}
    async fn connect(&self, _: u32, _: Hash, _: u16, _: u16) -> Result<NoStream, BackendError> {
        Err(BackendError::PeerNotFound("fuzz".into()))
    }
    async fn listen(&self, _: u32) -> Result<mpsc::Receiver<NoStream>, BackendError> {
        Ok(mpsc::channel(1).1)
    }
    async fn send_datagram(&self, _: u32, _: Hash, _: u8, _: u16, _: u16, _: Vec<u8>) -> Result<(), BackendError> {
        Ok(())
    }
    async fn datagrams(&self, _: u32) -> Result<mpsc::Receiver<ReceivedDatagram>, BackendError> {
        Ok(mpsc::channel(1).1)
    }
    async fn lookup_destination(&self, _: Hash) -> Result<Option<Destination>, BackendError> {
        Ok(None)
    }
    async fn address_book(&self, _: &str) -> Option<Destination> {
        None
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let config = SamConfig {
            tcp: "127.0.0.1:0".parse().expect("addr"),
            udp: None,
            handshake_timeout: Duration::from_millis(50),
            ..SamConfig::default()
        };
        let server = SamServer::bind(config, Arc::new(Lonely)).await.expect("bind");
        let (mut client, bridge) = tokio::io::duplex(256 * 1024);
        let serve = server.serve_connection(bridge, IpAddr::V4(Ipv4Addr::LOCALHOST));
        let talk = async {
            let _ = client.write_all(data).await;
            let _ = client.shutdown().await;
            let mut out = Vec::new();
            let _ = client.read_to_end(&mut out).await;
            out
        };
        let ((), out) = tokio::time::timeout(Duration::from_secs(5), async { tokio::join!(serve, talk) })
            .await
            .expect("the connection must end once the client is done");
        // Everything the bridge wrote outside stream data is whole lines.
        if !out.is_empty() && !data.windows(6).any(|w| w == b"STREAM") {
            assert_eq!(out.last(), Some(&b'\n'), "{:?}", String::from_utf8_lossy(&out));
        }
    });
});
