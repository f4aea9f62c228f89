//! The send window in packets: slow start, congestion avoidance, loss reaction
//! (streaming-api.md, "Congestion Control": "standard slow-start (exponential window
//! growth) and congestion avoidance (linear window growth) phases, with exponential
//! backoff. Windowing and acknowledgments use packet count, not byte count.").
//!
//! Defaults: initial window 6 ("i2p.streaming.initialWindowSize", i2pd's
//! `WINDOW_SIZE`), MIN_WINDOW_SIZE 1, MAX_WINDOW_SIZE 128. Slow start grows the
//! window by one packet per acknowledged packet up to the slow-start threshold; then
//! congestion avoidance grows it by one packet per window of acknowledged packets
//! (growth rate factor 1). On loss (retransmission timeout or fast retransmit) the
//! window is halved, as i2pd and Java I2P do, at most once per window of data.

/// "MIN_WINDOW_SIZE = 1".
pub const MIN_WINDOW: u32 = 1;
/// "MAX_WINDOW_SIZE = 128" (Java default maximum; i2pd's MAX_WINDOW_SIZE).
pub const MAX_WINDOW: u32 = 128;
/// "i2p.streaming.initialWindowSize" default, and i2pd's WINDOW_SIZE.
pub const INITIAL_WINDOW: u32 = 6;

/// Congestion state of one connection's send direction.
#[derive(Debug, Clone)]
pub struct CongestionController {
    cwnd: u32,
    ssthresh: u32,
    max_window: u32,
    /// Packets acknowledged in congestion avoidance since the last increase.
    avoidance_acks: u32,
    /// Sequence number from which a loss starts a new reduction: losses of packets
    /// sent before the last reduction do not reduce the window again.
    recovery_end: u32,
}

impl Default for CongestionController {
    fn default() -> Self {
        Self::new(INITIAL_WINDOW, MAX_WINDOW)
    }
}

impl CongestionController {
    /// A controller starting at `initial` packets, never above `max_window`
    /// (both clamped to [1, 255]: more than 255 packets cannot be NACKed).
    pub fn new(initial: u32, max_window: u32) -> Self {
        let max_window = max_window.clamp(MIN_WINDOW, 255);
        Self {
            cwnd: initial.clamp(MIN_WINDOW, max_window),
            ssthresh: max_window,
            max_window,
            avoidance_acks: 0,
            recovery_end: 0,
        }
    }

    /// The window: how many packets may be unacknowledged at once.
    pub fn window(&self) -> u32 {
        self.cwnd
    }

    /// The slow-start threshold.
    pub fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// True while the window grows exponentially.
    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// `acked` packets were newly acknowledged.
    pub fn on_ack(&mut self, acked: u32) {
        for _ in 0..acked {
            if self.cwnd >= self.max_window {
                self.cwnd = self.max_window;
                return;
            }
            if self.in_slow_start() {
                self.cwnd += 1;
            } else {
                self.avoidance_acks += 1;
                if self.avoidance_acks >= self.cwnd {
                    self.avoidance_acks = 0;
                    self.cwnd += 1;
                }
            }
        }
    }

    /// The packet `seq` was lost (timed out or NACKed twice); `next_seq` is the
    /// next sequence number to be sent. Halves the window (not below 1) and sets
    /// the threshold to the new window, unless `seq` was sent before the last
    /// reduction. Returns true if the window was reduced.
    pub fn on_loss(&mut self, seq: u32, next_seq: u32) -> bool {
        if seq < self.recovery_end {
            return false;
        }
        self.cwnd = (self.cwnd / 2).max(MIN_WINDOW);
        self.ssthresh = self.cwnd.max(2);
        self.avoidance_acks = 0;
        self.recovery_end = next_seq;
        true
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn slow_start_then_linear_growth() {
        let mut c = CongestionController::new(6, 128);
        assert_eq!(c.window(), 6);
        // Slow start: one per ack, so a full window of acks doubles the window.
        c.on_ack(6);
        assert_eq!(c.window(), 12);
        // Force congestion avoidance.
        assert!(c.on_loss(0, 100));
        assert_eq!(c.window(), 6);
        assert_eq!(c.ssthresh(), 6);
        assert!(!c.in_slow_start());
        c.on_ack(5);
        assert_eq!(c.window(), 6);
        c.on_ack(1);
        assert_eq!(c.window(), 7, "one packet per window of acks");
        c.on_ack(7);
        assert_eq!(c.window(), 8);
    }

    #[test]
    fn loss_halves_once_per_window() {
        let mut c = CongestionController::new(6, 128);
        c.on_ack(26); // 32
        assert_eq!(c.window(), 32);
        assert!(c.on_loss(40, 50));
        assert_eq!(c.window(), 16);
        // Another packet of the same flight: no second reduction.
        assert!(!c.on_loss(45, 52));
        assert_eq!(c.window(), 16);
        // A packet sent after the reduction: reduces again.
        assert!(c.on_loss(50, 60));
        assert_eq!(c.window(), 8);
        for i in 0..10 {
            c.on_loss(60 + i * 10, 70 + i * 10);
        }
        assert_eq!(c.window(), MIN_WINDOW);
    }

    #[test]
    fn never_exceeds_max_window() {
        let mut c = CongestionController::new(6, 128);
        c.on_ack(100_000);
        assert_eq!(c.window(), 128);
        let c = CongestionController::new(1000, 1000);
        assert_eq!(c.window(), 255);
    }
}
