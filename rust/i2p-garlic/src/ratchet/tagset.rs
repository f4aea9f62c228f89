//! Tag sets (ecies.rst, "4) Ratchets", `TAGSET`): the outbound one hands out
//! `(index, tag, key)` for each message; the inbound one holds a bounded window of
//! tags ahead of the last one received ("look-ahead"), and derives keys lazily,
//! caching only those of skipped messages that can still arrive.

use std::collections::BTreeMap;

use super::kdf::{Key, KeyRatchet, TagRatchet, TagSetKeys, TAG_LEN};

/// The sender's side of a tag set: `GET_NEXT_ENTRY()`.
pub(crate) struct SendTagSet {
    /// Tag set ID (ecies.rst "KEY AND TAG SET IDS"): 0 for the first, then
    /// `1 + sender key ID + receiver key ID`.
    pub(crate) id: u16,
    pub(crate) next_root_key: Key,
    tags: TagRatchet,
    keys: KeyRatchet,
}

impl SendTagSet {
    pub(crate) fn new(id: u16, keys: &TagSetKeys) -> Self {
        SendTagSet {
            id,
            next_root_key: keys.next_root_key.clone(),
            tags: TagRatchet::new(&keys.sess_tag_ck),
            keys: KeyRatchet::new(&keys.symm_key_ck),
        }
    }

    /// The index of the next message.
    pub(crate) fn next_index(&self) -> u32 {
        self.tags.next_index()
    }

    /// The next `(N, tag, key)`, or `None` when the tag set is used up.
    pub(crate) fn next_entry(&mut self) -> Option<(u16, [u8; TAG_LEN], Key)> {
        let (n, tag) = self.tags.next()?;
        let (_, key) = self.keys.next();
        Some((n, tag, key))
    }

    /// Only the next tag (New Session Reply tags: "The Session Key from the DH
    /// Initialization is not used").
    pub(crate) fn next_tag(&mut self) -> Option<[u8; TAG_LEN]> {
        self.tags.next().map(|(_, t)| t)
    }
}

/// The receiver's side of a tag set.
pub(crate) struct ReceiveTagSet {
    /// Tag set ID, reported in ACK blocks.
    pub(crate) id: u16,
    pub(crate) next_root_key: Key,
    tags: TagRatchet,
    keys: KeyRatchet,
    /// Tags generated and not yet received, by index.
    outstanding: BTreeMap<u16, [u8; TAG_LEN]>,
    /// Keys derived ahead of use (for skipped indices), by index.
    cached_keys: BTreeMap<u16, Key>,
    /// Highest index received so far.
    pub(crate) highest: Option<u16>,
    /// When this tag set is dropped (set once a newer one replaces it).
    pub(crate) expires_ms: Option<u64>,
}

impl ReceiveTagSet {
    pub(crate) fn new(id: u16, keys: &TagSetKeys) -> Self {
        ReceiveTagSet {
            id,
            next_root_key: keys.next_root_key.clone(),
            tags: TagRatchet::new(&keys.sess_tag_ck),
            keys: KeyRatchet::new(&keys.symm_key_ck),
            outstanding: BTreeMap::new(),
            cached_keys: BTreeMap::new(),
            highest: None,
            expires_ms: None,
        }
    }

    /// The number of tags generated so far.
    pub(crate) fn generated(&self) -> u32 {
        self.tags.next_index()
    }

