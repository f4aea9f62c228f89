//! The payload block list inside every ECIES garlic message (ecies.rst, "5) Payload"):
//! `blk (1) | size (2, big endian) | data`, repeated.
//!
//! [`parse_blocks`] is total and checks each known block's own format;
//! [`check_order`] enforces the "Block Ordering Rules" of each message kind;
//! [`write_blocks`] is the inverse of [`parse_blocks`].
//!
//! ecies.rst: "For extensibility, receivers MUST ignore blocks with unknown type
//! numbers, and treat them as padding." Unknown blocks are kept as
//! [`Block::Unknown`], so a parsed list writes back to the same bytes.

use i2p_wire::Reader;

use crate::clove::Clove;
use crate::error::{Error, Result};

/// "Maximum total block size is 65519 bytes" (65535 minus the Poly1305 tag).
pub const MAX_PAYLOAD_LEN: usize = 65519;
/// "Maximum single block data size is 65516 bytes."
pub const MAX_BLOCK_DATA_LEN: usize = 65516;
/// Length of a block header (type and size).
pub const BLOCK_HEADER_LEN: usize = 3;

/// Block type numbers (ecies.rst, "Unencrypted data", `blk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockType(pub u8);

impl BlockType {
    /// `0 datetime`.
    pub const DATE_TIME: Self = Self(0);
    /// `4 termination`.
    pub const TERMINATION: Self = Self(4);
    /// `5 options`.
    pub const OPTIONS: Self = Self(5);
    /// `6 previous message number`.
    pub const MESSAGE_NUMBER: Self = Self(6);
    /// `7 next session key`.
    pub const NEXT_KEY: Self = Self(7);
    /// `8 ack`.
    pub const ACK: Self = Self(8);
    /// `9 ack request`.
    pub const ACK_REQUEST: Self = Self(9);
    /// `11 Garlic Clove`.
    pub const GARLIC_CLOVE: Self = Self(11);
    /// `254 for padding`.
    pub const PADDING: Self = Self(254);
}

/// The Options block (ecies.rst, "Options"; "UNIMPLEMENTED, for further study"), kept
/// field by field so that it round-trips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsBlock {
    /// `ver`: "Protocol version, must be 0".
    pub version: u8,
    /// `flg`.
    pub flags: u8,
    /// `STL`: "Session tag length (must be 8)".
    pub session_tag_len: u8,
    /// `STimeout`: session idle timeout in seconds.
    pub session_timeout: u16,
    /// `SOTW`: sender outbound tag window.
    pub sotw: u16,
    /// `RITW`: receiver inbound tag window.
    pub ritw: u16,
    /// `tmin`, `tmax`, `rmin`, `rmax`: padding limits, 4.4 fixed point.
    pub padding_limits: [u8; 4],
    /// `tdmy`: max dummy traffic willing to send, bytes/s.
    pub tdmy: u16,
    /// `rdmy`: requested dummy traffic, bytes/s.
    pub rdmy: u16,
    /// `tdelay`: max intra-message delay willing to insert, ms.
    pub tdelay: u16,
    /// `rdelay`: requested intra-message delay, ms.
    pub rdelay: u16,
    /// `more_options`: "Format undefined, for future use".
    pub more: Vec<u8>,
}

impl OptionsBlock {
    /// "size of options to follow, 21 bytes minimum".
    pub const MIN_LEN: usize = 21;
}

/// The Next Key block (ecies.rst, "Next DH Ratchet Public Key").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextKey {
    /// "bit 1: 1 for reverse key, 0 for forward key".
    pub reverse: bool,
    /// "bit 2: 1 to request reverse key"; "only set if bit 1 is 0".
    pub request_reverse: bool,
    /// "The key ID of this key", 0 - 32767.
    pub key_id: u16,
    /// "The next X25519 public key", present iff flag bit 0 is set.
    pub public_key: Option<[u8; 32]>,
}

impl NextKey {
    const KEY_PRESENT: u8 = 0x01;
    const REVERSE: u8 = 0x02;
    const REQUEST_REVERSE: u8 = 0x04;

