//! Sequences over minutes of fake time, driven as the facade drives the policy (timers
//! fired at `poll_timeout()`): flapping, backoff, hysteresis, exact timers, change
//! reports.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gousse_sharing::{
    Block, PlugType, PowerSignals, Reason, SharingMode, SharingPolicy, SharingPrefs, SharingState,
    ThermalStatus, WaitFor,
};

const NS: Duration = Duration::from_nanos(1);
const CU: WaitFor = WaitFor::ChargingUnmetered;

/// On since t0+60 s with 3 transit tunnels.
fn on_policy(t0: Instant) -> SharingPolicy {
    let mut p = policy(SharingPrefs::default(), t0);
    let _ = p.update_signals(good(), t0);
    let _ = p.handle_timeout(t0 + s(60));
    let _ = p.set_transit_tunnels(3, t0 + s(60));
    assert_eq!(p.state(), SharingState::On);
    p
}

/// Plug for `on` seconds, unplug for `off` seconds, from `start` for `total` seconds.
fn flap(start: Instant, on: u64, off: u64, total: u64) -> Vec<(Instant, Input)> {
    let mut v = Vec::new();
    let mut t = 0;
    while t < total {
        v.push((start + s(t), Input::Signals(good())));
        v.push((start + s(t + on), Input::Signals(unplugged())));
        t += on + off;
    }
    v
}

#[test]
fn plug_flapping_from_off_never_shares_then_shares_once_after_max_backoff() {
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    let _ = p.update_signals(unplugged(), t0);
    // Plug 3 s, unplug 3 s, for 5 minutes; then plugged for good.
    let mut inputs = flap(t0 + s(1), 3, 3, 300);
    let settle = t0 + s(400);
    inputs.push((settle, Input::Signals(good())));
    let decisions = drive(&mut p, &inputs, settle + s(900));
    let first_accept = decisions.iter().find(|(_, d)| d.accept).map(|(t, _)| *t);
    // Sharing starts only after the longest (backed-off) stable interval, once.
    assert_eq!(first_accept, Some(settle + s(600)));
    assert_eq!(on_periods(&decisions), 1);
    assert_eq!(accept_toggles(false, &decisions), 1);
    assert_eq!(p.decision().reason, Reason::Sharing);
}

#[test]
fn plug_flapping_from_on_refuses_at_once_and_never_toggles_back() {
    let t0 = Instant::now();
    let mut p = on_policy(t0);
    // Unplug 2 s, plug 2 s, for 10 minutes, starting while On; then unplugged.
    let start = t0 + s(100);
    let mut inputs = Vec::new();
    for k in 0..150u64 {
        inputs.push((start + s(4 * k), Input::Signals(unplugged())));
        inputs.push((start + s(4 * k + 2), Input::Signals(good())));
    }
    let end_flap = start + s(600);
    inputs.push((end_flap, Input::Signals(unplugged())));
    let decisions = drive(&mut p, &inputs, end_flap + s(900));
    // New transit is refused at the first unplug, and accept never comes back.
    assert_eq!(
        decisions.first().map(|(t, d)| (*t, d.accept)),
        Some((start, false))
    );
    assert_eq!(accept_toggles(true, &decisions), 1);
    assert_eq!(on_periods(&decisions), 0);
    // Draining ends by timeout 11 minutes after the first unplug (the count stayed 3).
    let off = decisions
        .iter()
        .find(|(_, d)| d.state == SharingState::Off)
        .map(|(t, _)| *t);
    assert_eq!(off, Some(start + s(660)));
    assert_eq!(p.decision().reason, Reason::Blocked(Block::NotCharging));
}

#[test]
fn slow_flapping_still_gives_at_most_one_on_period() {
    // Plugged 100 s, unplugged 5 s, for half an hour: the first plug shares after 60 s;
    // the backoff keeps every later plug from lasting long enough.
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    let inputs = flap(t0, 100, 5, 1800);
    let decisions = drive(&mut p, &inputs, t0 + s(1800));
    assert_eq!(on_periods(&decisions), 1);
    assert_eq!(accept_toggles(false, &decisions), 2); // on once, off once
}

#[test]
fn network_and_thermal_and_battery_flapping_do_not_flap() {
    let t0 = Instant::now();
    type Flip = fn(bool) -> PowerSignals;
    let cases: [(&str, Flip); 3] = [
        ("wifi/metered", |b| PowerSignals {
            unmetered: b,
            ..good()
        }),
        ("moderate/severe", |b| PowerSignals {
            thermal: if b {
                ThermalStatus::Moderate
            } else {
                ThermalStatus::Severe
            },
            ..good()
        }),
        ("battery 50/49", |b| PowerSignals {
            battery_pct: if b { 50 } else { 49 },
            ..good()
        }),
    ];
    for (name, flip) in cases {
        let mut p = on_policy(t0);
        let inputs: Vec<_> = (0..300u64)
            .map(|k| (t0 + s(100 + 5 * k), Input::Signals(flip(k % 2 == 1))))
            .collect();
        let decisions = drive(&mut p, &inputs, t0 + s(1600));
        assert_eq!(accept_toggles(true, &decisions), 1, "{name}");
        assert_eq!(on_periods(&decisions), 0, "{name}");
    }
}

