//! The three message formats (ecies.rst "1b) New session format (with binding)",
//! "1c)/1d) ... (without binding)", "1g) New Session Reply format", "1h) Existing
//! session format") and their KDFs, as pure functions of explicit keys. The session
//! state machines ([`super::session`]) choose which to call.
//!
//! ```text
//! NS:  elg2(aepk) (32) | ENCRYPT(k, 0, apk or 32 zeros, h) (48) | payload + MAC
//! NSR: tag (8) | elg2(bepk) (32) | ENCRYPT(k, 0, ZEROLEN, h) (16) | payload + MAC
//! ES:  tag (8) | ENCRYPT(k_n, n, payload, ad = tag)
//! ```

use i2p_crypto::aead;
use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::{PublicKey, StaticSecret};
use i2p_crypto::Zeroizing;

use super::elligator2;
use super::error::{RatchetError, RatchetPath};
use super::kdf::{split, Key, TagSetKeys, TAG_LEN};

/// Length of the Elligator2-encoded key.
pub(crate) const KEY_LEN: usize = 32;
/// The encrypted flags / static key section: 32 bytes and a MAC.
pub(crate) const STATIC_SECTION_LEN: usize = 32 + aead::TAG_LEN;
/// Smallest New Session: key, static section, payload MAC ("Length is 96 + payload
/// length").
pub const NS_OVERHEAD: usize = KEY_LEN + STATIC_SECTION_LEN + aead::TAG_LEN;
/// New Session Reply overhead: "Total length is 72 + payload length".
pub const NSR_OVERHEAD: usize = TAG_LEN + KEY_LEN + aead::TAG_LEN + aead::TAG_LEN;
/// Existing Session overhead: tag and MAC.
pub const ES_OVERHEAD: usize = TAG_LEN + aead::TAG_LEN;

/// An ephemeral key pair with its Elligator2 representative.
pub(crate) struct Ephemeral {
    pub(crate) secret: StaticSecret,
    pub(crate) public: PublicKey,
    pub(crate) encoded: [u8; 32],
}

impl Ephemeral {
    /// `GENERATE_PRIVATE_ELG2()`.
    pub(crate) fn generate() -> Result<Self, RatchetError> {
        let (secret, public, encoded) =
            elligator2::generate_keypair().ok_or(RatchetError::KeyGeneration)?;
        Ok(Ephemeral {
            secret,
            public,
            encoded,
        })
    }
}

fn dh(secret: &StaticSecret, public: &PublicKey) -> Result<Key, RatchetError> {
    secret
        .diffie_hellman(public)
        .map_err(|_| RatchetError::Garlic(crate::Error::BadKey("X25519 low-order point")))
}

/// Alice's state after a bound New Session, kept to read the replies.
pub(crate) struct NsSent {
    /// The Noise state after `MixHash(payload ciphertext)`.
    pub(crate) state: SymmetricState,
    pub(crate) ephemeral: StaticSecret,
}

impl NsSent {
    /// "KDF for Reply TagSet": the tag set of Bob's replies.
    pub(crate) fn nsr_tagset(&self) -> TagSetKeys {
        super::kdf::nsr_tagset(self.state.ck())
    }
}

/// Builds a New Session message (garlic data, no length) to `bob`, with Alice's
/// static key `alice` (bound, "1b") or none (unbound / one-time, "1c", "1d").
pub(crate) fn seal_new_session(
    eph: Ephemeral,
    bob: &PublicKey,
    alice: Option<&StaticSecret>,
    payload: &[u8],
) -> Result<(Vec<u8>, Option<NsSent>), RatchetError> {
    let mut s = super::kdf::initial_state(bob);
    // "e": MixHash(aepk) (the real key, not its representative).
    s.mix_hash(&eph.public);
    // "es"
    s.mix_key(dh(&eph.secret, bob)?.as_ref());
    let mut out = Vec::with_capacity(NS_OVERHEAD + payload.len());
    out.extend_from_slice(&eph.encoded);
    // Flags / static key section, n = 0, then MixHash(ciphertext).
    let fs = match alice {
        Some(a) => a.public_key(),
        None => [0u8; 32],
    };
    out.extend_from_slice(&s.encrypt_and_hash(&fs));
    match alice {
        Some(a) => {
            // "ss": MixKey(DH(ask, bpk)); payload with n = 0.
            s.mix_key(dh(a, bob)?.as_ref());
            out.extend_from_slice(&s.encrypt_and_hash(payload));
            Ok((
                out,
                Some(NsSent {
                    state: s,
                    ephemeral: eph.secret,
                }),
            ))
        }
        None => {
            // "If the static key is all zeros, the "ss" message pattern must be
            // skipped": same k, n = 1 (`encrypt_and_hash` counts it).
            out.extend_from_slice(&s.encrypt_and_hash(payload));
            Ok((out, None))
        }
    }
}

