//! Property tests: for random sequences of signals, preferences, transit counts and
//! timers, `accept` is never true while a guard fails, nor before the guards have held
//! for the stable interval; and steady good conditions always end in sharing.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gousse_sharing::{
    PlugType, PolicyConfig, PowerSignals, SharingMode, SharingPrefs, SharingState, ThermalStatus,
};
use proptest::prelude::*;

fn plug() -> impl Strategy<Value = PlugType> {
    prop_oneof![
        Just(PlugType::None),
        Just(PlugType::Ac),
        Just(PlugType::Usb),
        Just(PlugType::Wireless),
        Just(PlugType::Dock),
        Just(PlugType::Other),
    ]
}

fn thermal() -> impl Strategy<Value = ThermalStatus> {
    prop_oneof![
        3 => Just(ThermalStatus::None),
        1 => Just(ThermalStatus::Light),
        1 => Just(ThermalStatus::Moderate),
        1 => Just(ThermalStatus::Severe),
        1 => Just(ThermalStatus::Critical),
        1 => Just(ThermalStatus::Emergency),
        1 => Just(ThermalStatus::Shutdown),
    ]
}

fn signals() -> impl Strategy<Value = PowerSignals> {
    let random = (
        any::<bool>(),
        plug(),
        0u8..=100,
        prop::bool::weighted(0.2),
        thermal(),
        any::<bool>(),
    )
        .prop_map(
            |(charging, plug, battery_pct, power_save, thermal, unmetered)| PowerSignals {
                charging,
                plug,
                battery_pct,
                power_save,
                thermal,
                unmetered,
            },
        );
    // Half the time, signals that pass every guard, so that sharing does happen.
    prop_oneof![Just(good()), random]
}

fn prefs() -> impl Strategy<Value = SharingPrefs> {
    let mode = prop_oneof![
        1 => Just(SharingMode::Never),
        2 => Just(SharingMode::WhenCharging),
        3 => Just(SharingMode::WhenChargingUnmetered),
        2 => Just(SharingMode::Always),
    ];
    (mode, prop_oneof![Just(256u64), 0u64..2048], 0u8..=100).prop_map(
        |(mode, cap_kbps, min_battery_pct)| SharingPrefs {
            mode,
            cap_kbps,
            min_battery_pct,
        },
    )
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        6 => signals().prop_map(Input::Signals),
        1 => prefs().prop_map(Input::Prefs),
        2 => (0usize..4).prop_map(Input::Transit),
        3 => Just(Input::Timeout),
    ]
}

/// Milliseconds between inputs: often close together (flapping), sometimes minutes.
fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..5_000, 0u64..180_000]
}

/// The guards, written out independently of the policy and without hysteresis (which
/// only makes the policy stricter).
fn guards_pass(s: Option<PowerSignals>, p: SharingPrefs) -> bool {
    let Some(s) = s else { return false };
    let powered = s.charging || s.plug != PlugType::None;
    p.mode != SharingMode::Never
        && p.cap_kbps > 0
        && s.thermal < ThermalStatus::Severe
        && !s.power_save
        && s.battery_pct >= p.min_battery_pct
        && (p.mode == SharingMode::Always || powered)
        && (p.mode != SharingMode::WhenChargingUnmetered || s.unmetered)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn accept_only_when_guards_held_for_the_stable_interval(
        steps in prop::collection::vec((gap(), input()), 1..120),
        initial in prefs(),
    ) {
        let stable = PolicyConfig::default().stable_interval;
        let t0 = Instant::now();
        let mut p = policy(initial, t0);
        let mut now = t0;
        let (mut sig, mut pr) = (None, initial);
        // Since when the guards have passed without a break (the oracle's view).
        let mut since: Option<Instant> = None;
        for (gap_ms, inp) in steps {
            let next = now + Duration::from_millis(gap_ms);
            // Fire the timers due before the input, as the facade does.
            while let Some(t) = p.poll_timeout() {
                if t > next { break; }
                let _ = p.handle_timeout(t);
                let d = p.decision();
                prop_assert!(!d.accept || since.is_some_and(|s0| t >= s0 + stable));
            }
            now = next;
            match inp {
                Input::Signals(s) => sig = Some(s),
                Input::Prefs(x) => pr = x,
                _ => {}
            }
            if guards_pass(sig, pr) {
                since.get_or_insert(now);
            } else {
                since = None;
            }
            let _ = apply(&mut p, inp, now);
            let d = p.decision();
            prop_assert_eq!(d.accept, d.state == SharingState::On);
            if d.accept {
                prop_assert!(guards_pass(sig, pr), "accept while a guard fails: {:?} {:?}", sig, pr);
                let s0 = since.unwrap_or(now);
                prop_assert!(now >= s0 + stable, "accept {:?} after the guards passed", now - s0);
                prop_assert_eq!(d.share_bytes_per_s, pr.cap_kbps * 1024);
            }
            if matches!(d.state, SharingState::Off | SharingState::Waiting) {
                prop_assert_eq!(d.share_bytes_per_s, 0);
            }
            // The timer the policy asks for is never in the past.
            if let Some(t) = p.poll_timeout() {
                prop_assert!(t > now);
            }
        }
        // Liveness: good conditions held steadily end in sharing within the longest
        // backed-off interval.
        let _ = p.set_prefs(SharingPrefs::default(), now);
        let _ = p.update_signals(good(), now);
        let end = now + PolicyConfig::default().max_stable_interval;
        let _ = drive(&mut p, &[], end);
        prop_assert_eq!(p.state(), SharingState::On);
    }
}
