//! Table tests of the sharing policy: every transition. Each row starts from a prior
//! state reached by real inputs (checked), applies one input, lets the fake clock run
//! for `advance` while firing the timers the policy asks for, and checks the state, the
//! reason, `accept` and the share.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gousse_sharing::{
    Block, PlugType, PowerSignals, Reason, SharingMode, SharingPolicy, SharingPrefs, SharingState,
    ThermalStatus, WaitFor,
};
use SharingState::{Draining, Off, On, Waiting};

/// The prior states.
#[derive(Clone, Copy, Debug)]
enum Prior {
    /// Just created with these prefs, no signals: Off, "no power information yet".
    Fresh(SharingPrefs),
    /// Default prefs, unplugged: Off, "not charging".
    Off,
    /// Plugged in at t0, now t0+10 s: Waiting, 50 s left.
    Waiting,
    /// Plugged in at t0, On since t0+60 s, 3 transit tunnels.
    On,
    /// As `On` with 0 transit tunnels.
    OnNoTransit,
    /// `On`, unplugged at t0+70 s: Draining until t0+730 s at the latest.
    Draining,
    /// `Draining`, plugged back at t0+80 s: Draining, waiting 120 s (one recent drop).
    DrainingBack,
    /// `DrainingBack` and the transit count fell to 0: Waiting, 120 s left.
    WaitingAfterDrain,
    /// Mode Always, on battery (80%) on a metered network: On since t0+60 s, 2 tunnels.
    OnAlways,
}

impl Prior {
    /// Builds the prior state; returns the policy, its `now` and its expected state.
    fn build(self, t0: Instant) -> (SharingPolicy, Instant, SharingState) {
        let def = SharingPrefs::default();
        match self {
            Self::Fresh(prefs) => (policy(prefs, t0), t0, Off),
            Self::Off => {
                let mut p = policy(def, t0);
                let _ = p.update_signals(unplugged(), t0);
                (p, t0, Off)
            }
            Self::Waiting => {
                let mut p = policy(def, t0);
                let _ = p.update_signals(good(), t0);
                let _ = p.handle_timeout(t0 + s(10));
                (p, t0 + s(10), Waiting)
            }
            Self::On | Self::OnNoTransit => {
                let mut p = policy(def, t0);
                let _ = p.update_signals(good(), t0);
                let _ = p.handle_timeout(t0 + s(60));
                let n = if matches!(self, Self::On) { 3 } else { 0 };
                let _ = p.set_transit_tunnels(n, t0 + s(60));
                (p, t0 + s(60), On)
            }
            Self::Draining => {
                let (mut p, _, _) = Self::On.build(t0);
                let _ = p.update_signals(unplugged(), t0 + s(70));
                (p, t0 + s(70), Draining)
            }
            Self::DrainingBack => {
                let (mut p, _, _) = Self::Draining.build(t0);
                let _ = p.update_signals(good(), t0 + s(80));
                (p, t0 + s(80), Draining)
            }
            Self::WaitingAfterDrain => {
                let (mut p, _, _) = Self::DrainingBack.build(t0);
                let _ = p.set_transit_tunnels(0, t0 + s(80));
                (p, t0 + s(80), Waiting)
            }
            Self::OnAlways => {
                let mut p = policy(mode(SharingMode::Always), t0);
                let battery = PowerSignals {
                    unmetered: false,
                    ..unplugged()
                };
                let _ = p.update_signals(battery, t0);
                let _ = p.handle_timeout(t0 + s(60));
                let _ = p.set_transit_tunnels(2, t0 + s(60));
                (p, t0 + s(60), On)
            }
        }
    }
}

struct Row {
    name: String,
    prior: Prior,
    input: Input,
    advance: Duration,
    state: SharingState,
    reason: Reason,
    accept: bool,
    share: u64,
}

#[allow(clippy::too_many_arguments)]
fn row(
    name: impl Into<String>,
    prior: Prior,
    input: Input,
    advance_s: u64,
    state: SharingState,
    reason: Reason,
    accept: bool,
    share: u64,
) -> Row {
    Row {
        name: name.into(),
        prior,
        input,
        advance: s(advance_s),
        state,
        reason,
        accept,
        share,
    }
}

