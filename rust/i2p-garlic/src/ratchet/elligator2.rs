//! Elligator2 for X25519 ephemeral keys (ecies.rst, "2a) Elligator2";
//! `ENCODE_ELG2`, `DECODE_ELG2`, `GENERATE_PRIVATE_ELG2`).
//!
//! Conventions, as i2pd 2.45.1 (`libi2pd/Elligator.cpp`) uses them, since the spec
//! only cites the paper:
//!
//! * Curve25519 in Montgomery form, `A = 486662`, non-square `u = 2`.
//! * Encoding a public key `x` (the u-coordinate): it has a representative iff
//!   `-2 x (x + A)` is a square. The representative is `r = sqrt(-x / (2 (x + A)))`, or
//!   `r = sqrt(-(x + A) / (2 x))` for the other ("high y") point with the same `x`;
//!   the sender picks one of the two at random. Of the two square roots, the one at
//!   most `(p - 1) / 2` is taken, so bits 254 and 255 are zero; "OR in 2 random bits to
//!   MSB": they are then filled with random bits.
//! * Decoding: clear the top two bits; a value above `(p - 1) / 2` is refused (i2pd
//!   refuses it, and no encoder produces it); `v = -A / (1 + 2 r^2)`; `x = v` if
//!   `v^3 + A v^2 + v` is a non-zero square, else `x = -v - A`.
//! * All values little endian.

use i2p_crypto::x25519::{PublicKey, StaticSecret};

use super::field::Fe;

/// The Montgomery coefficient A of Curve25519.
const A: u64 = 486_662;

/// How many random keys [`generate_keypair`] tries before giving up (each fails with
/// probability about 1/2).
const MAX_TRIES: usize = 128;

/// The representative of public key `pk`, or `None` if it has none. `high_y` picks
/// which of the two points with this u-coordinate is represented; `top_bits` (only
/// bits 7 and 6 are used) fill the two unused top bits.
pub(crate) fn encode_with(pk: &PublicKey, high_y: bool, top_bits: u8) -> Option<[u8; 32]> {
    // i2pd reads all 256 bits of the key as a number; X25519 keys we make never
    // have bit 255 set, but for the same answer on any input: 2^255 = 19 (mod p).
    let mut x = Fe::from_bytes(pk);
    if pk[31] & 0x80 != 0 {
        x = x.add(&Fe::from_u64(19));
    }
    let a = Fe::from_u64(A);
    let minus_x_a = x.add(&a).neg(); // -(x + A)
    let two = Fe::from_u64(2);
    // Representable iff u * x * (-(x + A)) is a non-zero square.
    if two.mul(&x).mul(&minus_x_a).legendre() != 1 {
        return None;
    }
    let r2 = if high_y {
        minus_x_a.mul(&x.invert())
    } else {
        x.mul(&minus_x_a.invert())
    }
    .mul(&two.invert());
    let mut r = r2.sqrt()?;
    if r.is_above_half() {
        r = r.neg();
    }
    let mut out = r.to_bytes();
    out[31] |= top_bits & 0xc0;
    Some(out)
}

/// `ENCODE_ELG2(pubkey)`: the representative of `pk` with a random choice of point and
/// random top bits, or `None` if `pk` has none (about half of all keys).
pub fn encode(pk: &PublicKey) -> Option<[u8; 32]> {
    let mut rnd = [0u8; 1];
    i2p_crypto::random_bytes(&mut rnd);
    encode_with(pk, rnd[0] & 1 == 1, rnd[0])
}

/// `DECODE_ELG2(encoded)`: the X25519 public key a representative stands for. `None`
/// for a representative above (p - 1) / 2 after masking (which no encoder sends).
pub fn decode(encoded: &[u8; 32]) -> Option<PublicKey> {
    let mut e = *encoded;
    e[31] &= 0x3f;
    let r = Fe::from_bytes(&e);
    if r.is_above_half() {
        return None;
    }
    let a = Fe::from_u64(A);
    // v = -A / (1 + 2 r^2)
    let d = Fe::ONE.add(&Fe::from_u64(2).mul(&r.square()));
    let v = a.neg().mul(&d.invert());
    // t = v^3 + A v^2 + v = v^2 (v + A) + v
    let t = v.square().mul(&v.add(&a)).add(&v);
    let x = if t.legendre() == 1 {
        v
    } else {
        v.neg().sub(&a)
    };
    Some(x.to_bytes())
}

