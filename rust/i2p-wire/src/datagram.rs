//! Datagrams between destinations (datagrams.rst): repliable Datagram1 (I2CP
//! protocol 17), Datagram2 (19) with replay prevention and offline signatures,
//! Datagram3 (20), repliable but not authenticated. Raw datagrams (18) have no format
//! of their own.
//!
//! Parsing is total; verification is separate and checks what the spec says a
//! receiver must check (for Datagram2, against our own destination hash).

use i2p_crypto::ed25519::{SigningKey, VerifyingKey};

use crate::bytes::{Error, Reader, Result, Writeable, Writer};
use crate::identity::{Destination, SigningKeyType};
use crate::leaseset::OfflineSignature;
use crate::mapping::Mapping;
use crate::Hash;

/// Datagram2 flags: version 2 in bits 3-0.
const DG2_VERSION: u16 = 0x02;
/// Datagram3 flags: version 3 in bits 3-0.
pub const DG3_VERSION: u16 = 0x03;
/// Bit 4: an options mapping follows the flags.
const FLAG_OPTIONS: u16 = 0x10;
/// Bit 5 (Datagram2): an offline signature section follows.
const FLAG_OFFLINE: u16 = 0x20;

/// A repliable Datagram1: the sender's destination, its signature of the payload,
/// the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram1 {
    /// The originator and signer.
    pub from: Destination,
    /// "The Signature of the payload" (for types other than DSA_SHA1).
    pub signature: Vec<u8>,
    /// The data.
    pub payload: Vec<u8>,
}

impl Datagram1 {
    /// Signs `payload` as `from` with its Ed25519 key.
    pub fn sign(from: Destination, key: &SigningKey, payload: &[u8]) -> Vec<u8> {
        let mut out = from.to_bytes();
        out.extend_from_slice(&key.sign(payload));
        out.extend_from_slice(payload);
        out
    }

    /// Parses (signature not checked).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "Datagram1");
        let from: Destination = r.extract()?;
        let sig_type = from.signing_type();
        let sig_len = sig_type
            .signature_len()
            .ok_or(Error::UnsupportedSignatureType(sig_type.0))?;
        let signature = r.take(sig_len)?.to_vec();
        let payload = r.take(r.remaining())?.to_vec();
        Ok(Self {
            from,
            signature,
            payload,
        })
    }

    /// Checks the signature with the sender's key (Ed25519 senders only).
    pub fn verify(&self) -> Result<()> {
        if self.from.signing_type() == SigningKeyType::DSA_SHA1 {
            return Err(Error::UnsupportedSignatureType(0));
        }
        self.from
            .verify(&self.payload, &self.signature, "Datagram1")
    }
}

/// A Datagram2 (proposal 163): signed over the recipient's hash too, so it cannot be
/// replayed to another destination; may be signed by an offline-authorized key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram2 {
    /// The originator.
    pub from: Destination,
    /// The flags as sent (version 2, options and offline bits, and any unused bits,
    /// which are signed too).
    pub flags: u16,
    /// Options, if any.
    pub options: Option<Mapping>,
    /// The offline signature section, if signed by a transient key.
    pub offline: Option<OfflineSignature>,
    /// The data.
    pub payload: Vec<u8>,
    /// The signature over the recipient's hash, flags, options, offline section and
    /// payload.
    pub signature: Vec<u8>,
}

impl Datagram2 {
    /// The flags for these optional sections.
    pub fn flags_for(options: bool, offline: bool) -> u16 {
        DG2_VERSION
            | if options { FLAG_OPTIONS } else { 0 }
            | if offline { FLAG_OFFLINE } else { 0 }
    }

    /// The signed fields after the prelude (the recipient's hash).
    fn signed_body(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.write_u16(self.flags);
        if let Some(o) = &self.options {
            out.write_item(o);
        }
        if let Some(o) = &self.offline {
            out.write_item(o);
        }
        out.extend_from_slice(&self.payload);
        out
    }

    /// Signs `payload` for the destination `to` as `from` with its Ed25519 key.
    pub fn sign(from: Destination, key: &SigningKey, to: &Hash, payload: &[u8]) -> Vec<u8> {
        let mut d = Datagram2 {
            from,
            flags: Self::flags_for(false, false),
            options: None,
            offline: None,
            payload: payload.to_vec(),
            signature: Vec::new(),
        };
        let mut msg = to.0.to_vec();
        msg.extend_from_slice(&d.signed_body());
        d.signature = key.sign(&msg).to_vec();
        d.to_bytes()
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.from.to_bytes();
        out.extend_from_slice(&self.signed_body());
        out.extend_from_slice(&self.signature);
        out
    }

