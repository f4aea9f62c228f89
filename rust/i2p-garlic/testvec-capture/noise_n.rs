use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gousse_testnet::{isolate, netns, Testnet};
use i2p_ntcp2::{Config, Event, InboundParams, ReplayFilter, Session};

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn capture_n() {
    isolate!();
    let ip = netns::add_gousse_addr(0).unwrap();
    let addr = SocketAddr::new(ip.into(), 23456);
    let listener = TcpListener::bind(addr).unwrap();
    let keys = gousse_router::keys::RouterKeys::generate();
    let our_ri = gousse_router::our_info::build(&keys, Some(addr), 99, true, 'X', now_ms()).unwrap();
    let our_hash = *our_ri.hash().as_bytes();
    let conf = "[srv]\ntype = server\nhost = 127.0.0.1\nport = 8080\nkeys = srv.dat\ninbound.length = 1\noutbound.length = 1\ninbound.quantity = 1\noutbound.quantity = 1\n";
    let net = Testnet::builder()
        .routers(4)
        .floodfills(0)
        .seed_router_info(our_ri.as_bytes().to_vec())
        .tunnels_conf(1, conf)
        .start()
        .unwrap();
    println!("testnet up");
    let (tx, rx) = mpsc::channel::<(Vec<u8>, String)>();
    let replay = ReplayFilter::shared(1000, Duration::from_secs(600));
    let sk = keys.x25519.clone();
    let iv = keys.ntcp2_iv;
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(mut sock) = c else { continue };
            let tx = tx.clone();
            let replay = replay.clone();
            let sk = sk.clone();
            std::thread::spawn(move || {
                sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
                let mut s = Session::new_inbound(
                    Config { net_id: 99, ..Config::default() },
                    InboundParams {
                        local_static_key: sk,
                        local_router_hash: our_hash,
                        local_iv: iv,
                        replay_filter: replay,
                    },
                    Instant::now(),
                    SystemTime::now(),
                );
                let mut buf = Vec::new();
                let mut rxb = [0u8; 65536];
                loop {
                    while let Some(n) = s.poll_transmit(Instant::now(), &mut buf) {
                        if sock.write_all(&buf[..n]).is_err() { return; }
                        buf.clear();
                    }
                    while let Some(ev) = s.poll_event() {
                        match ev {
                            Event::SessionConfirmed { .. } => { let _ = s.accept(Instant::now()); }
                            Event::I2np(m) => {
                                println!("got I2NP type {}", m[0]);
                                if m[0] == 11 {
                                    let _ = tx.send((m.clone(), format!("{:?}", sock.peer_addr())));
                                }
                            }
                            Event::Closed { .. } => return,
                            _ => {}
                        }
                    }
                    match sock.read(&mut rxb) {
                        Ok(0) => return,
                        Ok(n) => s.handle_bytes(Instant::now(), &rxb[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => return,
                    }
                    s.handle_timeout(Instant::now());
                }
            });
        }
    });

    match rx.recv_timeout(Duration::from_secs(240)) {
        Ok((m, from)) => {
            let t = now_ms();
            let mut g = i2p_garlic::RouterGarlic::new(keys.x25519.clone());
            let body = &m[9..];
            let r = g.decrypt_detailed(t, body);
            println!("from {from} decrypt: {:?}", r.as_ref().map(|d| (&d.origin, &d.cloves)));
            std::fs::write(
                "/tmp/garlicvec/vec_n.txt",
                format!("{}\n{}\n{}\n{}\n", hex::encode(keys.x25519.to_bytes().as_ref()), hex::encode(body), t, hex::encode(&m[..9])),
            )
            .unwrap();
            r.unwrap();
        }
        Err(_) => {
            for i in 0..4 {
                let log = net.router(i).unwrap().log_since(0).unwrap();
                for l in log.lines().filter(|l| l.contains("Publish") || l.contains("LeaseSet") || l.contains("loodfill")).take(20) { println!("r{i}: {l}"); }
            }
            panic!("no garlic");
        }
    }
}
