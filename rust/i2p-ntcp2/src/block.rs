//! The blocks inside NTCP2 AEAD frames (ntcp2.rst, "Unencrypted data", "Block Ordering
//! Rules", and the sections of each block type).
//!
//! Every block is `type (1) || size (2, big endian) || data (size)`. Parsing is total:
//! any byte string gives blocks or a [`BlockError`], never a panic, and a block's size
//! is checked against the bytes left before anything is read ("Implementers must ensure
//! that when reading a block, malformed or malicious data will not cause reads to
//! overrun into the next block").

/// Block type byte (ntcp2.rst, "Unencrypted data": `blk`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockType {
    /// 0: DateTime.
    DateTime,
    /// 1: Options.
    Options,
    /// 2: RouterInfo.
    RouterInfo,
    /// 3: I2NP message (9-byte short header form).
    I2np,
    /// 4: Termination.
    Termination,
    /// 254: Padding.
    Padding,
    /// Any other value: "receivers must ignore blocks with unknown identifiers".
    Unknown(u8),
}

impl From<u8> for BlockType {
    fn from(b: u8) -> Self {
        match b {
            0 => Self::DateTime,
            1 => Self::Options,
            2 => Self::RouterInfo,
            3 => Self::I2np,
            4 => Self::Termination,
            254 => Self::Padding,
            n => Self::Unknown(n),
        }
    }
}

impl From<BlockType> for u8 {
    fn from(t: BlockType) -> u8 {
        match t {
            BlockType::DateTime => 0,
            BlockType::Options => 1,
            BlockType::RouterInfo => 2,
            BlockType::I2np => 3,
            BlockType::Termination => 4,
            BlockType::Padding => 254,
            BlockType::Unknown(n) => n,
        }
    }
}

/// Largest plaintext of one AEAD frame: 65535 minus the 16-byte tag (ntcp2.rst,
/// "Maximum total block size is 65519 bytes").
pub const MAX_FRAME_PAYLOAD: usize = 65519;
/// Largest data of a single block: "Maximum single block data size is 65516 bytes."
pub const MAX_BLOCK_DATA: usize = MAX_FRAME_PAYLOAD - BLOCK_HEADER_LEN;
/// Block header: type (1) and size (2).
pub const BLOCK_HEADER_LEN: usize = 3;
/// Length of the short I2NP header carried in an I2NP block: type (1), message id (4),
/// expiration in seconds (4) (ntcp2.rst, "I2NP Message").
pub const I2NP_SHORT_HEADER_LEN: usize = 9;
/// RouterInfo block flag bit 0: "1 for flood request".
pub const ROUTER_INFO_FLAG_FLOOD: u8 = 0x01;

/// Reason byte of the Termination block (ntcp2.rst, "Termination": `rsn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TerminationReason(pub u8);

impl TerminationReason {
    /// 0: normal close or unspecified.
    pub const NORMAL: Self = Self(0);
    /// 1: termination received.
    pub const TERMINATION_RECEIVED: Self = Self(1);
    /// 2: idle timeout.
    pub const IDLE_TIMEOUT: Self = Self(2);
    /// 3: router shutdown.
    pub const ROUTER_SHUTDOWN: Self = Self(3);
    /// 4: data phase AEAD failure.
    pub const DATA_PHASE_AEAD_FAILURE: Self = Self(4);
    /// 5: incompatible options.
    pub const INCOMPATIBLE_OPTIONS: Self = Self(5);
    /// 6: incompatible signature type.
    pub const INCOMPATIBLE_SIGNATURE_TYPE: Self = Self(6);
    /// 7: clock skew.
    pub const CLOCK_SKEW: Self = Self(7);
    /// 8: padding violation.
    pub const PADDING_VIOLATION: Self = Self(8);
    /// 9: AEAD framing error.
    pub const AEAD_FRAMING_ERROR: Self = Self(9);
    /// 10: payload format error.
    pub const PAYLOAD_FORMAT_ERROR: Self = Self(10);
    /// 11: message 1 error.
    pub const MESSAGE_1_ERROR: Self = Self(11);
    /// 12: message 2 error.
    pub const MESSAGE_2_ERROR: Self = Self(12);
    /// 13: message 3 error.
    pub const MESSAGE_3_ERROR: Self = Self(13);
    /// 14: intra-frame read timeout.
    pub const INTRA_FRAME_READ_TIMEOUT: Self = Self(14);
    /// 15: RI signature verification fail.
    pub const RI_SIGNATURE_VERIFICATION_FAIL: Self = Self(15);
    /// 16: s parameter missing, invalid, or mismatched in RouterInfo.
    pub const S_PARAMETER_MISMATCH: Self = Self(16);
    /// 17: banned.
    pub const BANNED: Self = Self(17);
}

