//! Glue between the API's power and preference records and the sharing policy
//! (`gousse-sharing`, a pure state machine with an explicit `now`): the records
//! Kotlin sees mirror the policy's types (uniffi can only export types derived in
//! this crate) and convert into them here, and [`Sharing`] turns the policy's
//! decision into the router's [`TransitLimits`].

use std::time::{Duration, Instant};

use gousse_router::TransitLimits;

use gousse_sharing as policy;

/// When the user lets the phone relay other routers' tunnels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SharingMode {
    /// Never share.
    Never,
    /// Share while charging.
    WhenCharging,
    /// Share while charging on an unmetered network (the default).
    WhenChargingUnmetered,
    /// Share whenever the other conditions (battery, heat, power-save) allow.
    Always,
}

/// The user's sharing preferences.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SharingPrefs {
    /// When to share.
    pub mode: SharingMode,
    /// Bandwidth shared with transit tunnels, KB/s each way.
    pub cap_kbps: u64,
    /// Below this battery level (0-100) sharing stops even while charging.
    pub min_battery_pct: u8,
}

/// The charger the phone is plugged into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PlugType {
    /// Not plugged in.
    None,
    /// A wall charger.
    Ac,
    /// A USB port.
    Usb,
    /// A wireless pad.
    Wireless,
    /// A dock.
    Dock,
    /// Something else.
    Other,
}

/// Android's thermal status (`PowerManager.THERMAL_STATUS_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum ThermalStatus {
    /// Not throttled.
    None,
    /// Light throttling.
    Light,
    /// Moderate throttling.
    Moderate,
    /// Severe throttling: sharing stops.
    Severe,
    /// Critical.
    Critical,
    /// Emergency.
    Emergency,
    /// About to shut down.
    Shutdown,
}

/// The phone's power and network signals, as the app last saw them.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PowerState {
    /// Charging (or full on a charger).
    pub charging: bool,
    /// The charger.
    pub plug: PlugType,
    /// Battery level, 0-100.
    pub battery_pct: u8,
    /// Power-save (battery saver) mode on.
    pub power_save: bool,
    /// Thermal status.
    pub thermal: ThermalStatus,
    /// The underlying network is unmetered (`NET_CAPABILITY_NOT_METERED`).
    pub unmetered: bool,
}

/// Whether transit is shared now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SharingState {
    /// Not sharing, no transit tunnels left.
    Off,
    /// Conditions are favourable; sharing starts once they have held for the stable
    /// interval.
    Waiting,
    /// Sharing: new transit tunnels are accepted.
    On,
    /// New transit tunnels are refused; existing ones run until they expire.
    Draining,
}

/// The sharing policy's current decision.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SharingStatus {
    /// The state.
    pub state: SharingState,
    /// Why, in words ("not charging", "metered network", "draining: unplugged",
    /// "waiting for charging and unmetered network to be stable (42 s left)", ...).
    pub reason: String,
    /// New transit tunnels are accepted.
    pub accept: bool,
    /// The transit bandwidth share in force, bytes per second each way.
    pub share_bytes_per_s: u64,
}

/// Checks the preferences' ranges.
pub(crate) fn check_prefs(p: &SharingPrefs) -> Result<(), String> {
    if p.min_battery_pct > 100 {
        return Err(format!(
            "min_battery_pct {} is above 100",
            p.min_battery_pct
        ));
    }
    // KB/s to bytes/s must not overflow.
    if p.cap_kbps > u64::MAX / 1024 {
        return Err(format!("cap_kbps {} is too large", p.cap_kbps));
    }
    Ok(())
}

/// Checks the power record's ranges.
pub(crate) fn check_power(p: &PowerState) -> Result<(), String> {
    if p.battery_pct > 100 {
        return Err(format!("battery_pct {} is above 100", p.battery_pct));
    }
    Ok(())
}

fn prefs_in(p: &SharingPrefs) -> policy::SharingPrefs {
    policy::SharingPrefs {
        mode: match p.mode {
            SharingMode::Never => policy::SharingMode::Never,
            SharingMode::WhenCharging => policy::SharingMode::WhenCharging,
            SharingMode::WhenChargingUnmetered => policy::SharingMode::WhenChargingUnmetered,
            SharingMode::Always => policy::SharingMode::Always,
        },
        cap_kbps: p.cap_kbps,
        min_battery_pct: p.min_battery_pct,
    }
}

