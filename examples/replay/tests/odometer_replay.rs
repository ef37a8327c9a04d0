//! The odometer's targets (issue 17) on the recordings in `tests/data`, through the real core
//! under the simulated OS: within 2 % of the true distance on the GSDC drive for every preset,
//! and at most 50 m per hour while the phone truly stands still (the e-mission day's stops, the
//! static GnssLogger recordings). The figures are printed (`cargo test -- --nocapture`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns; a failed unwrap fails the test

use std::path::PathBuf;

use tracelet_replay::os_mode::OsMode;
use tracelet_replay::replay::{self, PolicyKind, ReplayOptions};

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(path)
}

fn run(trace: &str, truth: Option<&str>, preset: &str, tail_s: i64) -> serde_json::Value {
    let options = ReplayOptions {
        trace: data(trace),
        kind: PolicyKind::Core,
        preset: preset.into(),
        policy: None,
        truth: truth.map(data),
        collector: false,
        seed: 1,
        tail_s,
        geofences: Vec::new(),
        clock_steps: Vec::new(),
        offline: false,
        os_mode: OsMode::Full,
    };
    let report = replay::run(&options).expect("replay runs").to_json();
    println!(
        "{trace} {preset}: odometer {} m ± {} m, truth {} m, error {} %, still {} h, gained {} m ({} m/h)",
        report["odometer_m"],
        report["odometer_uncertainty_m"],
        report["truth_distance_m"],
        report["odometer_error_pct"],
        report["stationary_h"],
        report["odometer_stationary_m"],
        report["odometer_stationary_m_per_h"],
    );
    report
}

fn f(report: &serde_json::Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing"))
}

#[test]
fn the_gsdc_drive_is_measured_within_two_percent_with_every_preset() {
    for preset in ["efficient", "balanced", "continuous"] {
        let report = run(
            "gsdc2020_mtv1/Pixel4_chipset.nmea",
            Some("gsdc2020_mtv1/span_groundtruth_1hz.csv"),
            preset,
            600,
        );
        assert!(f(&report, "truth_distance_m") > 10_000.0);
        let error = f(&report, "odometer_error_pct");
        assert!(error.abs() <= 2.0, "{preset}: {error} %");
        // The uncertainty the odometer claims covers its actual error (at 2 sigma).
        let off = (f(&report, "odometer_m") - f(&report, "truth_distance_m")).abs();
        assert!(
            off <= 2.0 * f(&report, "odometer_uncertainty_m"),
            "{preset}"
        );
    }
}

#[test]
fn the_emission_day_gains_at_most_50_m_per_still_hour() {
    for preset in ["efficient", "balanced", "continuous"] {
        let report = run(
            "emission/shankari_2016-independence_day.locations.csv",
            None,
            preset,
            600,
        );
        assert!(f(&report, "stationary_h") > 5.0);
        let per_hour = f(&report, "odometer_stationary_m_per_h");
        assert!(per_hour <= 50.0, "{preset}: {per_hour} m/h");
        // It still measures the day's trips.
        assert!(f(&report, "odometer_m") > 100_000.0);
    }
}

#[test]
fn the_static_recordings_gain_at_most_50_m_per_hour() {
    for trace in [
        "gnsslogger_static/fixes_2016_06_30.csv",
        "gnsslogger_static/fixes_2016_08_22.csv",
    ] {
        // Continuous keeps every 1 Hz fix: the most chances for jitter to count.
        let report = run(trace, None, "continuous", 0);
        assert!(f(&report, "fixes_accepted") > 150.0);
        let hours = f(&report, "stationary_h");
        assert!(hours > 0.03);
        assert!(
            f(&report, "odometer_stationary_m") <= 50.0 * hours,
            "{trace}"
        );
        assert!(f(&report, "odometer_m") <= 50.0 * hours, "{trace}");
    }
}
