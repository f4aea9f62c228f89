//! Arithmetic in GF(2^255 - 19), the field of Curve25519, just enough for Elligator2
//! ([`super::elligator2`]): add, subtract, multiply, exponentiate by a public exponent,
//! canonical encoding.
//!
//! Why here and not from a crate: `curve25519-dalek` keeps its field type private, and
//! the published Elligator2 crates pick other conventions (non-square, sign of the
//! root, representative masking) than I2P (i2pd `Elligator.cpp`, ecies.rst "2a)
//! Elligator2"). The arithmetic is small and tested against known values.
//!
//! Representation: five 51-bit limbs, little endian. Every operation returns limbs
//! below 2^52, so products fit in `u128` with room to spare. Exponents are public
//! constants, so `pow` runs in time independent of the base.

/// 2^51 - 1.
const MASK: u64 = (1 << 51) - 1;

/// An element of GF(2^255 - 19), not necessarily in canonical form.
#[derive(Clone, Copy)]
pub(crate) struct Fe([u64; 5]);

/// Little-endian bytes of an exponent of the form `low, 0xff * 30, high`.
const fn exponent(low: u8, high: u8) -> [u8; 32] {
    let mut e = [0xffu8; 32];
    e[0] = low;
    e[31] = high;
    e
}

/// p - 2 = 2^255 - 21: `x^(p-2) = 1/x`.
const P_MINUS_2: [u8; 32] = exponent(0xeb, 0x7f);
/// (p - 1) / 2 = 2^254 - 10: Euler's criterion, and the largest "non-negative" root.
pub(crate) const P_MINUS_1_HALF: [u8; 32] = exponent(0xf6, 0x3f);
/// (p + 3) / 8 = 2^252 - 2: square root candidate.
const P_PLUS_3_EIGHTH: [u8; 32] = exponent(0xfe, 0x0f);
/// (p - 1) / 4 = 2^253 - 5: `2^((p-1)/4) = sqrt(-1)`.
const P_MINUS_1_QUARTER: [u8; 32] = exponent(0xfb, 0x1f);

fn le64(b: &[u8; 32], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        w.copy_from_slice(s);
    }
    u64::from_le_bytes(w)
}

impl Fe {
    pub(crate) const ZERO: Fe = Fe([0; 5]);
    pub(crate) const ONE: Fe = Fe([1, 0, 0, 0, 0]);

    pub(crate) fn from_u64(v: u64) -> Fe {
        Fe([v & MASK, v >> 51, 0, 0, 0])
    }

    /// Reads 32 little-endian bytes, ignoring bit 255 (RFC 7748 decoding of u).
    pub(crate) fn from_bytes(b: &[u8; 32]) -> Fe {
        Fe([
            le64(b, 0) & MASK,
            (le64(b, 6) >> 3) & MASK,
            (le64(b, 12) >> 6) & MASK,
            (le64(b, 19) >> 1) & MASK,
            (le64(b, 24) >> 12) & MASK,
        ])
    }

    /// Carries so that every limb is below 2^51 (plus at most 19 * carry in limb 0).
    fn carry(l: [u128; 5]) -> Fe {
        let m = u128::from(MASK);
        let mut r = l;
        let mut c;
        c = r[0] >> 51;
        r[0] &= m;
        r[1] += c;
        c = r[1] >> 51;
        r[1] &= m;
        r[2] += c;
        c = r[2] >> 51;
        r[2] &= m;
        r[3] += c;
        c = r[3] >> 51;
        r[3] &= m;
        r[4] += c;
        c = r[4] >> 51;
        r[4] &= m;
        r[0] += c * 19;
        c = r[0] >> 51;
        r[0] &= m;
        r[1] += c;
        // Every value now fits in 52 bits.
        let t = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
        Fe([t(r[0]), t(r[1]), t(r[2]), t(r[3]), t(r[4])])
    }

    fn wide(&self) -> [u128; 5] {
        self.0.map(u128::from)
    }

