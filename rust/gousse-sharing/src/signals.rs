//! The inputs of the policy: the phone's power signals, the user's preferences and the
//! policy's timing settings.

use std::time::Duration;

/// How the phone is plugged in: Android's `BatteryManager.EXTRA_PLUGGED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlugType {
    /// Not plugged in (`0`).
    None,
    /// A wall charger (`BATTERY_PLUGGED_AC`, 1).
    Ac,
    /// A USB port (`BATTERY_PLUGGED_USB`, 2).
    Usb,
    /// A wireless charger (`BATTERY_PLUGGED_WIRELESS`, 4).
    Wireless,
    /// A dock (`BATTERY_PLUGGED_DOCK`, 8; Android 14).
    Dock,
    /// Any other power source.
    Other,
}

impl PlugType {
    /// From the `EXTRA_PLUGGED` integer; unknown non-zero values are [`PlugType::Other`].
    pub fn from_android(plugged: i32) -> Self {
        match plugged {
            0 => Self::None,
            1 => Self::Ac,
            2 => Self::Usb,
            4 => Self::Wireless,
            8 => Self::Dock,
            _ => Self::Other,
        }
    }
}

/// The thermal status: Android's `PowerManager.THERMAL_STATUS_*`, coolest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ThermalStatus {
    /// `THERMAL_STATUS_NONE` (0): no throttling.
    None,
    /// `THERMAL_STATUS_LIGHT` (1): light throttling, the user does not notice.
    Light,
    /// `THERMAL_STATUS_MODERATE` (2): moderate throttling.
    Moderate,
    /// `THERMAL_STATUS_SEVERE` (3): severe throttling, the user notices.
    Severe,
    /// `THERMAL_STATUS_CRITICAL` (4): the platform has done everything to cut power.
    Critical,
    /// `THERMAL_STATUS_EMERGENCY` (5): key components are shutting down.
    Emergency,
    /// `THERMAL_STATUS_SHUTDOWN` (6): the device is about to shut down.
    Shutdown,
}

impl ThermalStatus {
    /// From the `THERMAL_STATUS_*` integer. Values above 6 are taken as
    /// [`ThermalStatus::Shutdown`] and negative ones as [`ThermalStatus::None`]: an
    /// unknown hotter status must not let sharing run.
    pub fn from_android(status: i32) -> Self {
        match status {
            i32::MIN..=0 => Self::None,
            1 => Self::Light,
            2 => Self::Moderate,
            3 => Self::Severe,
            4 => Self::Critical,
            5 => Self::Emergency,
            _ => Self::Shutdown,
        }
    }
}

/// The phone's power and network state, as the app last saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PowerSignals {
    /// The battery is charging (`EXTRA_STATUS` is `CHARGING` or `FULL`).
    pub charging: bool,
    /// The power source.
    pub plug: PlugType,
    /// Battery level, percent (values above 100 count as 100).
    pub battery_pct: u8,
    /// Power-save (battery saver) mode is on.
    pub power_save: bool,
    /// The thermal status.
    pub thermal: ThermalStatus,
    /// The default network is unmetered (`NET_CAPABILITY_NOT_METERED`).
    pub unmetered: bool,
}

impl PowerSignals {
    /// The phone runs on external power: charging, or plugged in. A phone that is full,
    /// or held at a charge limit, reports "not charging" while it runs on the charger.
    pub fn on_external_power(&self) -> bool {
        self.charging || self.plug != PlugType::None
    }
}

/// When the user allows sharing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SharingMode {
    /// Never share.
    Never,
    /// Share while on external power, on any network.
    WhenCharging,
    /// Share while on external power and on an unmetered network (the default).
    WhenChargingUnmetered,
    /// Share on battery too, on any network; the battery, power-save and thermal guards
    /// still apply.
    Always,
}

/// The user's sharing preferences.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SharingPrefs {
    /// When to share.
    pub mode: SharingMode,
    /// The bandwidth share, KiB/s each way (shared bytes per second = `cap_kbps * 1024`).
    pub cap_kbps: u64,
    /// No sharing below this battery level, percent (values above 100 count as 100).
    pub min_battery_pct: u8,
}

impl Default for SharingPrefs {
    /// The restrictive default: when charging on an unmetered network, 256 KiB/s, at 50%
    /// battery or more.
    fn default() -> Self {
        Self {
            mode: SharingMode::WhenChargingUnmetered,
            cap_kbps: 256,
            min_battery_pct: 50,
        }
    }
}

/// Timing and hysteresis settings of the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PolicyConfig {
    /// How long the conditions must hold before sharing starts (no recent drops).
    pub stable_interval: Duration,
    /// The longest stable interval that backoff can reach.
    pub max_stable_interval: Duration,
    /// How long a drop of the conditions counts towards backoff.
    pub flap_window: Duration,
    /// The longest drain: the transit tunnel lifetime plus a margin.
    pub drain_timeout: Duration,
    /// After the battery fell below the minimum, sharing resumes only at the minimum
    /// plus this many percent.
    pub battery_hysteresis_pct: u8,
    /// Sharing stops at this thermal status or hotter.
    pub thermal_off_at: ThermalStatus,
    /// After a thermal stop, sharing resumes only at this status or cooler.
    pub thermal_back_at: ThermalStatus,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            stable_interval: Duration::from_secs(60),
            max_stable_interval: Duration::from_secs(10 * 60),
            flap_window: Duration::from_secs(10 * 60),
            // tunnel-creation: transit tunnels live 10 minutes; one minute of margin.
            drain_timeout: Duration::from_secs(11 * 60),
            battery_hysteresis_pct: 5,
            thermal_off_at: ThermalStatus::Severe,
            thermal_back_at: ThermalStatus::Light,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn android_codes_map_to_types() {
        assert_eq!(PlugType::from_android(0), PlugType::None);
        assert_eq!(PlugType::from_android(1), PlugType::Ac);
        assert_eq!(PlugType::from_android(2), PlugType::Usb);
        assert_eq!(PlugType::from_android(4), PlugType::Wireless);
        assert_eq!(PlugType::from_android(8), PlugType::Dock);
        assert_eq!(PlugType::from_android(16), PlugType::Other);
        assert_eq!(ThermalStatus::from_android(-1), ThermalStatus::None);
        assert_eq!(ThermalStatus::from_android(3), ThermalStatus::Severe);
        assert_eq!(ThermalStatus::from_android(6), ThermalStatus::Shutdown);
        assert_eq!(ThermalStatus::from_android(42), ThermalStatus::Shutdown);
    }

    #[test]
    fn plugged_but_not_charging_is_external_power() {
        let s = PowerSignals {
            charging: false,
            plug: PlugType::Usb,
            battery_pct: 80,
            power_save: false,
            thermal: ThermalStatus::None,
            unmetered: true,
        };
        assert!(s.on_external_power());
        let battery = PowerSignals {
            plug: PlugType::None,
            ..s
        };
        assert!(!battery.on_external_power());
    }

    #[test]
    fn default_prefs_are_restrictive() {
        let p = SharingPrefs::default();
        assert_eq!(p.mode, SharingMode::WhenChargingUnmetered);
        assert_eq!(p.cap_kbps, 256);
        assert_eq!(p.min_battery_pct, 50);
    }
}
