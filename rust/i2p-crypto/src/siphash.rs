//! The NTCP2 data-phase length obfuscation (ntcp2.rst, "SipHash obfuscated length"):
//! `IV[n] = SipHash-2-4(k1, k2, IV[n-1])`, mask = first two bytes of `IV[n]`.

use siphasher::sip::SipHasher24;
use std::hash::Hasher;

/// One direction's SipHash state.
#[derive(Clone)]
pub struct LengthObfuscator {
    k1: u64,
    k2: u64,
    iv: [u8; 8],
}

impl std::fmt::Debug for LengthObfuscator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LengthObfuscator(..)")
    }
}

impl LengthObfuscator {
    /// From the 32-byte `sipkeys` output of the data-phase KDF: k1 = bytes 0..8 and
    /// k2 = bytes 8..16 (little endian), IV = bytes 16..24.
    pub fn new(sipkeys: &[u8; 32]) -> Self {
        let mut k1 = [0u8; 8];
        let mut k2 = [0u8; 8];
        let mut iv = [0u8; 8];
        k1.copy_from_slice(&sipkeys[0..8]);
        k2.copy_from_slice(&sipkeys[8..16]);
        iv.copy_from_slice(&sipkeys[16..24]);
        Self {
            k1: u64::from_le_bytes(k1),
            k2: u64::from_le_bytes(k2),
            iv,
        }
    }

    /// Advances the chain and returns the next mask, to XOR with the frame length as
    /// a number before it is written big endian. The spec's note: "use the least
    /// significant two bytes" of the SipHash result, i.e. IV bytes 0 and 1 read little
    /// endian (i2pd: `htobe16buf(buf, len ^ le16toh(iv))`).
    pub fn next_mask(&mut self) -> u16 {
        let mut h = SipHasher24::new_with_keys(self.k1, self.k2);
        h.write(&self.iv);
        let v = h.finish();
        self.iv = v.to_le_bytes();
        // Truncation intended: the low 16 bits.
        (v & 0xffff) as u16
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn both_ends_agree_and_chain_advances() {
        let keys = [3u8; 32];
        let mut a = LengthObfuscator::new(&keys);
        let mut b = LengthObfuscator::new(&keys);
        let m1 = a.next_mask();
        let m2 = a.next_mask();
        assert_eq!(b.next_mask(), m1);
        assert_eq!(b.next_mask(), m2);
    }

    #[test]
    fn siphash_reference_vector() {
        // SipHash-2-4 reference (Aumasson & Bernstein, appendix A): key 00..0f,
        // message 00..07 (8 bytes) -> 0x93f5f5799a932462.
        let keys: Vec<u8> = (0u8..16).chain(0u8..8).chain([0u8; 8]).collect();
        let mut o = LengthObfuscator::new(&keys.try_into().unwrap());
        let mask = o.next_mask();
        assert_eq!(u64::from_le_bytes(o.iv), 0x93f5_f579_9a93_2462);
        assert_eq!(mask, 0x2462);
    }
}