    pub(crate) fn add(&self, o: &Fe) -> Fe {
        let (a, b) = (self.wide(), o.wide());
        Fe::carry([
            a[0] + b[0],
            a[1] + b[1],
            a[2] + b[2],
            a[3] + b[3],
            a[4] + b[4],
        ])
    }

    pub(crate) fn sub(&self, o: &Fe) -> Fe {
        // a + 4p - b: 4p's limbs exceed any limb of `o` (< 2^52).
        let (a, b) = (self.wide(), o.wide());
        let p0 = 4 * (u128::from(MASK) - 18);
        let pi = 4 * u128::from(MASK);
        Fe::carry([
            a[0] + p0 - b[0],
            a[1] + pi - b[1],
            a[2] + pi - b[2],
            a[3] + pi - b[3],
            a[4] + pi - b[4],
        ])
    }

    pub(crate) fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    pub(crate) fn mul(&self, o: &Fe) -> Fe {
        let (a, b) = (self.wide(), o.wide());
        let (b1, b2, b3, b4) = (b[1] * 19, b[2] * 19, b[3] * 19, b[4] * 19);
        Fe::carry([
            a[0] * b[0] + a[1] * b4 + a[2] * b3 + a[3] * b2 + a[4] * b1,
            a[0] * b[1] + a[1] * b[0] + a[2] * b4 + a[3] * b3 + a[4] * b2,
            a[0] * b[2] + a[1] * b[1] + a[2] * b[0] + a[3] * b4 + a[4] * b3,
            a[0] * b[3] + a[1] * b[2] + a[2] * b[1] + a[3] * b[0] + a[4] * b4,
            a[0] * b[4] + a[1] * b[3] + a[2] * b[2] + a[3] * b[1] + a[4] * b[0],
        ])
    }

    pub(crate) fn square(&self) -> Fe {
        self.mul(self)
    }

    /// `self^e` for a public exponent `e` (little-endian bytes).
    pub(crate) fn pow(&self, e: &[u8; 32]) -> Fe {
        let mut r = Fe::ONE;
        for byte in e.iter().rev() {
            for bit in (0..8).rev() {
                r = r.square();
                if (byte >> bit) & 1 == 1 {
                    r = r.mul(self);
                }
            }
        }
        r
    }

    /// `1 / self` (0 for 0).
    pub(crate) fn invert(&self) -> Fe {
        self.pow(&P_MINUS_2)
    }

    /// The canonical little-endian encoding (value below p, bit 255 clear).
    pub(crate) fn to_bytes(self) -> [u8; 32] {
        // Two carries bring every limb below 2^51 and the value below 2^255 + small.
        let h = Fe::carry(Fe::carry(self.wide()).wide()).0;
        // q = 1 iff h >= p: h + 19 overflows 2^255.
        let mut q = (h[0] + 19) >> 51;
        q = (h[1] + q) >> 51;
        q = (h[2] + q) >> 51;
        q = (h[3] + q) >> 51;
        q = (h[4] + q) >> 51;
        let mut l = [h[0] + 19 * q, h[1], h[2], h[3], h[4]];
        for i in 0..4 {
            let c = l[i] >> 51;
            l[i] &= MASK;
            l[i + 1] += c;
        }
        l[4] &= MASK;
        let mut out = [0u8; 32];
        let mut acc: u128 = 0;
        let mut bits = 0u32;
        let mut idx = 0usize;
        for limb in l {
            acc |= u128::from(limb) << bits;
            bits += 51;
            while bits >= 8 {
                if let Some(o) = out.get_mut(idx) {
                    *o = (acc & 0xff) as u8;
                }
                acc >>= 8;
                bits -= 8;
                idx += 1;
            }
        }
        if let Some(o) = out.get_mut(idx) {
            *o = (acc & 0xff) as u8;
        }
        out
    }

    pub(crate) fn ct_eq(&self, o: &Fe) -> bool {
        i2p_crypto::ct_eq(&self.to_bytes(), &o.to_bytes())
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.ct_eq(&Fe::ZERO)
    }

