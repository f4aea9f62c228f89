//! The key derivations of ecies.rst, by their spec names: the initial Noise state
//! ("KDF for Initial ChainKey"), `DH_INITIALIZE` ("DH INITIALIZATION KDF"), the reply
//! tag set key ("KDF for Reply TagSet"), `split()` and "AttachPayloadKDF" ("KDF for
//! Payload Section Encrypted Contents"), the DH ratchet tag set key ("DH RATCHET
//! KDF"), `RATCHET_TAG()` ("4b) Session Tag Ratchet") and `RATCHET_KEY()` ("4c)
//! Symmetric Key Ratchet").
//!
//! `HKDF(salt, ikm, info, 64)` is [`i2p_crypto::hash::hkdf2`]`(salt, ikm, info)`;
//! `HKDF(.., 32)` is its first output. Labels and argument order checked against i2pd
//! 2.45.1 (`RatchetTagSet::DHInitialize`, `NextSessionTagRatchet`,
//! `GetNextSessionTag`, `GetSymmKey`).

use i2p_crypto::hash::hkdf2;
use i2p_crypto::noise::SymmetricState;
use i2p_crypto::x25519::PublicKey;
use i2p_crypto::Zeroizing;

/// "Set protocol_name = "Noise_IKelg2+hs2_25519_ChaChaPoly_SHA256" (40 bytes, US-ASCII
/// encoded, no NULL termination)."
pub const PROTOCOL_NAME: &[u8] = b"Noise_IKelg2+hs2_25519_ChaChaPoly_SHA256";

/// Length of a session tag.
pub(crate) const TAG_LEN: usize = 8;

/// A 32-byte secret, zeroized on drop.
pub(crate) type Key = Zeroizing<[u8; 32]>;

/// The New Session state up to `MixHash(bpk)`: `h = SHA256(protocol_name)`,
/// `ck = h`, `h = SHA256(h)` ("MixHash(null prologue)"), `h = SHA256(h || bpk)`.
/// "Can all be precalculated by Bob for all incoming connections."
pub(crate) fn initial_state(bob_static: &PublicKey) -> SymmetricState {
    let mut s = SymmetricState::new(PROTOCOL_NAME);
    s.mix_hash(&[]);
    s.mix_hash(bob_static);
    s
}

/// The output of `DH_INITIALIZE(rootKey, k)`.
pub(crate) struct TagSetKeys {
    /// "nextRootKey = keydata\[0:31\]": input of the next DH ratchet in this direction.
    pub(crate) next_root_key: Key,
    /// "sessTag_ck = keydata\[0:31\]".
    pub(crate) sess_tag_ck: Key,
    /// "symmKey_ck = keydata\[32:63\]".
    pub(crate) symm_key_ck: Key,
}

/// `DH_INITIALIZE(rootKey, k)`:
/// `keydata = HKDF(rootKey, k, "KDFDHRatchetStep", 64)`; `nextRootKey = keydata[0:31]`;
/// `ck = keydata[32:63]`; `[sessTag_ck, symmKey_ck] = HKDF(ck, ZEROLEN,
/// "TagAndKeyGenKeys", 64)`.
pub(crate) fn dh_initialize(root_key: &[u8; 32], k: &[u8; 32]) -> TagSetKeys {
    let (next_root, ck) = hkdf2(root_key, k, b"KDFDHRatchetStep");
    let ck = Zeroizing::new(ck);
    let (st, sk) = hkdf2(ck.as_ref(), &[], b"TagAndKeyGenKeys");
    TagSetKeys {
        next_root_key: Zeroizing::new(next_root),
        sess_tag_ck: Zeroizing::new(st),
        symm_key_ck: Zeroizing::new(sk),
    }
}

/// "tagsetKey = HKDF(chainKey, ZEROLEN, "SessionReplyTags", 32)"; then
/// `tagset_nsr = DH_INITIALIZE(chainKey, tagsetKey)`.
pub(crate) fn nsr_tagset(chain_key: &[u8; 32]) -> TagSetKeys {
    let key = Zeroizing::new(hkdf2(chain_key, &[], b"SessionReplyTags").0);
    dh_initialize(chain_key, &key)
}

/// `split()` after the New Session Reply key section: `keydata = HKDF(chainKey,
/// ZEROLEN, "", 64)`, `k_ab = keydata[0:31]`, `k_ba = keydata[32:63]`; returns
/// `(tagset_ab, tagset_ba, k)` with `tagset_xy = DH_INITIALIZE(chainKey, k_xy)` and
/// the NSR payload key `k = HKDF(k_ba, ZEROLEN, "AttachPayloadKDF", 32)`.
pub(crate) fn split(chain_key: &[u8; 32]) -> (TagSetKeys, TagSetKeys, Key) {
    let (k_ab, k_ba) = hkdf2(chain_key, &[], &[]);
    let (k_ab, k_ba) = (Zeroizing::new(k_ab), Zeroizing::new(k_ba));
    let payload_key = Zeroizing::new(hkdf2(k_ba.as_ref(), &[], b"AttachPayloadKDF").0);
    (
        dh_initialize(chain_key, &k_ab),
        dh_initialize(chain_key, &k_ba),
        payload_key,
    )
}

/// "tagsetKey = HKDF(sharedSecret, ZEROLEN, "XDHRatchetTagSet", 32)".
pub(crate) fn dh_ratchet_tagset_key(shared_secret: &[u8; 32]) -> Key {
    Zeroizing::new(hkdf2(shared_secret, &[], b"XDHRatchetTagSet").0)
}

