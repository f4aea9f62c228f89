//! Helpers shared by the policy tests: a fake clock and canonical signals.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use gousse_sharing::{
    Block, PlugType, PolicyConfig, PowerSignals, Reason, SharingMode, SharingPolicy, SharingPrefs,
    SharingState, ThermalStatus, WaitFor,
};

/// The default share: 256 KiB/s.
pub const SHARE: u64 = 256 * 1024;

/// Seconds.
pub fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Plugged into a wall charger, Wi-Fi, cool, 80%.
pub fn good() -> PowerSignals {
    PowerSignals {
        charging: true,
        plug: PlugType::Ac,
        battery_pct: 80,
        power_save: false,
        thermal: ThermalStatus::None,
        unmetered: true,
    }
}

/// `good()` unplugged.
pub fn unplugged() -> PowerSignals {
    PowerSignals {
        charging: false,
        plug: PlugType::None,
        ..good()
    }
}

/// The default prefs with another mode.
pub fn mode(mode: SharingMode) -> SharingPrefs {
    SharingPrefs {
        mode,
        ..SharingPrefs::default()
    }
}

/// Off because of `b`.
pub fn blocked(b: Block) -> Reason {
    Reason::Blocked(b)
}

/// Draining because of `b`.
pub fn draining(b: Block) -> Reason {
    Reason::Draining(b)
}

/// Waiting for `what`, `left_s` seconds left.
pub fn waiting(what: WaitFor, left_s: u64) -> Reason {
    Reason::Waiting { what, left_s }
}

/// The battery guard's reason with the default prefs.
pub fn battery_low() -> Block {
    Block::BatteryLow {
        min_pct: 50,
        resume_pct: 55,
    }
}

/// A policy with the default config.
pub fn policy(prefs: SharingPrefs, t0: Instant) -> SharingPolicy {
    SharingPolicy::new(PolicyConfig::default(), prefs, t0)
}

/// One input to the policy.
#[derive(Clone, Copy, Debug)]
pub enum Input {
    Signals(PowerSignals),
    Prefs(SharingPrefs),
    Transit(usize),
    Timeout,
}

/// Applies `input` at `now`; returns the changed decision, if any.
pub fn apply(
    p: &mut SharingPolicy,
    input: Input,
    now: Instant,
) -> Option<gousse_sharing::Decision> {
    match input {
        Input::Signals(sig) => p.update_signals(sig, now),
        Input::Prefs(prefs) => p.set_prefs(prefs, now),
        Input::Transit(n) => p.set_transit_tunnels(n, now),
        Input::Timeout => p.handle_timeout(now),
    }
}

/// A driver as the facade runs it: applies each `(time, input)` in order and, in
/// between, fires `handle_timeout` at every `poll_timeout()` that falls before the next
/// input (and up to `end`). Returns every changed decision with its time.
pub fn drive(
    p: &mut SharingPolicy,
    inputs: &[(Instant, Input)],
    end: Instant,
) -> Vec<(Instant, gousse_sharing::Decision)> {
    let mut out = Vec::new();
    let fire_until = |p: &mut SharingPolicy, limit: Instant, out: &mut Vec<_>| {
        while let Some(t) = p.poll_timeout() {
            if t > limit {
                break;
            }
            if let Some(d) = p.handle_timeout(t) {
                out.push((t, d));
            }
            assert_ne!(p.poll_timeout(), Some(t), "the timer at {t:?} did not fire");
        }
    };
    for &(t, input) in inputs {
        fire_until(p, t, &mut out);
        if let Some(d) = apply(p, input, t) {
            out.push((t, d));
        }
    }
    fire_until(p, end, &mut out);
    out
}

/// How many times `accept` changed, starting from `initial`.
pub fn accept_toggles(initial: bool, decisions: &[(Instant, gousse_sharing::Decision)]) -> usize {
    let mut last = initial;
    let mut n = 0;
    for (_, d) in decisions {
        if d.accept != last {
            n += 1;
            last = d.accept;
        }
    }
    n
}

/// How many On periods begin in `decisions`.
pub fn on_periods(decisions: &[(Instant, gousse_sharing::Decision)]) -> usize {
    let mut on = false;
    let mut n = 0;
    for (_, d) in decisions {
        let now_on = d.state == SharingState::On;
        if now_on && !on {
            n += 1;
        }
        on = now_on;
    }
    n
}