    /// Tags waiting to be received.
    #[cfg(test)]
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// `EXTEND(n)`: generates up to `n` more tags, returning them with their indices
    /// (for the destination's tag index).
    pub(crate) fn extend(&mut self, n: usize) -> Vec<([u8; TAG_LEN], u16)> {
        let mut out = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            match self.tags.next() {
                Some((i, tag)) => {
                    self.outstanding.insert(i, tag);
                    out.push((tag, i));
                }
                None => break,
            }
        }
        out
    }

    /// The key of message `index` (which must have an outstanding tag), deriving and
    /// caching the keys of the indices skipped on the way. The key stays cached until
    /// [`ReceiveTagSet::consume`]: a message that fails authentication does not use
    /// up its tag.
    pub(crate) fn key_for(&mut self, index: u16) -> Option<Key> {
        if !self.outstanding.contains_key(&index) {
            return None;
        }
        if let Some(k) = self.cached_keys.get(&index) {
            return Some(k.clone());
        }
        if u32::from(index) < self.keys.next_index() {
            // Derived earlier and dropped: cannot happen for an outstanding tag.
            return None;
        }
        while self.keys.next_index() <= u32::from(index) {
            let (i, k) = self.keys.next();
            let i = u16::try_from(i).ok()?;
            // Keep only the keys whose tags can still arrive.
            if self.outstanding.contains_key(&i) {
                self.cached_keys.insert(i, k);
            }
        }
        self.cached_keys.get(&index).cloned()
    }

    /// Marks message `index` received: its tag and key are dropped.
    pub(crate) fn consume(&mut self, index: u16) {
        self.outstanding.remove(&index);
        self.cached_keys.remove(&index);
        match self.highest {
            Some(h) if h >= index => {}
            _ => self.highest = Some(index),
        }
    }

    /// Drops the tags (and keys) of indices below `min_index`, returning the tags.
    pub(crate) fn trim_behind(&mut self, min_index: u16) -> Vec<[u8; TAG_LEN]> {
        let keep = self.outstanding.split_off(&min_index);
        let dropped = std::mem::replace(&mut self.outstanding, keep);
        let keep_keys = self.cached_keys.split_off(&min_index);
        self.cached_keys = keep_keys;
        dropped.into_values().collect()
    }

    /// All outstanding tags (to drop them from the index when the tag set goes).
    pub(crate) fn all_tags(&self) -> impl Iterator<Item = &[u8; TAG_LEN]> {
        self.outstanding.values()
    }

    /// Number of keys held for skipped messages.
    #[cfg(test)]
    pub(crate) fn cached_keys(&self) -> usize {
        self.cached_keys.len()
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::ratchet::kdf::dh_initialize;

    #[test]
    fn sender_and_receiver_agree_out_of_order() {
        let keys = dh_initialize(&[9; 32], &[8; 32]);
        let mut tx = SendTagSet::new(0, &keys);
        let mut rx = ReceiveTagSet::new(0, &keys);
        let sent: Vec<_> = (0..20).map(|_| tx.next_entry().unwrap()).collect();
        let tags = rx.extend(20);
        assert_eq!(tags.len(), 20);
        for (i, (n, tag, _)) in sent.iter().enumerate() {
            assert_eq!(*n as usize, i);
            assert_eq!(tags[i], (*tag, *n));
        }
        // Receive 15 first: keys 0..15 are cached (outstanding), then used.
        let k15 = rx.key_for(15).unwrap();
        assert_eq!(*k15, *sent[15].2);
        assert_eq!(rx.cached_keys(), 16);
        rx.consume(15);
        for i in [3usize, 0, 14, 1] {
            assert_eq!(*rx.key_for(i as u16).unwrap(), *sent[i].2);
            rx.consume(i as u16);
        }
        assert!(rx.key_for(15).is_none(), "a consumed tag is gone");
        assert_eq!(rx.highest, Some(15));
        let dropped = rx.trim_behind(10);
        // 2, 4..=9 were still outstanding below 10.
        assert_eq!(dropped.len(), 7);
        assert!(rx.key_for(5).is_none());
        assert_eq!(*rx.key_for(19).unwrap(), *sent[19].2);
    }

    #[test]
    fn failed_decryption_keeps_key() {
        let keys = dh_initialize(&[1; 32], &[2; 32]);
        let mut rx = ReceiveTagSet::new(0, &keys);
        rx.extend(4);
        let a = rx.key_for(2).unwrap();
        let b = rx.key_for(2).unwrap();
        assert_eq!(*a, *b);
        assert_eq!(rx.outstanding(), 4);
    }
}
