//! I2NP messages (i2np.rst): the message header in its two current forms, the
//! message type codes, and typed payloads.
//!
//! * Standard form, 16 bytes (i2np.rst, "I2NP message header"): type, msg_id,
//!   8-byte expiration in milliseconds, 2-byte size, 1-byte checksum (the first byte of
//!   SHA-256 of the payload). Used inside Data, TunnelData, TunnelGateway and garlic
//!   cloves.
//! * Short form, 9 bytes (NTCP2 and SSU2 I2NP blocks, ECIES garlic cloves): type,
//!   msg_id, 4-byte expiration in seconds. No size or checksum: the payload is the rest
//!   of the enclosing block.
//!
//! [`I2npMessage`] holds the header fields and the raw payload; [`Payload::parse`]
//! interprets the payload by type.

mod database;
mod simple;

pub use database::{
    gunzip_bounded, gzip_router_info, DatabaseLookup, DatabaseSearchReply, DatabaseStore,
    DatabaseStoreKind, LookupType, ReplyEncryption, ReplyKey, ReplyPath, MAX_EXCLUDED_PEERS,
    MAX_ROUTER_INFO_LEN,
};
pub use simple::{Data, DeliveryStatus, Garlic};

use crate::bytes::{Error, Reader, Result, Writeable, Writer};

/// I2NP message type (i2np.rst, "Messages"). Open newtype: unknown types stay
/// representable and are passed through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageType(pub u8);

impl MessageType {
    /// DatabaseStore.
    pub const DATABASE_STORE: Self = Self(1);
    /// DatabaseLookup.
    pub const DATABASE_LOOKUP: Self = Self(2);
    /// DatabaseSearchReply.
    pub const DATABASE_SEARCH_REPLY: Self = Self(3);
    /// DeliveryStatus.
    pub const DELIVERY_STATUS: Self = Self(10);
    /// Garlic.
    pub const GARLIC: Self = Self(11);
    /// TunnelData.
    pub const TUNNEL_DATA: Self = Self(18);
    /// TunnelGateway.
    pub const TUNNEL_GATEWAY: Self = Self(19);
    /// Data.
    pub const DATA: Self = Self(20);
    /// TunnelBuild (deprecated).
    pub const TUNNEL_BUILD: Self = Self(21);
    /// TunnelBuildReply (deprecated).
    pub const TUNNEL_BUILD_REPLY: Self = Self(22);
    /// VariableTunnelBuild.
    pub const VARIABLE_TUNNEL_BUILD: Self = Self(23);
    /// VariableTunnelBuildReply.
    pub const VARIABLE_TUNNEL_BUILD_REPLY: Self = Self(24);
    /// ShortTunnelBuild.
    pub const SHORT_TUNNEL_BUILD: Self = Self(25);
    /// OutboundTunnelBuildReply.
    pub const OUTBOUND_TUNNEL_BUILD_REPLY: Self = Self(26);

    /// The spec's name for known types.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "DatabaseStore",
            2 => "DatabaseLookup",
            3 => "DatabaseSearchReply",
            10 => "DeliveryStatus",
            11 => "Garlic",
            18 => "TunnelData",
            19 => "TunnelGateway",
            20 => "Data",
            21 => "TunnelBuild",
            22 => "TunnelBuildReply",
            23 => "VariableTunnelBuild",
            24 => "VariableTunnelBuildReply",
            25 => "ShortTunnelBuild",
            26 => "OutboundTunnelBuildReply",
            _ => return None,
        })
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// An I2NP message: header fields and raw payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I2npMessage {
    /// Message type.
    pub msg_type: MessageType,
    /// Message id ("usually a locally-generated random number").
    pub msg_id: u32,
    /// Expiration, milliseconds since the epoch. From a short header this is a whole
    /// number of seconds times 1000.
    pub expiration_ms: u64,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

