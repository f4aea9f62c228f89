//! The streaming packet (streaming.rst, "Packet Format" and "Flags and Option Data
//! Fields"): parsing, writing, signing and verification.
//!
//! Wire layout (all integers big endian):
//!
//! | offset      | size      | field                                   |
//! |-------------|-----------|-----------------------------------------|
//! | 0           | 4         | sendStreamId                            |
//! | 4           | 4         | receiveStreamId                         |
//! | 8           | 4         | sequenceNum                             |
//! | 12          | 4         | ackThrough                              |
//! | 16          | 1         | NACK count `nc`                         |
//! | 17          | 4 * nc    | NACKs                                   |
//! | 17 + 4nc    | 1         | resendDelay                             |
//! | 18 + 4nc    | 2         | flags                                   |
//! | 20 + 4nc    | 2         | option size `os`                        |
//! | 22 + 4nc    | os        | option data, in the order below         |
//! | 22 + 4nc+os | rest      | payload                                 |
//!
//! Options, each present only if its flag is set, in the spec's "Option Order":
//! 1. DELAY_REQUESTED: 2-byte delay (ms);
//! 2. FROM_INCLUDED: the sender's Destination (387+ bytes);
//! 3. MAX_PACKET_SIZE_INCLUDED: 2-byte maximum payload length;
//! 4. OFFLINE_SIGNATURE: an OfflineSig (expires, transient type, transient key,
//!    signature by the destination);
//! 5. SIGNATURE_INCLUDED: the packet signature.
//!
//! Bytes of the option data after the last option a flag announces are kept in
//! [`Packet::extra_option_data`] ("If more option fields are defined in the future,
//! they must be accounted for"), so every parsed packet writes back byte for byte.

use i2p_crypto::ed25519::{SigningKey, VerifyingKey};
use i2p_wire::identity::{Destination, SigningKeyType};
use i2p_wire::{Hash, Reader, Writeable};

use crate::error::{Error, Result};
use crate::flags::Flags;

/// "The minimum header size, without NACKs or option data, is 22 bytes."
pub const MIN_HEADER_LEN: usize = 22;

/// Length of an EdDSA_SHA512_Ed25519 (type 7) signature, the one this crate signs.
pub const ED25519_SIGNATURE_LEN: usize = 64;

/// NACK count used with SYNCHRONIZE for replay prevention (streaming.rst, "Replay
/// prevention"): the 8 NACKs carry the 32-byte hash of the receiving destination.
pub const REPLAY_PREVENTION_NACK_COUNT: usize = 8;

/// The OFFLINE_SIGNATURE option (streaming.rst, bit 11; common-structures.rst,
/// "OfflineSignature"): the destination's key signs a transient key, which then
/// signs the packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSignature {
    /// Expiry, seconds since the epoch ("rolls over in 2106").
    pub expires: u32,
    /// Type of the transient signing key; it also gives the packet signature's length.
    pub transient_type: SigningKeyType,
    /// The transient signing public key, of the length its type implies.
    pub transient_key: Vec<u8>,
    /// Signature of `expires || transient_type || transient_key` by the destination's
    /// key, of the length the destination's signature type implies.
    pub signature: Vec<u8>,
}

impl OfflineSignature {
    /// The bytes the destination signs: expires, transient type, transient key.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(6 + self.transient_key.len());
        out.extend_from_slice(&self.expires.to_be_bytes());
        out.extend_from_slice(&self.transient_type.0.to_be_bytes());
        out.extend_from_slice(&self.transient_key);
        out
    }

    /// True if the offline signature has expired at `now` (seconds since the epoch).
    /// [`Packet::verify`] checks signatures only; callers check this with their clock.
    pub fn is_expired(&self, now_unix_secs: u64) -> bool {
        u64::from(self.expires) <= now_unix_secs
    }

    /// Wire length of this option.
    fn wire_len(&self) -> usize {
        6 + self.transient_key.len() + self.signature.len()
    }
}

/// One streaming packet, every field of streaming.rst's "Packet Format" in order.
///
/// Options are represented by their values (`Option<_>`); the option-bearing flag
/// bits ([`Flags::OPTION_BITS`]) written on the wire follow which options are
/// present, whatever [`flags`](Self::flags) says (see [`wire_flags`](Self::wire_flags)).
/// A parsed packet always has them in agreement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    /// sendStreamId: the recipient's stream ID; 0 in the originator's SYN.
    pub send_stream_id: u32,
    /// receiveStreamId: the sender's stream ID; may be 0 if unknown (e.g. RESET).
    pub receive_stream_id: u32,
    /// sequenceNum: 0 in the SYN; 0 without SYNCHRONIZE means a plain ACK.
    pub sequence_num: u32,
    /// ackThrough: highest sequence number received (ignored with NO_ACK).
    pub ack_through: u32,
    /// NACKs: sequence numbers below ackThrough not yet received; at most 255
    /// (the count is one byte). With SYNCHRONIZE and 8 entries: a destination hash,
    /// see [`replay_hash`](Self::replay_hash).
    pub nacks: Vec<u32>,
    /// resendDelay: seconds the sender waits before resending ("Currently ignored
    /// on receive").
    pub resend_delay: u8,
    /// The flags field as received or as set by the caller.
    pub flags: Flags,
    /// DELAY_REQUESTED option: milliseconds; > 60000 means choking, 0 requests an
    /// immediate ack.
    pub delay: Option<u16>,
    /// FROM_INCLUDED option: the sender's Destination.
    pub from: Option<Destination>,
    /// MAX_PACKET_SIZE_INCLUDED option: "The maximum length of the payload."
    pub max_packet_size: Option<u16>,
    /// OFFLINE_SIGNATURE option.
    pub offline_signature: Option<OfflineSignature>,
    /// SIGNATURE_INCLUDED option: the raw signature bytes.
    pub signature: Option<Vec<u8>>,
    /// Option data after the last option announced by the flags (normally empty).
    pub extra_option_data: Vec<u8>,
    /// The payload: everything after the option data.
    pub payload: Vec<u8>,
}