    fn flags(&self) -> u8 {
        let mut f = 0;
        if self.public_key.is_some() {
            f |= Self::KEY_PRESENT;
        }
        if self.reverse {
            f |= Self::REVERSE;
        }
        if self.request_reverse {
            f |= Self::REQUEST_REVERSE;
        }
        f
    }
}

/// One entry of an ACK block: "tagsetid" and "N" of the message acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckEntry {
    /// Tag set ID.
    pub tagset_id: u16,
    /// Message number in that tag set.
    pub n: u16,
}

/// One payload block (ecies.rst, "Payload Section Decrypted data").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Block {
    /// Type 0: "Unix timestamp, unsigned seconds".
    DateTime {
        /// Seconds since the epoch.
        timestamp: u32,
    },
    /// Type 4: "Drop the session."
    Termination {
        /// `rsn`: 0 normal close, 1 termination received, others implementation-specific.
        reason: u8,
        /// `addl data`.
        additional: Vec<u8>,
    },
    /// Type 5.
    Options(OptionsBlock),
    /// Type 6: "The index of the last tag sent in the previous tag set."
    MessageNumber {
        /// `PN`.
        pn: u16,
    },
    /// Type 7.
    NextKey(NextKey),
    /// Type 8: one entry per message acknowledged (at least one).
    Ack(Vec<AckEntry>),
    /// Type 9.
    AckRequest {
        /// `flg`, "set to 0 for future compatibility".
        flags: u8,
    },
    /// Type 11.
    GarlicClove(Clove),
    /// Type 254: "zeros or random data".
    Padding(Vec<u8>),
    /// Any other type, kept as read (and otherwise treated as padding).
    Unknown {
        /// The type number.
        blk: u8,
        /// The data.
        data: Vec<u8>,
    },
}

impl Block {
    /// This block's type number.
    pub fn block_type(&self) -> BlockType {
        match self {
            Block::DateTime { .. } => BlockType::DATE_TIME,
            Block::Termination { .. } => BlockType::TERMINATION,
            Block::Options(_) => BlockType::OPTIONS,
            Block::MessageNumber { .. } => BlockType::MESSAGE_NUMBER,
            Block::NextKey(_) => BlockType::NEXT_KEY,
            Block::Ack(_) => BlockType::ACK,
            Block::AckRequest { .. } => BlockType::ACK_REQUEST,
            Block::GarlicClove(_) => BlockType::GARLIC_CLOVE,
            Block::Padding(_) => BlockType::PADDING,
            Block::Unknown { blk, .. } => BlockType(*blk),
        }
    }

    /// The length of this block's data (without the 3-byte header).
    pub fn data_len(&self) -> usize {
        match self {
            Block::DateTime { .. } => 4,
            Block::Termination { additional, .. } => 1 + additional.len(),
            Block::Options(o) => OptionsBlock::MIN_LEN + o.more.len(),
            Block::MessageNumber { .. } => 2,
            Block::NextKey(k) => {
                if k.public_key.is_some() {
                    35
                } else {
                    3
                }
            }
            Block::Ack(acks) => 4 * acks.len(),
            Block::AckRequest { .. } => 1,
            Block::GarlicClove(c) => c.wire_len(),
            Block::Padding(p) => p.len(),
            Block::Unknown { data, .. } => data.len(),
        }
    }

