//! Endpoint processing (tunnel-message.rst, "Tunnel Message (Decrypted)", "I2NP
//! Message Maximum Size"; tunnel-implementation.md, "Endpoint processing"): decrypted
//! blocks in, complete I2NP messages with their delivery instructions out, with
//! fragments held in a bounded, time-limited reassembly buffer.

use std::collections::{BTreeMap, HashMap};

use i2p_wire::I2npMessage;

use super::{parse_block, Delivery, Fragment, Result, TunnelData, MAX_MESSAGE_LEN};

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// A partial message is dropped this long after its first fragment arrived
    /// (i2pd uses 8 s).
    pub timeout_ms: u64,
    /// Most partial messages held; the oldest is evicted first.
    pub max_partial_messages: usize,
    /// Most fragment bytes held over all partial messages; the oldest message is
    /// evicted first.
    pub max_partial_bytes: usize,
}

impl Default for ReassemblyConfig {
    /// 10 s, 64 messages, 256 KiB (four of the largest tunnel messages).
    fn default() -> Self {
        ReassemblyConfig {
            timeout_ms: 10_000,
            max_partial_messages: 64,
            max_partial_bytes: 256 * 1024,
        }
    }
}

/// Counters of a [`Reassembler`], for the console and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Complete messages output.
    pub delivered: u64,
    /// Blocks refused: no zero byte, bad checksum or impossible instructions.
    pub bad_blocks: u64,
    /// Partial messages dropped by the timeout.
    pub timed_out: u64,
    /// Partial messages evicted to stay within the bounds.
    pub evicted: u64,
    /// Fragments received twice (ignored).
    pub duplicate_fragments: u64,
    /// Partial messages dropped for contradictory fragments (two different last
    /// fragments, a fragment past the last, or over 65551 bytes in total).
    pub inconsistent: u64,
    /// Reassembled messages that were not a valid standard-header I2NP message.
    pub malformed_messages: u64,
}

/// A complete message out of a tunnel, with its delivery instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Where to deliver it.
    pub delivery: Delivery,
    /// The message.
    pub message: I2npMessage,
}

#[derive(Debug)]
struct Partial {
    /// Position in the eviction order.
    seq: u64,
    started_ms: u64,
    first: Option<(Delivery, Vec<u8>)>,
    follow_ons: BTreeMap<u8, Vec<u8>>,
    last: Option<u8>,
    bytes: usize,
}

impl Partial {
    fn is_complete(&self) -> bool {
        match (self.first.is_some(), self.last) {
            // Numbers are distinct and none is past `last`, so `last` of them are
            // exactly 1..=last.
            (true, Some(last)) => self.follow_ons.len() == usize::from(last),
            _ => false,
        }
    }
}

/// The endpoint's reassembly state for one tunnel. Sans-IO: time is passed in.
#[derive(Debug)]
pub struct Reassembler {
    cfg: ReassemblyConfig,
    partials: HashMap<u32, Partial>,
    /// seq -> message id, oldest first.
    order: BTreeMap<u64, u32>,
    next_seq: u64,
    bytes: usize,
    stats: ReassemblyStats,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new(ReassemblyConfig::default())
    }
}