/// A bounds-checked cursor; every read names its field for the error.
struct Cursor<'a> {
    buf: &'a [u8],
    in_options: bool,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        if n > self.buf.len() {
            let needed = n - self.buf.len();
            return Err(if self.in_options {
                Error::OptionsTruncated { field, needed }
            } else {
                Error::Truncated { field, needed }
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array(field)?))
    }

    fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }
}

fn sig_len(sig_type: SigningKeyType, field: &'static str) -> Result<usize> {
    sig_type.signature_len().ok_or(Error::UnknownSignatureType {
        field,
        sig_type: sig_type.0,
    })
}

fn key_len(sig_type: SigningKeyType, field: &'static str) -> Result<usize> {
    sig_type
        .public_key_len()
        .ok_or(Error::UnknownSignatureType {
            field,
            sig_type: sig_type.0,
        })
}

impl Packet {
    /// Parses one packet (the whole of `bytes`: "There is no length field in the
    /// streaming protocol"). Total: any input gives a packet or an error.
    ///
    /// The length of a SIGNATURE_INCLUDED signature is inferred as streaming.rst,
    /// "Variable Length Signature Notes", says: from the OFFLINE_SIGNATURE transient
    /// key type if present, else from the FROM destination's signing type, else
    /// ("a stray CLOSE or RESET packet") it is all the remaining option data, since
    /// the signature is the last option. When the sender's signature type is known
    /// from an earlier SYNCHRONIZE, use [`parse_with_signature_len`](Self::parse_with_signature_len).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::parse_inner(bytes, None)
    }

    /// Like [`parse`](Self::parse), but a signature in a packet without FROM (and
    /// without an offline signature) is `signature_len` bytes long: the length
    /// implied by the signature type of the peer's destination, learned from its
    /// SYNCHRONIZE (`dest.signing_type().signature_len()`). Option bytes after it go
    /// to [`extra_option_data`](Self::extra_option_data). A FROM or offline
    /// signature in the packet itself takes precedence over `signature_len`.
    pub fn parse_with_signature_len(bytes: &[u8], signature_len: usize) -> Result<Self> {
        Self::parse_inner(bytes, Some(signature_len))
    }

    fn parse_inner(bytes: &[u8], signature_len: Option<usize>) -> Result<Self> {
        let mut c = Cursor {
            buf: bytes,
            in_options: false,
        };
        let send_stream_id = c.u32("sendStreamId")?;
        let receive_stream_id = c.u32("receiveStreamId")?;
        let sequence_num = c.u32("sequenceNum")?;
        let ack_through = c.u32("ackThrough")?;
        let nack_count = c.u8("NACK count")?;
        // At most 255 * 4 bytes, and taken from the input before any allocation.
        let nack_bytes = c.take(usize::from(nack_count) * 4, "NACKs")?;
        let nacks = nack_bytes
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let resend_delay = c.u8("resendDelay")?;
        let flags = Flags(c.u16("flags")?);
        let option_size = c.u16("option size")?;
        let remaining = c.buf.len();
        let option_data = c
            .take(usize::from(option_size), "option data")
            .map_err(|_| Error::OptionSizeTooLarge {
                option_size,
                remaining,
            })?;
        let payload = c.buf.to_vec();

        let mut o = Cursor {
            buf: option_data,
            in_options: true,
        };
        let delay = if flags.contains(Flags::DELAY_REQUESTED) {
            Some(o.u16("delay")?)
        } else {
            None
        };
        let from = if flags.contains(Flags::FROM_INCLUDED) {
            let mut r = Reader::new(o.buf);
            let dest: Destination = r.extract().map_err(Error::From)?;
            o.take(r.consumed(), "FROM destination")?;
            Some(dest)
        } else {
            None
        };
        let max_packet_size = if flags.contains(Flags::MAX_PACKET_SIZE_INCLUDED) {
            Some(o.u16("max packet size")?)
        } else {
            None
        };
        let offline_signature = if flags.contains(Flags::OFFLINE_SIGNATURE) {
            let dest_type = from
                .as_ref()
                .ok_or(Error::OfflineSignatureWithoutFrom)?
                .signing_type();
            let expires = o.u32("offline signature expires")?;
            let transient_type = SigningKeyType(o.u16("offline signature transient type")?);
            let klen = key_len(transient_type, "offline transient key")?;
            let transient_key = o.take(klen, "offline transient key")?.to_vec();
            let slen = sig_len(dest_type, "offline signature")?;
            let signature = o.take(slen, "offline signature")?.to_vec();
            Some(OfflineSignature {
                expires,
                transient_type,
                transient_key,
                signature,
            })
        } else {
            None
        };
        let signature = if flags.contains(Flags::SIGNATURE_INCLUDED) {
            let len = if let Some(off) = &offline_signature {
                sig_len(off.transient_type, "signature")?
            } else if let Some(dest) = &from {
                sig_len(dest.signing_type(), "signature")?
            } else {
                signature_len.unwrap_or(o.buf.len())
            };
            Some(o.take(len, "signature")?.to_vec())
        } else {
            None
        };
        let extra_option_data = o.buf.to_vec();

        Ok(Packet {
            send_stream_id,
            receive_stream_id,
            sequence_num,
            ack_through,
            nacks,
            resend_delay,
            flags,
            delay,
            from,
            max_packet_size,
            offline_signature,
            signature,
            extra_option_data,
            payload,
        })
    }

    /// The flags written on the wire: [`flags`](Self::flags) with the
    /// option-bearing bits set exactly for the options present.
    pub fn wire_flags(&self) -> Flags {
        let mut f = Flags(self.flags.0 & !Flags::OPTION_BITS.0);
        for (present, bit) in [
            (self.delay.is_some(), Flags::DELAY_REQUESTED),
            (self.from.is_some(), Flags::FROM_INCLUDED),
            (
                self.max_packet_size.is_some(),
                Flags::MAX_PACKET_SIZE_INCLUDED,
            ),
            (self.offline_signature.is_some(), Flags::OFFLINE_SIGNATURE),
            (self.signature.is_some(), Flags::SIGNATURE_INCLUDED),
        ] {
            if present {
                f.insert(bit);
            }
        }
        f
    }

    /// Sets [`flags`](Self::flags) to [`wire_flags`](Self::wire_flags), so the
    /// struct equals what parsing its bytes gives. [`sign`](Self::sign) does this.
    pub fn sync_flags(&mut self) {
        self.flags = self.wire_flags();
    }

    /// True for "a plain ACK packet that should not be ACKed": sequenceNum 0 and
    /// SYNCHRONIZE not set.
    pub fn is_plain_ack(&self) -> bool {
        self.sequence_num == 0 && !self.flags.contains(Flags::SYNCHRONIZE)
    }

    /// The replay-prevention destination hash of a SYNCHRONIZE packet: "if the NACK
    /// count field is 8, Bob must interpret the NACKs field as a 32-byte destination
    /// hash" (streaming.rst, "Replay prevention"). The receiver must drop the SYN if
    /// it is present and differs from its own destination hash.
    pub fn replay_hash(&self) -> Option<Hash> {
        if !self.flags.contains(Flags::SYNCHRONIZE)
            || self.nacks.len() != REPLAY_PREVENTION_NACK_COUNT
        {
            return None;
        }
        let mut h = [0u8; 32];
        for (dst, n) in h.chunks_exact_mut(4).zip(&self.nacks) {
            dst.copy_from_slice(&n.to_be_bytes());
        }
        Some(Hash(h))
    }

    /// Puts `peer`'s destination hash in the NACK field, as the originator of a
    /// SYNCHRONIZE must ("Set NACK count field to 8; Set the NACKs field to Bob's
    /// 32-byte destination hash").
    pub fn set_replay_hash(&mut self, peer: &Hash) {
        self.nacks = peer
            .as_bytes()
            .chunks_exact(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
    }

    /// The signature length the wire implies for this packet, if derivable from
    /// the packet itself (offline transient type, else FROM signing type).
    fn implied_signature_len(&self) -> Option<usize> {
        match (&self.offline_signature, &self.from) {
            (Some(off), _) => off.transient_type.signature_len(),
            (None, Some(dest)) => dest.signing_type().signature_len(),
            (None, None) => None,
        }
    }

    /// Checks that the packet can be written and parsed back: at most 255 NACKs,
    /// option data of at most 65535 bytes, offline signature and signature lengths
    /// matching their types, OFFLINE_SIGNATURE only with FROM.
    fn check_writable(&self) -> Result<usize> {
        if self.nacks.len() > usize::from(u8::MAX) {
            return Err(Error::Unwritable("more than 255 NACKs"));
        }
        if let Some(off) = &self.offline_signature {
            let dest = self
                .from
                .as_ref()
                .ok_or(Error::OfflineSignatureWithoutFrom)?;
            if off.transient_type.public_key_len() != Some(off.transient_key.len()) {
                return Err(Error::Unwritable(
                    "offline transient key length does not match its type",
                ));
            }
            if dest.signing_type().signature_len() != Some(off.signature.len()) {
                return Err(Error::Unwritable(
                    "offline signature length does not match the FROM signing type",
                ));
            }
        }
        if let (Some(sig), Some(len)) = (&self.signature, self.implied_signature_len()) {
            if sig.len() != len {
                return Err(Error::Unwritable(
                    "signature length does not match the signer's type",
                ));
            }
        }
        let option_len = self.delay.map_or(0, |_| 2)
            + self.from.as_ref().map_or(0, |d| d.wire_len())
            + self.max_packet_size.map_or(0, |_| 2)
            + self
                .offline_signature
                .as_ref()
                .map_or(0, OfflineSignature::wire_len)
            + self.signature.as_ref().map_or(0, Vec::len)
            + self.extra_option_data.len();
        if option_len > usize::from(u16::MAX) {
            return Err(Error::Unwritable("option data over 65535 bytes"));
        }
        Ok(option_len)
    }

    /// Appends the wire form to `out`; with `zero_signature` the signature field is
    /// written as zeroes (the form that is signed).
    fn write(&self, out: &mut Vec<u8>, zero_signature: bool) -> Result<()> {
        let option_len = self.check_writable()?;
        out.reserve(MIN_HEADER_LEN + self.nacks.len() * 4 + option_len + self.payload.len());
        out.extend_from_slice(&self.send_stream_id.to_be_bytes());
        out.extend_from_slice(&self.receive_stream_id.to_be_bytes());
        out.extend_from_slice(&self.sequence_num.to_be_bytes());
        out.extend_from_slice(&self.ack_through.to_be_bytes());
        // Both casts are checked in check_writable.
        out.push(u8::try_from(self.nacks.len()).map_err(|_| Error::Unwritable("NACKs"))?);
        for n in &self.nacks {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out.push(self.resend_delay);
        out.extend_from_slice(&self.wire_flags().0.to_be_bytes());
        let os = u16::try_from(option_len).map_err(|_| Error::Unwritable("option data"))?;
        out.extend_from_slice(&os.to_be_bytes());
        if let Some(d) = self.delay {
            out.extend_from_slice(&d.to_be_bytes());
        }
        if let Some(dest) = &self.from {
            dest.write_onto(out);
        }
        if let Some(m) = self.max_packet_size {
            out.extend_from_slice(&m.to_be_bytes());
        }
        if let Some(off) = &self.offline_signature {
            out.extend_from_slice(&off.signed_bytes());
            out.extend_from_slice(&off.signature);
        }
        if let Some(sig) = &self.signature {
            if zero_signature {
                out.resize(out.len() + sig.len(), 0);
            } else {
                out.extend_from_slice(sig);
            }
        }
        out.extend_from_slice(&self.extra_option_data);
        out.extend_from_slice(&self.payload);
        Ok(())
    }

    /// Appends the wire form of the packet to `out`. Errors (leaving `out` possibly
    /// partly written) if the packet cannot be represented: see [`Error::Unwritable`].
    pub fn write_onto(&self, out: &mut Vec<u8>) -> Result<()> {
        self.write(out, false)
    }

    /// The wire form of the packet. A parsed packet gives back exactly its input.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(&mut out, false)?;
        Ok(out)
    }

    /// The bytes a signature covers: "the entire header and payload with the space
    /// in the option data field for the signature being set to all zeroes".
    pub fn signed_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write(&mut out, true)?;
        Ok(out)
    }

    /// Signs the packet with `key` (EdDSA_SHA512_Ed25519), setting the signature
    /// option and [syncing the flags](Self::sync_flags). `key` is the destination's signing key,
    /// or the transient key if [`offline_signature`](Self::offline_signature) is set.
    /// Errors if FROM (or the transient key type) names another signature type.
    pub fn sign(&mut self, key: &SigningKey) -> Result<()> {
        let signer_type = match (&self.offline_signature, &self.from) {
            (Some(off), _) => Some(off.transient_type),
            (None, Some(dest)) => Some(dest.signing_type()),
            (None, None) => None,
        };
        if let Some(t) = signer_type {
            if t != SigningKeyType::EDDSA_SHA512_ED25519 {
                return Err(Error::UnsupportedSignatureType(t.0));
            }
        }
        self.signature = Some(vec![0u8; ED25519_SIGNATURE_LEN]);
        self.sync_flags();
        let signed = self.signed_bytes()?;
        self.signature = Some(key.sign(&signed).to_vec());
        Ok(())
    }

    /// Verifies the packet signature as sent by `destination`.
    ///
    /// With an offline signature, first checks the destination's signature of the
    /// transient key, then the packet signature with the transient key; the
    /// offline signature's expiry is not checked here (no clock: see
    /// [`OfflineSignature::is_expired`]). Errors with [`Error::FromMismatch`] if the
    /// packet carries a FROM that is not `destination`. Only EdDSA_SHA512_Ed25519
    /// keys are supported.
    pub fn verify(&self, destination: &Destination) -> Result<()> {
        let sig = self.signature.as_ref().ok_or(Error::NotSigned)?;
        if self.from.as_ref().is_some_and(|f| f != destination) {
            return Err(Error::FromMismatch);
        }
        let key = match &self.offline_signature {
            Some(off) => {
                destination
                    .verify(&off.signed_bytes(), &off.signature, "OfflineSignature")
                    .map_err(|e| match e {
                        i2p_wire::Error::UnsupportedSignatureType(t) => {
                            Error::UnsupportedSignatureType(t)
                        }
                        _ => Error::BadOfflineSignature,
                    })?;
                if off.transient_type != SigningKeyType::EDDSA_SHA512_ED25519 {
                    return Err(Error::UnsupportedSignatureType(off.transient_type.0));
                }
                VerifyingKey::from_bytes(&off.transient_key)
                    .map_err(|_| Error::BadOfflineSignature)?
            }
            None => destination.ed25519_verifying_key().map_err(|e| match e {
                i2p_wire::Error::UnsupportedSignatureType(t) => Error::UnsupportedSignatureType(t),
                _ => Error::BadSignature,
            })?,
        };
        let signed = self.signed_bytes()?;
        key.verify(&signed, sig).map_err(|_| Error::BadSignature)
    }

    /// Verifies the packet against its own FROM destination (a SYNCHRONIZE or
    /// ping). Errors with [`Error::NotSigned`] if there is no signature and
    /// [`Error::FromMismatch`] if there is no FROM.
    pub fn verify_from(&self) -> Result<()> {
        let from = self.from.as_ref().ok_or(Error::FromMismatch)?;
        self.verify(from)
    }

    /// Verifies the packet signature with a key learned earlier (the peer's
    /// Ed25519 key, or the transient key of the OFFLINE_SIGNATURE in its SYN): the
    /// form of CLOSE and RESET packets, which carry neither FROM nor the offline
    /// signature (i2pd keeps the transient verifier from the SYN).
    pub fn verify_with_key(&self, key: &VerifyingKey) -> Result<()> {
        let sig = self.signature.as_ref().ok_or(Error::NotSigned)?;
        let signed = self.signed_bytes()?;
        key.verify(&signed, sig).map_err(|_| Error::BadSignature)
    }
}

