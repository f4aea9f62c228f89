//! The bridge over real TCP/UDP sockets on 127.0.0.1, with the in-memory backend.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::time::Duration;

use common::{session, start, test_config, value, Client, WAIT};
use i2p_wire::{Destination, DestinationKeys, Readable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

fn b32_of(b64: &str) -> String {
    let d = Destination::from_bytes(&i2p_wire::base64::decode(b64).unwrap()).unwrap();
    d.b32_address()
}

#[tokio::test]
async fn hello_must_come_first_and_versions_negotiate() {
    let (addr, _, _) = start(test_config()).await;
    let mut c = Client::connect(addr).await;
    let r = c
        .ask("SESSION CREATE STYLE=STREAM ID=x DESTINATION=TRANSIENT")
        .await;
    assert!(
        r.starts_with("HELLO REPLY RESULT=I2P_ERROR MESSAGE="),
        "{r}"
    );
    c.expect_closed().await;

    let mut c = Client::connect(addr).await;
    assert_eq!(
        c.ask("HELLO VERSION MIN=4.0 MAX=4.1").await,
        "HELLO REPLY RESULT=NOVERSION"
    );
    c.expect_closed().await;

    let mut c = Client::connect(addr).await;
    assert_eq!(
        c.ask("HELLO VERSION MAX=3.1").await,
        "HELLO REPLY RESULT=OK VERSION=3.1"
    );
    assert_eq!(c.ask("PING hi there").await, "PONG hi there");
    let r = c.ask("HELLO VERSION").await;
    assert!(r.starts_with("HELLO REPLY RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;

    let mut c = Client::connect(addr).await;
    let r = c.ask("HELLO VERSION MIN=x").await;
    assert!(r.starts_with("HELLO REPLY RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;
}

#[tokio::test]
async fn stream_connect_accept_data_both_ways() {
    let (addr, _, fake) = start(test_config()).await;
    let (_a, a_pub) = session(addr, "SESSION CREATE STYLE=STREAM ID=alice DESTINATION=TRANSIENT SIGNATURE_TYPE=7 inbound.length=1 outbound.quantity=3 FROM_PORT=7").await;
    let (_b, b_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=bob DESTINATION=TRANSIENT",
    )
    .await;
    {
        let st = fake.state.lock().unwrap();
        let alice = st.added.iter().find(|o| o.name == "alice").unwrap();
        assert_eq!(
            alice.i2cp,
            vec![
                ("inbound.length".into(), "1".into()),
                ("outbound.quantity".into(), "3".into())
            ]
        );
    }

    let mut acc = Client::hello(addr).await;
    assert_eq!(
        acc.ask("STREAM ACCEPT ID=bob").await,
        "STREAM STATUS RESULT=OK"
    );

    let mut con = Client::hello(addr).await;
    let r = con
        .ask(&format!(
            "STREAM CONNECT ID=alice DESTINATION={b_pub} TO_PORT=80"
        ))
        .await;
    assert_eq!(r, "STREAM STATUS RESULT=OK");
    // The accepting side learns who connected, and the ports (3.2+).
    assert_eq!(acc.line().await, format!("{a_pub} FROM_PORT=7 TO_PORT=80"));

    con.send_raw(b"hello bob").await;
    assert_eq!(acc.exact(9).await, b"hello bob");
    acc.send_raw(b"hi alice").await;
    assert_eq!(con.exact(8).await, b"hi alice");

    // Closing one end closes the other.
    drop(con);
    acc.expect_closed().await;

    // By b32 address, SILENT: no status line, no destination line.
    let mut acc = Client::hello(addr).await;
    acc.send("STREAM ACCEPT ID=bob SILENT=true").await;
    let mut con = Client::hello(addr).await;
    con.send(&format!(
        "STREAM CONNECT ID=alice DESTINATION={} SILENT=true",
        b32_of(&b_pub)
    ))
    .await;
    con.send_raw(b"ping").await;
    assert_eq!(acc.exact(4).await, b"ping");
}

#[tokio::test]
async fn data_sent_early_is_kept() {
    let (addr, _, _) = start(test_config()).await;
    let (_a, _) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT",
    )
    .await;
    let (_b, b_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=b DESTINATION=TRANSIENT",
    )
    .await;
    let mut acc = Client::hello(addr).await;
    // Bytes after the ACCEPT, before any stream, reach the peer once it connects.
    acc.send_raw(b"STREAM ACCEPT ID=b\nearly").await;
    assert_eq!(acc.line().await, "STREAM STATUS RESULT=OK");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut con = Client::hello(addr).await;
    con.send_raw(format!("STREAM CONNECT ID=a DESTINATION={b_pub}\nfirst").as_bytes())
        .await;
    assert_eq!(con.line().await, "STREAM STATUS RESULT=OK");
    let _ = acc.line().await;
    assert_eq!(acc.exact(5).await, b"first");
    assert_eq!(con.exact(5).await, b"early");
}

#[tokio::test]
async fn a_stream_waits_for_a_later_accept() {
    let (addr, _, _) = start(test_config()).await;
    let (_a, a_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT",
    )
    .await;
    let (_b, b_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=b DESTINATION=TRANSIENT",
    )
    .await;
    // An ACCEPT whose client left does not swallow the stream.
    let mut gone = Client::hello(addr).await;
    assert_eq!(
        gone.ask("STREAM ACCEPT ID=b").await,
        "STREAM STATUS RESULT=OK"
    );
    drop(gone);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut con = Client::hello(addr).await;
    let r = con
        .ask(&format!("STREAM CONNECT ID=a DESTINATION={b_pub}"))
        .await;
    assert_eq!(r, "STREAM STATUS RESULT=OK");
    con.send_raw(b"queued").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut acc = Client::hello(addr).await;
    assert_eq!(
        acc.ask("STREAM ACCEPT ID=b").await,
        "STREAM STATUS RESULT=OK"
    );
    assert_eq!(acc.line().await, format!("{a_pub} FROM_PORT=0 TO_PORT=0"));
    assert_eq!(acc.exact(6).await, b"queued");
}

#[tokio::test]
async fn stream_errors_close_the_socket() {
    let (addr, _, _) = start(test_config()).await;
    let (_a, _) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT",
    )
    .await;
    let (_d, d_pub) = session(
        addr,
        "SESSION CREATE STYLE=DATAGRAM ID=d DESTINATION=TRANSIENT",
    )
    .await;

    let mut c = Client::hello(addr).await;
    let r = c
        .ask(&format!("STREAM CONNECT ID=nope DESTINATION={d_pub}"))
        .await;
    assert!(r.starts_with("STREAM STATUS RESULT=INVALID_ID"), "{r}");
    c.expect_closed().await;

    let mut c = Client::hello(addr).await;
    let r = c.ask("STREAM CONNECT ID=a DESTINATION=garbage!").await;
    assert!(r.starts_with("STREAM STATUS RESULT=INVALID_KEY"), "{r}");
    c.expect_closed().await;

    // A destination that does not listen for streams.
    let mut c = Client::hello(addr).await;
    let r = c
        .ask(&format!("STREAM CONNECT ID=a DESTINATION={d_pub}"))
        .await;
    assert!(r.starts_with("STREAM STATUS RESULT=CANT_REACH_PEER"), "{r}");
    c.expect_closed().await;

    let mut c = Client::hello(addr).await;
    let r = c.ask("STREAM CONNECT ID=a DESTINATION=unknown.i2p").await;
    assert!(r.starts_with("STREAM STATUS RESULT=CANT_REACH_PEER"), "{r}");
    c.expect_closed().await;

    let mut c = Client::hello(addr).await;
    let r = c.ask("STREAM ACCEPT ID=d").await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;

    // SILENT failures: just a closed socket.
    let mut c = Client::hello(addr).await;
    c.send("STREAM CONNECT ID=nope DESTINATION=x.i2p SILENT=true")
        .await;
    c.expect_closed().await;
}

#[tokio::test]
async fn accept_rules_and_session_death() {
    let config = gousse_sam::SamConfig {
        max_pending_accepts: 2,
        ..test_config()
    };
    let (addr, _, _) = start(config).await;
    let (b, _) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=b DESTINATION=TRANSIENT",
    )
    .await;
    let mut a1 = Client::hello(addr).await;
    assert_eq!(
        a1.ask("STREAM ACCEPT ID=b").await,
        "STREAM STATUS RESULT=OK"
    );
    // 3.1: a second concurrent ACCEPT is ALREADY_ACCEPTING.
    let mut old = Client::connect(addr).await;
    assert_eq!(
        old.ask("HELLO VERSION MIN=3.0 MAX=3.1").await,
        "HELLO REPLY RESULT=OK VERSION=3.1"
    );
    let r = old.ask("STREAM ACCEPT ID=b").await;
    assert!(
        r.starts_with("STREAM STATUS RESULT=ALREADY_ACCEPTING"),
        "{r}"
    );
    old.expect_closed().await;
    // 3.2+: concurrent ACCEPTs up to the limit.
    let mut a2 = Client::hello(addr).await;
    assert_eq!(
        a2.ask("STREAM ACCEPT ID=b").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut a3 = Client::hello(addr).await;
    let r = a3.ask("STREAM ACCEPT ID=b").await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    a3.expect_closed().await;
    // FORWARD is refused while ACCEPTs are pending.
    let mut f = Client::hello(addr).await;
    let r = f.ask("STREAM FORWARD ID=b PORT=9").await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    // The session's socket closes: pending ACCEPTs get an error and are closed.
    drop(b);
    let r = a1.line().await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    a1.expect_closed().await;
    let r = a2.line().await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    // The ID is free again.
    let mut c = Client::hello(addr).await;
    let r = c
        .ask("SESSION CREATE STYLE=STREAM ID=b DESTINATION=TRANSIENT")
        .await;
    assert!(r.starts_with("SESSION STATUS RESULT=OK"), "{r}");
}

#[tokio::test]
async fn forward_to_a_local_server() {
    let (addr, _, _) = start(test_config()).await;
    let (_a, a_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT",
    )
    .await;
    let (_b, b_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=b DESTINATION=TRANSIENT",
    )
    .await;
    let local = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = local.local_addr().unwrap().port();

    let mut bad = Client::hello(addr).await;
    let r = bad
        .ask(&format!("STREAM FORWARD ID=b PORT={port} SSL=true"))
        .await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    bad.expect_closed().await;

    let mut fwd = Client::hello(addr).await;
    assert_eq!(
        fwd.ask(&format!("STREAM FORWARD ID=b PORT={port} HOST=127.0.0.1"))
            .await,
        "STREAM STATUS RESULT=OK"
    );
    // ACCEPT is refused while FORWARD is active.
    let mut acc = Client::hello(addr).await;
    let r = acc.ask("STREAM ACCEPT ID=b").await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");

    let mut con = Client::hello(addr).await;
    assert_eq!(
        con.ask(&format!("STREAM CONNECT ID=a DESTINATION={b_pub}"))
            .await,
        "STREAM STATUS RESULT=OK"
    );
    let (sock, _) = tokio::time::timeout(WAIT, local.accept())
        .await
        .unwrap()
        .unwrap();
    let mut sock = tokio::io::BufReader::new(sock);
    let mut line = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut sock, &mut line)
        .await
        .unwrap();
    assert_eq!(line, format!("{a_pub} FROM_PORT=0 TO_PORT=0\n"));
    con.send_raw(b"GET /").await;
    let mut got = [0u8; 5];
    sock.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"GET /");
    sock.get_mut().write_all(b"200 OK").await.unwrap();
    assert_eq!(con.exact(6).await, b"200 OK");

    // Closing the FORWARD socket stops forwarding: ACCEPT works again.
    drop(fwd);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut acc = Client::hello(addr).await;
    assert_eq!(
        acc.ask("STREAM ACCEPT ID=b").await,
        "STREAM STATUS RESULT=OK"
    );
}

#[tokio::test]
async fn datagrams_over_udp_forwarded_with_header() {
    let (addr, udp, _) = start(test_config()).await;
    let a_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (_a, a_pub) = session(
        addr,
        &format!(
            "SESSION CREATE STYLE=DATAGRAM ID=da DESTINATION=TRANSIENT PORT={} HOST=127.0.0.1",
            a_sock.local_addr().unwrap().port()
        ),
    )
    .await;
    let (_b, b_pub) = session(
        addr,
        &format!(
            "SESSION CREATE STYLE=DATAGRAM ID=db DESTINATION=TRANSIENT PORT={} FROM_PORT=4",
            b_sock.local_addr().unwrap().port()
        ),
    )
    .await;

    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client
        .send_to(
            format!("3.0 da {b_pub} TO_PORT=9\nhello bob").as_bytes(),
            udp,
        )
        .await
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let n = tokio::time::timeout(WAIT, b_sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &buf[..n],
        format!("{a_pub} FROM_PORT=0 TO_PORT=9\nhello bob").as_bytes()
    );

    // A reply to the b32 address, from the session's FROM_PORT default.
    client
        .send_to(format!("3.3 db {}\nhi", b32_of(&a_pub)).as_bytes(), udp)
        .await
        .unwrap();
    let n = tokio::time::timeout(WAIT, a_sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &buf[..n],
        format!("{b_pub} FROM_PORT=4 TO_PORT=0\nhi").as_bytes()
    );

    // Oversized, unknown-session and malformed datagrams are dropped; later ones pass.
    let mut big = format!("3.0 da {b_pub}\n").into_bytes();
    big.extend(vec![b'x'; 31745]);
    client.send_to(&big, udp).await.unwrap();
    client
        .send_to(format!("3.0 nobody {b_pub}\nx").as_bytes(), udp)
        .await
        .unwrap();
    client.send_to(b"garbage", udp).await.unwrap();
    let mut max = format!("3.0 da {b_pub}\n").into_bytes();
    max.extend(vec![b'y'; 31744]);
    client.send_to(&max, udp).await.unwrap();
    let n = tokio::time::timeout(WAIT, b_sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let nl = buf[..n].iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(
        n - nl - 1,
        31744,
        "the largest repliable datagram passes, the others were dropped"
    );
}

#[tokio::test]
async fn raw_datagrams_with_and_without_header() {
    let (addr, udp, _) = start(test_config()).await;
    let h_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let p_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (_h, h_pub) = session(
        addr,
        &format!(
            "SESSION CREATE STYLE=RAW ID=rh DESTINATION=TRANSIENT PORT={} HEADER=true",
            h_sock.local_addr().unwrap().port()
        ),
    )
    .await;
    let (_p, p_pub) = session(
        addr,
        &format!(
            "SESSION CREATE STYLE=RAW ID=rp DESTINATION=TRANSIENT PORT={} PROTOCOL=200",
            p_sock.local_addr().unwrap().port()
        ),
    )
    .await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = vec![0u8; 65536];

    client
        .send_to(
            format!("3.2 rp {h_pub} FROM_PORT=1 TO_PORT=2\nraw!").as_bytes(),
            udp,
        )
        .await
        .unwrap();
    let n = tokio::time::timeout(WAIT, h_sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"FROM_PORT=1 TO_PORT=2 PROTOCOL=200\nraw!");

    client
        .send_to(format!("3.2 rh {p_pub}\nbare").as_bytes(), udp)
        .await
        .unwrap();
    let n = tokio::time::timeout(WAIT, p_sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"bare");
}

#[tokio::test]
async fn datagram_and_raw_send_on_the_control_socket() {
    let (addr, _, _) = start(test_config()).await;
    let (mut a, a_pub) = session(
        addr,
        "SESSION CREATE STYLE=DATAGRAM ID=a DESTINATION=TRANSIENT",
    )
    .await;
    let (mut b, b_pub) = session(
        addr,
        "SESSION CREATE STYLE=DATAGRAM ID=b DESTINATION=TRANSIENT",
    )
    .await;
    a.send_raw(
        format!("DATAGRAM SEND DESTINATION={b_pub} SIZE=5 TO_PORT=3\nhelloPING x\n").as_bytes(),
    )
    .await;
    assert_eq!(
        a.line().await,
        "PONG x",
        "the payload did not swallow the next command"
    );
    assert_eq!(
        b.line().await,
        format!("DATAGRAM RECEIVED DESTINATION={a_pub} SIZE=5 FROM_PORT=0 TO_PORT=3")
    );
    assert_eq!(b.exact(5).await, b"hello");

    let (mut r1, r1_pub) =
        session(addr, "SESSION CREATE STYLE=RAW ID=r1 DESTINATION=TRANSIENT").await;
    let (mut r2, _) = session(addr, "SESSION CREATE STYLE=RAW ID=r2 DESTINATION=TRANSIENT").await;
    r2.send_raw(format!("RAW SEND DESTINATION={r1_pub} SIZE=3 PROTOCOL=33\nabc").as_bytes())
        .await;
    assert_eq!(
        r1.line().await,
        "RAW RECEIVED SIZE=3 FROM_PORT=0 TO_PORT=0 PROTOCOL=33"
    );
    assert_eq!(r1.exact(3).await, b"abc");

    // RAW SEND on a DATAGRAM session: error, the session stays.
    a.send_raw(format!("RAW SEND DESTINATION={r1_pub} SIZE=1\nz").as_bytes())
        .await;
    let r = a.line().await;
    assert!(r.starts_with("SESSION STATUS RESULT=I2P_ERROR"), "{r}");
    // Empty lines are ignored.
    a.send_raw(b"\n\r\n").await;
    assert_eq!(a.ask("PING").await, "PONG");
    // On a socket without a session: error and close.
    let mut c = Client::hello(addr).await;
    c.send_raw(format!("DATAGRAM SEND DESTINATION={b_pub} SIZE=1\nz").as_bytes())
        .await;
    let r = c.line().await;
    assert!(r.starts_with("SESSION STATUS RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;
}

#[tokio::test]
async fn naming_lookup() {
    let (addr, _, fake) = start(test_config()).await;
    let (mut a, a_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=a DESTINATION=TRANSIENT",
    )
    .await;
    let (_b, b_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=b DESTINATION=TRANSIENT",
    )
    .await;
    let other = DestinationKeys::generate().destination().clone();
    fake.state
        .lock()
        .unwrap()
        .book
        .insert("example.i2p".into(), other.clone());

    let b32 = b32_of(&b_pub);
    assert_eq!(
        a.ask(&format!("NAMING LOOKUP NAME={b32}")).await,
        format!("NAMING REPLY RESULT=OK NAME={b32} VALUE={b_pub}")
    );
    assert_eq!(
        a.ask("NAMING LOOKUP NAME=example.i2p").await,
        format!(
            "NAMING REPLY RESULT=OK NAME=example.i2p VALUE={}",
            other.to_base64()
        )
    );
    assert_eq!(
        a.ask(&format!("NAMING LOOKUP NAME={a_pub}")).await,
        format!("NAMING REPLY RESULT=OK NAME={a_pub} VALUE={a_pub}")
    );
    let r = a.ask("NAMING LOOKUP NAME=nowhere.i2p").await;
    assert!(
        r.starts_with("NAMING REPLY RESULT=KEY_NOT_FOUND NAME=nowhere.i2p"),
        "{r}"
    );
    let unknown = format!("{}.b32.i2p", "a".repeat(52));
    let r = a.ask(&format!("NAMING LOOKUP NAME={unknown}")).await;
    assert!(r.starts_with("NAMING REPLY RESULT=KEY_NOT_FOUND"), "{r}");
    let r = a.ask("NAMING LOOKUP NAME=not+base64").await;
    assert!(r.starts_with("NAMING REPLY RESULT=INVALID_KEY"), "{r}");
    // No session needed, except for ME.
    let mut c = Client::hello(addr).await;
    assert_eq!(
        c.ask(&format!("NAMING LOOKUP NAME={b32}")).await,
        format!("NAMING REPLY RESULT=OK NAME={b32} VALUE={b_pub}")
    );
    let r = c.ask("NAMING LOOKUP NAME=ME").await;
    assert!(
        r.starts_with("NAMING REPLY RESULT=KEY_NOT_FOUND NAME=ME"),
        "{r}"
    );
}

#[tokio::test]
async fn dest_generate_round_trip_and_session_errors() {
    let (addr, _, fake) = start(test_config()).await;
    let mut g = Client::hello(addr).await;
    let r = g
        .ask("DEST GENERATE SIGNATURE_TYPE=EdDSA_SHA512_Ed25519")
        .await;
    let public = value(&r, "PUB").unwrap();
    let private = value(&r, "PRIV").unwrap();
    let keys = DestinationKeys::parse(&i2p_wire::base64::decode(&private).unwrap()).unwrap();
    assert_eq!(keys.destination().to_base64(), public);
    let r = g.ask("DEST GENERATE SIGNATURE_TYPE=1").await;
    assert!(r.starts_with("DEST REPLY RESULT=I2P_ERROR MESSAGE="), "{r}");

    let mut s = Client::hello(addr).await;
    let r = s
        .ask(&format!(
            "SESSION CREATE STYLE=STREAM ID=kept DESTINATION={private}"
        ))
        .await;
    assert_eq!(r, format!("SESSION STATUS RESULT=OK DESTINATION={private}"));
    assert_eq!(
        s.ask("NAMING LOOKUP NAME=ME").await,
        format!("NAMING REPLY RESULT=OK NAME=ME VALUE={public}")
    );
    let r = s
        .ask("SESSION CREATE STYLE=STREAM ID=again DESTINATION=TRANSIENT")
        .await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=I2P_ERROR"),
        "one session per socket: {r}"
    );
    let r = s.ask("STREAM ACCEPT ID=kept").await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
    assert_eq!(s.ask("PING").await, "PONG", "the session socket stays");

    let cases = [
        (format!("SESSION CREATE STYLE=STREAM ID=other DESTINATION={private}"), "DUPLICATED_DEST"),
        ("SESSION CREATE STYLE=STREAM ID=kept DESTINATION=TRANSIENT".to_owned(), "DUPLICATED_ID"),
        ("SESSION CREATE STYLE=STREAM ID=x DESTINATION=TRANSIENT SIGNATURE_TYPE=ECDSA_SHA256_P256".to_owned(), "I2P_ERROR"),
        ("SESSION CREATE STYLE=STREAM ID=x DESTINATION=AAAA".to_owned(), "INVALID_KEY"),
        (format!("SESSION CREATE STYLE=STREAM ID=x DESTINATION={}", &private[..private.len() - 8]), "INVALID_KEY"),
        ("SESSION CREATE STYLE=STREAM ID=x DESTINATION=TRANSIENT PORT=5".to_owned(), "I2P_ERROR"),
        ("SESSION CREATE STYLE=BOGUS ID=x DESTINATION=TRANSIENT".to_owned(), "I2P_ERROR"),
        ("SESSION CREATE STYLE=STREAM DESTINATION=TRANSIENT".to_owned(), "I2P_ERROR"),
        ("SESSION ADD STYLE=STREAM ID=sub".to_owned(), "I2P_ERROR"),
    ];
    for (cmd, code) in cases {
        let mut c = Client::hello(addr).await;
        let r = c.ask(&cmd).await;
        assert!(
            r.starts_with(&format!("SESSION STATUS RESULT={code}")),
            "{cmd}: {r}"
        );
        c.expect_closed().await;
    }
    assert_eq!(fake.running(), 1, "failed creations left nothing running");
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.running(), 0, "the destination stops with its socket");
}

#[tokio::test]
async fn primary_with_subsessions() {
    let (addr, udp, fake) = start(test_config()).await;
    let (mut p, p_pub) = session(
        addr,
        "SESSION CREATE STYLE=PRIMARY ID=main DESTINATION=TRANSIENT inbound.quantity=2",
    )
    .await;
    let r = p.ask("SESSION ADD STYLE=STREAM ID=web FROM_PORT=80").await;
    assert_eq!(r, "SESSION STATUS RESULT=OK ID=\"web\" MESSAGE=\"ADD web\"");
    assert!(p
        .ask("SESSION ADD STYLE=STREAM ID=any")
        .await
        .starts_with("SESSION STATUS RESULT=OK"));
    let r = p.ask("SESSION ADD STYLE=STREAM ID=web2 FROM_PORT=80").await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=I2P_ERROR"),
        "same listen port: {r}"
    );
    let r = p.ask("SESSION ADD STYLE=STREAM ID=web").await;
    assert!(r.starts_with("SESSION STATUS RESULT=DUPLICATED_ID"), "{r}");
    let r = p.ask("SESSION ADD STYLE=RAW ID=dht").await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=I2P_ERROR"),
        "PORT is required: {r}"
    );
    let dht_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let r = p
        .ask(&format!(
            "SESSION ADD STYLE=RAW ID=dht PORT={} LISTEN_PROTOCOL=100 HEADER=true",
            dht_sock.local_addr().unwrap().port()
        ))
        .await;
    assert!(r.starts_with("SESSION STATUS RESULT=OK"), "{r}");
    assert_eq!(p.ask("PING").await, "PONG");

    // Incoming streams go by TO_PORT: 80 to "web", anything else to "any".
    let (_c, c_pub) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=client DESTINATION=TRANSIENT",
    )
    .await;
    let (_r, _) = session(
        addr,
        "SESSION CREATE STYLE=RAW ID=rawc DESTINATION=TRANSIENT",
    )
    .await;
    let mut web = Client::hello(addr).await;
    assert_eq!(
        web.ask("STREAM ACCEPT ID=web").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut any = Client::hello(addr).await;
    assert_eq!(
        any.ask("STREAM ACCEPT ID=any").await,
        "STREAM STATUS RESULT=OK"
    );
    let mut c1 = Client::hello(addr).await;
    assert_eq!(
        c1.ask(&format!(
            "STREAM CONNECT ID=client DESTINATION={p_pub} TO_PORT=5"
        ))
        .await,
        "STREAM STATUS RESULT=OK"
    );
    assert_eq!(any.line().await, format!("{c_pub} FROM_PORT=0 TO_PORT=5"));
    let mut c2 = Client::hello(addr).await;
    assert_eq!(
        c2.ask(&format!(
            "STREAM CONNECT ID=client DESTINATION={p_pub} TO_PORT=80"
        ))
        .await,
        "STREAM STATUS RESULT=OK"
    );
    assert_eq!(web.line().await, format!("{c_pub} FROM_PORT=0 TO_PORT=80"));
    c2.send_raw(b"x").await;
    assert_eq!(web.exact(1).await, b"x");

    // Raw datagrams of protocol 100 go to "dht"; others are dropped.
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client
        .send_to(format!("3.3 rawc {p_pub} PROTOCOL=99\nno").as_bytes(), udp)
        .await
        .unwrap();
    client
        .send_to(
            format!("3.3 rawc {p_pub} PROTOCOL=100 TO_PORT=6\nyes").as_bytes(),
            udp,
        )
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(WAIT, dht_sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], b"FROM_PORT=0 TO_PORT=6 PROTOCOL=100\nyes");

    // The PRIMARY ID itself carries no streams.
    let mut x = Client::hello(addr).await;
    let r = x.ask("STREAM ACCEPT ID=main").await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");

    // REMOVE, then the ID is gone.
    let r = p.ask("SESSION REMOVE ID=any").await;
    assert!(r.starts_with("SESSION STATUS RESULT=OK"), "{r}");
    let r = p.ask("SESSION REMOVE ID=client").await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=INVALID_ID"),
        "not our subsession: {r}"
    );
    let mut y = Client::hello(addr).await;
    let r = y.ask("STREAM ACCEPT ID=any").await;
    assert!(r.starts_with("STREAM STATUS RESULT=INVALID_ID"), "{r}");

    // Closing the PRIMARY's socket ends the subsessions and their streams.
    let running = fake.running();
    drop(p);
    web.expect_closed().await;
    let mut z = Client::hello(addr).await;
    let r = z.ask("STREAM ACCEPT ID=web").await;
    assert!(r.starts_with("STREAM STATUS RESULT=INVALID_ID"), "{r}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.running(), running - 1);
    let opts = &fake.state.lock().unwrap().added[0];
    assert_eq!(
        opts.i2cp,
        vec![("inbound.quantity".to_owned(), "2".to_owned())]
    );
}

