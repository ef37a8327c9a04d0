//! Locations, the last known location, the odometer and privacy zones through the real tracker
//! and real SQLite files, restarts included. Uploads are off (`automatic = false`, no flush).

use std::sync::{Arc, Mutex};

use super::*;
use crate::clock::ManualClock;
use crate::filter::RejectReason;
use crate::fix::{Fix, Provider};
use crate::location::{Location, LocationListener};
use crate::odometer::OdometerError;
use crate::policy::MotionState;
use crate::privacy::{PrivacyAction, PrivacyZone, PrivacyZoneError};

const T0: i64 = 1_700_000_000_000;
const ORIGIN: (f64, f64) = (48.8566, 2.3522);

#[derive(Default)]
struct Both(Mutex<Vec<String>>, Mutex<Vec<Location>>);

impl EventListener for Both {
    fn on_event(&self, event: Event) {
        if let Event::FixAccepted { seq } = event {
            self.0.lock().unwrap().push(format!("accepted {seq}"));
        }
    }
}

impl LocationListener for Both {
    fn on_location(&self, location: Location) {
        self.0
            .lock()
            .unwrap()
            .push(format!("location {}", location.seq));
        self.1.lock().unwrap().push(location);
    }
}

fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> (Tracker, Arc<Both>) {
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev-1", "tok", dir);
    config.upload.automatic = false;
    config.jitter_seed = Some(1);
    let tracker = Tracker::new(config, clock).unwrap();
    let heard = Arc::new(Both::default());
    tracker.set_listener(Some(heard.clone()));
    tracker.set_location_listener(Some(heard.clone()));
    (tracker, heard)
}

/// A fix `east_m` metres east of the origin at `s` seconds, moving east at 10 m/s.
fn fix(s: i64, east_m: f64) -> Fix {
    let lon = ORIGIN.1 + east_m / (111_195.0 * ORIGIN.0.to_radians().cos());
    Fix {
        speed_mps: Some(10.0),
        bearing_deg: Some(90.0),
        altitude_m: Some(35.0),
        provider: Provider::Gps,
        ..Fix::new(T0 + s * 1000, ORIGIN.0, lon, 4.0)
    }
}

fn drive(tracker: &Tracker, clock: &ManualClock, from_s: i64, to_s: i64) {
    for s in from_s..to_s {
        clock.set_ms(T0 + s * 1000);
        tracker.record(fix(s, s as f64 * 10.0)).unwrap();
    }
}

#[test]
fn every_accepted_fix_reaches_the_app_as_a_location_after_its_event() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, heard) = open(dir.path(), clock.clone());
    tracker.start().unwrap();
    tracker.start_trip("delivery-7".into(), Vec::new()).unwrap();
    drive(&tracker, &clock, 0, 30);
    let locations = heard.1.lock().unwrap().clone();
    assert_eq!(locations.len(), 30);
    let order = heard.0.lock().unwrap().clone();
    assert_eq!(&order[..2], ["accepted 1", "location 1"]);
    let last = locations.last().unwrap();
    assert_eq!(last.trip_id.as_deref(), Some("delivery-7"));
    assert_eq!(last.provider, Provider::Gps);
    assert_eq!((last.speed_mps, last.altitude_m), (Some(10.0), Some(35.0)));
    assert!(last.smoothed_latitude_deg.is_some());
    assert_eq!(last.motion_state, MotionState::Moving);
    // 290 m driven; the odometer trails by at most the gate and one unconfirmed step.
    assert!(
        (240.0..=290.5).contains(&last.odometer_m),
        "{}",
        last.odometer_m
    );
    assert!(
        locations
            .windows(2)
            .all(|w| w[0].odometer_m <= w[1].odometer_m)
    );
    assert_eq!(tracker.last_known_location().as_ref(), Some(last));
}

#[test]
fn the_last_location_and_the_odometer_survive_a_restart_and_counting_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (before, last, reading) = {
        let (tracker, _) = open(dir.path(), clock.clone());
        tracker.start().unwrap();
        drive(&tracker, &clock, 0, 30);
        (
            tracker.status(),
            tracker.last_known_location(),
            tracker.odometer(),
        )
    };
    assert!(before.tracking && last.is_some() && reading.meters > 200.0);
    let (tracker, _) = open(dir.path(), clock.clone());
    assert_eq!(tracker.last_known_location(), last);
    assert_eq!(tracker.odometer(), reading);
    // Still tracking after the restart: the drive goes on from the saved anchor.
    drive(&tracker, &clock, 30, 60);
    let after = tracker.odometer().meters;
    assert!(
        after > reading.meters + 250.0,
        "{after} after {}",
        reading.meters
    );
}

