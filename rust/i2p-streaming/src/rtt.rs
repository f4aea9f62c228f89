//! Round-trip time estimation and the retransmission timeout (streaming-api.md,
//! "Other Parameters": RFC 6298 with alpha 0.125, beta 0.25, K 4; MIN_RESEND_DELAY
//! 100 ms, MAX_RESEND_DELAY 45 s, INITIAL_TIMEOUT 9 s, maximum RTT estimate 60 s).
//!
//! Samples come only from packets sent once (Karn's algorithm, RFC 6298 section 3);
//! the caller enforces that. Time is integer milliseconds to keep it exact.

use std::time::Duration;

/// "INITIAL_TIMEOUT (valid only before RTT is sampled) = 9 sec"; i2pd's INITIAL_RTO
/// is also 9000 ms.
pub const INITIAL_RTO: Duration = Duration::from_millis(9000);
/// "MIN_RESEND_DELAY = 100 ms (minimum RTO)".
pub const MIN_RTO: Duration = Duration::from_millis(100);
/// "MAX_RESEND_DELAY = 45 sec (maximum RTO)".
pub const MAX_RTO: Duration = Duration::from_secs(45);
/// "Maximum RTT estimate: 60 sec": samples above are clamped.
pub const MAX_RTT: Duration = Duration::from_secs(60);
/// i2pd's INITIAL_RTT (8000 ms): the RTT assumed before the first sample, used for
/// the delayed-ACK timer only.
pub const INITIAL_RTT: Duration = Duration::from_millis(8000);

/// RFC 6298 estimator: SRTT, RTTVAR and RTO with exponential backoff.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    /// Smoothed RTT, ms; `None` until the first sample.
    srtt_ms: Option<u64>,
    /// RTT variation, ms.
    rttvar_ms: u64,
    /// The RTO before backoff, ms.
    base_rto_ms: u64,
    /// How many times the RTO was doubled since the last sample (RFC 6298 5.5).
    backoff: u32,
    initial_rto_ms: u64,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new(INITIAL_RTO)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RttEstimator {
    /// An estimator with no sample yet; its RTO is `initial_rto` (clamped to the
    /// minimum and maximum RTO).
    pub fn new(initial_rto: Duration) -> Self {
        let initial_rto_ms = ms(initial_rto).clamp(ms(MIN_RTO), ms(MAX_RTO));
        Self {
            srtt_ms: None,
            rttvar_ms: 0,
            base_rto_ms: initial_rto_ms,
            backoff: 0,
            initial_rto_ms,
        }
    }

    /// Adds a sample (RFC 6298 2.2 and 2.3): the first sets SRTT = R,
    /// RTTVAR = R/2; later ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|,
    /// SRTT = 7/8 SRTT + 1/8 R. RTO = SRTT + max(G, 4 RTTVAR), clamped to
    /// [100 ms, 45 s]. A sample resets the backoff (RFC 6298 5.7 note).
    pub fn on_sample(&mut self, rtt: Duration) {
        let r = ms(rtt).clamp(1, ms(MAX_RTT));
        let (srtt, rttvar) = match self.srtt_ms {
            None => (r, r / 2),
            Some(s) => {
                let rttvar = (3 * self.rttvar_ms + s.abs_diff(r)) / 4;
                let srtt = (7 * s + r) / 8;
                (srtt, rttvar)
            }
        };
        self.srtt_ms = Some(srtt);
        self.rttvar_ms = rttvar;
        // Clock granularity G: 1 ms.
        self.base_rto_ms = (srtt + (4 * rttvar).max(1)).clamp(ms(MIN_RTO), ms(MAX_RTO));
        self.backoff = 0;
    }

    /// Doubles the RTO after a retransmission timeout (RFC 6298 5.5), up to the
    /// maximum RTO.
    pub fn on_timeout(&mut self) {
        if self.rto() < MAX_RTO {
            self.backoff = self.backoff.saturating_add(1);
        }
    }

    /// The current retransmission timeout, backoff included.
    pub fn rto(&self) -> Duration {
        let shift = self.backoff.min(16);
        let v = self.base_rto_ms.saturating_mul(1u64 << shift);
        Duration::from_millis(v.min(ms(MAX_RTO)))
    }

    /// The smoothed RTT, or `None` before the first sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt_ms.map(Duration::from_millis)
    }

    /// The smoothed RTT, or i2pd's INITIAL_RTT (8 s) before the first sample.
    pub fn srtt_or_initial(&self) -> Duration {
        self.srtt().unwrap_or(INITIAL_RTT)
    }

    /// The RTT variation.
    pub fn rttvar(&self) -> Duration {
        Duration::from_millis(self.rttvar_ms)
    }

    /// True once at least one sample was taken.
    pub fn has_sample(&self) -> bool {
        self.srtt_ms.is_some()
    }

    /// The RTO an estimator without samples starts from.
    pub fn initial_rto(&self) -> Duration {
        Duration::from_millis(self.initial_rto_ms)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn initial_rto_is_nine_seconds() {
        let e = RttEstimator::default();
        assert_eq!(e.rto(), Duration::from_secs(9));
        assert!(e.srtt().is_none());
        assert_eq!(e.srtt_or_initial(), Duration::from_secs(8));
    }

    #[test]
    fn first_and_later_samples_follow_rfc6298() {
        let mut e = RttEstimator::default();
        e.on_sample(Duration::from_millis(400));
        // SRTT = 400, RTTVAR = 200, RTO = 400 + 800.
        assert_eq!(e.srtt(), Some(Duration::from_millis(400)));
        assert_eq!(e.rttvar(), Duration::from_millis(200));
        assert_eq!(e.rto(), Duration::from_millis(1200));
        e.on_sample(Duration::from_millis(800));
        // RTTVAR = (3*200 + 400)/4 = 250; SRTT = (7*400 + 800)/8 = 450.
        assert_eq!(e.rttvar(), Duration::from_millis(250));
        assert_eq!(e.srtt(), Some(Duration::from_millis(450)));
        assert_eq!(e.rto(), Duration::from_millis(1450));
    }

    #[test]
    fn converges_and_clamps_to_min_rto() {
        let mut e = RttEstimator::default();
        for _ in 0..100 {
            e.on_sample(Duration::from_millis(20));
        }
        assert_eq!(e.srtt(), Some(Duration::from_millis(20)));
        assert_eq!(e.rto(), MIN_RTO);
    }

    #[test]
    fn backoff_doubles_up_to_max_and_sample_resets_it() {
        let mut e = RttEstimator::default();
        e.on_sample(Duration::from_millis(1000)); // RTO 3000
        e.on_timeout();
        assert_eq!(e.rto(), Duration::from_millis(6000));
        e.on_timeout();
        assert_eq!(e.rto(), Duration::from_millis(12000));
        for _ in 0..40 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), MAX_RTO);
        e.on_sample(Duration::from_millis(1000));
        assert!(e.rto() < Duration::from_millis(3000));
    }

    #[test]
    fn huge_samples_are_clamped() {
        let mut e = RttEstimator::default();
        e.on_sample(Duration::from_secs(1000));
        assert_eq!(e.srtt(), Some(MAX_RTT));
        assert_eq!(e.rto(), MAX_RTO);
    }
}