impl TryFrom<&[u8]> for Packet {
    type Error = Error;
    fn try_from(bytes: &[u8]) -> Result<Self> {
        Packet::parse(bytes)
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use i2p_wire::identity::{Certificate, KeysAndCert};
    use proptest::prelude::*;

    fn ed_dest(seed: u8) -> (SigningKey, Destination) {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let dest = Destination::new_ed25519(&key.verifying_key());
        (key, dest)
    }

    /// A DSA_SHA1 destination (NULL certificate): 387 bytes, 40-byte signatures.
    fn dsa_dest() -> Destination {
        KeysAndCert::from_parts([0x11; 384], Certificate::Null)
            .unwrap()
            .into()
    }

    #[test]
    fn plain_ack_layout() {
        let bytes = [
            0, 0, 0, 42, // 0: sendStreamId
            0, 0, 0, 7, // 4: receiveStreamId
            0, 0, 0, 0, // 8: sequenceNum (0 and no SYN: plain ACK)
            0, 0, 0, 5, // 12: ackThrough
            0, // 16: NACK count
            0, // 17: resendDelay
            0, 0, // 18: flags
            0, 0, // 20: option size; 22: payload (empty)
        ];
        assert_eq!(bytes.len(), MIN_HEADER_LEN);
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(
            p,
            Packet {
                send_stream_id: 42,
                receive_stream_id: 7,
                ack_through: 5,
                ..Packet::default()
            }
        );
        assert!(p.is_plain_ack());
        assert_eq!(p.to_bytes().unwrap(), bytes);
        // Every shorter prefix is a truncation error, never a panic.
        for n in 0..bytes.len() {
            assert!(matches!(
                Packet::parse(&bytes[..n]),
                Err(Error::Truncated { .. })
            ));
        }
    }

    #[test]
    fn nacks_delay_and_payload_layout() {
        let bytes = [
            0, 0, 0, 1, // 0: sendStreamId
            0, 0, 0, 2, // 4: receiveStreamId
            0, 0, 0, 9, // 8: sequenceNum
            0, 0, 0, 8, // 12: ackThrough
            2, // 16: NACK count
            0, 0, 0, 3, // 17: NACK 3
            0, 0, 0, 4, // 21: NACK 4
            3, // 25: resendDelay
            0x00, 0x40, // 26: flags = DELAY_REQUESTED
            0, 2, // 28: option size
            0x03, 0xe8, // 30: delay 1000 ms
            b'h', b'i', // 32: payload
        ];
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.nacks, vec![3, 4]);
        assert_eq!(p.resend_delay, 3);
        assert_eq!(p.flags, Flags::DELAY_REQUESTED);
        assert_eq!(p.delay, Some(1000));
        assert_eq!(p.payload, b"hi");
        assert!(!p.is_plain_ack());
        assert_eq!(p.to_bytes().unwrap(), bytes);

        // NACK count 3 claims 12 bytes where only 8 + the rest exist.
        let mut short = bytes[..24].to_vec();
        short[16] = 3;
        short.truncate(20);
        assert_eq!(
            Packet::parse(&short),
            Err(Error::Truncated {
                field: "NACKs",
                needed: 9
            })
        );
    }