#[test]
fn a_bad_odometer_reset_is_a_typed_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), clock.clone());
    tracker.start().unwrap();
    drive(&tracker, &clock, 0, 30);
    let reading = tracker.odometer();
    for bad in [-0.5, f64::NAN, f64::INFINITY] {
        assert_eq!(
            tracker.reset_odometer(bad),
            Err(OdometerError::InvalidValue)
        );
        assert_eq!(tracker.odometer(), reading);
    }
    tracker.reset_odometer(5_000.0).unwrap();
    drop(tracker);
    let (tracker, _) = open(dir.path(), clock.clone());
    assert_eq!(tracker.odometer().meters, 5_000.0);
    assert_eq!(tracker.odometer().uncertainty_m, 0.0);
}

#[test]
fn a_restart_of_tracking_does_not_count_the_way_travelled_while_off() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), clock.clone());
    tracker.start().unwrap();
    drive(&tracker, &clock, 0, 30);
    tracker.stop().unwrap();
    let reading = tracker.odometer();
    tracker.start().unwrap();
    // 50 km further on.
    for s in 100..103 {
        clock.set_ms(T0 + s * 1000);
        tracker.record(fix(s, 50_000.0 + s as f64)).unwrap();
    }
    assert!(tracker.odometer().meters < reading.meters + 10.0);
}

fn zone(id: &str, east_m: f64, action: PrivacyAction) -> PrivacyZone {
    let lon = ORIGIN.1 + east_m / (111_195.0 * ORIGIN.0.to_radians().cos());
    PrivacyZone {
        id: id.into(),
        latitude_deg: ORIGIN.0,
        longitude_deg: lon,
        radius_m: 60.0,
        action,
    }
}

#[test]
fn privacy_zones_drop_or_coarsen_before_storage_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let zones = vec![
        zone("home", 100.0, PrivacyAction::Drop),
        zone("gym", 400.0, PrivacyAction::Coarsen),
    ];
    {
        let (tracker, _) = open(dir.path(), clock.clone());
        tracker.set_privacy_zones(zones.clone()).unwrap();
    }
    let (tracker, heard) = open(dir.path(), clock.clone());
    assert_eq!(tracker.privacy_zones(), zones);
    tracker.start().unwrap();
    clock.set_ms(T0 + 10_000);
    assert_eq!(
        tracker.record(fix(10, 100.0)).unwrap(),
        RecordOutcome::Filtered {
            reason: RejectReason::PrivacyZone
        }
    );
    drive(&tracker, &clock, 11, 60);
    let status = tracker.status();
    let stored = lock(&tracker.shared.store).peek_batch(1000).unwrap().fixes;
    // 50 fixes: those within 60 m of 100 m east dropped, of 400 m east coarsened.
    assert_eq!(status.privacy_dropped_total + stored.len() as u64, 50);
    assert!(status.privacy_dropped_total >= 6, "{status:?}");
    assert!(status.privacy_coarsened_total >= 11, "{status:?}");
    let centre = (zones[1].latitude_deg, zones[1].longitude_deg);
    for s in &stored {
        let f = &s.fix;
        let d = crate::geodesy::distance_m(
            zones[0].latitude_deg,
            zones[0].longitude_deg,
            f.latitude_deg,
            f.longitude_deg,
        );
        assert!(d > zones[0].radius_m, "a stored fix inside the drop zone");
        if (f.latitude_deg, f.longitude_deg) == centre {
            assert_eq!((f.speed_mps, f.horizontal_accuracy_m), (None, 60.0));
            assert!(s.smoothed.is_none());
        }
    }
    let delivered = heard.1.lock().unwrap();
    assert_eq!(delivered.len(), stored.len());
    assert_eq!(
        delivered
            .iter()
            .filter(|l| (l.latitude_deg, l.longitude_deg) == centre)
            .count() as u64,
        status.privacy_coarsened_total
    );
}

#[test]
fn bad_privacy_zones_are_typed_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), clock.clone());
    let good = vec![zone("home", 0.0, PrivacyAction::Drop)];
    tracker.set_privacy_zones(good.clone()).unwrap();
    let bad = vec![
        zone("a", 0.0, PrivacyAction::Drop),
        PrivacyZone {
            radius_m: -1.0,
            ..zone("b", 0.0, PrivacyAction::Coarsen)
        },
    ];
    assert_eq!(
        tracker.set_privacy_zones(bad),
        Err(PrivacyZoneError::BadRadius)
    );
    assert_eq!(tracker.privacy_zones(), good);
    drop(tracker);
    let (tracker, _) = open(dir.path(), clock);
    assert_eq!(tracker.privacy_zones(), good);
}
