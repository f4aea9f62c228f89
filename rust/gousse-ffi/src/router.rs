//! The router object: owns a tokio runtime (2 workers), the router while it runs,
//! the sharing policy, and a thread that calls the listener.
//!
//! Locking: one `Mutex<Inner>` per object, never held across an `.await` nor while a
//! listener runs; the listener is called from its own thread, fed by a bounded
//! channel, so a slow or throwing listener never stalls the router. `start` and
//! `stop` block the caller (they refuse to run on one of the runtime's own threads).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gousse_router::{Router, TransitLimits};
use tokio::runtime::Runtime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::config::{self, Checked, RouterSettings};
use crate::error::{GousseError, ListenerError};
use crate::logs::{self, LogLine};
use crate::sharing::{self, PowerState, Sharing, SharingPrefs, SharingState};
use crate::status::{n, RouterState, RouterStatus};

/// Events queued for the listener; more are dropped (with a warning) until it
/// catches up.
const EVENT_QUEUE: usize = 256;
/// How often the driver feeds the transit tunnel count to the sharing policy.
const TUNNEL_COUNT_PERIOD: Duration = Duration::from_secs(3);
/// Longest `stop` deadline honoured.
const MAX_STOP_DEADLINE: Duration = Duration::from_secs(600);
/// How long `stop` waits for a `start` in progress to finish.
const START_WAIT: Duration = Duration::from_secs(120);
/// Most log lines one `recent_logs` call returns.
const MAX_LOG_LINES: u32 = logs::RING_CAPACITY as u32;

/// Receives the router's events, on a thread of the router's own (never while the
/// router holds a lock). A method that throws is logged and ignored.
#[uniffi::export(callback_interface)]
pub trait RouterListener: Send + Sync {
    /// The life-cycle state changed.
    fn on_state_changed(&self, state: RouterState) -> Result<(), ListenerError>;
    /// Periodic status (every `status_interval_ms` while running, and at once when
    /// the sharing state changes).
    fn on_status(&self, status: RouterStatus) -> Result<(), ListenerError>;
    /// An error the app should show (a failed start, ...).
    fn on_error(&self, message: String) -> Result<(), ListenerError>;
}

type ListenerSlot = Arc<Mutex<Option<Arc<dyn RouterListener>>>>;

