//! `DestinationGarlic::decrypt` of a destination holding an established session, on
//! arbitrary bytes: as a Garlic body, as garlic data behind a correct length, and as
//! the payload of a valid Existing Session message from the session's peer (so the
//! block handling: Next Key, ACK, ACK Request, Termination, cloves, is reached). The
//! pair is rebuilt when the fuzz input ended the session, and every few thousand runs.
#![no_main]

use std::cell::RefCell;

use i2p_garlic::{DestinationGarlic, PublicKey, StaticSecret};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_764_000_000_000;

struct Pair {
    alice: DestinationGarlic,
    bob: DestinationGarlic,
    apk: PublicKey,
    bpk: PublicKey,
    runs: u32,
}

fn handshaken() -> Pair {
    let mut alice = DestinationGarlic::new(StaticSecret::from_bytes([0x11; 32]));
    let mut bob = DestinationGarlic::new(StaticSecret::from_bytes([0x22; 32]));
    let (apk, bpk) = (alice.public_key(), bob.public_key());
    let ns = alice.encrypt(NOW, &bpk, &[]).expect("NS");
    bob.decrypt(NOW, &ns).expect("NS opens");
    let nsr = bob.encrypt(NOW, &apk, &[]).expect("NSR");
    alice.decrypt(NOW, &nsr).expect("NSR opens");
    let es = alice.encrypt(NOW, &bpk, &[]).expect("ES");
    bob.decrypt(NOW, &es).expect("ES opens");
    Pair { alice, bob, apk, bpk, runs: 0 }
}

thread_local! {
    static PAIR: RefCell<Option<Pair>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    PAIR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let stale = slot
            .as_ref()
            .map_or(true, |p| p.runs > 4000 || !p.bob.is_established(&p.apk));
        if stale {
            *slot = Some(handshaken());
        }
        let Some(p) = slot.as_mut() else { return };
        p.runs += 1;
        let _ = p.bob.decrypt(NOW, data);
        let mut body = (data.len() as u32).to_be_bytes().to_vec();
        body.extend_from_slice(data);
        let _ = p.bob.decrypt(NOW, &body);
        if let Ok(m) = p.alice.encrypt_raw_payload(&p.bpk, data) {
            let _ = p.bob.decrypt(NOW, &m);
        }
        // Whatever Bob owes now goes back to Alice.
        if let Ok(m) = p.bob.encrypt(NOW, &p.apk, &[]) {
            let _ = p.alice.decrypt(NOW, &m);
        }
        p.bob.handle_timeout(NOW);
        assert!(p.bob.tag_count() <= 4 * 1024);
    });
});
