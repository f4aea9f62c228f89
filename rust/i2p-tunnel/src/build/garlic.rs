//! The OBEP's garlic wrapping of the OutboundTunnelBuildReply with the one-time key and
//! tag of its record KDF (tunnel-creation-ecies.rst, "Garlic Encryption": "encrypted as
//! Existing Session messages with the 32-byte garlic reply key and 8-byte garlic reply
//! tag"; ecies-routers.rst; ecies.rst, "Existing Session" and "Garlic Clove").
//!
//! Garlic message body: 4-byte length, the 8-byte tag, then
//! `ChaCha20/Poly1305(key, n = 0, ad = tag, blocks)`. The blocks are one Garlic Clove
//! block (type 11) with local delivery holding the I2NP message, then a Padding block
//! (type 254), as i2pd 2.45.1 writes them.

use i2p_crypto::aead;
use i2p_wire::{I2npMessage, MessageType};

use super::{BuildError, GarlicReplyKey, Result};

/// ecies.rst block type "Garlic Clove".
const BLOCK_GARLIC_CLOVE: u8 = 11;
/// ecies.rst block type "Padding".
const BLOCK_PADDING: u8 = 254;
/// Clove header after the block header: flag, I2NP type, message id, expiration (s).
const CLOVE_HEADER_LEN: usize = 10;
/// Largest garlic body we accept (an I2NP standard payload is at most 64 KiB).
const MAX_GARLIC_LEN: usize = 65535;

/// Wraps `inner` (an OutboundTunnelBuildReply) into a Garlic I2NP message with the
/// one-time `key`, as the OBEP does before sending it to the reply tunnel's gateway.
pub fn wrap(
    key: &GarlicReplyKey,
    inner: &I2npMessage,
    garlic_msg_id: u32,
    expiration_ms: u64,
) -> Result<I2npMessage> {
    let clove_len = CLOVE_HEADER_LEN + inner.payload.len();
    let clove_len16 =
        u16::try_from(clove_len).map_err(|_| BuildError::InvalidParams("garlic clove too long"))?;
    let mut blocks = Vec::with_capacity(clove_len + 3 + 3 + 15);
    blocks.push(BLOCK_GARLIC_CLOVE);
    blocks.extend_from_slice(&clove_len16.to_be_bytes());
    blocks.push(0); // flag: local delivery
    blocks.push(inner.msg_type.0);
    blocks.extend_from_slice(&inner.msg_id.to_be_bytes());
    let exp_s = u32::try_from(inner.expiration_ms / 1000).unwrap_or(u32::MAX);
    blocks.extend_from_slice(&exp_s.to_be_bytes());
    blocks.extend_from_slice(&inner.payload);
    let pad = i2p_crypto::random_below(16) as u16;
    blocks.push(BLOCK_PADDING);
    blocks.extend_from_slice(&pad.to_be_bytes());
    blocks.resize(blocks.len() + usize::from(pad), 0);

    let ct = aead::encrypt(&key.key, 0, &key.tag, &blocks);
    let body_len = 8 + ct.len();
    let body_len32 =
        u32::try_from(body_len).map_err(|_| BuildError::InvalidParams("garlic too long"))?;
    let mut payload = Vec::with_capacity(4 + body_len);
    payload.extend_from_slice(&body_len32.to_be_bytes());
    payload.extend_from_slice(&key.tag);
    payload.extend_from_slice(&ct);
    Ok(I2npMessage::new(
        MessageType::GARLIC,
        garlic_msg_id,
        expiration_ms,
        payload,
    ))
}

/// The 8-byte tag of a Garlic message body (after its 4-byte length), to look up the
/// pending build it belongs to. `None` if the body is too short.
pub fn tag_of(garlic_payload: &[u8]) -> Option<[u8; 8]> {
    garlic_payload.get(4..12).and_then(|t| t.try_into().ok())
}

/// Opens a Garlic I2NP message body (`garlic_payload`, the bytes after the I2NP
/// header) with the one-time `key` and returns the first locally delivered I2NP
/// message in it. Total: any input gives a message or an error.
pub fn unwrap(key: &GarlicReplyKey, garlic_payload: &[u8]) -> Result<I2npMessage> {
    let (len, rest) = garlic_payload
        .split_first_chunk::<4>()
        .ok_or(BuildError::malformed("garlic", "truncated length"))?;
    let len = u32::from_be_bytes(*len) as usize;
    if len != rest.len() || len > MAX_GARLIC_LEN {
        return Err(BuildError::malformed("garlic", "length mismatch"));
    }
    let (tag, ct) = rest
        .split_first_chunk::<8>()
        .ok_or(BuildError::malformed("garlic", "truncated tag"))?;
    if !i2p_crypto::ct_eq(tag, &key.tag) {
        return Err(BuildError::Decrypt("garlic reply tag"));
    }
    let blocks =
        aead::decrypt(&key.key, 0, tag, ct).map_err(|_| BuildError::Decrypt("garlic reply"))?;
    let mut rest: &[u8] = &blocks;
    while let Some((&btype, after)) = rest.split_first() {
        let (size, after) = after
            .split_first_chunk::<2>()
            .ok_or(BuildError::malformed("garlic block", "truncated size"))?;
        let size = usize::from(u16::from_be_bytes(*size));
        if after.len() < size {
            return Err(BuildError::malformed("garlic block", "truncated"));
        }
        let (data, next) = after.split_at(size);
        rest = next;
        if btype != BLOCK_GARLIC_CLOVE {
            continue;
        }
        let (&flag, c) = data
            .split_first()
            .ok_or(BuildError::malformed("garlic clove", "empty"))?;
        // ecies.rst: delivery type in bits 6-5; only local delivery (0) concerns us.
        if (flag >> 5) & 0x03 != 0 {
            continue;
        }
        let (&mtype, c) = c
            .split_first()
            .ok_or(BuildError::malformed("garlic clove", "truncated"))?;
        let (id, c) = c
            .split_first_chunk::<4>()
            .ok_or(BuildError::malformed("garlic clove", "truncated"))?;
        let (exp, payload) = c
            .split_first_chunk::<4>()
            .ok_or(BuildError::malformed("garlic clove", "truncated"))?;
        return Ok(I2npMessage::new(
            MessageType(mtype),
            u32::from_be_bytes(*id),
            u64::from(u32::from_be_bytes(*exp)) * 1000,
            payload.to_vec(),
        ));
    }
    Err(BuildError::malformed("garlic", "no local clove"))
}

#[cfg(test)]
mod test {
    use super::*;

    fn key() -> GarlicReplyKey {
        GarlicReplyKey {
            key: [9u8; 32],
            tag: [1, 2, 3, 4, 5, 6, 7, 8],
        }
    }

    #[test]
    fn wrap_then_unwrap() {
        let inner = I2npMessage::new(
            MessageType::OUTBOUND_TUNNEL_BUILD_REPLY,
            77,
            1_700_000_123_000,
            vec![1, 2, 3],
        );
        let g = wrap(&key(), &inner, 5, 1_700_000_124_000).unwrap();
        assert_eq!(g.msg_type, MessageType::GARLIC);
        assert_eq!(tag_of(&g.payload), Some(key().tag));
        assert_eq!(unwrap(&key(), &g.payload).unwrap(), inner);
        let mut other = key();
        other.key[0] ^= 1;
        assert!(unwrap(&other, &g.payload).is_err());
        let mut bad = g.payload.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            unwrap(&key(), &bad),
            Err(BuildError::Decrypt("garlic reply"))
        );
        assert!(unwrap(&key(), &g.payload[..g.payload.len() - 1]).is_err());
    }
}