    /// Parses the data of one block of type `blk`.
    fn parse_data(blk: u8, data: &[u8]) -> Result<Self> {
        let mut r = Reader::with_object(data, "payload block");
        let block = match BlockType(blk) {
            BlockType::DATE_TIME => {
                let timestamp = r.take_u32()?;
                Block::DateTime { timestamp }
            }
            BlockType::TERMINATION => {
                let reason = r.take_u8()?;
                Block::Termination {
                    reason,
                    additional: r.take_rest().to_vec(),
                }
            }
            BlockType::OPTIONS => Block::Options(OptionsBlock {
                version: r.take_u8()?,
                flags: r.take_u8()?,
                session_tag_len: r.take_u8()?,
                session_timeout: r.take_u16()?,
                sotw: r.take_u16()?,
                ritw: r.take_u16()?,
                padding_limits: r.take_array()?,
                tdmy: r.take_u16()?,
                rdmy: r.take_u16()?,
                tdelay: r.take_u16()?,
                rdelay: r.take_u16()?,
                more: r.take_rest().to_vec(),
            }),
            BlockType::MESSAGE_NUMBER => Block::MessageNumber { pn: r.take_u16()? },
            BlockType::NEXT_KEY => {
                let flag = r.take_u8()?;
                let key_id = r.take_u16()?;
                let public_key = if flag & NextKey::KEY_PRESENT != 0 {
                    Some(r.take_array()?)
                } else {
                    None
                };
                Block::NextKey(NextKey {
                    reverse: flag & NextKey::REVERSE != 0,
                    request_reverse: flag & NextKey::REQUEST_REVERSE != 0,
                    key_id,
                    public_key,
                })
            }
            BlockType::ACK => {
                // "size :: 4 * number of acks to follow, minimum 1 ack"
                if data.is_empty() || !data.len().is_multiple_of(4) {
                    return Err(Error::malformed("ACK block", "size not 4 * n, n >= 1"));
                }
                let mut acks = Vec::with_capacity(data.len() / 4);
                while !r.is_empty() {
                    acks.push(AckEntry {
                        tagset_id: r.take_u16()?,
                        n: r.take_u16()?,
                    });
                }
                Block::Ack(acks)
            }
            BlockType::ACK_REQUEST => Block::AckRequest {
                flags: r.take_u8()?,
            },
            BlockType::GARLIC_CLOVE => return Ok(Block::GarlicClove(Clove::parse(data)?)),
            BlockType::PADDING => Block::Padding(r.take_rest().to_vec()),
            BlockType(other) => Block::Unknown {
                blk: other,
                data: r.take_rest().to_vec(),
            },
        };
        // Fixed-size blocks must be exactly their size: "malformed or malicious data
        // will not cause reads to overrun into the next block", nor be left unread.
        r.should_be_exhausted()?;
        Ok(block)
    }

    /// Appends this block (header and data). Errors if its data is over
    /// [`MAX_BLOCK_DATA_LEN`].
    pub fn write_onto(&self, out: &mut Vec<u8>) -> Result<()> {
        let len = self.data_len();
        let size = u16::try_from(len)
            .ok()
            .filter(|_| len <= MAX_BLOCK_DATA_LEN)
            .ok_or(Error::TooLarge("payload block over 65516 bytes"))?;
        out.push(self.block_type().0);
        out.extend_from_slice(&size.to_be_bytes());
        match self {
            Block::DateTime { timestamp } => out.extend_from_slice(&timestamp.to_be_bytes()),
            Block::Termination { reason, additional } => {
                out.push(*reason);
                out.extend_from_slice(additional);
            }
            Block::Options(o) => {
                out.extend_from_slice(&[o.version, o.flags, o.session_tag_len]);
                out.extend_from_slice(&o.session_timeout.to_be_bytes());
                out.extend_from_slice(&o.sotw.to_be_bytes());
                out.extend_from_slice(&o.ritw.to_be_bytes());
                out.extend_from_slice(&o.padding_limits);
                for v in [o.tdmy, o.rdmy, o.tdelay, o.rdelay] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
                out.extend_from_slice(&o.more);
            }
            Block::MessageNumber { pn } => out.extend_from_slice(&pn.to_be_bytes()),
            Block::NextKey(k) => {
                out.push(k.flags());
                out.extend_from_slice(&k.key_id.to_be_bytes());
                if let Some(pk) = &k.public_key {
                    out.extend_from_slice(pk);
                }
            }
            Block::Ack(acks) => {
                for a in acks {
                    out.extend_from_slice(&a.tagset_id.to_be_bytes());
                    out.extend_from_slice(&a.n.to_be_bytes());
                }
            }
            Block::AckRequest { flags } => out.push(*flags),
            Block::GarlicClove(c) => c.write_onto(out),
            Block::Padding(p) => out.extend_from_slice(p),
            Block::Unknown { data, .. } => out.extend_from_slice(data),
        }
        Ok(())
    }
}