    /// Legendre symbol: 1 for a non-zero square, -1 for a non-square, 0 for zero.
    pub(crate) fn legendre(&self) -> i8 {
        let r = self.pow(&P_MINUS_1_HALF);
        if r.is_zero() {
            0
        } else if r.ct_eq(&Fe::ONE) {
            1
        } else {
            -1
        }
    }

    /// sqrt(-1) = 2^((p-1)/4).
    pub(crate) fn sqrt_m1() -> Fe {
        Fe::from_u64(2).pow(&P_MINUS_1_QUARTER)
    }

    /// A square root of `self`, if it is a square: the candidate `x^((p+3)/8)`, times
    /// sqrt(-1) when its square is `-x`.
    pub(crate) fn sqrt(&self) -> Option<Fe> {
        let mut r = self.pow(&P_PLUS_3_EIGHTH);
        if !r.square().ct_eq(self) {
            r = r.mul(&Fe::sqrt_m1());
        }
        r.square().ct_eq(self).then_some(r)
    }

    /// True if the canonical value is above (p - 1) / 2 ("negative" in i2pd's
    /// Elligator2, which always sends the root at most (p - 1) / 2).
    pub(crate) fn is_above_half(&self) -> bool {
        let b = self.to_bytes();
        // Compare as little-endian integers, most significant byte first.
        for (x, y) in b.iter().rev().zip(P_MINUS_1_HALF.iter().rev()) {
            if x != y {
                return x > y;
            }
        }
        false
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn fe(hex_le: &str) -> Fe {
        Fe::from_bytes(&hex::decode(hex_le).unwrap().try_into().unwrap())
    }

    #[test]
    fn p_encodes_as_zero_and_p_minus_1_round_trips() {
        let p = exponent(0xed, 0x7f);
        assert_eq!(Fe::from_bytes(&p).to_bytes(), [0u8; 32]);
        let pm1 = exponent(0xec, 0x7f);
        assert_eq!(Fe::from_bytes(&pm1).to_bytes(), pm1);
        assert!(Fe::ONE.neg().ct_eq(&Fe::from_bytes(&pm1)));
        // 2^255 - 1 (all ones with bit 255 dropped) reduces to 18.
        let mut all = [0xffu8; 32];
        all[31] = 0x7f;
        assert_eq!(Fe::from_bytes(&all).to_bytes()[0], 18);
    }

    #[test]
    fn sqrt_m1_is_the_known_constant() {
        // RFC 7748 / ed25519 constant, little endian.
        let want = fe("b0a00e4a271beec478e42fad0618432fa7d7fb3d99004d2b0bdfc14f8024832b");
        assert!(Fe::sqrt_m1().ct_eq(&want));
        assert!(Fe::sqrt_m1().square().ct_eq(&Fe::ONE.neg()));
    }

    #[test]
    fn field_laws_on_random_values() {
        for _ in 0..200 {
            let mut a = [0u8; 32];
            let mut b = [0u8; 32];
            i2p_crypto::random_bytes(&mut a);
            i2p_crypto::random_bytes(&mut b);
            let (x, y) = (Fe::from_bytes(&a), Fe::from_bytes(&b));
            assert!(x.add(&y).sub(&y).ct_eq(&x));
            assert!(x.mul(&y).ct_eq(&y.mul(&x)));
            if !x.is_zero() {
                assert!(x.mul(&x.invert()).ct_eq(&Fe::ONE));
            }
            let s = x.square();
            let r = s.sqrt().unwrap();
            assert!(r.ct_eq(&x) || r.ct_eq(&x.neg()));
            assert_eq!(s.legendre(), 1);
            // 2 is a non-square mod p.
            assert_eq!(s.mul(&Fe::from_u64(2)).legendre(), -1);
            assert!(s.mul(&Fe::from_u64(2)).sqrt().is_none());
            // Canonical bytes are below p and re-read to the same value.
            let enc = x.to_bytes();
            assert!(enc[31] < 0x80);
            assert_eq!(Fe::from_bytes(&enc).to_bytes(), enc);
        }
    }
}
