use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gousse_testnet::{isolate, Testnet};
use i2p_ntcp2::{Config, Event, OutboundParams, Session};
use i2p_wire::router_info::UncheckedRouterInfo;
use i2p_wire::I2npMessage;

#[test]
fn capture() {
    isolate!();
    let net = Testnet::builder().routers(1).floodfills(1).start().unwrap();
    let ff = net.router(0).unwrap();
    let ri_bytes = ff.router_info().unwrap();
    let ri = UncheckedRouterInfo::parse(&ri_bytes).unwrap().verify().unwrap();
    let ff_hash = ri.hash();
    let p = ri.ntcp2_published().unwrap();
    let keys = gousse_router::keys::RouterKeys::generate();
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    let our_ri = gousse_router::our_info::build(&keys, None, 99, false, 'L', now_ms).unwrap();
    let our_hash = our_ri.hash();
    let mut s = Session::new_outbound(
        Config { net_id: 99, ..Config::default() },
        OutboundParams {
            remote_static_key: p.static_key,
            remote_iv: p.iv.unwrap(),
            remote_router_hash: *ff_hash.as_bytes(),
            local_static_key: keys.x25519.clone(),
            local_router_info: our_ri.as_bytes().to_vec(),
        },
        Instant::now(),
        SystemTime::now(),
    )
    .unwrap();
    let mut sock = None;
    for _ in 0..100 {
        match TcpStream::connect(p.addr.unwrap()) {
            Ok(c) => { sock = Some(c); break; }
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
    let mut sock = sock.expect("connect");
    println!("connected to {:?}", p.addr);
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let key = [0x5au8; 32];
    let mut tag = [0u8; 8];
    i2p_crypto::random_bytes(&mut tag);
    let mut key2 = [0u8; 32];
    i2p_crypto::random_bytes(&mut key2);
    let key = if key2 != [0; 32] { key2 } else { key };
    let mut sent = false;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = Vec::new();
    let mut rx = [0u8; 65536];
    while Instant::now() < deadline {
        while let Some(n) = s.poll_transmit(Instant::now(), &mut buf) {
            sock.write_all(&buf[..n]).unwrap();
            buf.clear();
        }
        while let Some(ev) = s.poll_event() {
            match ev {
                Event::Established if !sent => {
                    // DatabaseLookup: key, from, flags, reply tunnel, 0 excluded, key, 1 tag.
                    let mut l = Vec::new();
                    l.extend_from_slice(ff_hash.as_bytes());
                    l.extend_from_slice(our_hash.as_bytes());
                    l.push(0x01 | 0x10 | 0x08);
                    l.extend_from_slice(&0x1234_5678u32.to_be_bytes());
                    l.extend_from_slice(&0u16.to_be_bytes());
                    l.extend_from_slice(&key);
                    l.push(1);
                    l.extend_from_slice(&tag);
                    let exp = (now_ms / 1000 + 60) as u32;
                    let mut m = vec![2u8];
                    m.extend_from_slice(&0x0102_0304u32.to_be_bytes());
                    m.extend_from_slice(&exp.to_be_bytes());
                    m.extend_from_slice(&l);
                    s.send_i2np(Instant::now(), m).unwrap();
                    sent = true;
                    println!("sent lookup");
                }
                Event::I2np(m) => {
                    println!("got I2NP type {}", m[0]);
                    if m[0] == 19 {
                        let body = &m[9..];
                        let inner = I2npMessage::parse_standard(&body[6..]).unwrap();
                        println!("inner type {:?}", inner.msg_type);
                        println!("KEY {}", hex::encode(key));
                        println!("TAG {}", hex::encode(tag));
                        println!("GARLIC {}", hex::encode(&inner.payload));
                        std::fs::write("/tmp/garlicvec/vec.txt", format!("{}\n{}\n{}\n{}\n{}\n", hex::encode(key), hex::encode(tag), hex::encode(&inner.payload), hex::encode(ff_hash.as_bytes()), hex::encode(&m))).unwrap();
                        let cloves = i2p_garlic::unwrap_with_key_tag(&key, &tag, &inner.payload).unwrap();
                        println!("cloves {:?}", cloves);
                        return;
                    }
                }
                other => println!("event {other:?}"),
            }
        }
        match sock.read(&mut rx) {
            Ok(0) => { println!("LOG {}", ff.log_since(0).unwrap()); panic!("closed") },
            Ok(n) => s.handle_bytes(Instant::now(), &rx[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
        s.handle_timeout(Instant::now());
    }
    println!("LOG {}", ff.log_since(0).unwrap());
    panic!("no reply");
}