/// What Bob learns from a New Session message.
pub(crate) struct NsReceived {
    /// The Noise state after the payload (bound sessions; the input of the reply).
    pub(crate) state: SymmetricState,
    /// Alice's ephemeral key (decoded).
    pub(crate) aepk: PublicKey,
    /// Alice's static key, `None` for an unbound (flags) message.
    pub(crate) alice: Option<PublicKey>,
    pub(crate) payload: Zeroizing<Vec<u8>>,
}

/// Decodes the Elligator2 key at the start of a New Session message, without DH: for
/// the replay check before the expensive part.
pub(crate) fn ns_ephemeral_key(data: &[u8]) -> Result<PublicKey, RatchetError> {
    if data.len() < NS_OVERHEAD {
        return Err(RatchetError::Garlic(crate::Error::malformed(
            "New Session",
            "shorter than 96 bytes",
        )));
    }
    let enc: [u8; 32] = data
        .first_chunk::<32>()
        .copied()
        .ok_or(RatchetError::BadRepresentative)?;
    elligator2::decode(&enc).ok_or(RatchetError::BadRepresentative)
}

/// Opens a New Session message (garlic data) with Bob's static key; `init` is
/// [`super::kdf::initial_state`] of Bob's public key.
pub(crate) fn open_new_session(
    bob: &StaticSecret,
    init: &SymmetricState,
    data: &[u8],
) -> Result<NsReceived, RatchetError> {
    let aepk = ns_ephemeral_key(data)?;
    let rest = data.get(KEY_LEN..).unwrap_or(&[]);
    let (section, payload_ct) = rest.split_at(STATIC_SECTION_LEN.min(rest.len()));
    let mut s = init.clone();
    s.mix_hash(&aepk);
    s.mix_key(dh(bob, &aepk)?.as_ref());
    let fs = s
        .decrypt_and_hash(section)
        .map_err(|_| RatchetError::Auth(RatchetPath::NewSession))?;
    let fs: [u8; 32] = fs
        .as_slice()
        .try_into()
        .map_err(|_| RatchetError::Auth(RatchetPath::NewSession))?;
    // "Bob determines whether it's a static key or a flags section by testing if the
    // 32 bytes are all zeros."
    let alice = if fs == [0u8; 32] {
        None
    } else {
        s.mix_key(dh(bob, &fs)?.as_ref());
        Some(fs)
    };
    let payload = s
        .decrypt_and_hash(payload_ct)
        .map_err(|_| RatchetError::Auth(RatchetPath::NewSession))?;
    Ok(NsReceived {
        state: s,
        aepk,
        alice,
        payload: Zeroizing::new(payload),
    })
}

/// The key section of a New Session Reply: `MixHash(tag)`, `MixHash(bepk)`, "ee",
/// "se", `ENCRYPT(k, 0, ZEROLEN, h)`, `MixHash(ciphertext)`. `ee` and `se` are the
/// two DH results. Returns the MAC and the state.
fn nsr_key_section(
    base: &SymmetricState,
    tag: &[u8; TAG_LEN],
    bepk: &PublicKey,
    ee: &[u8; 32],
    se: &[u8; 32],
) -> (Vec<u8>, SymmetricState) {
    let mut s = base.clone();
    s.mix_hash(tag);
    s.mix_hash(bepk);
    s.mix_key(ee);
    s.mix_key(se);
    let mac = s.encrypt_and_hash(&[]);
    (mac, s)
}

/// Bob's New Session Reply material for one incoming New Session: every NSR of the
/// session uses the same ephemeral key (as i2pd 2.45.1 does), so every reply gives
/// the same `split()` and Alice may take whichever arrives first.
pub(crate) struct NsrSender {
    base: SymmetricState,
    ephemeral: Ephemeral,
    ee: Key,
    se: Key,
}

