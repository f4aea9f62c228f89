//! The replay cache for message 1 (ntcp2.rst, SessionRequest notes): "Bob must maintain
//! a local cache of previously-used handshake values and reject duplicates, to prevent
//! replay attacks. Values in the cache must have a lifetime of at least 2*D. The cache
//! values are implementation-dependent, however the 32-byte X value (or its encrypted
//! equivalent) may be used."

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A [`ReplayFilter`] shared by all inbound sessions of one listener.
pub type SharedReplayFilter = Arc<Mutex<ReplayFilter>>;

/// Bounded, time-windowed set of ephemeral keys seen in message 1.
///
/// Eviction rule: an entry lives for `window` (default 2 × 60 s + 30 s). When the set is
/// full after dropping expired entries, the oldest entry is evicted early and counted in
/// [`ReplayFilter::evicted_early`]; a replay of that key would then be caught only by the
/// timestamp check. Size the capacity above the expected handshake rate × window.
#[derive(Debug)]
pub struct ReplayFilter {
    seen: HashSet<[u8; 32]>,
    order: VecDeque<(Instant, [u8; 32])>,
    capacity: usize,
    window: Duration,
    evicted_early: u64,
}

/// Default capacity: 65536 keys (about 5 MiB).
pub const DEFAULT_REPLAY_CAPACITY: usize = 65536;
/// Default window: twice the 60 s clock skew bound, plus a margin.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(150);

impl Default for ReplayFilter {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_CAPACITY, DEFAULT_REPLAY_WINDOW)
    }
}

impl ReplayFilter {
    /// A filter holding at most `capacity` keys (at least 1) for `window` each.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            seen: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            window,
            evicted_early: 0,
        }
    }

    /// A new filter behind `Arc<Mutex<_>>` for sharing between sessions.
    pub fn shared(capacity: usize, window: Duration) -> SharedReplayFilter {
        Arc::new(Mutex::new(Self::new(capacity, window)))
    }

    /// Records `key` seen at `now`. Returns `true` if it is fresh, `false` if it was
    /// seen within the window (a replay).
    pub fn check_and_insert(&mut self, now: Instant, key: &[u8; 32]) -> bool {
        self.expire(now);
        if self.seen.contains(key) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.seen.remove(&old);
                    self.evicted_early += 1;
                }
                None => break,
            }
        }
        self.seen.insert(*key);
        self.order.push_back((now, *key));
        true
    }

    fn expire(&mut self, now: Instant) {
        while let Some((t, k)) = self.order.front() {
            if now.saturating_duration_since(*t) < self.window {
                break;
            }
            self.seen.remove(k);
            self.order.pop_front();
        }
    }

    /// Keys currently held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True if no key is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Keys evicted before their window ended because the filter was full.
    pub fn evicted_early(&self) -> u64 {
        self.evicted_early
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn catches_replay_within_window_only() {
        let t0 = Instant::now();
        let mut f = ReplayFilter::new(10, Duration::from_secs(120));
        assert!(f.check_and_insert(t0, &[1; 32]));
        assert!(!f.check_and_insert(t0 + Duration::from_secs(119), &[1; 32]));
        assert!(f.check_and_insert(t0 + Duration::from_secs(121), &[1; 32]));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn bounded_with_oldest_evicted() {
        let t0 = Instant::now();
        let mut f = ReplayFilter::new(3, Duration::from_secs(120));
        for i in 0..5u8 {
            assert!(f.check_and_insert(t0, &[i; 32]));
        }
        assert_eq!(f.len(), 3);
        assert_eq!(f.evicted_early(), 2);
        assert!(!f.check_and_insert(t0, &[4; 32]));
        assert!(f.check_and_insert(t0, &[0; 32]));
    }
}