    /// SYN with FROM, max packet size, signature and the replay-prevention hash,
    /// laid out by hand; the signature must cover exactly these bytes with the
    /// signature field zeroed.
    #[test]
    fn syn_with_from_max_packet_size_and_signature() {
        let (key, me) = ed_dest(1);
        let (_, peer) = ed_dest(2);
        let me_bytes = me.to_bytes();
        assert_eq!(me_bytes.len(), 391);
        let mut b = Vec::new();
        b.extend_from_slice(&[0, 0, 0, 0]); // 0: sendStreamId 0 in the first SYN
        b.extend_from_slice(&[0x12, 0x34, 0x56, 0x78]); // 4: receiveStreamId
        b.extend_from_slice(&[0, 0, 0, 0]); // 8: sequenceNum 0
        b.extend_from_slice(&[0, 0, 0, 0]); // 12: ackThrough (NO_ACK)
        b.push(8); // 16: NACK count 8: replay prevention
        b.extend_from_slice(peer.hash().as_bytes()); // 17..49: peer's hash
        b.push(5); // 49: resendDelay
        b.extend_from_slice(&[0x04, 0xa9]); // 50: SYN|SIG|FROM|MPS|NO_ACK
        b.extend_from_slice(&457u16.to_be_bytes()); // 52: 391 + 2 + 64
        b.extend_from_slice(&me_bytes); // 54..445: FROM
        b.extend_from_slice(&[0x06, 0xc2]); // 445: max packet size 1730
        b.extend_from_slice(&[0; 64]); // 447..511: signature, zeroed
        b.extend_from_slice(b"hello"); // 511: payload
        assert_eq!(b.len(), 516);

        let mut p = Packet::parse(&b).unwrap();
        assert_eq!(
            p.flags,
            Flags::SYNCHRONIZE
                | Flags::SIGNATURE_INCLUDED
                | Flags::FROM_INCLUDED
                | Flags::MAX_PACKET_SIZE_INCLUDED
                | Flags::NO_ACK
        );
        assert_eq!(p.receive_stream_id, 0x1234_5678);
        assert_eq!(p.from.as_ref(), Some(&me));
        assert_eq!(p.max_packet_size, Some(1730));
        assert_eq!(p.signature.as_deref(), Some(&[0u8; 64][..]));
        assert_eq!(p.replay_hash(), Some(peer.hash()));
        assert_eq!(p.payload, b"hello");
        assert_eq!(p.to_bytes().unwrap(), b);
        assert_eq!(p.signed_bytes().unwrap(), b);

        p.sign(&key).unwrap();
        let sig = key.sign(&b);
        b[447..511].copy_from_slice(&sig);
        assert_eq!(p.to_bytes().unwrap(), b);
        let back = Packet::parse(&b).unwrap();
        back.verify(&me).unwrap();
        back.verify_from().unwrap();
        assert_eq!(back.verify(&peer), Err(Error::FromMismatch));

        // Tampering anywhere (header, NACKs, options, payload) breaks it.
        for off in [5, 20, 49, 446, 512] {
            let mut t = b.clone();
            t[off] ^= 1;
            let tp = Packet::parse(&t).unwrap();
            assert_eq!(tp.verify(&me), Err(Error::BadSignature), "offset {off}");
        }
        // So does another key.
        let mut forged = back.clone();
        forged.sign(&SigningKey::from_bytes(&[9; 32])).unwrap();
        assert_eq!(forged.verify(&me), Err(Error::BadSignature));
    }