#[test]
fn backoff_doubles_per_recent_drop_up_to_ten_minutes_then_decays() {
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    let mut t = t0;
    // Drops so far -> the wait that a plug starts.
    for (drops, wait) in [(0, 60), (1, 120), (2, 240), (3, 480), (4, 600), (5, 600)] {
        let _ = p.update_signals(good(), t);
        assert_eq!(p.poll_timeout(), Some(t + s(wait)), "after {drops} drops");
        assert_eq!(p.decision().reason, waiting(CU, wait));
        t += s(10);
        let _ = p.update_signals(unplugged(), t);
        t += s(10);
    }
    // Plugged for good: on after the capped 600 s.
    let _ = p.update_signals(good(), t);
    let _ = p.handle_timeout(t + s(600) - NS);
    assert_eq!(p.state(), SharingState::Waiting);
    let _ = p.handle_timeout(t + s(600));
    assert_eq!(p.state(), SharingState::On);
    // Eleven minutes later the drops are out of the window: an unplug and a quick
    // replug count one drop (120 s)...
    let t = t + s(600) + s(660);
    let _ = p.set_transit_tunnels(0, t);
    let _ = p.update_signals(unplugged(), t);
    assert_eq!(p.state(), SharingState::Off);
    let _ = p.update_signals(good(), t + s(5));
    assert_eq!(p.poll_timeout(), Some(t + s(5) + s(120)));
    // ...and a plug more than 10 minutes after the last drop waits the base 60 s.
    let _ = p.update_signals(unplugged(), t + s(6));
    let later = t + s(6) + s(600);
    let _ = p.update_signals(good(), later);
    assert_eq!(p.poll_timeout(), Some(later + s(60)));
}

#[test]
fn battery_hysteresis_on_battery_in_always_mode() {
    let t0 = Instant::now();
    let mut p = policy(
        SharingPrefs {
            mode: SharingMode::Always,
            ..SharingPrefs::default()
        },
        t0,
    );
    let at = |pct: u8| PowerSignals {
        battery_pct: pct,
        ..unplugged()
    };
    let _ = p.update_signals(at(60), t0);
    let _ = p.handle_timeout(t0 + s(60));
    let _ = p.set_transit_tunnels(2, t0 + s(60));
    assert_eq!(p.state(), SharingState::On);
    let mut t = t0 + s(60);
    for pct in [58, 55, 52, 50] {
        t += s(120);
        let _ = p.update_signals(at(pct), t);
        assert_eq!(p.state(), SharingState::On, "{pct}%");
    }
    t += s(120);
    let d = p.update_signals(at(49), t).map(|d| (d.state, d.accept));
    assert_eq!(d, Some((SharingState::Draining, false)));
    let _ = p.set_transit_tunnels(0, t + s(1));
    // Back above the minimum but below min + 5: still off, and the status says why.
    for pct in [50, 52, 54] {
        t += s(120);
        let _ = p.update_signals(at(pct), t);
        assert_eq!(p.state(), SharingState::Off, "{pct}%");
        assert_eq!(
            p.decision().reason.to_string(),
            "battery below 50% (resumes at 55%)"
        );
    }
    // Plugging in does not lift the battery guard either.
    let _ = p.update_signals(
        PowerSignals {
            battery_pct: 54,
            ..good()
        },
        t + s(1),
    );
    assert_eq!(p.state(), SharingState::Off);
    t += s(120);
    let _ = p.update_signals(at(55), t);
    assert_eq!(p.state(), SharingState::Waiting);
    let _ = p.handle_timeout(t + s(120));
    assert_eq!(p.state(), SharingState::On);
}

#[test]
fn thermal_hysteresis_resumes_only_at_light() {
    let t0 = Instant::now();
    let mut p = on_policy(t0);
    let hot = |th| PowerSignals {
        thermal: th,
        ..good()
    };
    let d = p.update_signals(hot(ThermalStatus::Severe), t0 + s(100));
    assert_eq!(d.map(|d| d.reason), Some(Reason::Draining(Block::TooHot)));
    // Cooling to Moderate is not enough.
    let _ = p.update_signals(hot(ThermalStatus::Moderate), t0 + s(200));
    assert_eq!(p.decision().reason, Reason::Draining(Block::TooHot));
    let _ = p.set_transit_tunnels(0, t0 + s(300));
    let _ = p.handle_timeout(t0 + s(400));
    assert_eq!(p.decision().reason, Reason::Blocked(Block::TooHot));
    // Light is: wait (one recent drop: 120 s), then share. Moderate is fine again once
    // the guard has cleared.
    let _ = p.update_signals(hot(ThermalStatus::Light), t0 + s(400));
    assert_eq!(p.decision().reason, waiting(CU, 120));
    let _ = p.update_signals(hot(ThermalStatus::Moderate), t0 + s(450));
    assert_eq!(p.state(), SharingState::Waiting);
    let _ = p.handle_timeout(t0 + s(520));
    assert_eq!(p.state(), SharingState::On);
}