/// `GENERATE_PRIVATE_ELG2()`: a fresh X25519 key pair whose public key has a
/// representative, with that representative ("the generator should store the result
/// of ENCODE_ELG2()"). `None` only if 128 random keys in a row had none.
pub fn generate_keypair() -> Option<(StaticSecret, PublicKey, [u8; 32])> {
    for _ in 0..MAX_TRIES {
        let sk = StaticSecret::random();
        let pk = sk.public_key();
        if let Some(enc) = encode(&pk) {
            return Some((sk, pk, enc));
        }
    }
    None
}

#[cfg(test)]
mod test {
    use super::*;

    fn h(s: &str) -> [u8; 32] {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    // Vectors of i2pd 2.45.1 tests/test-elligator.cpp (encode without randomness).
    const KEY: &str = "33951964003c940878063ccfd0348af42150ca16d2646f2c5856e8338377d880";

    #[test]
    fn i2pd_encode_vectors() {
        assert_eq!(
            encode_with(&h(KEY), false, 0).unwrap(),
            h("2820b6b241e0f68a6c4a7fee3d978228ef3ae45533cd410aa91a415331d8612d")
        );
        assert_eq!(
            encode_with(&h(KEY), true, 0).unwrap(),
            h("3cfb87c46c0b4575ca8175e0ed1c0ae9dae79db78df86997c4847b9f20b27718")
        );
        let failed = h("e6f66fdf6e230c603c5e6e59a254ea1476a13eb9511b9549846781e12e52230a");
        assert!(encode_with(&failed, false, 0).is_none());
        assert!(encode_with(&failed, true, 0).is_none());
    }

    #[test]
    fn i2pd_decode_vectors() {
        let cases = [
            (
                "e73507d38bae63992b3f57aac48c0abc14509589288457995a2b4ca3490aa207",
                "1e8afffed6bf53fe271ad572473262ded8faec68e5e67ef45ebb82eeba52604f",
            ),
            (
                "95a16019041dbefed9832048ede11928d90365f24a38aa7aef1b97e23954101b",
                "794f05ba3e3a72958022468c88981e0be5782be1e1145ce2c3c6fde16ded5363",
            ),
            (
                "f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff3f",
                "9cdb525555555555555555555555555555555555555555555555555555555555",
            ),
        ];
        for (enc, key) in cases {
            assert_eq!(decode(&h(enc)).unwrap(), h(key), "decoding {enc}");
        }
        // Both encodings of a key decode back to it, whatever the top bits.
        let key = h(cases[0].1);
        for high in [false, true] {
            for top in [0x00, 0x40, 0x80, 0xc0] {
                let e = encode_with(&key, high, top).unwrap();
                assert_eq!(e[31] & 0xc0, top);
                assert_eq!(decode(&e).unwrap(), key);
            }
        }
    }

    #[test]
    fn round_trip_for_many_random_keys() {
        let mut representable = 0;
        for _ in 0..400 {
            let pk = StaticSecret::random().public_key();
            match encode(&pk) {
                Some(e) => {
                    representable += 1;
                    assert_eq!(decode(&e).unwrap(), pk);
                }
                None => {
                    assert!(encode_with(&pk, true, 0).is_none());
                }
            }
        }
        // About half the keys have a representative.
        assert!((120..=280).contains(&representable), "{representable}");
    }

    #[test]
    fn generated_keys_agree_with_x25519() {
        for _ in 0..20 {
            let (sk, pk, enc) = generate_keypair().unwrap();
            assert_eq!(sk.public_key(), pk);
            let decoded = decode(&enc).unwrap();
            let other = StaticSecret::random();
            assert_eq!(
                *other.diffie_hellman(&decoded).unwrap(),
                *sk.diffie_hellman(&other.public_key()).unwrap()
            );
        }
    }

    #[test]
    fn representatives_above_half_are_refused() {
        // (p - 1) / 2 + 1 with the top bits masked: 2^254 - 9.
        let mut e = [0xffu8; 32];
        e[0] = 0xf7;
        e[31] = 0x3f;
        assert!(decode(&e).is_none());
        // With random top bits too.
        e[31] = 0xff;
        assert!(decode(&e).is_none());
    }
}