    #[test]
    fn set_replay_hash_round_trips() {
        let (_, peer) = ed_dest(3);
        let mut p = Packet {
            flags: Flags::SYNCHRONIZE,
            ..Packet::default()
        };
        p.set_replay_hash(&peer.hash());
        assert_eq!(p.nacks.len(), REPLAY_PREVENTION_NACK_COUNT);
        let back = Packet::parse(&p.to_bytes().unwrap()).unwrap();
        assert_eq!(back.replay_hash(), Some(peer.hash()));
        // Not a SYN: the NACKs are NACKs.
        let mut ack = back.clone();
        ack.flags = Flags::default();
        assert_eq!(ack.replay_hash(), None);
    }

    #[test]
    fn close_without_from_signature_takes_remaining_options() {
        let (key, me) = ed_dest(4);
        let mut p = Packet {
            send_stream_id: 1,
            receive_stream_id: 2,
            sequence_num: 3,
            ack_through: 2,
            flags: Flags::CLOSE,
            ..Packet::default()
        };
        p.sign(&key).unwrap();
        let b = p.to_bytes().unwrap();
        // 18: flags CLOSE|SIGNATURE_INCLUDED; 20: option size 64; 22..86: signature.
        assert_eq!(&b[18..22], &[0x00, 0x0a, 0, 64]);
        assert_eq!(b.len(), 86);
        let mut zeroed = b.clone();
        zeroed[22..86].fill(0);
        assert_eq!(&b[22..86], &key.sign(&zeroed)[..]);
        let back = Packet::parse(&b).unwrap();
        assert_eq!(back, p);
        back.verify(&me).unwrap();
        assert_eq!(Packet::parse_with_signature_len(&b, 64).unwrap(), back);
        let (_, other) = ed_dest(5);
        assert_eq!(back.verify(&other), Err(Error::BadSignature));
    }