impl NsrSender {
    /// Prepares the replies to a New Session whose final state is `base`, from
    /// Alice's ephemeral `aepk` and static `apk` keys.
    pub(crate) fn new(
        base: SymmetricState,
        aepk: &PublicKey,
        apk: &PublicKey,
    ) -> Result<Self, RatchetError> {
        let ephemeral = Ephemeral::generate()?;
        let ee = dh(&ephemeral.secret, aepk)?;
        let se = dh(&ephemeral.secret, apk)?;
        Ok(NsrSender {
            base,
            ephemeral,
            ee,
            se,
        })
    }

    /// Builds one NSR with `tag` (the next tag of the reply tag set). Returns the
    /// garlic data and the chain key for `split()`.
    pub(crate) fn seal(&self, tag: &[u8; TAG_LEN], payload: &[u8]) -> (Vec<u8>, Key) {
        let (mac, s) = nsr_key_section(&self.base, tag, &self.ephemeral.public, &self.ee, &self.se);
        let ck = Zeroizing::new(*s.ck());
        let (_, _, k) = split(&ck);
        let mut out = Vec::with_capacity(NSR_OVERHEAD + payload.len());
        out.extend_from_slice(tag);
        out.extend_from_slice(&self.ephemeral.encoded);
        out.extend_from_slice(&mac);
        out.extend_from_slice(&aead::encrypt(&k, 0, s.h(), payload));
        (out, ck)
    }
}

/// Alice opens a New Session Reply (garlic data, starting with the tag) with the
/// state of the New Session it answers and her static key. Returns the payload and
/// the chain key for `split()`.
pub(crate) fn open_nsr(
    sent: &NsSent,
    alice: &StaticSecret,
    data: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, Key), RatchetError> {
    if data.len() < NSR_OVERHEAD {
        return Err(RatchetError::Garlic(crate::Error::malformed(
            "New Session Reply",
            "shorter than 72 bytes",
        )));
    }
    let (tag, rest) = data.split_at(TAG_LEN);
    let (enc, rest) = rest.split_at(KEY_LEN);
    let (mac, ct) = rest.split_at(aead::TAG_LEN);
    let tag: [u8; TAG_LEN] = tag
        .try_into()
        .map_err(|_| RatchetError::BadRepresentative)?;
    let enc: [u8; 32] = enc
        .try_into()
        .map_err(|_| RatchetError::BadRepresentative)?;
    let bepk = elligator2::decode(&enc).ok_or(RatchetError::BadRepresentative)?;
    let ee = dh(&sent.ephemeral, &bepk)?;
    let se = dh(alice, &bepk)?;
    let mut s = sent.state.clone();
    s.mix_hash(&tag);
    s.mix_hash(&bepk);
    s.mix_key(ee.as_ref());
    s.mix_key(se.as_ref());
    s.decrypt_and_hash(mac)
        .map_err(|_| RatchetError::Auth(RatchetPath::NewSessionReply))?;
    let ck = Zeroizing::new(*s.ck());
    let (_, _, k) = split(&ck);
    let payload = aead::decrypt(&k, 0, s.h(), ct)
        .map_err(|_| RatchetError::Auth(RatchetPath::NewSessionReply))?;
    Ok((Zeroizing::new(payload), ck))
}

/// Builds an Existing Session message: `tag || ENCRYPT(k, n, payload, ad = tag)`.
pub(crate) fn seal_existing(
    tag: &[u8; TAG_LEN],
    n: u16,
    key: &[u8; 32],
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(ES_OVERHEAD + payload.len());
    out.extend_from_slice(tag);
    out.extend_from_slice(&aead::encrypt(key, u64::from(n), tag, payload));
    out
}