enum Event {
    State(RouterState),
    Status(Box<RouterStatus>),
    Error(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Transit bytes counted since 00:00 UTC.
#[derive(Debug, Default)]
struct Today {
    /// UTC day number of the count.
    day: u64,
    /// Bytes of earlier runs today.
    earlier_runs: u64,
    /// This run's transit bytes when the day began (0 if it began before the run).
    run_base: u64,
}

fn utc_day() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

impl Today {
    fn roll(&mut self, run_bytes: u64) {
        let day = utc_day();
        if day != self.day {
            self.day = day;
            self.earlier_runs = 0;
            self.run_base = run_bytes;
        }
    }

    fn total(&self, run_bytes: u64) -> u64 {
        self.earlier_runs
            .saturating_add(run_bytes.saturating_sub(self.run_base))
    }

    fn end_run(&mut self, run_bytes: u64) {
        self.earlier_runs = self.total(run_bytes);
        self.run_base = 0;
    }
}

/// Traffic rates over the last status period.
#[derive(Debug, Default)]
struct Rates {
    last: Option<(Instant, u64, u64)>,
    rate_in: u64,
    rate_out: u64,
}

impl Rates {
    fn sample(&mut self, now: Instant, rx: u64, tx: u64) {
        if let Some((t, r0, t0)) = self.last {
            let ms = u64::try_from(now.saturating_duration_since(t).as_millis()).unwrap_or(0);
            let per_s = |d: u64| d.saturating_mul(1000).checked_div(ms);
            if let (Some(i), Some(o)) = (per_s(rx.saturating_sub(r0)), per_s(tx.saturating_sub(t0)))
            {
                self.rate_in = i;
                self.rate_out = o;
            }
        }
        self.last = Some((now, rx, tx));
    }
}

struct Inner {
    state: RouterState,
    error: Option<String>,
    router: Option<Arc<Router>>,
    driver: Option<JoinHandle<()>>,
    sharing: Sharing,
    router_hash: String,
    today: Today,
    rates: Rates,
}

struct Shared {
    checked: Checked,
    inner: Mutex<Inner>,
    /// Signalled when `state` leaves `Starting`.
    changed: Condvar,
    /// Wakes the driver task (new signals or preferences).
    wake: Notify,
    events: SyncSender<Event>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Queues an event for the listener (never blocks).
    fn emit(&self, ev: Event) {
        match self.events.try_send(ev) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                warn!(target: "gousse::ffi", "listener is behind; event dropped")
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn set_state(&self, inner: &mut Inner, state: RouterState) {
        inner.state = state;
        self.emit(Event::State(state));
        self.changed.notify_all();
    }

    /// The status, from the running router if any.
    fn status(&self, inner: &mut Inner, now: Instant) -> RouterStatus {
        inner.sharing.tick(now);
        let st = inner.router.as_ref().map(|r| r.status());
        let run_bytes = st.as_ref().map_or(0, |s| s.transit_bytes);
        inner.today.roll(run_bytes);
        let st = st.unwrap_or_default();
        let running = inner.router.is_some();
        RouterStatus {
            state: inner.state,
            error: inner.error.clone(),
            router_hash: inner.router_hash.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            net_id: self.checked.router.net_id,
            uptime_s: st.uptime_s,
            known_routers: n(st.known_routers),
            known_floodfills: n(st.known_floodfills),
            sessions_inbound: n(st.active_sessions.inbound),
            sessions_outbound: n(st.active_sessions.outbound),
            exploratory_inbound: n(st.tunnels.exploratory_inbound),
            exploratory_outbound: n(st.tunnels.exploratory_outbound),
            client_inbound: n(st.tunnels.client_inbound),
            client_outbound: n(st.tunnels.client_outbound),
            transit_tunnels: n(st.transit_tunnels),
            transit_rejected: st.transit_rejected,
            bytes_received: st.bytes_received,
            bytes_sent: st.bytes_sent,
            rate_in_bps: if running { inner.rates.rate_in } else { 0 },
            rate_out_bps: if running { inner.rates.rate_out } else { 0 },
            transit_bytes: run_bytes,
            shared_bytes_today: inner.today.total(run_bytes),
            transit_accepting: running && st.transit_limits.accept,
            transit_share_bytes_per_s: if running {
                st.transit_limits.share_bytes_per_s
            } else {
                0
            },
            ntcp2_address: st.ntcp2_address,
            sharing: inner.sharing.status(now),
        }
    }
}

/// Calls the listener for each event, on its own thread, until the router object
/// is gone.
fn dispatch(rx: Receiver<Event>, slot: ListenerSlot) {
    while let Ok(ev) = rx.recv() {
        let listener = lock(&slot).clone();
        let Some(l) = listener else { continue };
        let res = catch_unwind(AssertUnwindSafe(|| match ev {
            Event::State(s) => l.on_state_changed(s),
            Event::Status(s) => l.on_status(*s),
            Event::Error(m) => l.on_error(m),
        }));
        match res {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(target: "gousse::ffi", "{e}"),
            Err(_) => warn!(target: "gousse::ffi", "listener panicked"),
        }
    }
}

/// Gives the policy the router's transit tunnel count as it is now, before a change
/// of signals or preferences: with a count up to [`TUNNEL_COUNT_PERIOD`] old, tunnels
/// built since would be taken for none, and the policy would turn sharing off (share
/// 0, which cuts them) instead of draining them.
fn feed_transit_count(inner: &mut Inner, now: Instant) {
    if let Some(n) = inner.router.as_ref().map(|r| r.status().transit_tunnels) {
        inner.sharing.set_transit_tunnels(n, now);
    }
}

/// The running router's companion task: applies the sharing policy's decisions as
/// transit limits, feeds it the transit tunnel count, and sends periodic status.
async fn drive(shared: Arc<Shared>, router: Arc<Router>) {
    let period = shared.checked.status_interval;
    let mut applied: Option<TransitLimits> = None;
    let mut last_sharing: Option<SharingState> = None;
    let start = Instant::now();
    let mut next_status = start + period;
    let mut next_count = start;
    loop {
        let now = Instant::now();
        let (limits, policy_wake, status) = {
            let mut inner = shared.lock();
            if now >= next_count {
                let count = router.status().transit_tunnels;
                inner.sharing.set_transit_tunnels(count, now);
                next_count = now + TUNNEL_COUNT_PERIOD;
            }
            inner.sharing.tick(now);
            let sharing_state = inner.sharing.status(now).state;
            let periodic = now >= next_status;
            let status = if periodic || last_sharing != Some(sharing_state) {
                if periodic {
                    let st = router.status();
                    inner.rates.sample(now, st.bytes_received, st.bytes_sent);
                    next_status = now + period;
                }
                // The first pass only records the state; status starts after a period.
                let first = last_sharing.is_none();
                last_sharing = Some(sharing_state);
                (!first || periodic).then(|| shared.status(&mut inner, now))
            } else {
                None
            };
            (inner.sharing.limits(), inner.sharing.poll_timeout(), status)
        };
        if applied != Some(limits) {
            info!(
                target: "gousse::ffi",
                accept = limits.accept,
                share_bytes_per_s = limits.share_bytes_per_s,
                "transit limits from the sharing policy"
            );
            router.set_transit_limits(limits).await;
            applied = Some(limits);
        }
        if let Some(st) = status {
            shared.emit(Event::Status(Box::new(st)));
        }
        let mut wake = next_status.min(next_count);
        if let Some(w) = policy_wake {
            wake = wake.min(w);
        }
        let wake = wake.max(Instant::now() + Duration::from_millis(5));
        tokio::select! {
            () = tokio::time::sleep_until(wake.into()) => {}
            () = shared.wake.notified() => {}
        }
    }
}

/// A Gousse router. Every method is safe to call from any thread at any time.
#[derive(uniffi::Object)]
pub struct GousseRouter {
    runtime: Option<Runtime>,
    shared: Arc<Shared>,
    listener: ListenerSlot,
}

impl std::fmt::Debug for GousseRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GousseRouter").finish_non_exhaustive()
    }
}

impl GousseRouter {
    fn runtime(&self) -> Result<&Runtime, GousseError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(GousseError::internal(
                "start and stop block; they cannot run on one of the router's own threads",
            ));
        }
        self.runtime
            .as_ref()
            .ok_or_else(|| GousseError::internal("the router's runtime is gone"))
    }

    fn start_failed(&self, e: GousseError) -> GousseError {
        let mut inner = self.shared.lock();
        inner.error = Some(e.to_string());
        self.shared.emit(Event::Error(e.to_string()));
        self.shared.set_state(&mut inner, RouterState::Failed);
        e
    }
}