impl I2npMessage {
    /// Length of the standard header.
    pub const STANDARD_HEADER_LEN: usize = 16;
    /// Length of the short (NTCP2/SSU2) header.
    pub const SHORT_HEADER_LEN: usize = 9;
    /// Largest payload of the standard form (2-byte size).
    pub const MAX_STANDARD_PAYLOAD: usize = 65535;

    /// A message of `payload` serialized as `msg_type`.
    pub fn new(msg_type: MessageType, msg_id: u32, expiration_ms: u64, payload: Vec<u8>) -> Self {
        I2npMessage {
            msg_type,
            msg_id,
            expiration_ms,
            payload,
        }
    }

    /// A message carrying a typed payload.
    pub fn from_payload(msg_id: u32, expiration_ms: u64, payload: &Payload) -> Self {
        I2npMessage::new(
            payload.msg_type(),
            msg_id,
            expiration_ms,
            payload.to_bytes(),
        )
    }

    /// Reads one standard-header message from `r` (16-byte header, then `size` bytes
    /// of payload), checking the checksum. Leaves `r` after it, for messages packed
    /// back to back.
    pub fn take_standard(r: &mut Reader<'_>) -> Result<Self> {
        r.scope("I2NP message", |r| {
            let msg_type = MessageType(r.take_u8()?);
            let msg_id = r.take_u32()?;
            let expiration_ms = r.take_u64()?;
            let size = usize::from(r.take_u16()?);
            let chks = r.take_u8()?;
            let payload = r.take(size)?;
            if checksum(payload) != chks {
                return Err(r.invalid("checksum mismatch"));
            }
            Ok(I2npMessage {
                msg_type,
                msg_id,
                expiration_ms,
                payload: payload.to_vec(),
            })
        })
    }

    /// Parses `bytes` as exactly one standard-header message.
    pub fn parse_standard(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "I2NP message");
        let m = Self::take_standard(&mut r)?;
        r.should_be_exhausted()?;
        Ok(m)
    }

    /// Parses `bytes` as a short-header message: 9-byte header, the rest is payload.
    pub fn parse_short(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(bytes, "I2NP short message");
        let msg_type = MessageType(r.take_u8()?);
        let msg_id = r.take_u32()?;
        let expiration_s = r.take_u32()?;
        Ok(I2npMessage {
            msg_type,
            msg_id,
            expiration_ms: u64::from(expiration_s) * 1000,
            payload: r.take_rest().to_vec(),
        })
    }

    /// Appends the standard form (16-byte header + payload). Errors if the payload is
    /// over 65535 bytes.
    pub fn write_standard(&self, out: &mut Vec<u8>) -> Result<()> {
        let size = u16::try_from(self.payload.len())
            .map_err(|_| Error::invalid("I2NP message", "payload over 65535 bytes"))?;
        out.write_u8(self.msg_type.0);
        out.write_u32(self.msg_id);
        out.write_u64(self.expiration_ms);
        out.write_u16(size);
        out.write_u8(checksum(&self.payload));
        out.write_bytes(&self.payload);
        Ok(())
    }

    /// The standard form.
    pub fn to_standard_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(Self::STANDARD_HEADER_LEN + self.payload.len());
        self.write_standard(&mut out)?;
        Ok(out)
    }

    /// The expiration in whole seconds, as the short header carries it (rounded
    /// down). Errors past 2106-02-07, where the 4-byte field wraps.
    pub fn short_expiration(&self) -> Result<u32> {
        u32::try_from(self.expiration_ms / 1000)
            .map_err(|_| Error::invalid("I2NP short message", "expiration past 2106"))
    }

    /// Appends the short form (9-byte header + payload).
    pub fn write_short(&self, out: &mut Vec<u8>) -> Result<()> {
        let exp = self.short_expiration()?;
        out.write_u8(self.msg_type.0);
        out.write_u32(self.msg_id);
        out.write_u32(exp);
        out.write_bytes(&self.payload);
        Ok(())
    }

    /// The short form.
    pub fn to_short_bytes(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(Self::SHORT_HEADER_LEN + self.payload.len());
        self.write_short(&mut out)?;
        Ok(out)
    }

    /// Interprets the payload according to the message type.
    pub fn parse_payload(&self) -> Result<Payload> {
        Payload::parse(self.msg_type, &self.payload)
    }
}