/// The Options block (ntcp2.rst, "Options"): padding ratios in 4.4 fixed point
/// (value / 16.0), dummy traffic and delay parameters; at least 12 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionsBlock {
    /// Transmit padding minimum ratio.
    pub tmin: u8,
    /// Transmit padding maximum ratio.
    pub tmax: u8,
    /// Receive padding minimum ratio.
    pub rmin: u8,
    /// Receive padding maximum ratio.
    pub rmax: u8,
    /// Max dummy traffic willing to send, bytes/s.
    pub tdmy: u16,
    /// Requested dummy traffic, bytes/s.
    pub rdmy: u16,
    /// Max intra-message delay willing to insert, ms.
    pub tdelay: u16,
    /// Requested intra-message delay, ms.
    pub rdelay: u16,
    /// `more_options`: "Format TBD", kept verbatim.
    pub more: Vec<u8>,
}

/// Length of the fixed part of the Options block.
pub const OPTIONS_MIN_LEN: usize = 12;

impl OptionsBlock {
    /// Parses the block data (after type and size).
    pub fn parse(data: &[u8]) -> Result<Self, BlockError> {
        let (fixed, more) = split(data, OPTIONS_MIN_LEN).ok_or(BlockError::BadSize {
            block: "Options",
            size: data.len(),
        })?;
        let b = |i: usize| fixed.get(i).copied().unwrap_or(0);
        let w = |i: usize| u16::from_be_bytes([b(i), b(i + 1)]);
        Ok(Self {
            tmin: b(0),
            tmax: b(1),
            rmin: b(2),
            rmax: b(3),
            tdmy: w(4),
            rdmy: w(6),
            tdelay: w(8),
            rdelay: w(10),
            more: more.to_vec(),
        })
    }

    /// The block data (after type and size).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![self.tmin, self.tmax, self.rmin, self.rmax];
        for x in [self.tdmy, self.rdmy, self.tdelay, self.rdelay] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(&self.more);
        v
    }
}

/// One parsed block, borrowing from the frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block<'a> {
    /// DateTime: Unix timestamp, seconds.
    DateTime {
        /// Seconds since the epoch (wraps in 2106).
        timestamp: u32,
    },
    /// Options.
    Options(OptionsBlock),
    /// RouterInfo: flag byte, then the (uncompressed) RouterInfo.
    RouterInfo {
        /// Bit 0 of the flag: flood request.
        flood: bool,
        /// The RouterInfo bytes, unparsed and unverified.
        router_info: &'a [u8],
    },
    /// An I2NP message in the short-header form: type, msg id, 4-byte expiration, body.
    I2np(&'a [u8]),
    /// Termination.
    Termination {
        /// "valid data frames received": the sender's receive nonce.
        frames_received: u64,
        /// Reason code.
        reason: TerminationReason,
        /// Optional additional data, format unspecified.
        additional: &'a [u8],
    },
    /// Padding of this many bytes.
    Padding(usize),
    /// A block of an unknown type (treated as padding).
    Unknown {
        /// Its type byte.
        block_type: u8,
        /// Its data.
        data: &'a [u8],
    },
}