#[uniffi::export]
impl GousseRouter {
    /// Checks the settings (creating the data directory) and builds a stopped
    /// router. Installs the process's log subscriber if none is set yet.
    #[uniffi::constructor]
    pub fn new(config: RouterSettings) -> Result<Arc<Self>, GousseError> {
        let checked = config::check(&config)?;
        logs::install(checked.log_filter.as_deref());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gousse-rt")
            .enable_all()
            .build()
            .map_err(|e| GousseError::Io {
                message: format!("cannot create the router's runtime: {e}"),
            })?;
        let (tx, rx) = sync_channel(EVENT_QUEUE);
        let listener: ListenerSlot = Arc::new(Mutex::new(None));
        let slot = listener.clone();
        std::thread::Builder::new()
            .name("gousse-listener".into())
            .spawn(move || dispatch(rx, slot))
            .map_err(|e| GousseError::Io {
                message: format!("cannot start the listener thread: {e}"),
            })?;
        let max_tunnels = checked.router.max_transit_tunnels;
        let now = Instant::now();
        let mut sharing = Sharing::new(&checked.sharing, checked.stable, max_tunnels, now);
        // A router that does not run carries no transit tunnels (so nothing drains).
        sharing.set_transit_tunnels(0, now);
        let inner = Inner {
            state: RouterState::Stopped,
            error: None,
            router: None,
            driver: None,
            sharing,
            router_hash: String::new(),
            today: Today::default(),
            rates: Rates::default(),
        };
        info!(target: "gousse::ffi", net_id = checked.router.net_id, "router object created");
        Ok(Arc::new(Self {
            runtime: Some(runtime),
            shared: Arc::new(Shared {
                checked,
                inner: Mutex::new(inner),
                changed: Condvar::new(),
                wake: Notify::new(),
                events: tx,
            }),
            listener,
        }))
    }

