//! An in-memory SAM backend: destinations of one process, streams as in-memory pipes,
//! datagrams handed between destinations; and a line-oriented SAM test client.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use gousse_sam::backend::{PROTO_DATAGRAM, PROTO_DATAGRAM2, PROTO_DATAGRAM3};
use gousse_sam::{
    BackendError, DatagramFrom, ReceivedDatagram, SamBackend, SamConfig, SamServer, SamStream,
    SessionOptions,
};
use i2p_wire::{Destination, DestinationKeys, Hash};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream,
    ReadBuf,
};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(5);

pub struct FakeStream {
    io: DuplexStream,
    remote: Destination,
    from_port: u16,
    to_port: u16,
}

impl AsyncRead for FakeStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for FakeStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl SamStream for FakeStream {
    fn remote_destination(&self) -> Destination {
        self.remote.clone()
    }
    fn remote_port(&self) -> u16 {
        self.from_port
    }
    fn local_port(&self) -> u16 {
        self.to_port
    }
}

struct FakeDest {
    destination: Destination,
    listener: Option<mpsc::Sender<FakeStream>>,
    datagrams: Option<mpsc::Sender<ReceivedDatagram>>,
}

#[derive(Default)]
pub struct FakeState {
    next_id: u32,
    dests: HashMap<u32, FakeDest>,
    pub book: HashMap<String, Destination>,
    pub added: Vec<SessionOptions>,
    pub removed: Vec<u32>,
}

/// Destinations of this process, reaching each other in memory.
#[derive(Default)]
pub struct Fake {
    pub state: Mutex<FakeState>,
}

impl Fake {
    fn by_hash(&self, hash: Hash) -> Option<u32> {
        let st = self.state.lock().unwrap();
        st.dests
            .iter()
            .find(|(_, d)| d.destination.hash() == hash)
            .map(|(id, _)| *id)
    }
    pub fn running(&self) -> usize {
        self.state.lock().unwrap().dests.len()
    }
}

impl SamBackend for Fake {
    type Stream = FakeStream;

    async fn add_destination(
        &self,
        keys: DestinationKeys,
        options: SessionOptions,
    ) -> Result<u32, BackendError> {
        let mut st = self.state.lock().unwrap();
        if st
            .dests
            .values()
            .any(|d| d.destination == *keys.destination())
        {
            return Err(BackendError::DuplicateDestination);
        }
        st.next_id += 1;
        let id = st.next_id;
        st.dests.insert(
            id,
            FakeDest {
                destination: keys.destination().clone(),
                listener: None,
                datagrams: None,
            },
        );
        st.added.push(options);
        Ok(id)
    }

    async fn remove_destination(&self, id: u32) {
        let mut st = self.state.lock().unwrap();
        st.dests.remove(&id);
        st.removed.push(id);
    }

    async fn connect(
        &self,
        id: u32,
        remote: Hash,
        from_port: u16,
        to_port: u16,
    ) -> Result<FakeStream, BackendError> {
        let target = self
            .by_hash(remote)
            .ok_or_else(|| BackendError::PeerNotFound("no such destination".into()))?;
        let (ours, listener, theirs) = {
            let st = self.state.lock().unwrap();
            let ours = st
                .dests
                .get(&id)
                .ok_or(BackendError::Closed)?
                .destination
                .clone();
            let t = st.dests.get(&target).ok_or(BackendError::Closed)?;
            (ours, t.listener.clone(), t.destination.clone())
        };
        let listener =
            listener.ok_or_else(|| BackendError::CantReachPeer("not listening".into()))?;
        let (a, b) = tokio::io::duplex(64 * 1024);
        listener
            .send(FakeStream {
                io: b,
                remote: ours,
                from_port,
                to_port,
            })
            .await
            .map_err(|_| BackendError::CantReachPeer("listener gone".into()))?;
        Ok(FakeStream {
            io: a,
            remote: theirs,
            from_port: to_port,
            to_port: from_port,
        })
    }

    async fn listen(&self, id: u32) -> Result<mpsc::Receiver<FakeStream>, BackendError> {
        let (tx, rx) = mpsc::channel(16);
        let mut st = self.state.lock().unwrap();
        st.dests.get_mut(&id).ok_or(BackendError::Closed)?.listener = Some(tx);
        Ok(rx)
    }