/// The policy's default preferences, as the API's record.
pub(crate) fn default_prefs() -> SharingPrefs {
    let d = policy::SharingPrefs::default();
    SharingPrefs {
        mode: match d.mode {
            policy::SharingMode::Never => SharingMode::Never,
            policy::SharingMode::WhenCharging => SharingMode::WhenCharging,
            policy::SharingMode::WhenChargingUnmetered => SharingMode::WhenChargingUnmetered,
            policy::SharingMode::Always => SharingMode::Always,
        },
        cap_kbps: d.cap_kbps,
        min_battery_pct: d.min_battery_pct,
    }
}

fn power_in(p: &PowerState) -> policy::PowerSignals {
    policy::PowerSignals {
        charging: p.charging,
        plug: match p.plug {
            PlugType::None => policy::PlugType::None,
            PlugType::Ac => policy::PlugType::Ac,
            PlugType::Usb => policy::PlugType::Usb,
            PlugType::Wireless => policy::PlugType::Wireless,
            PlugType::Dock => policy::PlugType::Dock,
            PlugType::Other => policy::PlugType::Other,
        },
        battery_pct: p.battery_pct,
        power_save: p.power_save,
        thermal: match p.thermal {
            ThermalStatus::None => policy::ThermalStatus::None,
            ThermalStatus::Light => policy::ThermalStatus::Light,
            ThermalStatus::Moderate => policy::ThermalStatus::Moderate,
            ThermalStatus::Severe => policy::ThermalStatus::Severe,
            ThermalStatus::Critical => policy::ThermalStatus::Critical,
            ThermalStatus::Emergency => policy::ThermalStatus::Emergency,
            ThermalStatus::Shutdown => policy::ThermalStatus::Shutdown,
        },
        unmetered: p.unmetered,
    }
}

fn status_out(d: policy::Decision) -> SharingStatus {
    SharingStatus {
        state: match d.state {
            policy::SharingState::Off => SharingState::Off,
            policy::SharingState::Waiting => SharingState::Waiting,
            policy::SharingState::On => SharingState::On,
            policy::SharingState::Draining => SharingState::Draining,
        },
        reason: d.reason.to_string(),
        accept: d.accept,
        share_bytes_per_s: d.share_bytes_per_s,
    }
}

/// The sharing policy with the signals and preferences last given.
pub(crate) struct Sharing {
    policy: policy::SharingPolicy,
    max_tunnels: usize,
}

impl Sharing {
    /// A policy with the given preferences, before any power signal (off: "no power
    /// information yet"). `stable` is how long conditions must hold before sharing
    /// (doubled after each drop of the conditions by the policy's anti-flapping rule,
    /// up to the policy's maximum or `stable`, whichever is larger).
    pub(crate) fn new(
        prefs: &SharingPrefs,
        stable: Duration,
        max_tunnels: usize,
        now: Instant,
    ) -> Self {
        let defaults = policy::PolicyConfig::default();
        let config = policy::PolicyConfig {
            stable_interval: stable,
            max_stable_interval: defaults.max_stable_interval.max(stable),
            ..defaults
        };
        let policy = policy::SharingPolicy::new(config, prefs_in(prefs), now);
        Self {
            policy,
            max_tunnels,
        }
    }

    /// New power signals.
    pub(crate) fn update_power(&mut self, p: &PowerState, now: Instant) {
        // The decision is read back by `limits`; whether it changed does not matter.
        let _ = self.policy.update_signals(power_in(p), now);
    }

    /// New preferences.
    pub(crate) fn set_prefs(&mut self, p: &SharingPrefs, now: Instant) {
        let _ = self.policy.set_prefs(prefs_in(p), now);
    }

    /// The router's current transit tunnel count.
    pub(crate) fn set_transit_tunnels(&mut self, n: usize, now: Instant) {
        let _ = self.policy.set_transit_tunnels(n, now);
    }