/// Parses a decrypted payload into its blocks. Total: every byte string gives a list
/// or an error. Checks each block's own format, not the ordering rules (see
/// [`check_order`]).
pub fn parse_blocks(payload: &[u8]) -> Result<Vec<Block>> {
    let mut r = Reader::with_object(payload, "payload block list");
    let mut blocks = Vec::new();
    while !r.is_empty() {
        let blk = r.take_u8()?;
        let size = usize::from(r.take_u16()?);
        let data = r.take(size)?;
        blocks.push(Block::parse_data(blk, data)?);
    }
    Ok(blocks)
}

/// Writes `blocks` as a payload. Errors if a block or the whole is over the limits
/// ([`MAX_BLOCK_DATA_LEN`], [`MAX_PAYLOAD_LEN`]).
pub fn write_blocks(blocks: &[Block]) -> Result<Vec<u8>> {
    let total: usize = blocks
        .iter()
        .map(|b| BLOCK_HEADER_LEN.saturating_add(b.data_len()))
        .fold(0usize, usize::saturating_add);
    if total > MAX_PAYLOAD_LEN {
        return Err(Error::TooLarge("payload over 65519 bytes"));
    }
    let mut out = Vec::with_capacity(total);
    for b in blocks {
        b.write_onto(&mut out)?;
    }
    Ok(out)
}

/// The garlic message a block list travels in; each has its own ordering rules
/// (ecies.rst, "Block Ordering Rules").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageKind {
    /// New Session, including the one-shot "N" message to a router: "the DateTime
    /// block is required, and must be the first block. Other allowed blocks: Garlic
    /// Clove, Options, Padding."
    NewSession,
    /// New Session Reply: "no blocks are required. Other allowed blocks: Garlic Clove,
    /// Options, Padding."
    NewSessionReply,
    /// Existing Session, including one-time key+tag replies: "order is unspecified",
    /// except for Termination and Padding.
    ExistingSession,
}

/// Checks `blocks` against ecies.rst "Block Ordering Rules" for `kind`. Unknown
/// blocks are allowed anywhere before the padding ("treat them as padding").
pub fn check_order(blocks: &[Block], kind: MessageKind) -> Result<()> {
    // "Padding, if present, must be the last block." "Multiple Padding blocks are
    // not allowed in a single frame."
    let paddings = blocks
        .iter()
        .filter(|b| matches!(b, Block::Padding(_)))
        .count();
    if paddings > 1 {
        return Err(Error::BlockOrder("more than one Padding block"));
    }
    if paddings == 1 && !matches!(blocks.last(), Some(Block::Padding(_))) {
        return Err(Error::BlockOrder("Padding is not the last block"));
    }
    let non_padding = match blocks.last() {
        Some(Block::Padding(_)) => blocks.len() - 1,
        _ => blocks.len(),
    };
    let body = blocks.get(..non_padding).unwrap_or(&[]);
    match kind {
        MessageKind::NewSession | MessageKind::NewSessionReply => {
            if kind == MessageKind::NewSession
                && !matches!(body.first(), Some(Block::DateTime { .. }))
            {
                return Err(Error::BlockOrder("New Session must start with DateTime"));
            }
            let rest = if kind == MessageKind::NewSession {
                body.get(1..).unwrap_or(&[])
            } else {
                body
            };
            // "No other blocks are allowed."
            for b in rest {
                match b {
                    Block::GarlicClove(_) | Block::Options(_) | Block::Unknown { .. } => {}
                    _ => {
                        return Err(Error::BlockOrder(
                            "block not allowed in New Session / New Session Reply",
                        ))
                    }
                }
            }
        }
        MessageKind::ExistingSession => {
            // "Termination, if present, must be the last block except for Padding."
            if let Some(i) = body
                .iter()
                .position(|b| matches!(b, Block::Termination { .. }))
            {
                if i + 1 != body.len() {
                    return Err(Error::BlockOrder("Termination is not the last block"));
                }
            }
            // "There may be up to two Next Key blocks in a single frame."
            if body
                .iter()
                .filter(|b| matches!(b, Block::NextKey(_)))
                .count()
                > 2
            {
                return Err(Error::BlockOrder("more than two Next Key blocks"));
            }
        }
    }
    Ok(())
}