/// Opens an Existing Session message whose tag has index `n` and key `key`.
pub(crate) fn open_existing(
    n: u16,
    key: &[u8; 32],
    data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
    if data.len() < ES_OVERHEAD {
        return Err(RatchetError::Garlic(crate::Error::malformed(
            "Existing Session",
            "shorter than tag and MAC",
        )));
    }
    let (tag, ct) = data.split_at(TAG_LEN);
    aead::decrypt(key, u64::from(n), tag, ct)
        .map(Zeroizing::new)
        .map_err(|_| RatchetError::Auth(RatchetPath::ExistingSession))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::ratchet::kdf::initial_state;
    use crate::ratchet::tagset::{ReceiveTagSet, SendTagSet};

    #[test]
    fn bound_handshake_both_sides_agree() {
        let (alice, bob) = (StaticSecret::random(), StaticSecret::random());
        let bpk = bob.public_key();
        let (ns, sent) =
            seal_new_session(Ephemeral::generate().unwrap(), &bpk, Some(&alice), b"hello").unwrap();
        assert_eq!(ns.len(), NS_OVERHEAD + 5);
        let sent = sent.unwrap();
        let got = open_new_session(&bob, &initial_state(&bpk), &ns).unwrap();
        assert_eq!(got.alice, Some(alice.public_key()));
        assert_eq!(&got.payload[..], b"hello");
        assert_eq!(got.state.h(), sent.state.h());
        assert_eq!(got.state.ck(), sent.state.ck());

        // Two replies with consecutive reply tags: same split, both readable.
        let mut nsr_tags = SendTagSet::new(0, &crate::ratchet::kdf::nsr_tagset(got.state.ck()));
        let reply = NsrSender::new(got.state.clone(), &got.aepk, &alice.public_key()).unwrap();
        let t0 = nsr_tags.next_tag().unwrap();
        let t1 = nsr_tags.next_tag().unwrap();
        let (r0, ck_b) = reply.seal(&t0, b"reply0");
        let (r1, _) = reply.seal(&t1, b"reply1");
        assert_eq!(r0.len(), NSR_OVERHEAD + 6);
        let mut alice_nsr = ReceiveTagSet::new(0, &sent.nsr_tagset());
        let tags = alice_nsr.extend(2);
        assert_eq!(tags[0].0, t0);
        assert_eq!(tags[1].0, t1);
        let (p1, ck_a1) = open_nsr(&sent, &alice, &r1).unwrap();
        let (p0, ck_a0) = open_nsr(&sent, &alice, &r0).unwrap();
        assert_eq!((&p0[..], &p1[..]), (&b"reply0"[..], &b"reply1"[..]));
        assert_eq!(*ck_a0, *ck_b);
        assert_eq!(*ck_a1, *ck_b);

        // Tampering anywhere fails.
        for i in [0, 9, 40, 60, r0.len() - 1] {
            let mut bad = r0.clone();
            bad[i] ^= 1;
            assert!(open_nsr(&sent, &alice, &bad).is_err(), "byte {i}");
        }
    }

    #[test]
    fn unbound_new_session_uses_nonce_one() {
        let bob = StaticSecret::random();
        let bpk = bob.public_key();
        let (ns, sent) =
            seal_new_session(Ephemeral::generate().unwrap(), &bpk, None, b"dgram").unwrap();
        assert!(sent.is_none());
        let got = open_new_session(&bob, &initial_state(&bpk), &ns).unwrap();
        assert_eq!(got.alice, None);
        assert_eq!(&got.payload[..], b"dgram");
        // Reproduce the payload encryption by hand: same k as the flags section, n = 1.
        let mut s = initial_state(&bpk);
        s.mix_hash(&got.aepk);
        s.mix_key(&*bob.diffie_hellman(&got.aepk).unwrap());
        let k = *s.k().unwrap();
        s.mix_hash(&ns[32..80]);
        assert_eq!(aead::decrypt(&k, 1, s.h(), &ns[80..]).unwrap(), b"dgram");
    }

    #[test]
    fn new_session_rejects_tampering_and_short_input() {
        let (alice, bob) = (StaticSecret::random(), StaticSecret::random());
        let bpk = bob.public_key();
        let init = initial_state(&bpk);
        let (ns, _) =
            seal_new_session(Ephemeral::generate().unwrap(), &bpk, Some(&alice), b"x").unwrap();
        for i in [0usize, 31, 32, 50, 79, 80, ns.len() - 1] {
            let mut bad = ns.clone();
            bad[i] ^= 0x01;
            assert!(open_new_session(&bob, &init, &bad).is_err(), "byte {i}");
        }
        for len in 0..NS_OVERHEAD {
            assert!(open_new_session(&bob, &init, &ns[..len]).is_err());
        }
        // Changing only the two random top bits keeps it valid.
        let mut top = ns.clone();
        top[31] ^= 0xc0;
        assert!(open_new_session(&bob, &init, &top).is_ok());
        // Wrong recipient.
        let eve = StaticSecret::random();
        assert!(open_new_session(&eve, &initial_state(&eve.public_key()), &ns).is_err());
    }

    #[test]
    fn existing_session_round_trip() {
        let key = [5u8; 32];
        let tag = [1u8; 8];
        let m = seal_existing(&tag, 7, &key, b"data");
        assert_eq!(&open_existing(7, &key, &m).unwrap()[..], b"data");
        assert!(open_existing(6, &key, &m).is_err());
        assert!(open_existing(7, &key, &m[..20]).is_err());
    }
}