    /// Starts the router and returns once it runs (keys loaded, netDb open, NTCP2
    /// bound). The sharing policy's current decision applies from the first moment.
    pub fn start(&self) -> Result<(), GousseError> {
        let rt = self.runtime()?;
        let config = {
            let mut inner = self.shared.lock();
            match inner.state {
                RouterState::Starting | RouterState::Running | RouterState::Stopping => {
                    return Err(GousseError::AlreadyRunning {
                        message: format!("the router is {}", inner.state),
                    })
                }
                RouterState::Stopped | RouterState::Failed => {}
            }
            inner.error = None;
            self.shared.set_state(&mut inner, RouterState::Starting);
            inner.sharing.tick(Instant::now());
            let limits = inner.sharing.limits();
            let mut c = self.shared.checked.router.clone();
            c.accept_transit = limits.accept;
            c.transit_share_kbps = limits.share_bytes_per_s / 1024;
            c
        };
        // A panic inside the router must not leave the state at Starting for ever.
        let started = catch_unwind(AssertUnwindSafe(|| rt.block_on(Router::start(config))));
        let router = match started {
            Ok(Ok(r)) => Arc::new(r),
            Ok(Err(e)) => {
                warn!(target: "gousse::ffi", "start failed: {e}");
                return Err(self.start_failed(e.into()));
            }
            Err(_) => {
                let e = GousseError::internal("the router panicked while starting");
                return Err(self.start_failed(e));
            }
        };
        let mut inner = self.shared.lock();
        inner.router_hash = router.router_hash().to_base64();
        inner.router = Some(router.clone());
        inner.rates = Rates::default();
        inner.today.roll(0);
        inner.driver = Some(rt.spawn(drive(self.shared.clone(), router)));
        self.shared.set_state(&mut inner, RouterState::Running);
        Ok(())
    }