impl Block<'_> {
    /// The type of this block.
    pub fn block_type(&self) -> BlockType {
        match self {
            Block::DateTime { .. } => BlockType::DateTime,
            Block::Options(_) => BlockType::Options,
            Block::RouterInfo { .. } => BlockType::RouterInfo,
            Block::I2np(_) => BlockType::I2np,
            Block::Termination { .. } => BlockType::Termination,
            Block::Padding(_) => BlockType::Padding,
            Block::Unknown { block_type, .. } => BlockType::Unknown(*block_type),
        }
    }

    /// Length of the block's data (without the 3-byte header).
    pub fn data_len(&self) -> usize {
        match self {
            Block::DateTime { .. } => 4,
            Block::Options(o) => OPTIONS_MIN_LEN + o.more.len(),
            Block::RouterInfo { router_info, .. } => 1 + router_info.len(),
            Block::I2np(m) => m.len(),
            Block::Termination { additional, .. } => 9 + additional.len(),
            Block::Padding(n) => *n,
            Block::Unknown { data, .. } => data.len(),
        }
    }

    /// Appends the block (header and data) to `out`. Padding bytes are random.
    /// Errors if the data is longer than [`MAX_BLOCK_DATA`].
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), BlockError> {
        let len = self.data_len();
        let size = u16::try_from(len)
            .ok()
            .filter(|_| len <= MAX_BLOCK_DATA)
            .ok_or(BlockError::TooLong(len))?;
        out.push(self.block_type().into());
        out.extend_from_slice(&size.to_be_bytes());
        match self {
            Block::DateTime { timestamp } => out.extend_from_slice(&timestamp.to_be_bytes()),
            Block::Options(o) => out.extend_from_slice(&o.to_bytes()),
            Block::RouterInfo { flood, router_info } => {
                out.push(if *flood { ROUTER_INFO_FLAG_FLOOD } else { 0 });
                out.extend_from_slice(router_info);
            }
            Block::I2np(m) => out.extend_from_slice(m),
            Block::Termination {
                frames_received,
                reason,
                additional,
            } => {
                out.extend_from_slice(&frames_received.to_be_bytes());
                out.push(reason.0);
                out.extend_from_slice(additional);
            }
            Block::Padding(n) => {
                let start = out.len();
                out.resize(start + n, 0);
                if let Some(tail) = out.get_mut(start..) {
                    i2p_crypto::random_bytes(tail);
                }
            }
            Block::Unknown { data, .. } => out.extend_from_slice(data),
        }
        Ok(())
    }
}

/// Why a frame's blocks could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// Fewer than 3 bytes left for a block header.
    #[error("truncated block header")]
    TruncatedHeader,
    /// A block's size runs past the end of the frame.
    #[error("block of type {block_type} claims {size} bytes, {left} left")]
    Overrun {
        /// The block's type byte.
        block_type: u8,
        /// Its size field.
        size: usize,
        /// Bytes left in the frame after the header.
        left: usize,
    },
    /// A block has a size its type does not allow.
    #[error("{block} block with invalid size {size}")]
    BadSize {
        /// Which block.
        block: &'static str,
        /// Its size.
        size: usize,
    },
    /// "Padding, if present, must be the last block" / "Multiple Padding blocks are not allowed".
    #[error("block after a Padding block")]
    DataAfterPadding,
    /// "Termination, if present, must be the last block except for Padding."
    #[error("non-padding block after a Termination block")]
    DataAfterTermination,
    /// Message 3 part 2 must be RouterInfo, then optional Options, then optional Padding.
    #[error("message 3 part 2: {0}")]
    SessionConfirmedOrder(&'static str),
    /// A block too long to encode.
    #[error("block data of {0} bytes exceeds 65516")]
    TooLong(usize),
}

fn split(data: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    if data.len() >= at {
        Some(data.split_at(at))
    } else {
        None
    }
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u64::from_be_bytes(a)
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    u32::from_be_bytes(a)
}

/// Parses one block's data given its type.
fn parse_one(block_type: u8, data: &[u8]) -> Result<Block<'_>, BlockError> {
    Ok(match BlockType::from(block_type) {
        // "size :: 2 bytes, big endian, value = 4"
        BlockType::DateTime => {
            if data.len() != 4 {
                return Err(BlockError::BadSize {
                    block: "DateTime",
                    size: data.len(),
                });
            }
            Block::DateTime {
                timestamp: be_u32(data),
            }
        }
        BlockType::Options => Block::Options(OptionsBlock::parse(data)?),
        BlockType::RouterInfo => match data.split_first() {
            Some((flag, ri)) if !ri.is_empty() => Block::RouterInfo {
                flood: flag & ROUTER_INFO_FLAG_FLOOD != 0,
                router_info: ri,
            },
            _ => {
                return Err(BlockError::BadSize {
                    block: "RouterInfo",
                    size: data.len(),
                })
            }
        },
        BlockType::I2np => {
            if data.len() < I2NP_SHORT_HEADER_LEN {
                return Err(BlockError::BadSize {
                    block: "I2NP",
                    size: data.len(),
                });
            }
            Block::I2np(data)
        }
        // "size :: 2 bytes, big endian, value = 9 or more"
        BlockType::Termination => match split(data, 9) {
            Some((fixed, additional)) => {
                let (count, reason) = fixed.split_at(8);
                Block::Termination {
                    frames_received: be_u64(count),
                    reason: TerminationReason(reason.first().copied().unwrap_or(0)),
                    additional,
                }
            }
            None => {
                return Err(BlockError::BadSize {
                    block: "Termination",
                    size: data.len(),
                })
            }
        },
        BlockType::Padding => Block::Padding(data.len()),
        BlockType::Unknown(n) => Block::Unknown {
            block_type: n,
            data,
        },
    })
}