/// The checksum byte of the standard header: "SHA256 hash truncated to the first byte".
pub fn checksum(payload: &[u8]) -> u8 {
    i2p_crypto::hash::sha256(payload)[0]
}

/// A typed I2NP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Payload {
    /// DatabaseStore (type 1).
    DatabaseStore(DatabaseStore),
    /// DatabaseLookup (type 2).
    DatabaseLookup(DatabaseLookup),
    /// DatabaseSearchReply (type 3).
    DatabaseSearchReply(DatabaseSearchReply),
    /// DeliveryStatus (type 10).
    DeliveryStatus(DeliveryStatus),
    /// Garlic (type 11).
    Garlic(Garlic),
    /// Data (type 20).
    Data(Data),
    /// Any other type (tunnel messages, tunnel builds, unknown), not interpreted here.
    Other(MessageType, Vec<u8>),
}

impl Payload {
    /// Parses `bytes` as the payload of a `msg_type` message; exactly one payload.
    pub fn parse(msg_type: MessageType, bytes: &[u8]) -> Result<Self> {
        use crate::bytes::Readable;
        Ok(match msg_type {
            MessageType::DATABASE_STORE => {
                Payload::DatabaseStore(DatabaseStore::from_bytes(bytes)?)
            }
            MessageType::DATABASE_LOOKUP => {
                Payload::DatabaseLookup(DatabaseLookup::from_bytes(bytes)?)
            }
            MessageType::DATABASE_SEARCH_REPLY => {
                Payload::DatabaseSearchReply(DatabaseSearchReply::from_bytes(bytes)?)
            }
            MessageType::DELIVERY_STATUS => {
                Payload::DeliveryStatus(DeliveryStatus::from_bytes(bytes)?)
            }
            MessageType::GARLIC => Payload::Garlic(Garlic::from_bytes(bytes)?),
            MessageType::DATA => Payload::Data(Data::from_bytes(bytes)?),
            other => Payload::Other(other, bytes.to_vec()),
        })
    }

    /// The message type that carries this payload.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Payload::DatabaseStore(_) => MessageType::DATABASE_STORE,
            Payload::DatabaseLookup(_) => MessageType::DATABASE_LOOKUP,
            Payload::DatabaseSearchReply(_) => MessageType::DATABASE_SEARCH_REPLY,
            Payload::DeliveryStatus(_) => MessageType::DELIVERY_STATUS,
            Payload::Garlic(_) => MessageType::GARLIC,
            Payload::Data(_) => MessageType::DATA,
            Payload::Other(t, _) => *t,
        }
    }
}