    #[test]
    fn reset_with_caller_signature_len_keeps_extra_options() {
        let mut b = vec![0u8; 22];
        b[4..8].copy_from_slice(&[0, 0, 0, 0]); // receiveStreamId 0: unknown
        b[18..20].copy_from_slice(&[0x00, 0x0c]); // RESET|SIGNATURE_INCLUDED
        b[20..22].copy_from_slice(&[0, 64]); // option size 64
        b.extend((0..64).map(|i| i as u8)); // 22..86: 40-byte signature + 24 extra
        let p = Packet::parse_with_signature_len(&b, 40).unwrap();
        assert!(p.flags.contains(Flags::RESET));
        assert_eq!(p.signature.as_ref().unwrap().len(), 40);
        assert_eq!(p.extra_option_data, (40..64).collect::<Vec<u8>>());
        assert_eq!(p.to_bytes().unwrap(), b);
        // A caller length longer than the option data is a typed error.
        assert_eq!(
            Packet::parse_with_signature_len(&b, 65),
            Err(Error::OptionsTruncated {
                field: "signature",
                needed: 1
            })
        );
        // Without a length the signature is all the option data.
        let q = Packet::parse(&b).unwrap();
        assert_eq!(q.signature.as_ref().unwrap().len(), 64);
        assert!(q.extra_option_data.is_empty());
        assert_eq!(q.verify(&ed_dest(6).1), Err(Error::BadSignature));
    }

