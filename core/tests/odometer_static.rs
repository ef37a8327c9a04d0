//! The odometer alone on the static GnssLogger recordings (a phone lying on a surveyed point),
//! without any help: every fix counted as if the motion policy believed the phone moving, and
//! no speed report to veto with. It must still gain at most 50 m per hour.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns; a failed unwrap fails the test

use tracelet_core::odometer::{Mark, Odometer};
use tracelet_core::policy::MotionState;

/// `(time_ms, lat, lon, accuracy_m)` of each Fix record (columns by header name).
fn fixes(csv: &str) -> Vec<(i64, f64, f64, f64)> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (t, lat, lon, acc) = (
        col("unix_ms"),
        col("lat_deg"),
        col("lon_deg"),
        col("accuracy_m"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (
                v[t].parse().unwrap(),
                v[lat].parse().unwrap(),
                v[lon].parse().unwrap(),
                v[acc].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn still_phones_gain_under_50_m_an_hour_with_nothing_but_the_gate() {
    for (name, csv) in [
        (
            "fixes_2016_06_30",
            include_str!("../../tests/data/gnsslogger_static/fixes_2016_06_30.csv"),
        ),
        (
            "fixes_2016_08_22",
            include_str!("../../tests/data/gnsslogger_static/fixes_2016_08_22.csv"),
        ),
    ] {
        let fixes = fixes(csv);
        let mut odometer = Odometer::default();
        for &(time_ms, lat, lon, accuracy_m) in &fixes {
            let mark = Mark {
                lat,
                lon,
                accuracy_m,
                time_ms,
            };
            odometer.observe(mark, None, MotionState::Moving);
        }
        let hours = (fixes.last().unwrap().0 - fixes[0].0) as f64 / 3_600_000.0;
        let gained = odometer.reading().meters;
        println!("{name}: {gained:.1} m in {hours:.3} h");
        assert!(gained <= 50.0 * hours, "{name}: {gained} m in {hours} h");
    }
}
