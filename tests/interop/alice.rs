//! A minimal NTCP2 peer of our own ("Alice"), for sending our router what a hostile
//! or buggy router could: it completes the real handshake with a throwaway identity,
//! then exchanges raw I2NP messages.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime};

use i2p_crypto::{ed25519::SigningKey, x25519::StaticSecret};
use i2p_ntcp2::{Event, OutboundParams, Session, State};
use i2p_wire::{
    Hash, I2npMessage, Mapping, RouterAddress, RouterIdentity, RouterInfo, UncheckedRouterInfo,
};

pub struct Alice {
    stream: TcpStream,
    session: Session,
    pub hash: Hash,
    inbox: Vec<I2npMessage>,
}

impl Alice {
    /// Connects to the router whose RouterInfo is `bob_ri` and completes the handshake.
    pub fn connect(addr: SocketAddr, bob_ri: &[u8]) -> Alice {
        let bob = UncheckedRouterInfo::parse(bob_ri)
            .unwrap()
            .verify()
            .unwrap();
        let ntcp2 = bob.ntcp2_published().unwrap();
        let static_key = StaticSecret::random();
        let signing = SigningKey::random();
        let id =
            RouterIdentity::new_x25519_ed25519(&static_key.public_key(), &signing.verifying_key());
        let address = RouterAddress::ntcp2_unpublished(3, &static_key.public_key()).unwrap();
        let opts = Mapping::new([
            ("caps", "LU"),
            ("netId", "99"),
            ("router.version", "0.9.57"),
        ])
        .unwrap();
        let now_ms = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let ri = RouterInfo::new_signed(id, now_ms, vec![address], opts, &signing).unwrap();
        let config = i2p_ntcp2::Config {
            net_id: 99,
            ..Default::default()
        };
        let params = OutboundParams {
            remote_static_key: ntcp2.static_key,
            remote_iv: ntcp2.iv.unwrap(),
            remote_router_hash: bob.hash().0,
            local_static_key: static_key,
            local_router_info: ri.as_bytes().to_vec(),
        };
        let session =
            Session::new_outbound(config, params, Instant::now(), SystemTime::now()).unwrap();
        let stream = TcpStream::connect(addr).unwrap();
        // One frame per write, as a router does: no Nagle delay between them.
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut a = Alice {
            stream,
            session,
            hash: ri.hash(),
            inbox: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while a.session.state() != State::Established {
            assert!(Instant::now() < deadline, "handshake did not complete");
            a.pump();
        }
        a
    }

    /// Writes what the session has to send.
    fn flush(&mut self) {
        let now = Instant::now();
        let mut out = Vec::new();
        while self.session.poll_transmit(now, &mut out).is_some() {}
        if !out.is_empty() {
            self.stream.write_all(&out).unwrap();
        }
    }

    /// Writes what the session has to send, reads what arrived (waiting up to 100 ms),
    /// handles events.
    fn pump(&mut self) {
        self.flush();
        let mut buf = [0u8; 65536];
        match self.stream.read(&mut buf) {
            Ok(0) => panic!("our router closed the connection"),
            Ok(n) => self.session.handle_bytes(Instant::now(), &buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        self.session.handle_timeout(Instant::now());
        while let Some(ev) = self.session.poll_event() {
            match ev {
                Event::I2np(bytes) => {
                    if let Ok(m) = I2npMessage::parse_short(&bytes) {
                        self.inbox.push(m);
                    }
                }
                Event::Closed { reason } => panic!("session closed: {reason:?}"),
                _ => {}
            }
        }
    }

    /// Sends an I2NP message.
    pub fn send(&mut self, msg: &I2npMessage) {
        self.session
            .send_i2np(Instant::now(), msg.to_short_bytes().unwrap())
            .unwrap();
        self.flush();
    }

    /// Waits up to `timeout` for a message matching `pick`.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        pick: impl Fn(&I2npMessage) -> bool,
    ) -> Option<I2npMessage> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.inbox.iter().position(&pick) {
                return Some(self.inbox.remove(i));
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.pump();
        }
    }

    /// Keeps the session serviced for `d`.
    pub fn idle(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.pump();
        }
    }
}
