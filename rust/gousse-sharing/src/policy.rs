//! The sharing state machine. Deterministic: no threads, no timers, no `Instant::now()`;
//! every input carries `now`, the next timer is polled. Rules: the crate README.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::signals::{PolicyConfig, PowerSignals, SharingMode, SharingPrefs};

/// At most this many recent drops are remembered; backoff saturates long before.
const MAX_DROPS: usize = 32;

/// The sharing state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SharingState {
    /// Not sharing: a guard fails.
    Off,
    /// Every guard passes; waiting for them to be stable before sharing.
    Waiting,
    /// Sharing: new transit tunnels are accepted.
    On,
    /// New transit tunnels are refused; the existing ones run until they expire.
    Draining,
}

impl fmt::Display for SharingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Off => "off",
            Self::Waiting => "waiting",
            Self::On => "on",
            Self::Draining => "draining",
        })
    }
}

/// A guard that fails, in the order they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Block {
    /// The mode is [`SharingMode::Never`].
    Disabled,
    /// The bandwidth cap is 0.
    NoBandwidth,
    /// No power signals have arrived yet.
    NoPowerInfo,
    /// The thermal status is too hot (or has not cooled down enough yet).
    TooHot,
    /// Power-save mode is on.
    PowerSave,
    /// The battery is below the minimum (or has not recovered to `resume_pct` yet).
    BatteryLow {
        /// The user's minimum, percent.
        min_pct: u8,
        /// The level at which sharing may resume, percent.
        resume_pct: u8,
    },
    /// Not on external power, and the mode needs it.
    NotCharging,
    /// A metered network, and the mode needs an unmetered one.
    Metered,
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => f.write_str("disabled in settings"),
            Self::NoBandwidth => f.write_str("bandwidth cap is 0"),
            Self::NoPowerInfo => f.write_str("no power information yet"),
            Self::TooHot => f.write_str("phone too hot"),
            Self::PowerSave => f.write_str("power-save mode"),
            Self::BatteryLow {
                min_pct,
                resume_pct,
            } if resume_pct > min_pct => {
                write!(f, "battery below {min_pct}% (resumes at {resume_pct}%)")
            }
            Self::BatteryLow { min_pct, .. } => write!(f, "battery below {min_pct}%"),
            Self::NotCharging => f.write_str("not charging"),
            Self::Metered => f.write_str("metered network"),
        }
    }
}

/// What a wait is for, from the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WaitFor {
    /// External power ([`SharingMode::WhenCharging`]).
    Charging,
    /// External power and an unmetered network ([`SharingMode::WhenChargingUnmetered`]).
    ChargingUnmetered,
    /// Battery, power-save and thermal guards ([`SharingMode::Always`]).
    Conditions,
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Charging => "charging",
            Self::ChargingUnmetered => "charging and unmetered network",
            Self::Conditions => "power conditions",
        })
    }
}

/// Why the policy decided what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Off because a guard fails.
    Blocked(Block),
    /// Every guard passes; sharing starts when they have been stable for `left_s` more
    /// seconds (rounded up). Also the reason while draining when the guards pass again.
    Waiting {
        /// What is being waited for.
        what: WaitFor,
        /// Seconds left, rounded up.
        left_s: u64,
    },
    /// Sharing.
    Sharing,
    /// Draining because a guard failed (or still fails).
    Draining(Block),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blocked(b) => write!(f, "{b}"),
            Self::Waiting { what, left_s } => {
                write!(f, "waiting for {what} to be stable ({left_s} s left)")
            }
            Self::Sharing => f.write_str("sharing"),
            Self::Draining(Block::NotCharging) => f.write_str("draining: unplugged"),
            Self::Draining(b) => write!(f, "draining: {b}"),
        }
    }
}

/// What the router should do: apply `accept` and `share_bytes_per_s` to its transit
/// limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The state.
    pub state: SharingState,
    /// Why, for the status.
    pub reason: Reason,
    /// Accept new transit tunnels (only when [`SharingState::On`]).
    pub accept: bool,
    /// The transit bandwidth, bytes per second each way: `cap_kbps * 1024` while `On`
    /// and while `Draining` (so that draining tunnels are not cut), else 0.
    pub share_bytes_per_s: u64,
}