    /// Parses (signature not checked).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "Datagram2");
        let from: Destination = r.extract()?;
        let flags = r.take_u16()?;
        if flags & 0x0f != DG2_VERSION {
            return Err(r.invalid("not version 2"));
        }
        let options = if flags & FLAG_OPTIONS != 0 {
            Some(r.extract::<Mapping>()?)
        } else {
            None
        };
        let offline = if flags & FLAG_OFFLINE != 0 {
            Some(OfflineSignature::take_from(&mut r, from.signing_type())?)
        } else {
            None
        };
        let signer = offline.as_ref().map_or(from.signing_type(), |o| o.sig_type);
        let sig_len = signer
            .signature_len()
            .ok_or(Error::UnsupportedSignatureType(signer.0))?;
        let rest = r.take(r.remaining())?;
        if rest.len() < sig_len {
            return Err(Error::invalid("Datagram2", "shorter than its signature"));
        }
        let (payload, signature) = rest.split_at(rest.len() - sig_len);
        Ok(Self {
            from,
            flags,
            options,
            offline,
            payload: payload.to_vec(),
            signature: signature.to_vec(),
        })
    }

    /// Checks the signature as received by the destination `to` ("Receivers must
    /// verify the signature (using their destination hash)"), and the offline
    /// section (authorized by the destination, not expired at `now_ms`).
    pub fn verify(&self, to: &Hash, now_ms: u64) -> Result<()> {
        let mut msg = to.0.to_vec();
        msg.extend_from_slice(&self.signed_body());
        match &self.offline {
            None => self.from.verify(&msg, &self.signature, "Datagram2"),
            Some(o) => {
                if o.is_expired(now_ms) {
                    return Err(Error::invalid("Datagram2", "offline signature expired"));
                }
                self.from.verify(
                    &o.signed_bytes(),
                    &o.signature,
                    "Datagram2 offline signature",
                )?;
                if o.sig_type != SigningKeyType::EDDSA_SHA512_ED25519 {
                    return Err(Error::UnsupportedSignatureType(o.sig_type.0));
                }
                let key = VerifyingKey::from_bytes(&o.transient_public_key)
                    .map_err(|_| Error::invalid("Datagram2", "bad transient key"))?;
                key.verify(&msg, &self.signature)
                    .map_err(|_| Error::invalid("Datagram2", "bad signature"))
            }
        }
    }
}

/// A Datagram3: the sender's hash (repliable, not authenticated), the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram3 {
    /// The originator's destination hash.
    pub from: Hash,
    /// The flags as sent (version 3, the options bit, unused bits kept).
    pub flags: u16,
    /// Options, if any.
    pub options: Option<Mapping>,
    /// The data.
    pub payload: Vec<u8>,
}

impl Datagram3 {
    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.from.0.to_vec();
        out.write_u16(self.flags);
        if let Some(o) = &self.options {
            out.write_item(o);
        }
        out.extend_from_slice(&self.payload);
        out
    }

    /// Parses.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "Datagram3");
        let from: Hash = r.extract()?;
        let flags = r.take_u16()?;
        if flags & 0x0f != DG3_VERSION {
            return Err(r.invalid("not version 3"));
        }
        let options = if flags & FLAG_OPTIONS != 0 {
            Some(r.extract::<Mapping>()?)
        } else {
            None
        };
        let payload = r.take(r.remaining())?.to_vec();
        Ok(Self {
            from,
            flags,
            options,
            payload,
        })
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::DestinationKeys;

    #[test]
    fn datagram1_signs_and_verifies() {
        let k = DestinationKeys::generate();
        let bytes = Datagram1::sign(k.destination().clone(), k.signing_key(), b"hello");
        assert_eq!(bytes.len(), 391 + 64 + 5);
        let d = Datagram1::parse(&bytes).unwrap();
        assert_eq!((&d.from, &d.payload[..]), (k.destination(), &b"hello"[..]));
        d.verify().unwrap();
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(Datagram1::parse(&bad).unwrap().verify().is_err());
        assert!(Datagram1::parse(&bytes[..400]).is_err());
    }

    #[test]
    fn datagram2_is_bound_to_its_recipient() {
        let k = DestinationKeys::generate();
        let to = Hash([7; 32]);
        let bytes = Datagram2::sign(k.destination().clone(), k.signing_key(), &to, b"x");
        let d = Datagram2::parse(&bytes).unwrap();
        assert_eq!(d.payload, b"x");
        d.verify(&to, 0).unwrap();
        assert!(
            d.verify(&Hash([8; 32]), 0).is_err(),
            "replayed to another destination"
        );
        assert_eq!(d.to_bytes(), bytes);
        // Offline-signed: the transient key signs, the destination authorizes it.
        let transient = SigningKey::random();
        let mut off = Datagram2 {
            from: k.destination().clone(),
            flags: Datagram2::flags_for(true, true),
            options: Some(Mapping::new([("a", "b")]).unwrap()),
            offline: Some(OfflineSignature::new_ed25519(
                2_000_000_000,
                &transient.verifying_key(),
                k.signing_key(),
            )),
            payload: b"y".to_vec(),
            signature: Vec::new(),
        };
        let mut msg = to.0.to_vec();
        msg.extend_from_slice(&off.signed_body());
        off.signature = transient.sign(&msg).to_vec();
        let back = Datagram2::parse(&off.to_bytes()).unwrap();
        assert_eq!(back, off);
        back.verify(&to, 1_000_000_000_000).unwrap();
        assert!(back.verify(&to, 2_000_000_000_000).is_err(), "expired");
    }

    #[test]
    fn datagram3_round_trip_and_bad_versions() {
        let d = Datagram3 {
            from: Hash([3; 32]),
            flags: DG3_VERSION,
            options: None,
            payload: b"raw-ish".to_vec(),
        };
        let b = d.to_bytes();
        assert_eq!(Datagram3::parse(&b).unwrap(), d);
        let mut wrong = b.clone();
        wrong[33] = 2;
        assert!(Datagram3::parse(&wrong).is_err());
        assert!(Datagram3::parse(&b[..33]).is_err());
        // Unused flag bits are kept as received.
        let mut future = b.clone();
        future[32] = 0xe0;
        assert_eq!(Datagram3::parse(&future).unwrap().to_bytes(), future);
    }
}