#[tokio::test]
async fn garbage_and_oversized_lines_close_only_their_socket() {
    let (addr, _, _) = start(test_config()).await;
    let (mut keep, _) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=keep DESTINATION=TRANSIENT",
    )
    .await;

    let mut c = Client::hello(addr).await;
    let r = c.ask("FOO BAR").await;
    assert!(
        r.starts_with("SESSION STATUS RESULT=I2P_ERROR MESSAGE="),
        "{r}"
    );
    c.expect_closed().await;

    let mut c = Client::hello(addr).await;
    let r = c.ask("STREAM CONNECT ID=keep").await;
    assert!(
        r.starts_with("STREAM STATUS RESULT=I2P_ERROR"),
        "missing DESTINATION: {r}"
    );
    c.expect_closed().await;

    let mut c = Client::hello(addr).await;
    c.send_raw(b"NAMING LOOKUP NAME=\xff\xfe\n").await;
    let r = c.line().await;
    assert!(r.starts_with("NAMING REPLY RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;

    // An endless line: refused at the limit, socket closed.
    let mut c = Client::hello(addr).await;
    let chunk = vec![b'A'; 16 * 1024];
    let mut sent = 0;
    while sent < gousse_sam::MAX_LINE_LEN + 4096 {
        if c.io.get_mut().write_all(&chunk).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(WAIT, c.io.read_to_end(&mut rest))
        .await
        .expect("not closed");
    assert!(String::from_utf8_lossy(&rest).starts_with("SESSION STATUS RESULT=I2P_ERROR"));

    // A client that vanishes mid-handshake, or mid-line.
    let mut v = Client::connect(addr).await;
    v.send_raw(b"HELLO VER").await;
    drop(v);
    let mut v = Client::hello(addr).await;
    v.send_raw(b"SESSION CREATE STYLE=STR").await;
    drop(v);

    // The others carry on.
    assert_eq!(keep.ask("PING still here").await, "PONG still here");
    let mut acc = Client::hello(addr).await;
    assert_eq!(
        acc.ask("STREAM ACCEPT ID=keep").await,
        "STREAM STATUS RESULT=OK"
    );
    // QUIT closes the socket and with it the session.
    keep.send("QUIT").await;
    keep.expect_closed().await;
    let r = acc.line().await;
    assert!(r.starts_with("STREAM STATUS RESULT=I2P_ERROR"), "{r}");
}

#[tokio::test]
async fn handshake_timeouts_and_session_limit() {
    let config = gousse_sam::SamConfig {
        handshake_timeout: Duration::from_millis(200),
        max_sessions: 2,
        ..test_config()
    };
    let (addr, _, _) = start(config).await;
    let mut c = Client::connect(addr).await;
    let r = c.line().await;
    assert!(r.starts_with("HELLO REPLY RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;
    let mut c = Client::hello(addr).await;
    let r = c.line().await;
    assert!(r.starts_with("SESSION STATUS RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;

    // A session socket has no idle timeout.
    let (mut s1, _) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=s1 DESTINATION=TRANSIENT",
    )
    .await;
    let (_s2, _) = session(
        addr,
        "SESSION CREATE STYLE=STREAM ID=s2 DESTINATION=TRANSIENT",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(s1.ask("PING").await, "PONG");
    let mut c = Client::hello(addr).await;
    let r = c
        .ask("SESSION CREATE STYLE=STREAM ID=s3 DESTINATION=TRANSIENT")
        .await;
    assert!(r.starts_with("SESSION STATUS RESULT=I2P_ERROR"), "{r}");
    c.expect_closed().await;
}
