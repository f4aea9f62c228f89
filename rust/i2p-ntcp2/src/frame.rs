//! Data-phase framing (ntcp2.rst, "Data Phase", "SipHash obfuscated length"):
//! `obfuscated length (2) || ChaCha20-Poly1305(k, n, ad = "", blocks) (16..=65535)`.
//!
//! [`FrameSealer`] and [`FrameOpener`] hold one direction's ChaCha key, nonce counter and
//! SipHash chain. The session uses them; they are public so that fuzz targets and tests
//! can build frames with known keys.

use i2p_crypto::aead::{self, TAG_LEN};
use i2p_crypto::siphash::LengthObfuscator;
use i2p_crypto::Zeroizing;

use crate::block::MAX_FRAME_PAYLOAD;

/// Smallest ChaChaPoly frame: the tag alone ("16 - 65535").
pub const MIN_FRAME_LEN: usize = TAG_LEN;
/// Largest ChaChaPoly frame.
pub const MAX_FRAME_LEN: usize = 65535;

/// Why a data-phase frame was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The de-obfuscated length is below 16 ("Take the same error action for an invalid
    /// length field value").
    #[error("invalid frame length {0}")]
    BadLength(usize),
    /// The Poly1305 tag did not verify.
    #[error("data phase AEAD failure")]
    Aead,
    /// The plaintext is longer than 65519 bytes.
    #[error("frame payload of {0} bytes too long")]
    TooLong(usize),
    /// The nonce counter reached 2^64 - 1, which "must never be sent".
    #[error("nonce exhausted")]
    NonceExhausted,
}

/// One direction's sending state.
pub struct FrameSealer {
    key: Zeroizing<[u8; 32]>,
    nonce: u64,
    sip: LengthObfuscator,
}

impl std::fmt::Debug for FrameSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSealer")
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

impl FrameSealer {
    /// From the direction's ChaCha key and 32-byte SipHash key material (k1, k2, IV).
    pub fn new(key: &[u8; 32], sipkeys: &[u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(*key),
            nonce: 0,
            sip: LengthObfuscator::new(sipkeys),
        }
    }

    /// Frames sent so far (the next nonce).
    pub fn frames_sent(&self) -> u64 {
        self.nonce
    }

    /// Encrypts `payload` (blocks, at most 65519 bytes) and appends length and frame
    /// to `out`.
    pub fn seal(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if payload.len() > MAX_FRAME_PAYLOAD {
            return Err(FrameError::TooLong(payload.len()));
        }
        // "Maximum value is 2**64 - 2 ... The value 2**64 - 1 must never be sent."
        if self.nonce == u64::MAX {
            return Err(FrameError::NonceExhausted);
        }
        let frame_len = payload.len() + TAG_LEN;
        let len16 = u16::try_from(frame_len).map_err(|_| FrameError::TooLong(payload.len()))?;
        let obf = len16 ^ self.sip.next_mask();
        out.reserve(2 + frame_len);
        out.extend_from_slice(&obf.to_be_bytes());
        let mut buf = Vec::with_capacity(frame_len);
        buf.extend_from_slice(payload);
        aead::encrypt_in_place(&self.key, self.nonce, &[], &mut buf);
        self.nonce += 1;
        out.extend_from_slice(&buf);
        Ok(())
    }
}

/// One direction's receiving state, a streaming decoder: feed it any chunks.
pub struct FrameOpener {
    key: Zeroizing<[u8; 32]>,
    nonce: u64,
    sip: LengthObfuscator,
    /// Bytes of the current length field or frame.
    buf: Vec<u8>,
    /// Length of the frame being read, once its length field is known.
    frame_len: Option<usize>,
}

