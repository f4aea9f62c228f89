//! Gateway fragmentation (tunnel-message.rst, "Tunnel Message (Decrypted)",
//! "Delivery Instructions", "Notes"): I2NP messages with their delivery instructions
//! packed into 1008-byte cleartext blocks.
//!
//! Packing follows i2pd 2.45.1's gateway: a message that fits the open block goes in
//! whole; a larger one starts in the open block's remaining room unless that would
//! waste the next block (then the open block is sent first); follow-on fragments
//! fill whole blocks, and the block holding the last fragment stays open for the next
//! message.

use i2p_wire::I2npMessage;

use super::delivery::write_follow_on;
use super::{
    Delivery, Error, Result, TunnelData, ENCRYPTED_LEN, IV_LEN, MAX_BLOCK_PAYLOAD,
    MAX_FRAGMENT_NUMBER,
};

/// Follow-on instructions: flag, message id, size.
const FOLLOW_ON_LEN: usize = 7;
/// Largest follow-on fragment (tunnel-message.rst: "the maximum size of a follow-on
/// fragment is 996 bytes").
const MAX_FOLLOW_ON: usize = MAX_BLOCK_PAYLOAD - FOLLOW_ON_LEN;

/// The gateway's fragmenter: [`Fragmenter::push`] messages, then
/// [`Fragmenter::flush`] the blocks to encrypt and send. Its queue grows only by what
/// the owner pushes between flushes.
#[derive(Clone)]
pub struct Fragmenter {
    /// Instructions and fragments of the block being filled.
    current: Option<Vec<u8>>,
    /// Completed block contents, not yet flushed.
    done: Vec<Vec<u8>>,
    /// Nonzero random bytes, the source of padding (as i2pd: one buffer, a random
    /// offset per block; padding is not secret).
    padding: Vec<u8>,
}

impl std::fmt::Debug for Fragmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fragmenter")
            .field("blocks", &self.pending_blocks())
            .finish_non_exhaustive()
    }
}

impl Default for Fragmenter {
    fn default() -> Self {
        Self::new()
    }
}

/// How one message is laid out.
struct Plan {
    /// Complete the open block first.
    close_current: bool,
    /// Size of the first fragment, if the message is fragmented.
    first_fragment: Option<usize>,
}

impl Fragmenter {
    /// An empty fragmenter.
    pub fn new() -> Self {
        let mut padding = vec![0u8; MAX_BLOCK_PAYLOAD];
        i2p_crypto::random_bytes(&mut padding);
        for b in padding.iter_mut() {
            if *b == 0 {
                *b = 1;
            }
        }
        Fragmenter {
            current: None,
            done: Vec::new(),
            padding,
        }
    }

    /// Number of blocks [`Fragmenter::flush`] would return now.
    pub fn pending_blocks(&self) -> usize {
        self.done.len() + usize::from(self.current.is_some())
    }

    /// Adds `msg` (sent in its standard 16-byte header form) with its delivery
    /// instructions. Fragments carry `msg.msg_id` as their message id ("the current
    /// implementation uses I2NPMessageHeader.msg_id"). Errors, changing nothing, if
    /// the message needs more than 64 fragments (about 62 KB).
    pub fn push(&mut self, delivery: &Delivery, msg: &I2npMessage) -> Result<()> {
        let bytes = msg.to_standard_bytes()?;
        self.push_bytes(delivery, msg.msg_id, &bytes)
    }

    /// [`Fragmenter::push`] for a message already in its standard form.
    pub fn push_bytes(&mut self, delivery: &Delivery, msg_id: u32, bytes: &[u8]) -> Result<()> {
        let addr = delivery.address_len();
        let plan = self.plan(addr, bytes.len());
        if let Some(first) = plan.first_fragment {
            let rest = bytes.len().saturating_sub(first);
            if rest.div_ceil(MAX_FOLLOW_ON) > usize::from(MAX_FRAGMENT_NUMBER) {
                return Err(Error::MessageTooLarge(bytes.len()));
            }
        }
        if plan.close_current {
            self.complete();
        }
        let block = self.current.get_or_insert_with(new_block);
        let Some(first) = plan.first_fragment else {
            delivery.write_first(block, None, size16(bytes.len()));
            block.extend_from_slice(bytes);
            if block.len() >= MAX_BLOCK_PAYLOAD {
                self.complete();
            }
            return Ok(());
        };
        let (head, mut rest) = bytes.split_at(first.min(bytes.len()));
        delivery.write_first(block, Some(msg_id), size16(head.len()));
        block.extend_from_slice(head);
        self.complete();
        let mut number = 1u8;
        while !rest.is_empty() {
            let take = rest.len().min(MAX_FOLLOW_ON);
            let (frag, tail) = rest.split_at(take);
            let last = tail.is_empty();
            let mut block = new_block();
            write_follow_on(&mut block, msg_id, number, last, size16(frag.len()));
            block.extend_from_slice(frag);
            self.current = Some(block);
            if !last || take == MAX_FOLLOW_ON {
                self.complete();
            }
            rest = tail;
            number = number.saturating_add(1);
        }
        Ok(())
    }

