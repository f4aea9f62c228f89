//! The Garlic Clove block body (ecies.rst, "Garlic Clove"): delivery instructions
//! (i2np.rst, "Garlic Clove Delivery Instructions") then an I2NP message with the
//! 9-byte short header (type, message id, 4-byte expiration in seconds) and its body.

use std::fmt;

use i2p_wire::{Hash, I2npMessage, MessageType, Reader};

use crate::error::{Error, Result};

/// Where the receiver of a clove should deliver its message (i2np.rst, "Garlic Clove
/// Delivery Instructions", flag bits 6-5).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryInstructions {
    /// `0x0`: to the receiving router (or destination) itself. 1 byte.
    Local,
    /// `0x1`: to a local destination, by the SHA-256 of the destination. 33 bytes.
    Destination(Hash),
    /// `0x2`: to a router, by the SHA-256 of its identity. 33 bytes.
    Router(Hash),
    /// `0x3`: to a tunnel: "the SHA256 Hash of the gateway router", then the
    /// destination tunnel ID. 37 bytes. Order on the wire: hash, then tunnel ID.
    Tunnel {
        /// The inbound gateway router.
        gateway: Hash,
        /// The tunnel ID at that gateway.
        tunnel_id: u32,
    },
}

impl DeliveryInstructions {
    const ENCRYPTED: u8 = 0x80;
    const DELAY: u8 = 0x10;

    /// The number of bytes these instructions take: 1, 33 or 37.
    pub fn wire_len(&self) -> usize {
        match self {
            DeliveryInstructions::Local => 1,
            DeliveryInstructions::Destination(_) | DeliveryInstructions::Router(_) => 33,
            DeliveryInstructions::Tunnel { .. } => 37,
        }
    }

    fn take_from(r: &mut Reader<'_>) -> Result<Self> {
        const OBJ: &str = "garlic clove delivery instructions";
        let flag = r.take_u8()?;
        // "bit 7: encrypted? Unimplemented, always 0". A set bit would move every
        // field after it by 32 bytes; refuse rather than misread.
        if flag & Self::ENCRYPTED != 0 {
            return Err(Error::malformed(OBJ, "encrypted flag set (unimplemented)"));
        }
        let di = match (flag >> 5) & 0x03 {
            0 => DeliveryInstructions::Local,
            1 => DeliveryInstructions::Destination(Hash(r.take_array()?)),
            2 => DeliveryInstructions::Router(Hash(r.take_array()?)),
            _ => {
                let gateway = Hash(r.take_array()?);
                let tunnel_id = r.take_u32()?;
                DeliveryInstructions::Tunnel { gateway, tunnel_id }
            }
        };
        // "bit 4: delay included? Not fully implemented, always 0. If 1, four delay
        // bytes are included": skipped, the delay is not honoured.
        if flag & Self::DELAY != 0 {
            r.take(4)?;
        }
        Ok(di)
    }

    fn write_onto(&self, out: &mut Vec<u8>) {
        match self {
            DeliveryInstructions::Local => out.push(0x00),
            DeliveryInstructions::Destination(h) => {
                out.push(0x01 << 5);
                out.extend_from_slice(h.as_bytes());
            }
            DeliveryInstructions::Router(h) => {
                out.push(0x02 << 5);
                out.extend_from_slice(h.as_bytes());
            }
            DeliveryInstructions::Tunnel { gateway, tunnel_id } => {
                out.push(0x03 << 5);
                out.extend_from_slice(gateway.as_bytes());
                out.extend_from_slice(&tunnel_id.to_be_bytes());
            }
        }
    }
}

/// One garlic clove: delivery instructions and the I2NP message they apply to.
///
/// The message's expiration travels in whole seconds: `message.expiration_ms` of a
/// parsed clove is a multiple of 1000, and writing rounds it down.
#[derive(Clone, PartialEq, Eq)]
pub struct Clove {
    /// Where to deliver `message`.
    pub delivery: DeliveryInstructions,
    /// The message.
    pub message: I2npMessage,
}

// Manual: a clove's payload may hold reply keys (a DatabaseLookup's), so Debug prints
// only the header fields and the payload length.
impl fmt::Debug for Clove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clove")
            .field("delivery", &self.delivery)
            .field("msg_type", &self.message.msg_type)
            .field("msg_id", &self.message.msg_id)
            .field("expiration_ms", &self.message.expiration_ms)
            .field("payload_len", &self.message.payload.len())
            .finish()
    }
}

impl Clove {
    /// A clove for local delivery (what i2pd puts in router and reply garlic).
    pub fn local(message: I2npMessage) -> Self {
        Clove {
            delivery: DeliveryInstructions::Local,
            message,
        }
    }

