//! Tunnel message delivery instructions and the decrypted block layout
//! (tunnel-message.rst, "Tunnel Message (Decrypted)", "Tunnel Message Delivery
//! Instructions").

use i2p_wire::{Hash, Reader, Writer};

use super::{Error, Result, TunnelData};

/// Where the endpoint delivers a message (the delivery type bits 6-5 of the first
/// fragment's flag byte).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// 0x0, LOCAL: "used for inbound tunnels only", to the endpoint itself.
    Local,
    /// 0x1, TUNNEL: to the inbound gateway `gateway`, tunnel `tunnel_id`.
    Tunnel {
        /// "The destination tunnel ID, nonzero".
        tunnel_id: u32,
        /// "the SHA256 Hash of the gateway router".
        gateway: Hash,
    },
    /// 0x2, ROUTER: to the router with this identity hash.
    Router(Hash),
}

/// Flag bit 7: set for a follow-on fragment.
const FOLLOW_ON: u8 = 0x80;
/// First fragment flag bit 4: a delay byte follows (unimplemented, skipped).
const DELAY: u8 = 0x10;
/// First fragment flag bit 3: fragmented, a message id follows.
const FRAGMENTED: u8 = 0x08;
/// First fragment flag bit 2: extended options follow (unimplemented, skipped).
const EXTENDED: u8 = 0x04;

impl Delivery {
    /// Delivery type code.
    fn code(&self) -> u8 {
        match self {
            Delivery::Local => 0,
            Delivery::Tunnel { .. } => 1,
            Delivery::Router(_) => 2,
        }
    }

    /// Length of first-fragment instructions for this delivery: flag and address,
    /// without the message id and size.
    pub(crate) fn address_len(&self) -> usize {
        match self {
            Delivery::Local => 1,
            Delivery::Tunnel { .. } => 1 + 4 + 32,
            Delivery::Router(_) => 1 + 32,
        }
    }

    /// Appends first-fragment instructions: flag, address, message id if
    /// fragmented, size.
    pub(crate) fn write_first(&self, out: &mut Vec<u8>, msg_id: Option<u32>, size: u16) {
        let mut flag = self.code() << 5;
        if msg_id.is_some() {
            flag |= FRAGMENTED;
        }
        out.write_u8(flag);
        match self {
            Delivery::Local => {}
            Delivery::Tunnel { tunnel_id, gateway } => {
                out.write_u32(*tunnel_id);
                out.write_bytes(&gateway.0);
            }
            Delivery::Router(h) => out.write_bytes(&h.0),
        }
        if let Some(id) = msg_id {
            out.write_u32(id);
        }
        out.write_u16(size);
    }
}

/// Appends follow-on fragment instructions (7 bytes).
pub(crate) fn write_follow_on(out: &mut Vec<u8>, msg_id: u32, number: u8, last: bool, size: u16) {
    out.write_u8(FOLLOW_ON | ((number & 0x3f) << 1) | u8::from(last));
    out.write_u32(msg_id);
    out.write_u16(size);
}

/// One delivery-instructions/fragment pair of a decrypted block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment<'a> {
    /// A whole message (`msg_id` None) or the first fragment (number 0) of one.
    First {
        /// Where to deliver the message.
        delivery: Delivery,
        /// The message id shared by all fragments, present if fragmented.
        msg_id: Option<u32>,
        /// The fragment bytes.
        data: &'a [u8],
    },
    /// Fragment `number` (1 to 63) of message `msg_id`.
    FollowOn {
        /// The message id shared by all fragments.
        msg_id: u32,
        /// The fragment number, 1 to 63.
        number: u8,
        /// Whether this is the last fragment.
        last: bool,
        /// The fragment bytes.
        data: &'a [u8],
    },
}

/// Parses a decrypted block: finds the zero byte after the nonzero padding, checks the
/// checksum ("the first 4 bytes of the SHA256 hash of (the contents of the message
/// (after the zero byte) + IV)") and reads every instructions/fragment pair. A block
/// with nothing after the zero byte (cover traffic) gives no fragments.
pub fn parse_block(msg: &TunnelData) -> Result<Vec<Fragment<'_>>> {
    let (checksum, rest) = msg.data.split_at(4);
    let zero = rest.iter().position(|&b| b == 0).ok_or(Error::NoZeroByte)?;
    let body = rest.get(zero + 1..).unwrap_or(&[]);
    let hash = i2p_crypto::hash::sha256_parts(&[body, &msg.iv]);
    if !i2p_crypto::ct_eq(&hash[..4], checksum) {
        return Err(Error::BadChecksum);
    }
    parse_instructions(body)
}

/// Parses the instructions/fragment pairs that follow the zero byte of a decrypted
/// block (no checksum check: see [`parse_block`]). Rejects delivery type 3,
/// follow-on fragment number 0, a TUNNEL delivery to tunnel id 0 and fragments
/// running past the end. At most one pair per 3 bytes.
pub fn parse_instructions(body: &[u8]) -> Result<Vec<Fragment<'_>>> {
    let mut r = Reader::with_object(body, "tunnel delivery instructions");
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(take_fragment(&mut r)?);
    }
    Ok(out)
}

fn take_fragment<'a>(r: &mut Reader<'a>) -> Result<Fragment<'a>> {
    let flag = r.take_u8()?;
    if flag & FOLLOW_ON != 0 {
        let number = (flag >> 1) & 0x3f;
        if number == 0 {
            return Err(Error::BadInstructions("follow-on fragment number 0"));
        }
        let msg_id = r.take_u32()?;
        let data = take_sized(r)?;
        return Ok(Fragment::FollowOn {
            msg_id,
            number,
            last: flag & 1 != 0,
            data,
        });
    }
    let delivery = match (flag >> 5) & 0x03 {
        0 => Delivery::Local,
        1 => {
            let tunnel_id = r.take_u32()?;
            if tunnel_id == 0 {
                return Err(Error::BadInstructions("TUNNEL delivery to tunnel id 0"));
            }
            Delivery::Tunnel {
                tunnel_id,
                gateway: Hash(r.take_array()?),
            }
        }
        2 => Delivery::Router(Hash(r.take_array()?)),
        _ => return Err(Error::BadInstructions("delivery type 3")),
    };
    if flag & DELAY != 0 {
        r.take_u8()?; // "Unimplemented, never present": read past it.
    }
    let msg_id = if flag & FRAGMENTED != 0 {
        Some(r.take_u32()?)
    } else {
        None
    };
    if flag & EXTENDED != 0 {
        let n = usize::from(r.take_u8()?);
        r.take(n)?;
    }
    let data = take_sized(r)?;
    Ok(Fragment::First {
        delivery,
        msg_id,
        data,
    })
}

fn take_sized<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    let size = usize::from(r.take_u16()?);
    r.take(size)
        .map_err(|_| Error::BadInstructions("fragment size past the end of the block"))
}
