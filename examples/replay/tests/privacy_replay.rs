//! Privacy zones on the recordings in `tests/data` (issue 17): the GSDC drive and the e-mission
//! day are recorded through the real tracker into a real queue with zones placed on their
//! routes; afterwards no stored fix, raw or smoothed, lies inside a dropping zone, and the
//! coarsened ones are exactly at their zone's centre.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns; a failed unwrap fails the test

use std::path::PathBuf;
use std::sync::Arc;

use tracelet_core::Clock;
use tracelet_core::geodesy::distance_m;
use tracelet_core::store::{Store, StoreLimits};
use tracelet_core::{
    Fix, ManualClock, PrivacyAction, PrivacyZone, Tracker, TrackerConfig, UploadPolicy,
};

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(path)
}

fn zone_at(id: &str, fix: &Fix, radius_m: f64, action: PrivacyAction) -> PrivacyZone {
    PrivacyZone {
        id: id.into(),
        latitude_deg: fix.latitude_deg,
        longitude_deg: fix.longitude_deg,
        radius_m,
        action,
    }
}

fn check(trace: &str) {
    let fixes = tracelet_replay::input::load(&data(trace)).unwrap().fixes;
    let n = fixes.len();
    let zones = vec![
        zone_at("home", &fixes[n / 5], 200.0, PrivacyAction::Drop),
        zone_at("work", &fixes[n / 2], 150.0, PrivacyAction::Coarsen),
        zone_at("gym", &fixes[4 * n / 5], 100.0, PrivacyAction::Drop),
    ];
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(fixes[0].time_ms));
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev", "tok", dir.path());
    config.upload = UploadPolicy {
        automatic: false,
        include_smoothed: true,
        ..config.upload
    };
    let tracker = Tracker::new(config, clock.clone()).unwrap();
    tracker.set_privacy_zones(zones.clone()).unwrap();
    tracker.start().unwrap();
    for fix in fixes {
        clock.set_ms(clock.now_ms().max(fix.time_ms));
        // Invalid and filtered fixes are the recording's own; not what is tested here.
        let _ = tracker.record(fix);
    }
    let status = tracker.status();
    drop(tracker);
    let store = Store::open(dir.path(), StoreLimits::default())
        .unwrap()
        .store;
    let stored = store.peek_batch(1_000_000).unwrap().fixes;
    let inside = |zone: &PrivacyZone, lat: f64, lon: f64| {
        distance_m(zone.latitude_deg, zone.longitude_deg, lat, lon) <= zone.radius_m
    };
    let mut at_centre = 0;
    for s in &stored {
        let mut positions = vec![(s.fix.latitude_deg, s.fix.longitude_deg)];
        positions.extend(s.smoothed.map(|m| (m.latitude_deg, m.longitude_deg)));
        for zone in &zones {
            for &(lat, lon) in &positions {
                match zone.action {
                    PrivacyAction::Drop => {
                        assert!(
                            !inside(zone, lat, lon),
                            "{trace}: stored inside {}",
                            zone.id
                        )
                    }
                    PrivacyAction::Coarsen => {
                        let centre = (zone.latitude_deg, zone.longitude_deg);
                        assert!(!inside(zone, lat, lon) || (lat, lon) == centre, "{trace}");
                    }
                }
            }
        }
        at_centre += usize::from(
            (s.fix.latitude_deg, s.fix.longitude_deg)
                == (zones[1].latitude_deg, zones[1].longitude_deg),
        );
    }
    println!(
        "{trace}: {} stored, {} dropped, {} coarsened",
        stored.len(),
        status.privacy_dropped_total,
        status.privacy_coarsened_total
    );
    assert!(status.privacy_dropped_total > 0 && status.privacy_coarsened_total > 0);
    assert_eq!(at_centre as u64, status.privacy_coarsened_total);
    assert_eq!(stored.len() as u64, status.accepted_total);
}

#[test]
fn no_stored_fix_of_the_gsdc_drive_lies_inside_a_zone() {
    check("gsdc2020_mtv1/Pixel4_chipset.nmea");
}

#[test]
fn no_stored_fix_of_the_emission_day_lies_inside_a_zone() {
    check("emission/shankari_2016-independence_day.locations.csv");
}