    async fn send_datagram(
        &self,
        id: u32,
        to: Hash,
        protocol: u8,
        from_port: u16,
        to_port: u16,
        payload: Vec<u8>,
    ) -> Result<(), BackendError> {
        let target = self
            .by_hash(to)
            .ok_or_else(|| BackendError::PeerNotFound("no such destination".into()))?;
        let (ours, tx) = {
            let st = self.state.lock().unwrap();
            let ours = st
                .dests
                .get(&id)
                .ok_or(BackendError::Closed)?
                .destination
                .clone();
            (
                ours,
                st.dests.get(&target).and_then(|d| d.datagrams.clone()),
            )
        };
        let from = match protocol {
            PROTO_DATAGRAM | PROTO_DATAGRAM2 => DatagramFrom::Destination(ours),
            PROTO_DATAGRAM3 => DatagramFrom::Hash(ours.hash()),
            _ => DatagramFrom::Anonymous,
        };
        if let Some(tx) = tx {
            let _ = tx
                .send(ReceivedDatagram {
                    from,
                    from_port,
                    to_port,
                    protocol,
                    payload,
                })
                .await;
        }
        Ok(())
    }

    async fn datagrams(&self, id: u32) -> Result<mpsc::Receiver<ReceivedDatagram>, BackendError> {
        let (tx, rx) = mpsc::channel(16);
        let mut st = self.state.lock().unwrap();
        st.dests.get_mut(&id).ok_or(BackendError::Closed)?.datagrams = Some(tx);
        Ok(rx)
    }

    async fn lookup_destination(&self, hash: Hash) -> Result<Option<Destination>, BackendError> {
        let st = self.state.lock().unwrap();
        Ok(st
            .dests
            .values()
            .find(|d| d.destination.hash() == hash)
            .map(|d| d.destination.clone()))
    }

    async fn address_book(&self, name: &str) -> Option<Destination> {
        self.state.lock().unwrap().book.get(name).cloned()
    }
}

pub fn test_config() -> SamConfig {
    SamConfig {
        tcp: "127.0.0.1:0".parse().unwrap(),
        udp: Some("127.0.0.1:0".parse().unwrap()),
        ..SamConfig::default()
    }
}

/// Starts a bridge on ephemeral ports.
pub async fn start(config: SamConfig) -> (SocketAddr, SocketAddr, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let server = SamServer::bind(config, fake.clone()).await.unwrap();
    let tcp = server.local_addr().unwrap();
    let udp = server.udp_addr().unwrap();
    tokio::spawn(server.run());
    (tcp, udp, fake)
}

/// A SAM client speaking lines.
pub struct Client {
    pub io: BufReader<TcpStream>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self {
            io: BufReader::new(TcpStream::connect(addr).await.unwrap()),
        }
    }

    /// Connected and past HELLO.
    pub async fn hello(addr: SocketAddr) -> Self {
        let mut c = Self::connect(addr).await;
        let r = c.ask("HELLO VERSION MIN=3.0 MAX=3.3").await;
        assert_eq!(r, "HELLO REPLY RESULT=OK VERSION=3.3");
        c
    }

    pub async fn send(&mut self, s: &str) {
        self.io.get_mut().write_all(s.as_bytes()).await.unwrap();
        self.io.get_mut().write_all(b"\n").await.unwrap();
    }

    pub async fn send_raw(&mut self, b: &[u8]) {
        self.io.get_mut().write_all(b).await.unwrap();
    }

    /// The next line, without its `\n`.
    pub async fn line(&mut self) -> String {
        let mut s = String::new();
        let n = tokio::time::timeout(WAIT, self.io.read_line(&mut s))
            .await
            .expect("no line in time")
            .unwrap();
        assert!(n > 0, "connection closed while waiting for a line");
        s.trim_end_matches('\n').to_owned()
    }

    pub async fn ask(&mut self, s: &str) -> String {
        self.send(s).await;
        self.line().await
    }

    pub async fn exact(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        tokio::time::timeout(WAIT, self.io.read_exact(&mut b))
            .await
            .expect("no data in time")
            .unwrap();
        b
    }

    /// Asserts the bridge closes the socket (nothing more to read).
    pub async fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        let r = tokio::time::timeout(WAIT, self.io.read_to_end(&mut rest))
            .await
            .expect("socket not closed in time");
        match r {
            Ok(_) => assert!(
                rest.is_empty(),
                "unexpected data before close: {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        }
    }
}

/// The value of `key` in a reply line.
pub fn value(line: &str, key: &str) -> Option<String> {
    let r = gousse_sam::tokenize(line.as_bytes()).unwrap();
    r.get(key).map(str::to_owned)
}

/// A session on its own control socket: (socket, public base64 destination).
pub async fn session(addr: SocketAddr, line: &str) -> (Client, String) {
    let mut c = Client::hello(addr).await;
    let r = c.ask(line).await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=OK DESTINATION="),
        "{r}"
    );
    let me = c.ask("NAMING LOOKUP NAME=ME").await;
    let pubkey = value(&me, "VALUE").unwrap();
    (c, pubkey)
}
