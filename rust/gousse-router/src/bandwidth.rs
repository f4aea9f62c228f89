//! The transit bandwidth share: a token bucket per direction (bytes per second with a
//! burst of a few seconds) and the limits people and the Android app change at run
//! time.
//! Time is an argument, so the bucket is tested with a fake clock.

use std::time::{Duration, Instant};

/// Seconds of the share a token bucket holds.
///
/// Streams through our hops come in bursts: i2pd resends a whole window (up to 128
/// packets, about 250 KB in tunnel messages) at once when its timer fires. With a
/// one-second burst at the default share, those bursts were cut while the average
/// stayed at a quarter of the share (the eepsite interop test: 21,481 messages
/// dropped at 70 KB/s), and i2pd's sender, which resends only on its timer, then
/// crawled. Over a minute the share holds either way.
pub const BURST_SECONDS: u64 = 4;

/// A token bucket: `rate` bytes per second, holding at most `burst` bytes.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: u64,
    burst: u64,
    tokens: u64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket with a burst of [`BURST_SECONDS`]. A rate of 0 passes
    /// nothing.
    pub fn new(rate_bytes_per_s: u64, now: Instant) -> Self {
        let burst = rate_bytes_per_s.saturating_mul(BURST_SECONDS);
        Self {
            rate: rate_bytes_per_s,
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// The rate, bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Changes the rate at once; tokens above the new burst are dropped.
    pub fn set_rate(&mut self, rate_bytes_per_s: u64, now: Instant) {
        self.refill(now);
        self.rate = rate_bytes_per_s;
        self.burst = rate_bytes_per_s.saturating_mul(BURST_SECONDS);
        self.tokens = self.tokens.min(self.burst);
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        // Whole bytes only; keep the remainder of time for the next call.
        let add = u128::from(self.rate) * elapsed.as_nanos() / 1_000_000_000;
        if add > 0 {
            let add = u64::try_from(add).unwrap_or(u64::MAX);
            self.tokens = self.tokens.saturating_add(add).min(self.burst);
            let used = Duration::from_nanos(
                u64::try_from(u128::from(add) * 1_000_000_000 / u128::from(self.rate.max(1)))
                    .unwrap_or(u64::MAX),
            );
            self.last += used.min(elapsed);
        }
        if self.tokens == self.burst {
            self.last = now;
        }
    }

    /// Takes `n` bytes if the bucket holds them.
    pub fn try_take(&mut self, n: u64, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

/// Transit limits, applied at run time without a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TransitLimits {
    /// Accept new transit tunnels. When false, new build requests are rejected and
    /// the existing tunnels drain until they expire.
    pub accept: bool,
    /// Most transit tunnels at once; requests beyond it are rejected.
    pub max_tunnels: usize,
    /// The bandwidth share, bytes per second, each way.
    pub share_bytes_per_s: u64,
}

impl Default for TransitLimits {
    fn default() -> Self {
        Self {
            accept: true,
            max_tunnels: 500,
            share_bytes_per_s: 256 * 1024,
        }
    }
}

/// The `caps` bandwidth letter for a share (network-database.md, "Capabilities":
/// K < 12 KBps, L 12-48, M 48-64, N 64-128, O 128-256, P 256-2000, X > 2000).
pub fn bandwidth_class(share_bytes_per_s: u64) -> char {
    let kbps = share_bytes_per_s / 1024;
    match kbps {
        0..=11 => 'K',
        12..=47 => 'L',
        48..=63 => 'M',
        64..=127 => 'N',
        128..=255 => 'O',
        256..=1999 => 'P',
        _ => 'X',
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn rate_holds_over_a_minute() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10_000, t0);
        let mut passed = 0u64;
        // Offer 1 KB every millisecond (1 MB/s) for 60 s.
        for ms in 0..60_000u64 {
            if b.try_take(1024, t0 + Duration::from_millis(ms)) {
                passed += 1024;
            }
        }
        // 10 KB/s for 60 s plus the initial burst, within a packet.
        let want = 10_000 * 60 + 10_000 * BURST_SECONDS;
        assert!(
            passed.abs_diff(want) <= 2048,
            "passed {passed}, want about {want}"
        );
    }

    #[test]
    fn lowering_the_rate_applies_at_once() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100_000, t0);
        b.set_rate(1_000, t0);
        let burst = 1_000 * BURST_SECONDS;
        assert!(!b.try_take(burst + 1, t0), "burst shrank with the rate");
        assert!(b.try_take(burst, t0));
        let mut passed = 0;
        for s in 1..=10u64 {
            while b.try_take(100, t0 + Duration::from_secs(s)) {
                passed += 100;
            }
        }
        assert!((9_000..=11_000).contains(&passed), "{passed}");
    }

    #[test]
    fn zero_rate_passes_nothing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, t0);
        assert!(!b.try_take(1, t0 + Duration::from_secs(100)));
    }

    #[test]
    fn classes() {
        assert_eq!(bandwidth_class(5 * 1024), 'K');
        assert_eq!(bandwidth_class(30 * 1024), 'L');
        assert_eq!(bandwidth_class(256 * 1024), 'P');
        assert_eq!(bandwidth_class(3000 * 1024), 'X');
    }
}
