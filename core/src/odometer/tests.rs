//! The odometer's rules on synthetic tracks. Noise comes from a seeded generator, so every run
//! is the same; the real recordings are tested in `tests/odometer.rs`.

use super::*;
use crate::jitter::Jitter;

const T0: i64 = 1_700_000_000_000;
const LAT: f64 = 37.4;
const LON: f64 = -122.1;

/// Standard normal deviates from the tracker's own seeded generator (Box-Muller).
struct Gauss(Jitter);

impl Gauss {
    fn new(seed: u64) -> Gauss {
        Gauss(Jitter::new(seed))
    }

    fn uniform(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-12);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Position `east_m`, `north_m` from the origin, with per-axis noise added.
fn mark_at(t_s: i64, east_m: f64, north_m: f64, accuracy_m: f64) -> Mark {
    let plane = LocalPlane::new(LAT, LON);
    let (lat, lon) = plane.to_geo(east_m, north_m);
    Mark {
        lat,
        lon,
        accuracy_m,
        time_ms: T0 + t_s * 1000,
    }
}

/// Gauss-Markov noise (correlated over `tau_s`) of a phone standing still for `seconds`, fed
/// to the odometer with the given speed report and motion state; returns the metres counted.
fn still_phone(seconds: i64, accuracy_m: f64, speed: Option<f64>, seed: u64) -> f64 {
    let tau_s: f64 = 30.0;
    let a = (-1.0 / tau_s).exp();
    let b = (1.0 - a * a).sqrt();
    let sigma = accuracy_m / ACCURACY_68_PER_SIGMA;
    let mut g = Gauss::new(seed);
    let (mut e, mut n) = (g.next(), g.next());
    let mut odo = Odometer::default();
    for t in 0..seconds {
        e = a * e + b * g.next();
        n = a * n + b * g.next();
        odo.observe(
            mark_at(t, e * sigma, n * sigma, accuracy_m),
            speed,
            MotionState::Moving,
        );
    }
    odo.reading().meters
}

#[test]
fn a_straight_drive_with_noise_is_measured_within_two_percent() {
    let mut g = Gauss::new(7);
    let mut odo = Odometer::default();
    let sigma = 5.0 / ACCURACY_68_PER_SIGMA;
    for t in 0..600 {
        let east = t as f64 * 12.0;
        let m = mark_at(t, east + g.next() * sigma, g.next() * sigma, 5.0);
        odo.observe(m, Some(12.0), MotionState::Moving);
    }
    let truth = 599.0 * 12.0;
    let got = odo.reading().meters;
    assert!((got - truth).abs() / truth < 0.02, "{got} vs {truth}");
    assert!(odo.reading().uncertainty_m > 0.0);
}

#[test]
fn a_slow_walk_is_counted_although_each_step_is_inside_the_gate() {
    let mut odo = Odometer::default();
    for t in 0..600 {
        // 1.2 m/s, 8 m fixes: each step is far inside the gate.
        let m = mark_at(t, t as f64 * 1.2, 0.0, 8.0);
        odo.observe(m, Some(1.2), MotionState::Moving);
    }
    let truth = 599.0 * 1.2;
    let got = odo.reading().meters;
    // Only the last stretch short of the gate (and the candidate's step) is not counted yet.
    let gate = GATE_PER_ACCURACY * 8.0f64.hypot(8.0);
    assert!(got <= truth && got > truth - 2.0 * gate, "{got} vs {truth}");
}

#[test]
fn a_still_phone_without_speed_reports_gains_under_50_m_an_hour() {
    for (seed, accuracy) in [(1, 3.0), (2, 5.0), (3, 10.0), (4, 20.0)] {
        let counted = still_phone(3600, accuracy, None, seed);
        assert!(counted <= 50.0, "accuracy {accuracy}: {counted} m");
    }
}

#[test]
fn a_still_phone_reporting_no_speed_gains_nothing() {
    for seed in 1..5 {
        assert_eq!(still_phone(3600, 10.0, Some(0.1), seed), 0.0);
    }
}

#[test]
fn a_constant_zero_speed_does_not_stop_a_drive_from_counting() {
    let mut odo = Odometer::default();
    for t in 0..100 {
        odo.observe(
            mark_at(t, t as f64 * 15.0, 0.0, 5.0),
            Some(0.0),
            MotionState::Moving,
        );
    }
    assert!(odo.reading().meters > 1400.0, "{:?}", odo.reading());
}

#[test]
fn a_lone_outlier_is_not_counted() {
    let mut odo = Odometer::default();
    for t in 0..60 {
        let east = if t == 30 { 200.0 } else { 0.0 };
        odo.observe(mark_at(t, east, 0.0, 5.0), None, MotionState::Moving);
    }
    assert_eq!(odo.reading().meters, 0.0);
}

#[test]
fn nothing_is_counted_while_stopping_and_the_move_is_counted_once_moving() {
    let mut odo = Odometer::default();
    odo.observe(mark_at(0, 0.0, 0.0, 5.0), None, MotionState::Moving);
    for t in 1..10 {
        let m = mark_at(t, t as f64 * 10.0, 0.0, 5.0);
        odo.observe(m, None, MotionState::Stopping);
    }
    assert_eq!(odo.reading().meters, 0.0);
    for t in 10..13 {
        let m = mark_at(t, t as f64 * 10.0, 0.0, 5.0);
        odo.observe(m, None, MotionState::Moving);
    }
    // From the anchor at 0 to the first fix beyond the gate (100 m), confirmed by the next.
    let got = odo.reading().meters;
    assert!((got - 100.0).abs() < 0.5, "{got}");
}

#[test]
fn a_coarse_first_fix_is_replaced_by_a_better_one_nearby() {
    let mut odo = Odometer::default();
    odo.observe(mark_at(0, 60.0, 0.0, 100.0), None, MotionState::Moving);
    odo.observe(mark_at(1, 0.0, 0.0, 5.0), None, MotionState::Moving);
    for t in 2..12 {
        let m = mark_at(t, (t - 1) as f64 * 10.0, 0.0, 5.0);
        odo.observe(m, None, MotionState::Moving);
    }
    // Counted from the 5 m fix at 0 (not from the 100 m one at 60 m east) to the last fix
    // confirmed beyond the 21 m gate: 30, 60, then 90 m east.
    let got = odo.reading().meters;
    assert!((got - 90.0).abs() < 0.5, "{got}");
}

#[test]
fn a_bad_reset_changes_nothing_and_a_good_one_sets_the_reading() {
    let mut odo = Odometer::default();
    for t in 0..20 {
        odo.observe(
            mark_at(t, t as f64 * 10.0, 0.0, 5.0),
            None,
            MotionState::Moving,
        );
    }
    let before = odo.clone();
    for bad in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(odo.reset(bad), Err(OdometerError::InvalidValue));
        assert_eq!(odo, before);
    }
    odo.reset(1000.0).unwrap();
    assert_eq!(
        odo.reading(),
        OdometerReading {
            meters: 1000.0,
            uncertainty_m: 0.0
        }
    );
}