    #[test]
    fn dsa_from_gives_40_byte_signature() {
        let dsa = dsa_dest();
        let p = Packet {
            flags: Flags::SYNCHRONIZE,
            from: Some(dsa.clone()),
            signature: Some(vec![7; 40]),
            extra_option_data: vec![1, 2, 3],
            payload: vec![9],
            ..Packet::default()
        };
        let b = p.to_bytes().unwrap();
        assert_eq!(u16::from_be_bytes([b[20], b[21]]), 387 + 40 + 3);
        let back = Packet::parse(&b).unwrap();
        assert_eq!(
            back.flags,
            Flags::SYNCHRONIZE | Flags::FROM_INCLUDED | Flags::SIGNATURE_INCLUDED
        );
        let mut synced = p.clone();
        synced.sync_flags();
        assert_eq!(back, synced);
        assert_eq!(p.verify(&dsa), Err(Error::UnsupportedSignatureType(0)));
        let mut q = p.clone();
        assert_eq!(
            q.sign(&SigningKey::random()),
            Err(Error::UnsupportedSignatureType(0))
        );
        q.signature = Some(vec![0; 64]);
        assert!(matches!(q.to_bytes(), Err(Error::Unwritable(_))));
    }

    #[test]
    fn offline_signature() {
        let (dest_key, dest) = ed_dest(7);
        let transient = SigningKey::from_bytes(&[8; 32]);
        let mut off = OfflineSignature {
            expires: 2_000_000_000,
            transient_type: SigningKeyType::EDDSA_SHA512_ED25519,
            transient_key: transient.verifying_key().to_bytes().to_vec(),
            signature: Vec::new(),
        };
        off.signature = dest_key.sign(&off.signed_bytes()).to_vec();
        assert!(!off.is_expired(1_999_999_999));
        assert!(off.is_expired(2_000_000_000));
        let mut p = Packet {
            flags: Flags::SYNCHRONIZE,
            from: Some(dest.clone()),
            offline_signature: Some(off),
            payload: b"x".to_vec(),
            ..Packet::default()
        };
        p.sign(&transient).unwrap();
        let b = p.to_bytes().unwrap();
        // 18: flags SYN|SIG|FROM|OFFLINE = 0x0829; 20: options 391 + 102 + 64.
        assert_eq!(&b[18..20], &[0x08, 0x29]);
        assert_eq!(u16::from_be_bytes([b[20], b[21]]), 391 + 102 + 64);
        // 22 + 391 = 413: expires; 417: transient type 7; 419..451: transient key.
        assert_eq!(&b[413..419], &[0x77, 0x35, 0x94, 0x00, 0, 7]);
        let back = Packet::parse(&b).unwrap();
        assert_eq!(back, p);
        back.verify(&dest).unwrap();

        // Signed with the destination key instead of the transient one: rejected.
        let mut wrong = back.clone();
        wrong.sign(&dest_key).unwrap();
        assert_eq!(wrong.verify(&dest), Err(Error::BadSignature));
        // Tampered expiry: the offline signature fails.
        let mut t = b.clone();
        t[416] ^= 1;
        assert_eq!(
            Packet::parse(&t).unwrap().verify(&dest),
            Err(Error::BadOfflineSignature)
        );

        // OFFLINE_SIGNATURE without FROM is rejected both ways.
        let mut no_from = back.clone();
        no_from.from = None;
        assert_eq!(no_from.to_bytes(), Err(Error::OfflineSignatureWithoutFrom));
        let mut raw = vec![0u8; 22];
        raw[18..20].copy_from_slice(&[0x08, 0x00]);
        assert_eq!(Packet::parse(&raw), Err(Error::OfflineSignatureWithoutFrom));
    }

    #[test]
    fn option_errors() {
        // Option size beyond the packet.
        let mut b = vec![0u8; 22];
        b[20..22].copy_from_slice(&[0, 5]);
        b.extend_from_slice(&[1, 2, 3]);
        assert_eq!(
            Packet::parse(&b),
            Err(Error::OptionSizeTooLarge {
                option_size: 5,
                remaining: 3
            })
        );
        // MAX_PACKET_SIZE_INCLUDED with one option byte.
        let mut b = vec![0u8; 22];
        b[18..22].copy_from_slice(&[0x00, 0x80, 0, 1]);
        b.push(0);
        assert_eq!(
            Packet::parse(&b),
            Err(Error::OptionsTruncated {
                field: "max packet size",
                needed: 1
            })
        );
        // FROM_INCLUDED with a truncated destination.
        let mut b = vec![0u8; 22];
        b[18..22].copy_from_slice(&[0x00, 0x20, 0, 10]);
        b.extend_from_slice(&[0; 10]);
        assert!(matches!(Packet::parse(&b), Err(Error::From(_))));
        // SIGNATURE_INCLUDED with a FROM of an unknown signing type.
        let mut cert = vec![5, 0, 4, 0x01, 0x00, 0, 0]; // KEY cert, signing type 256
        let mut d = vec![0u8; 384];
        d.append(&mut cert);
        let mut b = vec![0u8; 22];
        b[18..20].copy_from_slice(&[0x00, 0x28]); // FROM|SIG
        b[20..22].copy_from_slice(&u16::try_from(d.len() + 64).unwrap().to_be_bytes());
        b.extend_from_slice(&d);
        b.extend_from_slice(&[0; 64]);
        assert_eq!(
            Packet::parse(&b),
            Err(Error::UnknownSignatureType {
                field: "signature",
                sig_type: 256
            })
        );
    }

