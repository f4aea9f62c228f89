//! Recent log lines: a tracing layer keeps the last [`RING_CAPACITY`] events in a
//! ring buffer that `recent_logs` reads. The global subscriber is installed once per
//! process, by the first router object; later objects share it. On Android the same
//! events also go to logcat (tracing's `log` bridge into `android_logger`).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lines kept.
pub(crate) const RING_CAPACITY: usize = 2000;
/// Longest message kept, bytes (longer ones are cut at a character boundary).
const MAX_MESSAGE: usize = 2048;

/// A log line's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Errors.
    Error,
    /// Warnings.
    Warn,
    /// Information.
    Info,
    /// Debugging.
    Debug,
    /// Tracing.
    Trace,
}

impl From<&Level> for LogLevel {
    fn from(l: &Level) -> Self {
        match *l {
            Level::ERROR => Self::Error,
            Level::WARN => Self::Warn,
            Level::INFO => Self::Info,
            Level::DEBUG => Self::Debug,
            _ => Self::Trace,
        }
    }
}

/// One log line.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LogLine {
    /// When, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Level.
    pub level: LogLevel,
    /// Subsystem (`gousse::router`, ...).
    pub target: String,
    /// The message, followed by the event's other fields as `key=value`.
    pub message: String,
}

/// The ring buffer.
#[derive(Debug, Default)]
pub(crate) struct Ring {
    lines: VecDeque<LogLine>,
}

impl Ring {
    pub(crate) fn push(&mut self, line: LogLine) {
        if self.lines.len() >= RING_CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// The last `max` lines, oldest first.
    pub(crate) fn recent(&self, max: usize) -> Vec<LogLine> {
        let skip = self.lines.len().saturating_sub(max);
        self.lines.iter().skip(skip).cloned().collect()
    }
}

fn ring() -> &'static Mutex<Ring> {
    static RING: OnceLock<Mutex<Ring>> = OnceLock::new();
    RING.get_or_init(|| Mutex::new(Ring::default()))
}

/// The last `max` lines of the process, oldest first.
pub(crate) fn recent(max: usize) -> Vec<LogLine> {
    match ring().lock() {
        Ok(r) => r.recent(max),
        Err(p) => p.into_inner().recent(max),
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={:?}", field.name(), value);
        }
    }
}

/// The layer feeding the ring.
pub(crate) struct RingLayer;

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let mut message = f.message;
        message.push_str(&f.rest);
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let meta = event.metadata();
        let line = LogLine {
            time_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
                .unwrap_or(0),
            level: meta.level().into(),
            target: meta.target().to_string(),
            message,
        };
        match ring().lock() {
            Ok(mut r) => r.push(line),
            Err(p) => p.into_inner().push(line),
        }
    }
}

/// Checks a filter string.
pub(crate) fn check_filter(f: &str) -> Result<(), String> {
    EnvFilter::try_new(f)
        .map(|_| ())
        .map_err(|e| format!("log filter {f:?}: {e}"))
}

/// Installs the global subscriber once per process. Returns whether our ring is fed
/// (false when another subscriber was already set by the host process).
pub(crate) fn install(filter: Option<&str>) -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        android::init();
        let filter = filter
            .and_then(|f| EnvFilter::try_new(f).ok())
            .unwrap_or_else(|| EnvFilter::new("info"));
        tracing_subscriber::registry()
            .with(RingLayer.with_filter(filter))
            .try_init()
            .is_ok()
    })
}

#[cfg(target_os = "android")]
mod android {
    /// Sends `log` records (tracing's bridge emits one for every event) to logcat.
    pub(super) fn init() {
        android_logger::init_once(
            android_logger::Config::default()
                .with_max_level(log::LevelFilter::Info)
                .with_tag("gousse"),
        );
    }
}

#[cfg(not(target_os = "android"))]
mod android {
    /// Nothing to do off Android.
    pub(super) fn init() {}
}

#[cfg(test)]
mod test {
    use super::*;

    fn line(i: usize) -> LogLine {
        LogLine {
            time_ms: i as u64,
            level: LogLevel::Info,
            target: "t".into(),
            message: format!("line {i}"),
        }
    }

    #[test]
    fn ring_is_bounded_and_keeps_the_newest() {
        let mut r = Ring::default();
        for i in 0..RING_CAPACITY + 10 {
            r.push(line(i));
        }
        let all = r.recent(usize::MAX);
        assert_eq!(all.len(), RING_CAPACITY);
        assert_eq!(all[0].message, "line 10");
        let last = r.recent(2);
        assert_eq!(
            last.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(),
            vec![
                format!("line {}", RING_CAPACITY + 8),
                format!("line {}", RING_CAPACITY + 9)
            ]
        );
        assert!(r.recent(0).is_empty());
    }

    #[test]
    fn events_reach_the_ring_with_their_fields() {
        // Twice: the second install must not panic.
        assert!(install(None));
        assert!(install(Some("debug")));
        tracing::info!(target: "gousse::ffi::test", peers = 3, "hello from the test");
        let got = recent(RING_CAPACITY);
        let l = got
            .iter()
            .find(|l| l.message.starts_with("hello from the test"))
            .expect("line in ring");
        assert_eq!(l.target, "gousse::ffi::test");
        assert_eq!(l.level, LogLevel::Info);
        assert_eq!(l.message, "hello from the test peers=3");
        assert!(l.time_ms > 1_600_000_000_000);
    }
}