    fn plan(&self, addr: usize, len: usize) -> Plan {
        let whole = addr + 2 + len;
        let mut close_current = false;
        let mut remaining = MAX_BLOCK_PAYLOAD;
        if let Some(cur) = &self.current {
            remaining = MAX_BLOCK_PAYLOAD.saturating_sub(cur.len());
            if whole > remaining {
                // Start the message in this block only if its tail would not then
                // spill over into a nearly empty block.
                let follow_ons = whole / MAX_BLOCK_PAYLOAD;
                let tail = (whole + follow_ons * FOLLOW_ON_LEN) % MAX_BLOCK_PAYLOAD;
                if tail == 0 || tail > remaining || remaining < whole / 5 {
                    close_current = true;
                    remaining = MAX_BLOCK_PAYLOAD;
                }
            }
        }
        if whole <= remaining {
            return Plan {
                close_current,
                first_fragment: None,
            };
        }
        // Fragmented: instructions plus message id (4) and size (2) must fit.
        if addr + 6 > remaining {
            close_current = true;
            remaining = MAX_BLOCK_PAYLOAD;
        }
        Plan {
            close_current,
            first_fragment: Some(remaining - addr - 6),
        }
    }

    fn complete(&mut self) {
        if let Some(b) = self.current.take() {
            self.done.push(b);
        }
    }

    /// Completes the open block and returns every block as a cleartext TunnelData
    /// addressed to `tunnel_id`: random IV, checksum, nonzero padding, zero byte,
    /// instructions and fragments. The caller then encrypts it
    /// ([`super::TunnelLayers::encrypt_outbound`] or [`super::HopCipher::process`]).
    pub fn flush(&mut self, tunnel_id: u32) -> Vec<TunnelData> {
        self.complete();
        let blocks = std::mem::take(&mut self.done);
        blocks
            .iter()
            .map(|c| seal_block(&self.padding, tunnel_id, c))
            .collect()
    }
}

/// A cleartext block around `content` (at most 1003 bytes of instructions and
/// fragments; more is cut): random IV, checksum, padding from `padding_src`, zero.
pub(crate) fn seal_block(padding_src: &[u8], tunnel_id: u32, content: &[u8]) -> TunnelData {
    let mut iv = [0u8; IV_LEN];
    i2p_crypto::random_bytes(&mut iv);
    let mut data = [0u8; ENCRYPTED_LEN];
    let content = content.get(..MAX_BLOCK_PAYLOAD).unwrap_or(content);
    let pad = MAX_BLOCK_PAYLOAD - content.len();
    let hash = i2p_crypto::hash::sha256_parts(&[content, &iv]);
    let (checksum, rest) = data.split_at_mut(4);
    checksum.copy_from_slice(&hash[..4]);
    let (padding, rest) = rest.split_at_mut(pad);
    let offset = i2p_crypto::random_below((MAX_BLOCK_PAYLOAD - pad + 1) as u64) as usize;
    if let Some(src) = padding_src.get(offset..offset + pad) {
        padding.copy_from_slice(src);
    } else {
        padding.fill(1);
    }
    // rest[0] is the zero byte, already 0.
    if let Some(dst) = rest.get_mut(1..) {
        dst.copy_from_slice(content);
    }
    TunnelData {
        tunnel_id,
        iv,
        data,
    }
}

fn new_block() -> Vec<u8> {
    Vec::with_capacity(MAX_BLOCK_PAYLOAD)
}

/// Fragment sizes are bounded by the block, far below 65536.
fn size16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}