impl std::fmt::Debug for FrameOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameOpener")
            .field("nonce", &self.nonce)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl FrameOpener {
    /// From the direction's ChaCha key and 32-byte SipHash key material.
    pub fn new(key: &[u8; 32], sipkeys: &[u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(*key),
            nonce: 0,
            sip: LengthObfuscator::new(sipkeys),
            buf: Vec::new(),
            frame_len: None,
        }
    }

    /// Frames successfully decrypted so far: "valid data frames received (current
    /// receive nonce value)".
    pub fn frames_received(&self) -> u64 {
        self.nonce
    }

    /// True if part of a frame (or its length) has been read.
    pub fn is_mid_frame(&self) -> bool {
        !self.buf.is_empty() || self.frame_len.is_some()
    }

    /// Consumes bytes from the front of `input` until one frame is complete; returns
    /// its plaintext, or `None` once `input` is used up without completing a frame.
    /// After an error the opener must not be used again.
    pub fn push(&mut self, input: &mut &[u8]) -> Option<Result<Vec<u8>, FrameError>> {
        loop {
            let want = self.frame_len.unwrap_or(2);
            let need = want.saturating_sub(self.buf.len());
            let take = need.min(input.len());
            let (head, tail) = input.split_at(take);
            self.buf.extend_from_slice(head);
            *input = tail;
            if self.buf.len() < want {
                return None;
            }
            match self.frame_len {
                None => {
                    let obf = match self.buf.as_slice() {
                        [a, b] => u16::from_be_bytes([*a, *b]),
                        _ => return Some(Err(FrameError::BadLength(self.buf.len()))),
                    };
                    self.buf.clear();
                    let len = usize::from(obf ^ self.sip.next_mask());
                    if len < MIN_FRAME_LEN {
                        return Some(Err(FrameError::BadLength(len)));
                    }
                    self.frame_len = Some(len);
                    self.buf.reserve(len);
                }
                Some(_) => {
                    self.frame_len = None;
                    let mut frame = std::mem::take(&mut self.buf);
                    if self.nonce == u64::MAX {
                        return Some(Err(FrameError::NonceExhausted));
                    }
                    let res = aead::decrypt_in_place(&self.key, self.nonce, &[], &mut frame);
                    return Some(match res {
                        Ok(()) => {
                            self.nonce += 1;
                            Ok(frame)
                        }
                        Err(_) => Err(FrameError::Aead),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn mask_matches_i2pd_formula() {
        // SipHash-2-4 reference key 00..0f and IV[0] = 00..07 give
        // IV[1] = 0x93f5f5799a932462 (Aumasson & Bernstein, appendix A). i2pd sends
        // `frameLen ^ le16toh(IV[1] bytes 0..2)` = 0x0010 ^ 0x2462 big endian.
        let keys: Vec<u8> = (0u8..16).chain(0u8..8).chain([0u8; 8]).collect();
        let keys: [u8; 32] = keys.try_into().unwrap();
        let mut s = FrameSealer::new(&[1; 32], &keys);
        let mut out = Vec::new();
        s.seal(&[], &mut out).unwrap();
        assert_eq!(&out[..2], &[0x24, 0x72]);
        assert_eq!(out.len(), 18);
    }

    #[test]
    fn seal_open_any_chunking() {
        let key = [7u8; 32];
        let sip = [9u8; 32];
        let mut s = FrameSealer::new(&key, &sip);
        let mut o = FrameOpener::new(&key, &sip);
        let mut wire = Vec::new();
        let payloads: Vec<Vec<u8>> = vec![vec![], vec![1; 10], vec![2; 3000], vec![3; 65519]];
        for p in &payloads {
            s.seal(p, &mut wire).unwrap();
        }
        for chunk in [1usize, 7, 4096] {
            let mut o2 = FrameOpener::new(&key, &sip);
            let mut got = Vec::new();
            for c in wire.chunks(chunk) {
                let mut input = c;
                while let Some(r) = o2.push(&mut input) {
                    got.push(r.unwrap());
                }
            }
            assert_eq!(got, payloads);
            assert_eq!(o2.frames_received(), 4);
        }
        let mut input = wire.as_slice();
        assert_eq!(o.push(&mut input).unwrap().unwrap(), Vec::<u8>::new());
        assert!(s.seal(&vec![0; 65520], &mut wire).is_err());
    }

    #[test]
    fn bad_tag_and_bad_length() {
        let key = [7u8; 32];
        let sip = [9u8; 32];
        let mut s = FrameSealer::new(&key, &sip);
        let mut wire = Vec::new();
        s.seal(b"hello", &mut wire).unwrap();
        let mut bad = wire.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let mut o = FrameOpener::new(&key, &sip);
        let mut input = bad.as_slice();
        assert_eq!(o.push(&mut input), Some(Err(FrameError::Aead)));
        // A length field that de-obfuscates to 5.
        let mut o = FrameOpener::new(&key, &sip);
        let mut probe = LengthObfuscator::new(&sip);
        let mask = probe.next_mask();
        let field = (5u16 ^ mask).to_be_bytes();
        let mut input = &field[..];
        assert_eq!(o.push(&mut input), Some(Err(FrameError::BadLength(5))));
    }
}