    /// Stops the router gracefully (sessions closed, netDb flushed), waiting at most
    /// `deadline_ms` (capped at 10 minutes) for that. A `start` in progress is
    /// waited for first. Not running: `NotRunning`.
    pub fn stop(&self, deadline_ms: u64) -> Result<(), GousseError> {
        let rt = self.runtime()?;
        let deadline = Duration::from_millis(deadline_ms).min(MAX_STOP_DEADLINE);
        let (router, driver) = {
            let mut inner = self.shared.lock();
            let until = Instant::now() + START_WAIT;
            while inner.state == RouterState::Starting {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(GousseError::not_running("the router is still starting"));
                }
                inner = self
                    .shared
                    .changed
                    .wait_timeout(inner, left)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            if inner.state != RouterState::Running {
                return Err(GousseError::not_running(format!(
                    "the router is {}",
                    inner.state
                )));
            }
            self.shared.set_state(&mut inner, RouterState::Stopping);
            (inner.router.take(), inner.driver.take())
        };
        if let Some(d) = driver {
            d.abort();
        }
        let mut run_bytes = 0;
        if let Some(r) = router {
            // Whatever happens in the shutdown, the state must reach Stopped.
            if catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(r.shutdown_within(deadline))
            }))
            .is_err()
            {
                warn!(target: "gousse::ffi", "the router panicked while stopping");
            }
            run_bytes = r.status().transit_bytes;
        }
        let mut inner = self.shared.lock();
        inner.today.roll(run_bytes);
        inner.today.end_run(run_bytes);
        inner.sharing.set_transit_tunnels(0, Instant::now());
        self.shared.set_state(&mut inner, RouterState::Stopped);
        info!(target: "gousse::ffi", "router stopped");
        Ok(())
    }

    /// A snapshot of the router's state; works in every state.
    pub fn status(&self) -> RouterStatus {
        let mut inner = self.shared.lock();
        self.shared.status(&mut inner, Instant::now())
    }

    /// Sets the listener (replacing any earlier one).
    pub fn set_listener(&self, listener: Box<dyn RouterListener>) {
        *lock(&self.listener) = Some(Arc::from(listener));
    }

    /// Removes the listener.
    pub fn clear_listener(&self) {
        *lock(&self.listener) = None;
    }

    /// The phone's power and network signals changed. Works in every state; the
    /// sharing policy keeps them and the router follows its decision while it runs.
    pub fn update_power(&self, power: PowerState) -> Result<(), GousseError> {
        sharing::check_power(&power).map_err(GousseError::invalid_argument)?;
        {
            let mut inner = self.shared.lock();
            let now = Instant::now();
            feed_transit_count(&mut inner, now);
            inner.sharing.update_power(&power, now);
        }
        self.shared.wake.notify_one();
        Ok(())
    }

    /// The user changed the sharing preferences. Works in every state.
    pub fn set_sharing_prefs(&self, prefs: SharingPrefs) -> Result<(), GousseError> {
        sharing::check_prefs(&prefs).map_err(GousseError::invalid_argument)?;
        {
            let mut inner = self.shared.lock();
            let now = Instant::now();
            feed_transit_count(&mut inner, now);
            inner.sharing.set_prefs(&prefs, now);
        }
        self.shared.wake.notify_one();
        Ok(())
    }

    /// The last `max` log lines of the process (at most 2000), oldest first.
    pub fn recent_logs(&self, max: u32) -> Vec<LogLine> {
        logs::recent(usize::try_from(max.min(MAX_LOG_LINES)).unwrap_or(0))
    }
}

impl Drop for GousseRouter {
    fn drop(&mut self) {
        let (router, driver) = {
            let mut inner = self.shared.lock();
            inner.state = RouterState::Stopped;
            (inner.router.take(), inner.driver.take())
        };
        if let Some(d) = driver {
            d.abort();
        }
        let Some(rt) = self.runtime.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropped inside a runtime: blocking is not allowed here.
            rt.shutdown_background();
            return;
        }
        if let Some(r) = router {
            rt.block_on(r.shutdown_within(Duration::from_secs(2)));
        }
        rt.shutdown_timeout(Duration::from_secs(2));
    }
}