/// A wait for stability in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Wait {
    /// When the guards started to pass.
    since: Instant,
    /// When sharing may start; `None` if the interval overflows the clock.
    until: Option<Instant>,
}

/// What a step was caused by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cause {
    /// New signals; `replug` when the plug type changed while on external power.
    Signals { replug: bool },
    /// New preferences.
    Prefs,
    /// A new transit count, or a timer.
    Other,
}

/// The battery-aware sharing policy. See the crate documentation for the rules.
#[derive(Clone, Debug)]
pub struct SharingPolicy {
    config: PolicyConfig,
    prefs: SharingPrefs,
    signals: Option<PowerSignals>,
    /// The battery guard tripped and has not recovered past the hysteresis.
    battery_low: bool,
    /// The thermal guard tripped and has not cooled down past the hysteresis.
    too_hot: bool,
    wait: Option<Wait>,
    on: bool,
    /// Draining; the deadline, `None` if it overflows the clock.
    draining: Option<Option<Instant>>,
    /// The router's transit tunnel count; `None` until reported.
    transit: Option<usize>,
    /// Recent drops of the conditions, oldest first, at most [`MAX_DROPS`].
    drops: VecDeque<Instant>,
    /// The latest `now` seen.
    now: Instant,
    /// The last decision returned, without its countdown, and the start of the wait.
    reported: (Decision, Option<Instant>),
}

impl SharingPolicy {
    /// A policy with no signals yet: `Off`, "no power information yet".
    pub fn new(config: PolicyConfig, prefs: SharingPrefs, now: Instant) -> Self {
        let mut policy = Self {
            config,
            prefs,
            signals: None,
            battery_low: false,
            too_hot: false,
            wait: None,
            on: false,
            draining: None,
            transit: None,
            drops: VecDeque::new(),
            now,
            reported: (
                Decision {
                    state: SharingState::Off,
                    reason: Reason::Blocked(Block::NoPowerInfo),
                    accept: false,
                    share_bytes_per_s: 0,
                },
                None,
            ),
        };
        policy.step(Cause::Other);
        policy.reported = policy.key();
        policy
    }

    /// New power signals. Returns the decision if it changed.
    #[must_use = "apply a changed decision to the router's transit limits"]
    pub fn update_signals(&mut self, signals: PowerSignals, now: Instant) -> Option<Decision> {
        self.advance(now);
        let replug = match self.signals {
            Some(old) => {
                old.plug != signals.plug && old.on_external_power() && signals.on_external_power()
            }
            None => false,
        };
        self.signals = Some(signals);
        self.update_latches();
        self.step(Cause::Signals { replug });
        self.changed()
    }

    /// New preferences. Returns the decision if it changed.
    #[must_use = "apply a changed decision to the router's transit limits"]
    pub fn set_prefs(&mut self, prefs: SharingPrefs, now: Instant) -> Option<Decision> {
        self.advance(now);
        self.prefs = prefs;
        self.update_latches();
        self.step(Cause::Prefs);
        self.changed()
    }

    /// The number of transit tunnels the router carries now. A drain ends when it is 0.
    /// Returns the decision if it changed.
    #[must_use = "apply a changed decision to the router's transit limits"]
    pub fn set_transit_tunnels(&mut self, n: usize, now: Instant) -> Option<Decision> {
        self.advance(now);
        self.transit = Some(n);
        self.step(Cause::Other);
        self.changed()
    }

    /// Runs the timers due at `now`. Returns the decision if it changed.
    #[must_use = "apply a changed decision to the router's transit limits"]
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Decision> {
        self.advance(now);
        self.step(Cause::Other);
        self.changed()
    }