/// Splits a frame's plaintext into blocks without checking ordering rules.
pub fn parse_blocks_unordered(payload: &[u8]) -> Result<Vec<Block<'_>>, BlockError> {
    let mut out = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let (hdr, tail) = split(rest, BLOCK_HEADER_LEN).ok_or(BlockError::TruncatedHeader)?;
        let (t, sz) = match hdr {
            [t, a, b] => (*t, usize::from(u16::from_be_bytes([*a, *b]))),
            _ => return Err(BlockError::TruncatedHeader),
        };
        let (data, next) = split(tail, sz).ok_or(BlockError::Overrun {
            block_type: t,
            size: sz,
            left: tail.len(),
        })?;
        out.push(parse_one(t, data)?);
        rest = next;
    }
    Ok(out)
}

/// Parses a data-phase frame's plaintext and enforces the data-phase ordering rules
/// (ntcp2.rst, "Block Ordering Rules"): at most one Padding block, and it is last;
/// Termination is the last block except for Padding.
pub fn parse_data_phase_blocks(payload: &[u8]) -> Result<Vec<Block<'_>>, BlockError> {
    let blocks = parse_blocks_unordered(payload)?;
    let mut seen_padding = false;
    let mut seen_termination = false;
    for b in &blocks {
        if seen_padding {
            return Err(BlockError::DataAfterPadding);
        }
        match b {
            Block::Padding(_) => seen_padding = true,
            _ if seen_termination => return Err(BlockError::DataAfterTermination),
            Block::Termination { .. } => seen_termination = true,
            _ => {}
        }
    }
    Ok(blocks)
}

/// The content of message 3 part 2 (ntcp2.rst, "SessionConfirmed" notes): "The frame
/// must contain 1 to 3 blocks in the following order: 1) Alice's Router Info block
/// (required) 2) Options block (optional) 3) Padding block (optional). This frame must
/// never contain any other block type."
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfirmedPayload<'a> {
    /// Alice's RouterInfo, unparsed.
    pub router_info: &'a [u8],
    /// The RouterInfo block's flood flag.
    pub flood: bool,
    /// Alice's Options block, if any.
    pub options: Option<OptionsBlock>,
}