    #[test]
    fn unwritable_packets() {
        let p = Packet {
            nacks: vec![0; 256],
            ..Packet::default()
        };
        assert_eq!(p.to_bytes(), Err(Error::Unwritable("more than 255 NACKs")));
        let p = Packet {
            extra_option_data: vec![0; 65536],
            ..Packet::default()
        };
        assert_eq!(
            p.to_bytes(),
            Err(Error::Unwritable("option data over 65535 bytes"))
        );
        assert_eq!(
            Packet::default().verify(&ed_dest(1).1),
            Err(Error::NotSigned)
        );
    }

    #[test]
    fn wire_flags_follow_options() {
        let p = Packet {
            flags: Flags::FROM_INCLUDED | Flags::CLOSE | Flags(0x8000),
            max_packet_size: Some(1),
            ..Packet::default()
        };
        // FROM is absent so its bit is dropped; MPS present so its bit is set;
        // non-option and unused bits are kept.
        assert_eq!(
            p.wire_flags(),
            Flags::CLOSE | Flags::MAX_PACKET_SIZE_INCLUDED | Flags(0x8000)
        );
        let back = Packet::parse(&p.to_bytes().unwrap()).unwrap();
        assert_eq!(back.flags, p.wire_flags());
    }

    fn arb_dest() -> impl Strategy<Value = Destination> {
        prop_oneof![any::<u8>().prop_map(|s| ed_dest(s).1), Just(dsa_dest()),]
    }

    prop_compose! {
        fn arb_packet()(
            ids in any::<[u32; 4]>(),
            nacks in proptest::collection::vec(any::<u32>(), 0..20),
            resend_delay in any::<u8>(),
            other_flags in any::<u16>(),
            delay in any::<Option<u16>>(),
            from in proptest::option::of(arb_dest()),
            max_packet_size in any::<Option<u16>>(),
            offline in any::<Option<(u32, [u8; 32], u8)>>(),
            sig in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)),
            extra in proptest::collection::vec(any::<u8>(), 0..20),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) -> Packet {
            let offline_signature = match (&from, offline) {
                (Some(d), Some((expires, key, fill))) => Some(OfflineSignature {
                    expires,
                    transient_type: SigningKeyType::EDDSA_SHA512_ED25519,
                    transient_key: key.to_vec(),
                    signature: vec![fill; d.signing_type().signature_len().unwrap()],
                }),
                _ => None,
            };
            let signature = sig.map(|mut s| {
                if offline_signature.is_some() {
                    s.resize(64, 0);
                } else if let Some(d) = &from {
                    s.resize(d.signing_type().signature_len().unwrap(), 0);
                }
                s
            });
            // Without FROM, parse takes all remaining option data as signature.
            let extra_option_data = if signature.is_some() && from.is_none() {
                Vec::new()
            } else {
                extra
            };
            Packet {
                send_stream_id: ids[0],
                receive_stream_id: ids[1],
                sequence_num: ids[2],
                ack_through: ids[3],
                nacks,
                resend_delay,
                flags: Flags(other_flags & !Flags::OPTION_BITS.0),
                delay,
                from,
                max_packet_size,
                offline_signature,
                signature,
                extra_option_data,
                payload,
            }
        }
    }

    proptest! {
        #[test]
        fn prop_round_trip(p in arb_packet()) {
            let b = p.to_bytes().unwrap();
            let back = Packet::parse(&b).unwrap();
            prop_assert_eq!(back.to_bytes().unwrap(), b);
            prop_assert_eq!(back.flags, p.wire_flags());
            let mut expected = p.clone();
            expected.flags = p.wire_flags();
            prop_assert_eq!(back, expected);
        }

        #[test]
        fn prop_sign_verify(mut p in arb_packet(), seed in any::<u8>(), flip in any::<prop::sample::Index>()) {
            let (key, dest) = ed_dest(seed);
            p.from = Some(dest.clone());
            p.offline_signature = None;
            p.sign(&key).unwrap();
            let b = p.to_bytes().unwrap();
            let back = Packet::parse(&b).unwrap();
            prop_assert_eq!(back.verify(&dest), Ok(()));
            // Flip one bit anywhere: it parses to something that does not verify.
            let mut t = b.clone();
            let at = flip.index(t.len());
            t[at] ^= 0x01;
            if let Ok(tp) = Packet::parse(&t) {
                prop_assert!(tp.verify(&dest).is_err());
            }
        }

        #[test]
        fn prop_random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..1200)) {
            if let Ok(p) = Packet::parse(&b) {
                prop_assert_eq!(p.to_bytes().unwrap(), b.clone());
            }
            if let Ok(p) = Packet::parse_with_signature_len(&b, 64) {
                prop_assert_eq!(p.to_bytes().unwrap(), b);
            }
        }

        #[test]
        fn prop_mutated_packets_never_panic(
            p in arb_packet(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut b = p.to_bytes().unwrap();
            for (i, v) in edits {
                let at = i.index(b.len());
                b[at] = v;
            }
            let cut = cut.index(b.len() + 1);
            let b = &b[..cut];
            if let Ok(q) = Packet::parse(b) {
                prop_assert_eq!(q.to_bytes().unwrap(), b.to_vec());
            }
        }
    }
}