    /// When to call [`SharingPolicy::handle_timeout`] next: the end of the wait for
    /// stability or of the drain; `None` when nothing will change without an input.
    /// The decision changes exactly at this instant, not before.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let wait = if self.on {
            None
        } else {
            self.wait.and_then(|w| w.until)
        };
        let drain = self.draining.flatten();
        match (wait, drain) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The decision as of the latest call.
    pub fn decision(&self) -> Decision {
        self.decision_at(self.now)
    }

    /// The decision with the countdown computed at `now` (for a status display between
    /// calls); does not run timers.
    pub fn decision_at(&self, now: Instant) -> Decision {
        let now = now.max(self.now);
        let block = self.block();
        let state = self.state();
        let reason = match (state, block) {
            (SharingState::On, _) => Reason::Sharing,
            (SharingState::Draining, Some(b)) => Reason::Draining(b),
            (SharingState::Draining | SharingState::Waiting, _) => self.waiting_reason(now),
            // Off always has a failing guard; NoPowerInfo is the neutral fallback.
            (SharingState::Off, b) => Reason::Blocked(b.unwrap_or(Block::NoPowerInfo)),
        };
        let share = match state {
            SharingState::On | SharingState::Draining => self.prefs.cap_kbps.saturating_mul(1024),
            SharingState::Off | SharingState::Waiting => 0,
        };
        Decision {
            state,
            reason,
            accept: state == SharingState::On,
            share_bytes_per_s: share,
        }
    }

    /// The current state.
    pub fn state(&self) -> SharingState {
        if self.on {
            SharingState::On
        } else if self.draining.is_some() {
            SharingState::Draining
        } else if self.wait.is_some() {
            SharingState::Waiting
        } else {
            SharingState::Off
        }
    }

    /// The current preferences.
    pub fn prefs(&self) -> SharingPrefs {
        self.prefs
    }

    /// The latest power signals, if any arrived.
    pub fn signals(&self) -> Option<PowerSignals> {
        self.signals
    }

    /// The settings.
    pub fn config(&self) -> PolicyConfig {
        self.config
    }

    // ----- internals -----

    /// `now` never goes backwards.
    fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    /// Trips or clears the battery and thermal guards, with hysteresis.
    fn update_latches(&mut self) {
        let Some(s) = self.signals else { return };
        let pct = s.battery_pct.min(100);
        let min = self.prefs.min_battery_pct.min(100);
        if pct < min {
            self.battery_low = true;
        } else if pct >= self.resume_pct() {
            self.battery_low = false;
        }
        if s.thermal >= self.config.thermal_off_at {
            self.too_hot = true;
        } else if s.thermal <= self.config.thermal_back_at {
            self.too_hot = false;
        }
    }

    fn resume_pct(&self) -> u8 {
        let min = self.prefs.min_battery_pct.min(100);
        min.saturating_add(self.config.battery_hysteresis_pct)
            .min(100)
    }

    /// The first guard that fails, if any.
    fn block(&self) -> Option<Block> {
        let mode = self.prefs.mode;
        if mode == SharingMode::Never {
            return Some(Block::Disabled);
        }
        if self.prefs.cap_kbps == 0 {
            return Some(Block::NoBandwidth);
        }
        let Some(s) = self.signals else {
            return Some(Block::NoPowerInfo);
        };
        if self.too_hot {
            return Some(Block::TooHot);
        }
        if s.power_save {
            return Some(Block::PowerSave);
        }
        if self.battery_low {
            return Some(Block::BatteryLow {
                min_pct: self.prefs.min_battery_pct.min(100),
                resume_pct: self.resume_pct(),
            });
        }
        if mode != SharingMode::Always && !s.on_external_power() {
            return Some(Block::NotCharging);
        }
        if mode == SharingMode::WhenChargingUnmetered && !s.unmetered {
            return Some(Block::Metered);
        }
        None
    }

    /// Applies the current inputs at `self.now`, then the timers.
    fn step(&mut self, cause: Cause) {
        let now = self.now;
        let block = self.block();
        match (block, self.wait) {
            (None, None) => self.start_wait(now),
            (None, Some(_)) => {
                if cause == (Cause::Signals { replug: true }) && !self.on {
                    // A replug reported in one broadcast: as an unplug and a plug.
                    self.record_drop(now);
                    self.start_wait(now);
                }
            }
            (Some(_), Some(_)) => {
                self.wait = None;
                if matches!(cause, Cause::Signals { .. }) {
                    self.record_drop(now);
                }
                if self.on {
                    self.on = false;
                    if self.transit != Some(0) {
                        self.draining = Some(now.checked_add(self.config.drain_timeout));
                    }
                }
            }
            (Some(_), None) => {}
        }
        if let Some(deadline) = self.draining {
            let expired = deadline.is_some_and(|d| now >= d);
            if self.transit == Some(0) || expired {
                self.draining = None;
            }
        }
        if !self.on && block.is_none() {
            if let Some(Wait {
                until: Some(until), ..
            }) = self.wait
            {
                if now >= until {
                    self.on = true;
                    self.draining = None;
                }
            }
        }
    }

    fn start_wait(&mut self, now: Instant) {
        let interval = self.stable_interval(now);
        self.wait = Some(Wait {
            since: now,
            until: now.checked_add(interval),
        });
    }

    /// `stable_interval * 2^n`, `n` the drops in the last `flap_window`, at most
    /// `max_stable_interval`.
    fn stable_interval(&mut self, now: Instant) -> Duration {
        let window = self.config.flap_window;
        while let Some(&oldest) = self.drops.front() {
            if now.saturating_duration_since(oldest) >= window {
                self.drops.pop_front();
            } else {
                break;
            }
        }
        let base = self.config.stable_interval;
        let max = self.config.max_stable_interval.max(base);
        let n = u32::try_from(self.drops.len()).unwrap_or(u32::MAX).min(16);
        base.checked_mul(1 << n).unwrap_or(max).min(max)
    }

    fn record_drop(&mut self, now: Instant) {
        if self.drops.len() >= MAX_DROPS {
            self.drops.pop_front();
        }
        self.drops.push_back(now);
    }

    fn waiting_reason(&self, now: Instant) -> Reason {
        let what = match self.prefs.mode {
            SharingMode::WhenCharging => WaitFor::Charging,
            SharingMode::WhenChargingUnmetered => WaitFor::ChargingUnmetered,
            SharingMode::Always | SharingMode::Never => WaitFor::Conditions,
        };
        let left_s = match self.wait {
            Some(Wait {
                until: Some(until), ..
            }) => {
                let left = until.saturating_duration_since(now);
                left.as_secs() + u64::from(left.subsec_nanos() > 0)
            }
            _ => u64::MAX,
        };
        Reason::Waiting { what, left_s }
    }

    /// The decision without its countdown, and the start of the wait: a change of either
    /// (a restarted wait) is reported.
    fn key(&self) -> (Decision, Option<Instant>) {
        let mut d = self.decision();
        if let Reason::Waiting { left_s, .. } = &mut d.reason {
            *left_s = 0;
        }
        let since = if self.on {
            None
        } else {
            self.wait.map(|w| w.since)
        };
        (d, since)
    }

    fn changed(&mut self) -> Option<Decision> {
        let key = self.key();
        if key == self.reported {
            None
        } else {
            self.reported = key;
            Some(self.decision())
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn reasons_read_well() {
        let cases = [
            (Reason::Blocked(Block::Disabled), "disabled in settings"),
            (
                Reason::Blocked(Block::NoPowerInfo),
                "no power information yet",
            ),
            (Reason::Blocked(Block::NotCharging), "not charging"),
            (Reason::Blocked(Block::Metered), "metered network"),
            (Reason::Blocked(Block::PowerSave), "power-save mode"),
            (Reason::Blocked(Block::TooHot), "phone too hot"),
            (Reason::Blocked(Block::NoBandwidth), "bandwidth cap is 0"),
            (
                Reason::Blocked(Block::BatteryLow {
                    min_pct: 50,
                    resume_pct: 55,
                }),
                "battery below 50% (resumes at 55%)",
            ),
            (
                Reason::Blocked(Block::BatteryLow {
                    min_pct: 100,
                    resume_pct: 100,
                }),
                "battery below 100%",
            ),
            (
                Reason::Waiting {
                    what: WaitFor::Charging,
                    left_s: 42,
                },
                "waiting for charging to be stable (42 s left)",
            ),
            (
                Reason::Waiting {
                    what: WaitFor::ChargingUnmetered,
                    left_s: 1,
                },
                "waiting for charging and unmetered network to be stable (1 s left)",
            ),
            (Reason::Sharing, "sharing"),
            (Reason::Draining(Block::NotCharging), "draining: unplugged"),
            (Reason::Draining(Block::TooHot), "draining: phone too hot"),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn drops_stay_bounded() {
        let t0 = Instant::now();
        let mut p = SharingPolicy::new(PolicyConfig::default(), SharingPrefs::default(), t0);
        for i in 0..1000u64 {
            p.record_drop(t0 + Duration::from_millis(i));
        }
        assert_eq!(p.drops.len(), MAX_DROPS);
    }
}