impl Writeable for Payload {
    fn write_onto(&self, out: &mut Vec<u8>) {
        match self {
            Payload::DatabaseStore(p) => p.write_onto(out),
            Payload::DatabaseLookup(p) => p.write_onto(out),
            Payload::DatabaseSearchReply(p) => p.write_onto(out),
            Payload::DeliveryStatus(p) => p.write_onto(out),
            Payload::Garlic(p) => p.write_onto(out),
            Payload::Data(p) => p.write_onto(out),
            Payload::Other(_, b) => out.write_bytes(b),
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn standard_header_known_bytes() {
        // DeliveryStatus, msg_id 0x01020304, expiration 0x0000018c_00000000 ms,
        // payload "abc" (SHA-256 starts with 0xba).
        let m = I2npMessage::new(
            MessageType::DELIVERY_STATUS,
            0x0102_0304,
            0x18c_0000_0000,
            b"abc".to_vec(),
        );
        let b = m.to_standard_bytes().unwrap();
        assert_eq!(hex::encode(&b), "0a010203040000018c000000000003ba616263");
        assert_eq!(I2npMessage::parse_standard(&b).unwrap(), m);
    }

    #[test]
    fn bad_checksum_and_size_are_refused() {
        let m = I2npMessage::new(MessageType::DATA, 7, 1000, vec![1, 2, 3, 4]);
        let b = m.to_standard_bytes().unwrap();
        let mut bad = b.clone();
        bad[15] ^= 1;
        assert!(matches!(
            I2npMessage::parse_standard(&bad),
            Err(Error::Invalid {
                reason: "checksum mismatch",
                ..
            })
        ));
        assert!(I2npMessage::parse_standard(&b[..b.len() - 1]).is_err());
        let mut long = b.clone();
        long.push(0);
        assert!(I2npMessage::parse_standard(&long).is_err());
        // Two messages back to back.
        let mut two = b.clone();
        two.extend_from_slice(&b);
        let mut r = Reader::new(&two);
        assert_eq!(I2npMessage::take_standard(&mut r).unwrap(), m);
        assert_eq!(I2npMessage::take_standard(&mut r).unwrap(), m);
        assert!(r.is_empty());
    }

    #[test]
    fn short_header_known_bytes_and_conversion() {
        let b = hex::decode("1400000005692a3b4cdeadbeef").unwrap();
        let m = I2npMessage::parse_short(&b).unwrap();
        assert_eq!(m.msg_type, MessageType::DATA);
        assert_eq!(m.msg_id, 5);
        assert_eq!(m.expiration_ms, 0x692a_3b4c * 1000);
        assert_eq!(m.payload, [0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(m.to_short_bytes().unwrap(), b);
        // Short -> standard -> short.
        let std = m.to_standard_bytes().unwrap();
        assert_eq!(std.len(), 16 + 4);
        let back = I2npMessage::parse_standard(&std).unwrap();
        assert_eq!(back.to_short_bytes().unwrap(), b);
        // Milliseconds are rounded down in the short form.
        let ms = I2npMessage::new(MessageType::DATA, 1, 1999, vec![]);
        assert_eq!(ms.short_expiration().unwrap(), 1);
        assert!(I2npMessage::new(MessageType::DATA, 1, u64::MAX, vec![])
            .to_short_bytes()
            .is_err());
        assert!(I2npMessage::parse_short(&b[..8]).is_err());
    }

    #[test]
    fn oversized_payload_has_no_standard_form() {
        let m = I2npMessage::new(MessageType::DATA, 1, 1, vec![0; 65536]);
        assert!(m.to_standard_bytes().is_err());
        assert_eq!(m.to_short_bytes().unwrap().len(), 9 + 65536);
    }

    #[test]
    fn message_type_names() {
        assert_eq!(
            MessageType::SHORT_TUNNEL_BUILD.to_string(),
            "ShortTunnelBuild"
        );
        assert_eq!(MessageType(200).to_string(), "type 200");
        assert_eq!(MessageType::TUNNEL_GATEWAY.0, 19);
        assert_eq!(MessageType::OUTBOUND_TUNNEL_BUILD_REPLY.0, 26);
    }

    proptest! {
        #[test]
        fn standard_round_trip(t: u8, id: u32, exp: u64, payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let m = I2npMessage::new(MessageType(t), id, exp, payload);
            let b = m.to_standard_bytes().unwrap();
            prop_assert_eq!(I2npMessage::parse_standard(&b).unwrap(), m);
        }

        #[test]
        fn short_round_trip(b in proptest::collection::vec(any::<u8>(), 9..100)) {
            let m = I2npMessage::parse_short(&b).unwrap();
            prop_assert_eq!(m.to_short_bytes().unwrap(), b);
        }
    }
}