impl Reassembler {
    /// An empty reassembler with these limits.
    pub fn new(cfg: ReassemblyConfig) -> Self {
        Reassembler {
            cfg,
            partials: HashMap::new(),
            order: BTreeMap::new(),
            next_seq: 0,
            bytes: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> ReassemblyStats {
        self.stats
    }

    /// Number of partial messages held.
    pub fn partial_messages(&self) -> usize {
        self.partials.len()
    }

    /// Fragment bytes held.
    pub fn partial_bytes(&self) -> usize {
        self.bytes
    }

    /// Handles one decrypted block (after the endpoint's own layer, or all layers
    /// for our inbound tunnel) at time `now_ms`: checks it ([`parse_block`]), then
    /// returns the messages it completes, in order. A refused block is an error and
    /// changes nothing but the counters; partial messages past their timeout are
    /// dropped first.
    pub fn receive(&mut self, block: &TunnelData, now_ms: u64) -> Result<Vec<Delivered>> {
        self.expire(now_ms);
        let fragments = match parse_block(block) {
            Ok(f) => f,
            Err(e) => {
                self.stats.bad_blocks += 1;
                return Err(e);
            }
        };
        let mut out = Vec::new();
        for f in fragments {
            match f {
                Fragment::First {
                    delivery,
                    msg_id: None,
                    data,
                } => self.finish(delivery, data, &mut out),
                Fragment::First {
                    delivery,
                    msg_id: Some(id),
                    data,
                } => self.add(id, 0, false, Some(delivery), data, now_ms, &mut out),
                Fragment::FollowOn {
                    msg_id,
                    number,
                    last,
                    data,
                } => self.add(msg_id, number, last, None, data, now_ms, &mut out),
            }
        }
        Ok(out)
    }

    /// Drops partial messages whose first fragment arrived `timeout_ms` or more
    /// before `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        let timeout = self.cfg.timeout_ms;
        let old: Vec<u32> = self
            .partials
            .iter()
            .filter(|(_, p)| now_ms.saturating_sub(p.started_ms) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in old {
            self.remove(id);
            self.stats.timed_out += 1;
        }
    }

    fn remove(&mut self, id: u32) -> Option<Partial> {
        let p = self.partials.remove(&id)?;
        self.order.remove(&p.seq);
        self.bytes = self.bytes.saturating_sub(p.bytes);
        Some(p)
    }

    fn finish(&mut self, delivery: Delivery, bytes: &[u8], out: &mut Vec<Delivered>) {
        match I2npMessage::parse_standard(bytes) {
            Ok(message) => {
                self.stats.delivered += 1;
                out.push(Delivered { delivery, message });
            }
            Err(_) => self.stats.malformed_messages += 1,
        }
    }

    /// Makes room for `len` more bytes (and a new partial message unless `id` is
    /// held), evicting the oldest. Returns false if `id` itself had to go or `len`
    /// can never fit.
    fn make_room(&mut self, id: u32, len: usize) -> bool {
        if len > self.cfg.max_partial_bytes || self.cfg.max_partial_messages == 0 {
            return false;
        }
        let held = self.partials.contains_key(&id);
        loop {
            let count_ok = held || self.partials.len() < self.cfg.max_partial_messages;
            if count_ok && self.bytes + len <= self.cfg.max_partial_bytes {
                return held || !self.partials.contains_key(&id);
            }
            let Some((_, &oldest)) = self.order.iter().next() else {
                return false;
            };
            self.remove(oldest);
            self.stats.evicted += 1;
            if oldest == id {
                // Our own message is gone: its earlier fragments are lost, so this
                // one is useless too.
                return false;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        id: u32,
        number: u8,
        last: bool,
        delivery: Option<Delivery>,
        data: &[u8],
        now_ms: u64,
        out: &mut Vec<Delivered>,
    ) {
        if !self.make_room(id, data.len()) {
            return;
        }
        let seq = self.next_seq;
        let p = self.partials.entry(id).or_insert_with(|| Partial {
            seq,
            started_ms: now_ms,
            first: None,
            follow_ons: BTreeMap::new(),
            last: None,
            bytes: 0,
        });
        if p.seq == seq {
            self.order.insert(seq, id);
            self.next_seq += 1;
        }
        let duplicate = match &delivery {
            Some(_) => p.first.is_some(),
            None => p.follow_ons.contains_key(&number),
        };
        if duplicate {
            self.stats.duplicate_fragments += 1;
            return;
        }
        let beyond_last = |n: u8| p.last.is_some_and(|l| n > l);
        let contradicts = if last {
            p.last.is_some() || p.follow_ons.keys().next_back().is_some_and(|&k| k > number)
        } else {
            delivery.is_none() && beyond_last(number)
        };
        if contradicts || p.bytes + data.len() > MAX_MESSAGE_LEN {
            self.remove(id);
            self.stats.inconsistent += 1;
            return;
        }
        match delivery {
            Some(d) => p.first = Some((d, data.to_vec())),
            None => {
                p.follow_ons.insert(number, data.to_vec());
            }
        }
        if last {
            p.last = Some(number);
        }
        p.bytes += data.len();
        self.bytes += data.len();
        if p.is_complete() {
            if let Some(p) = self.remove(id) {
                if let Some((delivery, mut bytes)) = p.first {
                    for frag in p.follow_ons.values() {
                        bytes.extend_from_slice(frag);
                    }
                    self.finish(delivery, &bytes, out);
                }
            }
        }
    }
}