/// The cloves of a block list, in order, dropping the other blocks.
pub fn into_cloves(blocks: Vec<Block>) -> Vec<Clove> {
    blocks
        .into_iter()
        .filter_map(|b| match b {
            Block::GarlicClove(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::clove::DeliveryInstructions;
    use i2p_wire::{Hash, I2npMessage, MessageType};

    fn clove(id: u32) -> Block {
        Block::GarlicClove(Clove {
            delivery: DeliveryInstructions::Router(Hash([id as u8; 32])),
            message: I2npMessage::new(MessageType::DATA, id, 1_000_000, vec![1, 2, 3]),
        })
    }

    fn all_kinds() -> Vec<Block> {
        vec![
            Block::DateTime {
                timestamp: 0x6000_0000,
            },
            Block::Options(OptionsBlock {
                version: 0,
                flags: 0,
                session_tag_len: 8,
                session_timeout: 600,
                sotw: 10,
                ritw: 20,
                padding_limits: [1, 2, 3, 4],
                tdmy: 5,
                rdmy: 6,
                tdelay: 7,
                rdelay: 8,
                more: vec![0xee],
            }),
            Block::MessageNumber { pn: 77 },
            Block::NextKey(NextKey {
                reverse: false,
                request_reverse: true,
                key_id: 3,
                public_key: Some([5; 32]),
            }),
            Block::NextKey(NextKey {
                reverse: true,
                request_reverse: false,
                key_id: 4,
                public_key: None,
            }),
            Block::Ack(vec![
                AckEntry { tagset_id: 1, n: 2 },
                AckEntry { tagset_id: 3, n: 4 },
            ]),
            Block::AckRequest { flags: 0 },
            clove(1),
            clove(2),
            Block::Unknown {
                blk: 224,
                data: vec![1, 2],
            },
            Block::Termination {
                reason: 1,
                additional: vec![],
            },
            Block::Padding(vec![0; 5]),
        ]
    }

    #[test]
    fn every_block_kind_round_trips() {
        let blocks = all_kinds();
        let bytes = write_blocks(&blocks).unwrap();
        let parsed = parse_blocks(&bytes).unwrap();
        assert_eq!(parsed, blocks);
        assert_eq!(write_blocks(&parsed).unwrap(), bytes);
        check_order(&parsed, MessageKind::ExistingSession).unwrap();
    }

    #[test]
    fn known_bytes_of_small_blocks() {
        let b = write_blocks(&[
            Block::DateTime {
                timestamp: 0x0102_0304,
            },
            Block::AckRequest { flags: 0 },
            Block::Ack(vec![AckEntry { tagset_id: 5, n: 6 }]),
            Block::Termination {
                reason: 0,
                additional: vec![],
            },
            Block::Padding(vec![0, 0]),
        ])
        .unwrap();
        assert_eq!(
            hex::encode(b),
            [
                "00000401020304",
                "09000100",
                "08000400050006",
                "04000100",
                "fe00020000"
            ]
            .concat()
        );
    }

    #[test]
    fn malformed_lists_are_rejected() {
        let bad: &[&[u8]] = &[
            &[0x00],                            // header truncated
            &[0x00, 0x00],                      // header truncated
            &[0x00, 0x00, 0x05, 1, 2, 3, 4],    // size beyond the end
            &[0x00, 0x00, 0x03, 1, 2, 3],       // DateTime of 3 bytes
            &[0x00, 0x00, 0x05, 1, 2, 3, 4, 5], // DateTime of 5 bytes
            &[0x08, 0x00, 0x03, 1, 2, 3],       // ACK not 4n
            &[0x08, 0x00, 0x00],                // ACK with no entry
            &[0x07, 0x00, 0x03, 0x01, 0, 0],    // NextKey flag says key, none
            &[
                0x07, 0x00, 0x23, 0x00, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
            ], // no flag, key
            &[0x09, 0x00, 0x00],                // AckRequest empty
            &[0x04, 0x00, 0x00],                // Termination without reason
            &[0x05, 0x00, 0x02, 0, 0],          // Options shorter than 21
            &[0x06, 0x00, 0x01, 0],             // MessageNumber of 1 byte
            &[0x0b, 0x00, 0x05, 0, 1, 2, 3, 4], // clove without full I2NP header
        ];
        for b in bad {
            assert!(parse_blocks(b).is_err(), "accepted {}", hex::encode(b));
        }
    }

    #[test]
    fn unknown_blocks_are_kept_and_empty_list_is_fine() {
        assert_eq!(parse_blocks(&[]).unwrap(), vec![]);
        let b = parse_blocks(&[0x02, 0x00, 0x01, 0xaa, 0xff, 0x00, 0x00]).unwrap();
        assert_eq!(
            b,
            vec![
                Block::Unknown {
                    blk: 2,
                    data: vec![0xaa]
                },
                Block::Unknown {
                    blk: 255,
                    data: vec![]
                }
            ]
        );
    }

    #[test]
    fn ordering_rules() {
        use MessageKind::*;
        let dt = Block::DateTime { timestamp: 1 };
        let pad = Block::Padding(vec![]);
        let term = Block::Termination {
            reason: 0,
            additional: vec![],
        };
        let ack = Block::AckRequest { flags: 0 };
        // New Session: DateTime first, then cloves/options, padding last.
        check_order(&[dt.clone(), clove(1), clove(2), pad.clone()], NewSession).unwrap();
        assert!(check_order(&[clove(1), dt.clone()], NewSession).is_err());
        assert!(check_order(&[], NewSession).is_err());
        assert!(check_order(&[dt.clone(), ack.clone()], NewSession).is_err());
        assert!(check_order(&[dt.clone(), dt.clone()], NewSession).is_err());
        assert!(check_order(&[dt.clone(), pad.clone(), clove(1)], NewSession).is_err());
        // New Session Reply: nothing required.
        check_order(&[], NewSessionReply).unwrap();
        assert!(check_order(std::slice::from_ref(&dt), NewSessionReply).is_err());
        // Existing Session.
        check_order(&[clove(1), term.clone(), pad.clone()], ExistingSession).unwrap();
        assert!(check_order(&[term.clone(), clove(1)], ExistingSession).is_err());
        assert!(check_order(&[pad.clone(), pad.clone()], ExistingSession).is_err());
        let nk = Block::NextKey(NextKey {
            reverse: false,
            request_reverse: false,
            key_id: 0,
            public_key: None,
        });
        check_order(&[nk.clone(), nk.clone()], ExistingSession).unwrap();
        assert!(check_order(&[nk.clone(), nk.clone(), nk], ExistingSession).is_err());
    }

    #[test]
    fn writer_refuses_oversize() {
        assert!(write_blocks(&[Block::Padding(vec![0; MAX_BLOCK_DATA_LEN])]).is_ok());
        assert!(write_blocks(&[Block::Padding(vec![0; MAX_BLOCK_DATA_LEN + 1])]).is_err());
        assert!(write_blocks(&[
            Block::Padding(vec![0; 40000]),
            Block::Unknown {
                blk: 3,
                data: vec![0; 40000]
            }
        ])
        .is_err());
    }

    #[test]
    fn into_cloves_keeps_order() {
        let cloves = into_cloves(all_kinds());
        assert_eq!(cloves.len(), 2);
        assert_eq!(cloves[0].message.msg_id, 1);
        assert_eq!(cloves[1].message.msg_id, 2);
    }

    proptest::proptest! {
        #[test]
        fn parser_is_total_and_round_trips(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Ok(blocks) = parse_blocks(&data) {
                let again = write_blocks(&blocks).unwrap();
                proptest::prop_assert_eq!(parse_blocks(&again).unwrap(), blocks);
            }
        }
    }
}