    /// The length of the Garlic Clove block's data (delivery instructions, 9-byte
    /// header, body).
    pub fn wire_len(&self) -> usize {
        self.delivery.wire_len() + I2npMessage::SHORT_HEADER_LEN + self.message.payload.len()
    }

    /// Parses the data of a Garlic Clove block (everything after `11 size`).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(data, "garlic clove");
        let delivery = DeliveryInstructions::take_from(&mut r)?;
        let rest = r.take_rest();
        if rest.len() < I2npMessage::SHORT_HEADER_LEN {
            return Err(Error::malformed("garlic clove", "I2NP header truncated"));
        }
        let message = I2npMessage::parse_short(rest)?;
        Ok(Clove { delivery, message })
    }

    /// Appends the data of a Garlic Clove block. The expiration is written in seconds,
    /// saturating at the 4-byte field's end (2106).
    pub fn write_onto(&self, out: &mut Vec<u8>) {
        self.delivery.write_onto(out);
        let MessageType(t) = self.message.msg_type;
        out.push(t);
        out.extend_from_slice(&self.message.msg_id.to_be_bytes());
        let exp_s = u32::try_from(self.message.expiration_ms / 1000).unwrap_or(u32::MAX);
        out.extend_from_slice(&exp_s.to_be_bytes());
        out.extend_from_slice(&self.message.payload);
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn msg() -> I2npMessage {
        I2npMessage::new(
            MessageType::DELIVERY_STATUS,
            0x0102_0304,
            1_700_000_000_000,
            vec![9; 12],
        )
    }

    #[test]
    fn local_clove_layout() {
        let c = Clove::local(msg());
        let mut out = Vec::new();
        c.write_onto(&mut out);
        // flag 0, type 10, id, expiration 1_700_000_000 s = 0x6553f100, body.
        assert_eq!(
            hex::encode(&out[..10]),
            format!("000a01020304{:08x}", 1_700_000_000u32)
        );
        assert_eq!(&out[10..], &[9u8; 12]);
        assert_eq!(out.len(), c.wire_len());
        assert_eq!(Clove::parse(&out).unwrap(), c);
    }

    #[test]
    fn tunnel_clove_is_hash_then_tunnel_id() {
        let c = Clove {
            delivery: DeliveryInstructions::Tunnel {
                gateway: Hash([0xab; 32]),
                tunnel_id: 0xdead_beef,
            },
            message: msg(),
        };
        let mut out = Vec::new();
        c.write_onto(&mut out);
        assert_eq!(out[0], 0x60);
        assert_eq!(&out[1..33], &[0xab; 32]);
        assert_eq!(&out[33..37], &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(out.len(), 37 + 9 + 12);
        assert_eq!(Clove::parse(&out).unwrap(), c);
    }

    #[test]
    fn router_and_destination_round_trip() {
        for d in [
            DeliveryInstructions::Router(Hash([1; 32])),
            DeliveryInstructions::Destination(Hash([2; 32])),
        ] {
            let c = Clove {
                delivery: d,
                message: msg(),
            };
            let mut out = Vec::new();
            c.write_onto(&mut out);
            assert_eq!(out.len(), 33 + 9 + 12);
            assert_eq!(Clove::parse(&out).unwrap(), c);
        }
    }

    #[test]
    fn delay_is_skipped_and_encrypted_refused() {
        let mut out = vec![0x10, 0, 0, 0, 5];
        let mut m = Vec::new();
        Clove::local(msg()).write_onto(&mut m);
        out.extend_from_slice(&m[1..]);
        assert_eq!(Clove::parse(&out).unwrap(), Clove::local(msg()));
        m[0] = 0x80;
        assert!(Clove::parse(&m).is_err());
    }

    #[test]
    fn truncated_cloves_are_errors() {
        let mut out = Vec::new();
        Clove {
            delivery: DeliveryInstructions::Tunnel {
                gateway: Hash([3; 32]),
                tunnel_id: 7,
            },
            message: I2npMessage::new(MessageType::DATA, 1, 0, vec![]),
        }
        .write_onto(&mut out);
        assert!(Clove::parse(&out).is_ok());
        for n in 0..out.len() {
            assert!(Clove::parse(&out[..n]).is_err(), "prefix {n} accepted");
        }
    }

    #[test]
    fn debug_hides_payload() {
        let mut m = msg();
        m.payload = b"SECRETSECRET".to_vec();
        let s = format!("{:?}", Clove::local(m));
        assert!(!s.contains("83, 69, 67"), "{s}");
        assert!(s.contains("payload_len: 12"));
    }
}
