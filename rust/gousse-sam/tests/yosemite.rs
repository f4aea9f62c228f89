//! The `yosemite` SAMv3 client library against this bridge (in-memory backend).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{start, test_config, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yosemite::{style, Session, SessionOptions};

/// The public destination of a SESSION STATUS private key blob (what yosemite's
/// `destination()` returns).
fn public(private: &str) -> String {
    let bytes = i2p_wire::base64::decode(private).unwrap();
    i2p_wire::DestinationKeys::parse(&bytes)
        .unwrap()
        .destination()
        .to_base64()
}

fn options(tcp: u16, udp: u16, nickname: &str) -> SessionOptions {
    SessionOptions {
        samv3_tcp_port: tcp,
        samv3_udp_port: udp,
        nickname: nickname.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn yosemite_stream_session() {
    let (tcp, udp, _) = start(test_config()).await;
    let mut server = Session::<style::Stream>::new(options(tcp.port(), udp.port(), "ys"))
        .await
        .unwrap();
    let mut client = Session::<style::Stream>::new(options(tcp.port(), udp.port(), "yc"))
        .await
        .unwrap();
    let server_dest = server.destination().to_owned();
    let client_dest = client.destination().to_owned();

    let accept = tokio::spawn(async move {
        let mut s = server.accept().await.unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).await.unwrap();
        s.write_all(b"world").await.unwrap();
        (buf, server)
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut s = tokio::time::timeout(WAIT, client.connect(&server_dest))
        .await
        .unwrap()
        .unwrap();
    s.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    tokio::time::timeout(WAIT, s.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"world");
    let (got, _server) = accept.await.unwrap();
    assert_eq!(&got, b"hello");
    assert_ne!(server_dest, client_dest);
}

#[tokio::test]
async fn yosemite_repliable_and_raw_datagrams() {
    let (tcp, udp, _) = start(test_config()).await;
    let mut a = Session::<style::Repliable>::new(options(tcp.port(), udp.port(), "ra"))
        .await
        .unwrap();
    let mut b = Session::<style::Repliable>::new(options(tcp.port(), udp.port(), "rb"))
        .await
        .unwrap();
    let a_dest = a.destination().to_owned();
    let b_dest = b.destination().to_owned();
    a.send_to(b"over udp", &b_dest).await.unwrap();
    let mut buf = vec![0u8; 65536];
    let (n, from) = tokio::time::timeout(WAIT, b.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"over udp");
    // The bridge reports the sender's full destination: the reply goes back to it.
    b.send_to(b"reply", &from).await.unwrap();
    let (n, from_b) = tokio::time::timeout(WAIT, a.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"reply");
    assert_eq!(from_b, public(&b_dest));
    assert_eq!(from, public(&a_dest));

    let mut x = Session::<style::Anonymous>::new(options(tcp.port(), udp.port(), "xa"))
        .await
        .unwrap();
    let mut y = Session::<style::Anonymous>::new(options(tcp.port(), udp.port(), "xb"))
        .await
        .unwrap();
    let y_dest = y.destination().to_owned();
    x.send_to(b"anonymous", &y_dest).await.unwrap();
    let n = tokio::time::timeout(WAIT, y.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"anonymous");
    drop(x);
}