/// Parses message 3 part 2's plaintext, enforcing its block order.
pub fn parse_session_confirmed(payload: &[u8]) -> Result<SessionConfirmedPayload<'_>, BlockError> {
    let blocks = parse_blocks_unordered(payload)?;
    let mut it = blocks.into_iter();
    let (router_info, flood) = match it.next() {
        Some(Block::RouterInfo { flood, router_info }) => (router_info, flood),
        _ => {
            return Err(BlockError::SessionConfirmedOrder(
                "first block is not RouterInfo",
            ))
        }
    };
    let mut options = None;
    let mut padded = false;
    for b in it {
        match b {
            Block::Options(o) if options.is_none() && !padded => options = Some(o),
            Block::Padding(_) if !padded => padded = true,
            _ => return Err(BlockError::SessionConfirmedOrder("unexpected block")),
        }
    }
    Ok(SessionConfirmedPayload {
        router_info,
        flood,
        options,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    fn enc(blocks: &[Block<'_>]) -> Vec<u8> {
        let mut v = Vec::new();
        for b in blocks {
            b.write(&mut v).unwrap();
        }
        v
    }

    #[test]
    fn termination_idle_bytes() {
        // blk 4, size 9, frames 23, reason 2 (layout from ntcp2.rst "Termination").
        let b = Block::Termination {
            frames_received: 23,
            reason: TerminationReason::IDLE_TIMEOUT,
            additional: &[],
        };
        let v = enc(std::slice::from_ref(&b));
        assert_eq!(hex::encode(&v), "040009000000000000001702");
        assert_eq!(parse_data_phase_blocks(&v).unwrap(), vec![b]);
    }

    #[test]
    fn round_trip_all_types() {
        let opts = OptionsBlock {
            tmin: 1,
            tmax: 2,
            rmin: 3,
            rmax: 4,
            tdmy: 5,
            rdmy: 6,
            tdelay: 7,
            rdelay: 8,
            more: vec![9, 9],
        };
        let blocks = vec![
            Block::DateTime {
                timestamp: 0x5f00_0001,
            },
            Block::Options(opts),
            Block::RouterInfo {
                flood: true,
                router_info: b"ri-bytes",
            },
            Block::I2np(b"\x12\0\0\0\x01\0\0\0\x02body"),
            Block::Unknown {
                block_type: 224,
                data: b"x",
            },
            Block::Termination {
                frames_received: 7,
                reason: TerminationReason::ROUTER_SHUTDOWN,
                additional: b"bye",
            },
            Block::Padding(5),
        ];
        let v = enc(&blocks);
        assert_eq!(parse_data_phase_blocks(&v).unwrap(), blocks);
    }

    #[test]
    fn ordering_rules() {
        let pad_then_i2np = enc(&[Block::Padding(1), Block::I2np(&[0u8; 9])]);
        assert_eq!(
            parse_data_phase_blocks(&pad_then_i2np),
            Err(BlockError::DataAfterPadding)
        );
        let two_pads = enc(&[Block::Padding(1), Block::Padding(0)]);
        assert_eq!(
            parse_data_phase_blocks(&two_pads),
            Err(BlockError::DataAfterPadding)
        );
        let term = Block::Termination {
            frames_received: 0,
            reason: TerminationReason::NORMAL,
            additional: &[],
        };
        let term_then_dt = enc(&[term.clone(), Block::DateTime { timestamp: 1 }]);
        assert_eq!(
            parse_data_phase_blocks(&term_then_dt),
            Err(BlockError::DataAfterTermination)
        );
        assert!(parse_data_phase_blocks(&enc(&[term, Block::Padding(3)])).is_ok());
    }

    #[test]
    fn overrun_and_bad_sizes() {
        assert_eq!(
            parse_blocks_unordered(&[3, 0, 20, 1, 2]),
            Err(BlockError::Overrun {
                block_type: 3,
                size: 20,
                left: 2
            })
        );
        assert_eq!(
            parse_blocks_unordered(&[3, 0]),
            Err(BlockError::TruncatedHeader)
        );
        assert!(parse_blocks_unordered(&[0, 0, 3, 1, 2, 3]).is_err());
        assert!(parse_blocks_unordered(&[4, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse_blocks_unordered(&[3, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse_blocks_unordered(&[2, 0, 1, 0]).is_err());
        assert!(parse_blocks_unordered(&[1, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert_eq!(parse_blocks_unordered(&[]).unwrap(), vec![]);
    }

    #[test]
    fn session_confirmed_order() {
        let ri = Block::RouterInfo {
            flood: false,
            router_info: b"ri",
        };
        let ok = enc(&[
            ri.clone(),
            Block::Options(OptionsBlock::default()),
            Block::Padding(4),
        ]);
        let p = parse_session_confirmed(&ok).unwrap();
        assert_eq!(p.router_info, b"ri");
        assert!(p.options.is_some());
        assert!(parse_session_confirmed(&enc(&[Block::Padding(1), ri.clone()])).is_err());
        assert!(parse_session_confirmed(&enc(&[ri.clone(), Block::I2np(&[0; 9])])).is_err());
        assert!(parse_session_confirmed(&enc(&[
            ri,
            Block::Padding(1),
            Block::Options(OptionsBlock::default())
        ]))
        .is_err());
    }

    #[test]
    fn too_long_block_refused() {
        let big = vec![0u8; MAX_BLOCK_DATA + 1];
        assert_eq!(
            Block::I2np(&big).write(&mut Vec::new()),
            Err(BlockError::TooLong(MAX_BLOCK_DATA + 1))
        );
        let max = vec![0u8; MAX_BLOCK_DATA];
        let mut v = Vec::new();
        Block::I2np(&max).write(&mut v).unwrap();
        assert_eq!(v.len(), MAX_FRAME_PAYLOAD);
    }
}