fn check(rows: &[Row]) {
    let t0 = Instant::now();
    let mut failures = Vec::new();
    for r in rows {
        let (mut p, now, prior_state) = r.prior.build(t0);
        assert_eq!(p.state(), prior_state, "row {}: prior state", r.name);
        let mut seen = vec![apply(&mut p, r.input, now).map(|d| (now, d))];
        let end = now + r.advance;
        seen.extend(drive(&mut p, &[], end).into_iter().map(Some));
        // Time passes to the end of the row even when no timer is due.
        let _ = p.handle_timeout(end);
        let d = p.decision();
        let got = (d.state, d.reason, d.accept, d.share_bytes_per_s);
        let want = (r.state, r.reason, r.accept, r.share);
        if got != want {
            failures.push(format!(
                "row {:?}: got {got:?} ({}), want {want:?} ({})",
                r.name, d.reason, r.reason
            ));
        }
        // Invariants of every decision: accept only when On; no share when Off/Waiting.
        assert_eq!(d.accept, d.state == On, "row {}", r.name);
        if matches!(d.state, Off | Waiting) {
            assert_eq!(d.share_bytes_per_s, 0, "row {}", r.name);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn sig(f: impl FnOnce(&mut PowerSignals)) -> Input {
    let mut g = good();
    f(&mut g);
    Input::Signals(g)
}

fn prefs(f: impl FnOnce(&mut SharingPrefs)) -> Input {
    let mut p = SharingPrefs::default();
    f(&mut p);
    Input::Prefs(p)
}

const CU: WaitFor = WaitFor::ChargingUnmetered;
const HOT: [ThermalStatus; 4] = [
    ThermalStatus::Severe,
    ThermalStatus::Critical,
    ThermalStatus::Emergency,
    ThermalStatus::Shutdown,
];
const COOL: [ThermalStatus; 3] = [
    ThermalStatus::None,
    ThermalStatus::Light,
    ThermalStatus::Moderate,
];

#[test]
#[rustfmt::skip]
fn from_fresh() {
    use Input::*;
    let f = Prior::Fresh(SharingPrefs::default());
    let mut rows = vec![
        row("timer only", f, Timeout, 3600, Off, blocked(Block::NoPowerInfo), false, 0),
        row("transit count", f, Transit(5), 0, Off, blocked(Block::NoPowerInfo), false, 0),
        row("unplugged", f, Signals(unplugged()), 0, Off, blocked(Block::NotCharging), false, 0),
        row("plugged", f, Signals(good()), 0, Waiting, waiting(CU, 60), false, 0),
        row("plugged 59 s", f, Signals(good()), 59, Waiting, waiting(CU, 1), false, 0),
        row("plugged 60 s", f, Signals(good()), 60, On, Reason::Sharing, true, SHARE),
        row("metered", f, sig(|g| g.unmetered = false), 0, Off, blocked(Block::Metered), false, 0),
        row("battery 49%", f, sig(|g| g.battery_pct = 49), 0, Off, blocked(battery_low()), false, 0),
        row("battery at min 50%", f, sig(|g| g.battery_pct = 50), 60, On, Reason::Sharing, true, SHARE),
        row("power save", f, sig(|g| g.power_save = true), 0, Off, blocked(Block::PowerSave), false, 0),
        row("prefs never", f, prefs(|p| p.mode = SharingMode::Never), 0, Off, blocked(Block::Disabled), false, 0),
        row("prefs cap 0", f, prefs(|p| p.cap_kbps = 0), 0, Off, blocked(Block::NoBandwidth), false, 0),
        row("plugged, full, not charging", f, sig(|g| g.charging = false), 60, On, Reason::Sharing, true, SHARE),
        row("usb", f, sig(|g| g.plug = PlugType::Usb), 60, On, Reason::Sharing, true, SHARE),
        row("wireless", f, sig(|g| g.plug = PlugType::Wireless), 60, On, Reason::Sharing, true, SHARE),
        row("dock", f, sig(|g| g.plug = PlugType::Dock), 60, On, Reason::Sharing, true, SHARE),
    ];
    for t in COOL {
        rows.push(row(format!("thermal {t:?}"), f, sig(|g| g.thermal = t), 60, On, Reason::Sharing, true, SHARE));
    }
    for t in HOT {
        rows.push(row(format!("thermal {t:?}"), f, sig(|g| g.thermal = t), 600, Off, blocked(Block::TooHot), false, 0));
    }
    check(&rows);
}

/// Each mode against metered/unmetered and charging/battery.
#[test]
#[rustfmt::skip]
fn modes_networks_and_power() {
    let mut rows = Vec::new();
    for m in [
        SharingMode::Never,
        SharingMode::WhenCharging,
        SharingMode::WhenChargingUnmetered,
        SharingMode::Always,
    ] {
        for unmetered in [true, false] {
            for plugged in [true, false] {
                let signals = PowerSignals {
                    unmetered,
                    ..if plugged { good() } else { unplugged() }
                };
                let block = match m {
                    SharingMode::Never => Some(Block::Disabled),
                    SharingMode::WhenCharging if !plugged => Some(Block::NotCharging),
                    SharingMode::WhenChargingUnmetered if !plugged => Some(Block::NotCharging),
                    SharingMode::WhenChargingUnmetered if !unmetered => Some(Block::Metered),
                    _ => None,
                };
                let what = match m {
                    SharingMode::WhenCharging => WaitFor::Charging,
                    SharingMode::WhenChargingUnmetered => CU,
                    _ => WaitFor::Conditions,
                };
                let name = format!("{m:?} unmetered={unmetered} plugged={plugged}");
                let prior = Prior::Fresh(mode(m));
                let input = Input::Signals(signals);
                match block {
                    Some(b) => {
                        rows.push(row(&name, prior, input, 3600, Off, blocked(b), false, 0));
                    }
                    None => {
                        rows.push(row(format!("{name} +0"), prior, input, 0, Waiting, waiting(what, 60), false, 0));
                        rows.push(row(format!("{name} +59"), prior, input, 59, Waiting, waiting(what, 1), false, 0));
                        rows.push(row(format!("{name} +60"), prior, input, 60, On, Reason::Sharing, true, SHARE));
                    }
                }
            }
        }
    }
    // Always on battery: the other guards still apply.
    let always = Prior::Fresh(mode(SharingMode::Always));
    let battery = |f: fn(&mut PowerSignals)| {
        let mut u = unplugged();
        f(&mut u);
        Input::Signals(u)
    };
    rows.push(row("Always on battery, 30%", always, battery(|u| u.battery_pct = 30), 600, Off, blocked(battery_low()), false, 0));
    rows.push(row("Always on battery, power save", always, battery(|u| u.power_save = true), 600, Off, blocked(Block::PowerSave), false, 0));
    rows.push(row("Always on battery, severe", always, battery(|u| u.thermal = ThermalStatus::Severe), 600, Off, blocked(Block::TooHot), false, 0));
    check(&rows);
}

#[test]
#[rustfmt::skip]
fn from_off() {
    use Input::*;
    let o = Prior::Off;
    let rows = vec![
        row("plugged", o, Signals(good()), 0, Waiting, waiting(CU, 60), false, 0),
        row("plugged 60 s", o, Signals(good()), 60, On, Reason::Sharing, true, SHARE),
        row("battery 30% too", o, Signals(PowerSignals { battery_pct: 30, ..unplugged() }), 0, Off, blocked(battery_low()), false, 0),
        row("hot too", o, Signals(PowerSignals { thermal: ThermalStatus::Severe, ..unplugged() }), 0, Off, blocked(Block::TooHot), false, 0),
        row("timer", o, Timeout, 3600, Off, blocked(Block::NotCharging), false, 0),
        row("prefs always", o, prefs(|p| p.mode = SharingMode::Always), 60, On, Reason::Sharing, true, SHARE),
    ];
    check(&rows);
}

#[test]
#[rustfmt::skip]
fn from_waiting() {
    use Input::*;
    let w = Prior::Waiting;
    let mut rows = vec![
        row("unplugged", w, Signals(unplugged()), 0, Off, blocked(Block::NotCharging), false, 0),
        row("unplugged, an hour", w, Signals(unplugged()), 3600, Off, blocked(Block::NotCharging), false, 0),
        row("metered", w, sig(|g| g.unmetered = false), 0, Off, blocked(Block::Metered), false, 0),
        row("battery 49%", w, sig(|g| g.battery_pct = 49), 0, Off, blocked(battery_low()), false, 0),
        row("power save", w, sig(|g| g.power_save = true), 0, Off, blocked(Block::PowerSave), false, 0),
        // Changes that keep every guard passing do not restart the wait.
        row("thermal moderate", w, sig(|g| g.thermal = ThermalStatus::Moderate), 0, Waiting, waiting(CU, 50), false, 0),
        row("battery 79%", w, sig(|g| g.battery_pct = 79), 0, Waiting, waiting(CU, 50), false, 0),
        row("not charging, still plugged", w, sig(|g| g.charging = false), 50, On, Reason::Sharing, true, SHARE),
        // A replug in one broadcast restarts it, backed off by the drop.
        row("replug usb", w, sig(|g| g.plug = PlugType::Usb), 0, Waiting, waiting(CU, 120), false, 0),
        row("replug usb, 119 s", w, sig(|g| g.plug = PlugType::Usb), 119, Waiting, waiting(CU, 1), false, 0),
        row("replug usb, 120 s", w, sig(|g| g.plug = PlugType::Usb), 120, On, Reason::Sharing, true, SHARE),
        row("timer 49 s", w, Timeout, 49, Waiting, waiting(CU, 1), false, 0),
        row("timer 50 s", w, Timeout, 50, On, Reason::Sharing, true, SHARE),
        row("prefs never", w, prefs(|p| p.mode = SharingMode::Never), 0, Off, blocked(Block::Disabled), false, 0),
        row("prefs cap 0", w, prefs(|p| p.cap_kbps = 0), 0, Off, blocked(Block::NoBandwidth), false, 0),
        row("prefs when charging", w, prefs(|p| p.mode = SharingMode::WhenCharging), 0, Waiting, waiting(WaitFor::Charging, 50), false, 0),
        row("prefs min 90%", w, prefs(|p| p.min_battery_pct = 90), 0, Off, blocked(Block::BatteryLow { min_pct: 90, resume_pct: 95 }), false, 0),
        row("transit count", w, Transit(4), 0, Waiting, waiting(CU, 50), false, 0),
    ];
    for t in HOT {
        rows.push(row(format!("thermal {t:?}"), w, sig(|g| g.thermal = t), 0, Off, blocked(Block::TooHot), false, 0));
    }
    check(&rows);
}

#[test]
#[rustfmt::skip]
fn from_on() {
    use Input::*;
    let n = Prior::On;
    let mut rows = vec![
        row("unplugged", n, Signals(unplugged()), 0, Draining, draining(Block::NotCharging), false, SHARE),
        row("unplugged 659 s", n, Signals(unplugged()), 659, Draining, draining(Block::NotCharging), false, SHARE),
        row("unplugged 660 s: drain timeout", n, Signals(unplugged()), 660, Off, blocked(Block::NotCharging), false, 0),
        row("metered", n, sig(|g| g.unmetered = false), 0, Draining, draining(Block::Metered), false, SHARE),
        row("battery 49%", n, sig(|g| g.battery_pct = 49), 0, Draining, draining(battery_low()), false, SHARE),
        row("power save", n, sig(|g| g.power_save = true), 0, Draining, draining(Block::PowerSave), false, SHARE),
        row("battery 60%", n, sig(|g| g.battery_pct = 60), 0, On, Reason::Sharing, true, SHARE),
        row("replug usb", n, sig(|g| g.plug = PlugType::Usb), 0, On, Reason::Sharing, true, SHARE),
        row("full, not charging", n, sig(|g| g.charging = false), 0, On, Reason::Sharing, true, SHARE),
        row("transit 0", n, Transit(0), 0, On, Reason::Sharing, true, SHARE),
        row("an hour", n, Timeout, 3600, On, Reason::Sharing, true, SHARE),
        row("prefs never", n, prefs(|p| p.mode = SharingMode::Never), 0, Draining, draining(Block::Disabled), false, SHARE),
        row("prefs cap 512", n, prefs(|p| p.cap_kbps = 512), 0, On, Reason::Sharing, true, 512 * 1024),
        row("prefs cap 0", n, prefs(|p| p.cap_kbps = 0), 0, Draining, draining(Block::NoBandwidth), false, 0),
        row("prefs when charging", n, prefs(|p| p.mode = SharingMode::WhenCharging), 0, On, Reason::Sharing, true, SHARE),
        row("prefs always", n, prefs(|p| p.mode = SharingMode::Always), 0, On, Reason::Sharing, true, SHARE),
        row("prefs min 90%", n, prefs(|p| p.min_battery_pct = 90), 0, Draining, draining(Block::BatteryLow { min_pct: 90, resume_pct: 95 }), false, SHARE),
        row("prefs min 80% (= level)", n, prefs(|p| p.min_battery_pct = 80), 0, On, Reason::Sharing, true, SHARE),
    ];
    for t in COOL {
        rows.push(row(format!("thermal {t:?}"), n, sig(|g| g.thermal = t), 0, On, Reason::Sharing, true, SHARE));
    }
    for t in HOT {
        rows.push(row(format!("thermal {t:?}"), n, sig(|g| g.thermal = t), 0, Draining, draining(Block::TooHot), false, SHARE));
    }
    rows.push(row("no transit, unplugged", Prior::OnNoTransit, Signals(unplugged()), 0, Off, blocked(Block::NotCharging), false, 0));
    check(&rows);
}

#[test]
#[rustfmt::skip]
fn from_draining() {
    use Input::*;
    let d = Prior::Draining;
    let rows = vec![
        row("transit 0", d, Transit(0), 0, Off, blocked(Block::NotCharging), false, 0),
        row("transit 1", d, Transit(1), 0, Draining, draining(Block::NotCharging), false, SHARE),
        row("timer 659 s", d, Timeout, 659, Draining, draining(Block::NotCharging), false, SHARE),
        row("timer 660 s", d, Timeout, 660, Off, blocked(Block::NotCharging), false, 0),
        // The return of the conditions waits for the stable interval (backed off: one drop).
        row("plugged back", d, Signals(good()), 0, Draining, waiting(CU, 120), false, SHARE),
        row("plugged back 119 s", d, Signals(good()), 119, Draining, waiting(CU, 1), false, SHARE),
        row("plugged back 120 s", d, Signals(good()), 120, On, Reason::Sharing, true, SHARE),
        row("hot too", d, Signals(PowerSignals { thermal: ThermalStatus::Severe, ..unplugged() }), 0, Draining, draining(Block::TooHot), false, SHARE),
        row("prefs never", d, prefs(|p| p.mode = SharingMode::Never), 0, Draining, draining(Block::Disabled), false, SHARE),
        row("prefs always", d, prefs(|p| p.mode = SharingMode::Always), 0, Draining, waiting(WaitFor::Conditions, 120), false, SHARE),
        row("prefs always 120 s", d, prefs(|p| p.mode = SharingMode::Always), 120, On, Reason::Sharing, true, SHARE),
    ];
    check(&rows);
}

#[test]
#[rustfmt::skip]
fn from_draining_with_conditions_back() {
    use Input::*;
    let b = Prior::DrainingBack;
    let a = Prior::WaitingAfterDrain;
    let rows = vec![
        row("transit 0", b, Transit(0), 0, Waiting, waiting(CU, 120), false, 0),
        row("unplugged again", b, Signals(unplugged()), 0, Draining, draining(Block::NotCharging), false, SHARE),
        // The drain deadline (t0+730 s) does not move.
        row("unplugged again, 650 s", b, Signals(unplugged()), 650, Off, blocked(Block::NotCharging), false, 0),
        row("timer 119 s", b, Timeout, 119, Draining, waiting(CU, 1), false, SHARE),
        row("timer 120 s", b, Timeout, 120, On, Reason::Sharing, true, SHARE),
        row("drained, timer 120 s", a, Timeout, 120, On, Reason::Sharing, true, SHARE),
        row("drained, unplugged", a, Signals(unplugged()), 0, Off, blocked(Block::NotCharging), false, 0),
    ];
    check(&rows);
}

#[test]
#[rustfmt::skip]
fn from_on_always_on_battery() {
    use Input::*;
    let l = Prior::OnAlways;
    let on_battery = PowerSignals {
        unmetered: false,
        ..unplugged()
    };
    let rows = vec![
        row("battery 49%", l, Signals(PowerSignals { battery_pct: 49, ..on_battery }), 0, Draining, draining(battery_low()), false, SHARE),
        row("power save", l, Signals(PowerSignals { power_save: true, ..on_battery }), 0, Draining, draining(Block::PowerSave), false, SHARE),
        row("critical", l, Signals(PowerSignals { thermal: ThermalStatus::Critical, ..on_battery }), 0, Draining, draining(Block::TooHot), false, SHARE),
        row("plugged", l, Signals(PowerSignals { unmetered: false, ..good() }), 0, On, Reason::Sharing, true, SHARE),
        row("unmetered", l, Signals(PowerSignals { unmetered: true, ..on_battery }), 0, On, Reason::Sharing, true, SHARE),
        row("prefs when charging", l, prefs(|p| p.mode = SharingMode::WhenCharging), 0, Draining, draining(Block::NotCharging), false, SHARE),
        row("transit 0 then drained", l, Transit(0), 3600, On, Reason::Sharing, true, SHARE),
    ];
    check(&rows);
}
