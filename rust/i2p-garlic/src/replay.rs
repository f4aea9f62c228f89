//! A bounded replay filter for the ephemeral keys of New Session messages
//! (ecies-routers.rst and ecies.rst: "replay prevention").

use std::collections::{BTreeMap, HashMap};

/// Remembered ephemeral keys of accepted New Session messages (router Noise N and
/// destination New Session alike), bounded, each for a fixed time.
pub(crate) struct ReplayCache {
    seen: HashMap<[u8; 32], u64>,
    by_age: BTreeMap<(u64, u64), [u8; 32]>,
    next_seq: u64,
    capacity: usize,
    keep_ms: u64,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize, keep_ms: u64) -> Self {
        ReplayCache {
            seen: HashMap::new(),
            by_age: BTreeMap::new(),
            next_seq: 0,
            capacity: capacity.max(1),
            keep_ms,
        }
    }

    pub(crate) fn contains(&self, key: &[u8; 32]) -> bool {
        self.seen.contains_key(key)
    }

    pub(crate) fn insert(&mut self, now_ms: u64, key: [u8; 32]) {
        self.evict(now_ms);
        while self.seen.len() >= self.capacity {
            match self.by_age.pop_first() {
                Some((_, k)) => {
                    self.seen.remove(&k);
                }
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let until = now_ms.saturating_add(self.keep_ms);
        if self.seen.insert(key, seq).is_none() {
            self.by_age.insert((until, seq), key);
        }
    }

    pub(crate) fn evict(&mut self, now_ms: u64) {
        while let Some((&(until, seq), &k)) = self.by_age.first_key_value() {
            if until > now_ms {
                break;
            }
            self.by_age.remove(&(until, seq));
            self.seen.remove(&k);
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn replay_cache_is_bounded() {
        let mut c = ReplayCache::new(4, 1_000);
        for i in 0..20u8 {
            c.insert(u64::from(i), [i; 32]);
            assert!(c.seen.len() <= 4 && c.by_age.len() <= 4);
        }
        assert!(c.contains(&[19; 32]));
        assert!(!c.contains(&[0; 32]));
        c.evict(10_000);
        assert!(c.seen.is_empty() && c.by_age.is_empty());
    }
}