#[test]
fn poll_timeout_is_exact() {
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    assert_eq!(p.poll_timeout(), None);
    let _ = p.update_signals(good(), t0 + s(3));
    let t = p.poll_timeout();
    assert_eq!(t, Some(t0 + s(63)));
    let t = t0 + s(63);
    assert_eq!(p.handle_timeout(t - NS), None);
    assert_eq!(p.decision().reason, waiting(CU, 1));
    assert!(!p.decision().accept);
    let d = p.handle_timeout(t);
    assert_eq!(
        d.map(|d| (d.state, d.accept)),
        Some((SharingState::On, true))
    );
    assert_eq!(p.poll_timeout(), None);

    // The drain deadline.
    let _ = p.set_transit_tunnels(1, t);
    let _ = p.update_signals(unplugged(), t + s(10));
    let deadline = t + s(10) + s(660);
    assert_eq!(p.poll_timeout(), Some(deadline));
    assert_eq!(p.handle_timeout(deadline - NS), None);
    assert_eq!(p.state(), SharingState::Draining);
    let d = p.handle_timeout(deadline);
    assert_eq!(d.map(|d| d.state), Some(SharingState::Off));
    assert_eq!(p.poll_timeout(), None);

    // Draining with the conditions back: the earlier of the wait and the drain.
    let mut p = on_policy(t0);
    let _ = p.update_signals(unplugged(), t0 + s(100));
    let _ = p.update_signals(good(), t0 + s(110));
    assert_eq!(p.poll_timeout(), Some(t0 + s(230)));
    assert_eq!(p.handle_timeout(t0 + s(230) - NS), None);
    let d = p.handle_timeout(t0 + s(230));
    assert_eq!(d.map(|d| d.accept), Some(true));
}

#[test]
fn changes_are_reported_once() {
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    let d = p.update_signals(good(), t0);
    assert_eq!(d.map(|d| d.state), Some(SharingState::Waiting));
    // Same signals, a battery tick, a transit count: nothing to apply.
    assert_eq!(p.update_signals(good(), t0 + s(1)), None);
    let tick = PowerSignals {
        battery_pct: 81,
        ..good()
    };
    assert_eq!(p.update_signals(tick, t0 + s(2)), None);
    assert_eq!(p.set_transit_tunnels(0, t0 + s(3)), None);
    // The status countdown between calls.
    assert_eq!(p.decision_at(t0 + s(42)).reason, waiting(CU, 18));
    // A replug restarts the wait: reported, with the new countdown.
    let usb = PowerSignals {
        plug: PlugType::Usb,
        ..tick
    };
    let d = p.update_signals(usb, t0 + s(10));
    assert_eq!(d.map(|d| d.reason), Some(waiting(CU, 120)));
    // Prefs that change nothing visible are not reported; a new cap while On is.
    assert_eq!(p.set_prefs(SharingPrefs::default(), t0 + s(11)), None);
    let _ = p.handle_timeout(t0 + s(130));
    let d = p.set_prefs(
        SharingPrefs {
            cap_kbps: 64,
            ..SharingPrefs::default()
        },
        t0 + s(131),
    );
    assert_eq!(d.map(|d| d.share_bytes_per_s), Some(64 * 1024));
}

#[test]
fn time_never_goes_backwards() {
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    let _ = p.update_signals(good(), t0 + s(100));
    // A late call with an older `now` is taken at t0+100 s.
    let _ = p.handle_timeout(t0 + s(50));
    assert_eq!(p.poll_timeout(), Some(t0 + s(160)));
    assert_eq!(p.decision().reason, waiting(CU, 60));
    assert_eq!(p.decision_at(t0).reason, waiting(CU, 60));
}

#[test]
fn unknown_transit_count_drains_to_the_timeout() {
    let t0 = Instant::now();
    let mut p = policy(SharingPrefs::default(), t0);
    let _ = p.update_signals(good(), t0);
    let _ = p.handle_timeout(t0 + s(60));
    let _ = p.update_signals(unplugged(), t0 + s(70));
    assert_eq!(p.state(), SharingState::Draining);
    assert_eq!(p.poll_timeout(), Some(t0 + s(730)));
}

#[test]
fn settings_changes_do_not_count_as_flapping() {
    let t0 = Instant::now();
    let mut p = on_policy(t0);
    let never = SharingPrefs {
        mode: SharingMode::Never,
        ..SharingPrefs::default()
    };
    let d = p.set_prefs(never, t0 + s(100));
    assert_eq!(
        d.map(|d| d.reason.to_string()),
        Some("draining: disabled in settings".into())
    );
    // Back on while draining: the base interval, no backoff.
    let d = p.set_prefs(SharingPrefs::default(), t0 + s(110));
    assert_eq!(
        d.map(|d| (d.state, d.reason)),
        Some((SharingState::Draining, waiting(CU, 60)))
    );
    let d = p.handle_timeout(t0 + s(170));
    assert_eq!(d.map(|d| d.state), Some(SharingState::On));
}
