//! When to fetch which hosts.txt subscription (naming.md, "Incoming Subscriptions
//! and Merging", "Hosting and HTTP Transport Issues"). Sans-IO: every call takes
//! `now` in milliseconds since the epoch (the times are persisted, so wall-clock).
//!
//! The router fetches over I2P through its HTTP client path with the conditional
//! headers of [`FetchRequest`], then hands the result to
//! [`crate::AddressBook::apply_fetch`].

use std::time::Duration;

pub use gousse_store::SubscriptionRecord as Subscription;

/// How often a subscription is fetched after a success: 12 hours, as Java I2P's
/// address book and i2pd do.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(12 * 3600);

/// First retry delay after a failed fetch; doubled on each further failure, never
/// beyond the interval.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5 * 60);

/// The subscription the project ships (naming.md, "Incoming Subscriptions and
/// Merging").
pub const DEFAULT_SUBSCRIPTION: &str = "http://i2p-projekt.i2p/hosts.txt";

/// The fetch policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Delay between fetches after a success.
    pub interval: Duration,
    /// First retry delay after a failure.
    pub retry: Duration,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            interval: DEFAULT_INTERVAL,
            retry: DEFAULT_RETRY,
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Schedule {
    /// When `sub` should next be fetched, in milliseconds since the epoch: at once if
    /// never tried; `retry * 2^(failures-1)` (capped at `interval`) after a failed
    /// attempt; `interval` after the last success.
    pub fn due_at(&self, sub: &Subscription) -> u64 {
        let Some(last) = sub.last_fetched_at else {
            return sub.added_at;
        };
        let delay = if sub.failures == 0 {
            ms(self.interval)
        } else {
            let factor = 1u64 << sub.failures.saturating_sub(1).min(30);
            ms(self.retry).saturating_mul(factor).min(ms(self.interval))
        };
        last.saturating_add(delay)
    }

    /// The most overdue subscription at `now`, if any is due.
    pub fn next_due<'a>(&self, subs: &'a [Subscription], now: u64) -> Option<&'a Subscription> {
        subs.iter()
            .map(|s| (self.due_at(s), s))
            .filter(|(due, _)| *due <= now)
            .min_by_key(|(due, _)| *due)
            .map(|(_, s)| s)
    }

    /// When the next subscription falls due (for the caller's timer), if any exists.
    pub fn next_wakeup(&self, subs: &[Subscription]) -> Option<u64> {
        subs.iter().map(|s| self.due_at(s)).min()
    }
}

/// What to fetch: the URL and the conditional headers from the last success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest {
    /// The feed URL.
    pub url: String,
    /// `If-None-Match` value (the last `ETag`).
    pub if_none_match: Option<String>,
    /// `If-Modified-Since` value (the last `Last-Modified`).
    pub if_modified_since: Option<String>,
}

impl FetchRequest {
    /// The request for `sub`.
    pub fn for_subscription(sub: &Subscription) -> FetchRequest {
        FetchRequest {
            url: sub.url.clone(),
            if_none_match: sub.etag.clone(),
            if_modified_since: sub.last_modified.clone(),
        }
    }
}

/// How a fetch ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchOutcome {
    /// `304 Not Modified`.
    NotModified,
    /// `200 OK` with the body and the cache validators of the response.
    Body {
        /// The body (at most [`crate::hosts_txt::MAX_BODY_LEN`] bytes are accepted).
        body: Vec<u8>,
        /// The response's `ETag`.
        etag: Option<String>,
        /// The response's `Last-Modified`.
        last_modified: Option<String>,
    },
    /// Anything else: no route, timeout, another status.
    Failed {
        /// For the log.
        reason: String,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test {
    use super::*;

    const H: u64 = 3600 * 1000;
    const MIN: u64 = 60 * 1000;

    fn sub(url: &str, added: u64) -> Subscription {
        Subscription {
            url: url.into(),
            added_at: added,
            last_fetched_at: None,
            last_success_at: None,
            etag: None,
            last_modified: None,
            failures: 0,
        }
    }

    #[test]
    fn new_subscription_is_due_at_once_then_every_12_hours() {
        let s = Schedule::default();
        let mut a = sub("http://a.i2p/hosts.txt", 1000);
        assert_eq!(s.due_at(&a), 1000);
        assert_eq!(s.next_due(std::slice::from_ref(&a), 999), None);
        assert_eq!(s.next_due(std::slice::from_ref(&a), 1000), Some(&a));
        a.last_fetched_at = Some(5000);
        a.last_success_at = Some(5000);
        assert_eq!(s.due_at(&a), 5000 + 12 * H);
        assert_eq!(
            s.next_due(std::slice::from_ref(&a), 5000 + 12 * H - 1),
            None
        );
    }

    #[test]
    fn failures_back_off_exponentially_up_to_the_interval() {
        let s = Schedule::default();
        let mut a = sub("http://a.i2p/hosts.txt", 0);
        a.last_fetched_at = Some(0);
        let delays: Vec<u64> = (1..=10)
            .map(|f| {
                a.failures = f;
                s.due_at(&a)
            })
            .collect();
        assert_eq!(
            delays,
            vec![
                5 * MIN,
                10 * MIN,
                20 * MIN,
                40 * MIN,
                80 * MIN,
                160 * MIN,
                320 * MIN,
                640 * MIN,
                12 * H,
                12 * H
            ]
        );
        a.failures = u32::MAX;
        assert_eq!(s.due_at(&a), 12 * H);
    }

    #[test]
    fn most_overdue_first_and_next_wakeup() {
        let s = Schedule::default();
        let mut a = sub("http://a.i2p/", 0);
        a.last_fetched_at = Some(0);
        let b = sub("http://b.i2p/", 100);
        let subs = vec![a.clone(), b.clone()];
        // b (never fetched) is due at 100, a at 12 h.
        assert_eq!(s.next_due(&subs, 200), Some(&b));
        assert_eq!(s.next_wakeup(&subs), Some(100));
        assert_eq!(s.next_due(&subs, 13 * H), Some(&b), "b is more overdue");
        assert_eq!(s.next_wakeup(&[]), None);
    }

    #[test]
    fn fetch_request_carries_validators() {
        let mut a = sub("http://a.i2p/hosts.txt", 0);
        a.etag = Some("\"v1\"".into());
        a.last_modified = Some("Mon, 01 Jan 2029 00:00:00 GMT".into());
        let r = FetchRequest::for_subscription(&a);
        assert_eq!(r.if_none_match.as_deref(), Some("\"v1\""));
        assert_eq!(
            r.if_modified_since.as_deref(),
            Some("Mon, 01 Jan 2029 00:00:00 GMT")
        );
    }
}