#[test]
fn the_state_survives_json_and_garbage_starts_afresh() {
    let mut odo = Odometer::default();
    for t in 0..20 {
        odo.observe(
            mark_at(t, t as f64 * 10.0, 0.0, 5.0),
            None,
            MotionState::Moving,
        );
    }
    let back = Odometer::from_json(&odo.to_json());
    assert!((back.reading().meters - odo.reading().meters).abs() < 1e-9);
    assert!((back.reading().uncertainty_m - odo.reading().uncertainty_m).abs() < 1e-9);
    let (a, b) = (back.anchor.unwrap(), odo.anchor.unwrap());
    assert!((a.lat - b.lat).abs() < 1e-12 && (a.lon - b.lon).abs() < 1e-12);
    assert_eq!(Odometer::from_json("{not json"), Odometer::default());
    assert_eq!(
        Odometer::from_json(
            r#"{"total_m":-5,"variance_m2":0,"anchor":null,"candidate":null,"previous":null}"#
        ),
        Odometer::default()
    );
}

#[test]
fn forgetting_the_position_keeps_the_reading_and_skips_the_gap() {
    let mut odo = Odometer::default();
    for t in 0..20 {
        odo.observe(
            mark_at(t, t as f64 * 10.0, 0.0, 5.0),
            None,
            MotionState::Moving,
        );
    }
    let before = odo.reading();
    odo.forget_position();
    odo.observe(mark_at(100, 50_000.0, 0.0, 5.0), None, MotionState::Moving);
    odo.observe(mark_at(101, 50_010.0, 0.0, 5.0), None, MotionState::Moving);
    assert_eq!(odo.reading(), before);
}