    /// Runs the policy's timers that are due.
    pub(crate) fn tick(&mut self, now: Instant) {
        if self.policy.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.policy.handle_timeout(now);
        }
    }

    /// When the policy next wants [`Sharing::tick`].
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.policy.poll_timeout()
    }

    /// The decision, for the status (the countdown as of `now`).
    pub(crate) fn status(&self, now: Instant) -> SharingStatus {
        status_out(self.policy.decision_at(now))
    }

    /// The decision as the router's transit limits.
    pub(crate) fn limits(&self) -> TransitLimits {
        let d = self.policy.decision();
        TransitLimits {
            accept: d.accept,
            max_tunnels: self.max_tunnels,
            share_bytes_per_s: d.share_bytes_per_s,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn prefs(mode: SharingMode) -> SharingPrefs {
        SharingPrefs {
            mode,
            cap_kbps: 100,
            min_battery_pct: 20,
        }
    }

    fn plugged(unmetered: bool) -> PowerState {
        PowerState {
            charging: true,
            plug: PlugType::Ac,
            battery_pct: 80,
            power_save: false,
            thermal: ThermalStatus::None,
            unmetered,
        }
    }

    #[test]
    fn limits_follow_the_decision() {
        let t0 = Instant::now();
        let stable = Duration::from_secs(2);
        let mut s = Sharing::new(&prefs(SharingMode::WhenChargingUnmetered), stable, 50, t0);
        assert_eq!(s.status(t0).state, SharingState::Off);
        assert_eq!(s.status(t0).reason, "no power information yet");
        assert!(!s.limits().accept);
        s.update_power(&plugged(true), t0);
        assert_eq!(s.status(t0).state, SharingState::Waiting);
        assert_eq!(
            s.status(t0).reason,
            "waiting for charging and unmetered network to be stable (2 s left)"
        );
        assert!(!s.limits().accept);
        let wake = s.poll_timeout().unwrap();
        assert!(wake <= t0 + stable);
        s.tick(t0 + stable - Duration::from_millis(1));
        assert_eq!(s.status(t0 + stable).state, SharingState::Waiting);
        s.tick(t0 + stable);
        let st = s.status(t0 + stable);
        assert_eq!(st.state, SharingState::On);
        assert!(st.accept);
        assert_eq!(
            s.limits(),
            TransitLimits {
                accept: true,
                max_tunnels: 50,
                share_bytes_per_s: 100 * 1024
            }
        );
        s.set_transit_tunnels(3, t0 + stable);
        let unplugged = PowerState {
            charging: false,
            plug: PlugType::None,
            ..plugged(true)
        };
        let t1 = t0 + stable * 2;
        s.update_power(&unplugged, t1);
        let st = s.status(t1);
        assert_eq!(st.state, SharingState::Draining);
        assert_eq!(st.reason, "draining: unplugged");
        assert!(!st.accept);
        // Draining keeps the share so that the existing tunnels are not cut.
        assert_eq!(
            s.limits(),
            TransitLimits {
                accept: false,
                max_tunnels: 50,
                share_bytes_per_s: 100 * 1024
            }
        );
        s.set_transit_tunnels(0, t1);
        let st = s.status(t1);
        assert_eq!(
            (st.state, st.reason.as_str()),
            (SharingState::Off, "not charging")
        );
        assert_eq!(s.limits().share_bytes_per_s, 0);
    }

    #[test]
    fn metered_network_keeps_it_off_unless_allowed() {
        let t0 = Instant::now();
        let stable = Duration::from_secs(1);
        let mut s = Sharing::new(&prefs(SharingMode::WhenChargingUnmetered), stable, 50, t0);
        s.update_power(&plugged(false), t0);
        s.tick(t0 + stable * 3);
        assert_eq!(s.status(t0 + stable * 3).state, SharingState::Off);
        assert_eq!(s.status(t0 + stable * 3).reason, "metered network");
        s.set_prefs(&prefs(SharingMode::WhenCharging), t0 + stable * 3);
        s.tick(t0 + stable * 5);
        assert_eq!(s.status(t0 + stable * 5).state, SharingState::On);
    }

    #[test]
    fn defaults_are_the_restrictive_ones() {
        let d = default_prefs();
        assert_eq!(d.mode, SharingMode::WhenChargingUnmetered);
        assert_eq!(prefs_in(&d), policy::SharingPrefs::default());
    }

    #[test]
    fn range_checks() {
        assert!(check_prefs(&prefs(SharingMode::Always)).is_ok());
        let mut p = prefs(SharingMode::Always);
        p.min_battery_pct = 101;
        assert!(check_prefs(&p).unwrap_err().contains("min_battery_pct"));
        p.min_battery_pct = 0;
        p.cap_kbps = u64::MAX;
        assert!(check_prefs(&p).unwrap_err().contains("cap_kbps"));
        let mut w = plugged(true);
        assert!(check_power(&w).is_ok());
        w.battery_pct = 200;
        assert!(check_power(&w).unwrap_err().contains("battery_pct"));
    }
}