/// The default sharing preferences (the sharing policy's): share only while
/// charging on an unmetered network, 256 KB/s, not below 50% battery.
#[uniffi::export]
pub fn default_sharing_prefs() -> SharingPrefs {
    sharing::default_prefs()
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::config::test::settings;
    use crate::sharing::{PlugType, ThermalStatus};

    #[derive(Default)]
    struct Recorder {
        states: Mutex<Vec<RouterState>>,
    }

    struct Rec(Arc<Recorder>);

    impl RouterListener for Rec {
        fn on_state_changed(&self, state: RouterState) -> Result<(), ListenerError> {
            lock(&self.0.states).push(state);
            Ok(())
        }
        fn on_status(&self, _status: RouterStatus) -> Result<(), ListenerError> {
            Err(ListenerError::Failed {
                reason: "listener failure is ignored".into(),
            })
        }
        fn on_error(&self, _message: String) -> Result<(), ListenerError> {
            panic!("a panicking listener is survived")
        }
    }

    #[test]
    fn lifecycle_and_misuse() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = settings(tmp.path());
        s.status_interval_ms = 100;
        let r = GousseRouter::new(s).unwrap();
        let rec = Arc::new(Recorder::default());
        r.set_listener(Box::new(Rec(rec.clone())));
        assert_eq!(r.status().state, RouterState::Stopped);
        assert!(matches!(r.stop(100), Err(GousseError::NotRunning { .. })));
        r.start().unwrap();
        let st = r.status();
        assert_eq!(st.state, RouterState::Running);
        assert_eq!(st.router_hash.len(), 44, "{}", st.router_hash);
        assert_eq!(st.net_id, 99);
        assert!(matches!(r.start(), Err(GousseError::AlreadyRunning { .. })));
        // Status events go to a failing listener for a while: nothing breaks.
        std::thread::sleep(Duration::from_millis(300));
        r.stop(2000).unwrap();
        assert_eq!(r.status().state, RouterState::Stopped);
        assert_eq!(
            r.status().router_hash,
            st.router_hash,
            "hash kept after stop"
        );
        assert!(matches!(r.stop(100), Err(GousseError::NotRunning { .. })));
        let deadline = Instant::now() + Duration::from_secs(5);
        while lock(&rec.states).len() < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            *lock(&rec.states),
            vec![
                RouterState::Starting,
                RouterState::Running,
                RouterState::Stopping,
                RouterState::Stopped
            ]
        );
        assert!(r
            .recent_logs(2000)
            .iter()
            .any(|l| l.message.contains("router stopped")));
    }

    #[test]
    fn start_failure_is_typed_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        // Hold a port so that the router cannot bind it.
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = settings(tmp.path());
        s.port = u32::from(held.local_addr().unwrap().port());
        let r = GousseRouter::new(s).unwrap();
        let e = r.start().unwrap_err();
        assert!(matches!(e, GousseError::StartFailed { .. }), "{e:?}");
        let st = r.status();
        assert_eq!(st.state, RouterState::Failed);
        assert!(st.error.unwrap().contains("binding NTCP2"));
    }

    #[test]
    fn power_and_prefs_before_start_are_kept_and_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = settings(tmp.path());
        s.sharing_stable_secs = 0;
        let r = GousseRouter::new(s).unwrap();
        let power = PowerState {
            charging: true,
            plug: PlugType::Usb,
            battery_pct: 90,
            power_save: false,
            thermal: ThermalStatus::None,
            unmetered: true,
        };
        r.update_power(power.clone()).unwrap();
        assert_eq!(r.status().sharing.state, SharingState::On);
        let bad = PowerState {
            battery_pct: 101,
            ..power
        };
        assert!(matches!(
            r.update_power(bad),
            Err(GousseError::InvalidArgument { .. })
        ));
        let mut prefs = default_sharing_prefs();
        prefs.mode = sharing::SharingMode::Never;
        r.set_sharing_prefs(prefs).unwrap();
        assert_eq!(r.status().sharing.state, SharingState::Off);
        assert!(!r.status().sharing.accept);
    }

    #[test]
    fn today_counts_across_runs() {
        let mut t = Today::default();
        t.roll(0);
        assert_eq!(t.total(500), 500);
        t.end_run(500);
        t.roll(0);
        assert_eq!(t.total(200), 700);
        // A new day starts from the bytes of the run at that moment.
        t.day -= 1;
        t.roll(200);
        assert_eq!(t.total(250), 50);
    }
}