/// `RATCHET_TAG()`: the session tag ratchet of one tag set.
pub(crate) struct TagRatchet {
    chain_key: Key,
    constant: Key,
    /// Index of the next tag.
    next_index: u32,
}

impl TagRatchet {
    /// Largest number of tags of a tag set. The spec allows indices up to 65535;
    /// i2pd 2.45.1 generates at most 65534 (indices 0 to 65533), so we stay there.
    pub(crate) const MAX_TAGS: u32 = 65534;

    /// "keydata = HKDF(sessTag_ck, ZEROLEN, "STInitialization", 64)";
    /// `sessTag_chainKey = keydata[0:31]`, `SESSTAG_CONSTANT = keydata[32:63]`.
    pub(crate) fn new(sess_tag_ck: &[u8; 32]) -> Self {
        let (ck, constant) = hkdf2(sess_tag_ck, &[], b"STInitialization");
        TagRatchet {
            chain_key: Zeroizing::new(ck),
            constant: Zeroizing::new(constant),
            next_index: 0,
        }
    }

    /// The index the next call to [`TagRatchet::next`] gives.
    pub(crate) fn next_index(&self) -> u32 {
        self.next_index
    }

    /// `keydata_n = HKDF(sessTag_chainKey_(n-1), SESSTAG_CONSTANT, "SessionTagKeyGen",
    /// 64)`; `tag_n = keydata_n[32:39]`. `None` once the tag set is used up.
    pub(crate) fn next(&mut self) -> Option<(u16, [u8; TAG_LEN])> {
        if self.next_index >= Self::MAX_TAGS {
            return None;
        }
        let index = u16::try_from(self.next_index).ok()?;
        let (ck, out) = hkdf2(
            self.chain_key.as_ref(),
            self.constant.as_ref(),
            b"SessionTagKeyGen",
        );
        let out = Zeroizing::new(out);
        *self.chain_key = ck;
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(out.get(..TAG_LEN)?);
        self.next_index += 1;
        Some((index, tag))
    }
}

/// `RATCHET_KEY()`: the symmetric key ratchet of one tag set.
pub(crate) struct KeyRatchet {
    chain_key: Key,
    next_index: u32,
}

impl KeyRatchet {
    pub(crate) fn new(symm_key_ck: &[u8; 32]) -> Self {
        KeyRatchet {
            chain_key: Zeroizing::new(*symm_key_ck),
            next_index: 0,
        }
    }

    pub(crate) fn next_index(&self) -> u32 {
        self.next_index
    }

    /// `keydata_n = HKDF(symmKey_chainKey_(n-1), ZEROLEN, "SymmetricRatchet", 64)`;
    /// `k_n = keydata_n[32:63]` (the first input is `symmKey_ck`).
    pub(crate) fn next(&mut self) -> (u32, Key) {
        let (ck, k) = hkdf2(self.chain_key.as_ref(), &[], b"SymmetricRatchet");
        *self.chain_key = ck;
        let index = self.next_index;
        self.next_index += 1;
        (index, Zeroizing::new(k))
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_crypto::hash::sha256;

    #[test]
    fn initial_state_matches_i2pd_constants() {
        // i2pd 2.45.1 Crypto.cpp InitNoiseIKState: SHA256(protocol_name) and its hash.
        assert_eq!(PROTOCOL_NAME.len(), 40);
        assert_eq!(
            hex::encode(sha256(PROTOCOL_NAME)),
            "4caf11ef2c8e36564c53e88885064dbaacbe0054ad178f8079a646827e6ee40c"
        );
        let s = SymmetricState::new(PROTOCOL_NAME);
        assert_eq!(hex::encode(s.ck()), hex::encode(sha256(PROTOCOL_NAME)));
        let mut s2 = s.clone();
        s2.mix_hash(&[]);
        assert_eq!(
            hex::encode(s2.h()),
            "9ccf852cc93bb9504441e950e01d52322e0d47add1e9a555f755b569ae183b5c"
        );
        let bpk = [7u8; 32];
        assert_eq!(
            initial_state(&bpk).h(),
            &i2p_crypto::hash::sha256_parts(&[s2.h(), &bpk])
        );
    }

    #[test]
    fn tag_and_key_ratchets_follow_the_formulas() {
        let keys = dh_initialize(&[1; 32], &[2; 32]);
        let (nrk, ck) = hkdf2(&[1; 32], &[2; 32], b"KDFDHRatchetStep");
        assert_eq!(*keys.next_root_key, nrk);
        let (st, sk) = hkdf2(&ck, &[], b"TagAndKeyGenKeys");
        assert_eq!((*keys.sess_tag_ck, *keys.symm_key_ck), (st, sk));

        let mut tags = TagRatchet::new(&keys.sess_tag_ck);
        let (mut c, constant) = hkdf2(&st, &[], b"STInitialization");
        for i in 0..5u16 {
            let (ck2, out) = hkdf2(&c, &constant, b"SessionTagKeyGen");
            assert_eq!(tags.next().unwrap(), (i, out[..8].try_into().unwrap()));
            c = ck2;
        }
        let mut k = KeyRatchet::new(&keys.symm_key_ck);
        let (c0, k0) = hkdf2(&sk, &[], b"SymmetricRatchet");
        let (_, k1) = hkdf2(&c0, &[], b"SymmetricRatchet");
        assert_eq!(*k.next().1, k0);
        assert_eq!(*k.next().1, k1);
    }

    #[test]
    fn tag_ratchet_stops_at_its_maximum() {
        let mut tags = TagRatchet::new(&[3; 32]);
        tags.next_index = TagRatchet::MAX_TAGS - 1;
        assert_eq!(tags.next().unwrap().0, 65533);
        assert!(tags.next().is_none());
    }
}
