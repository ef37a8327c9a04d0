//! Permission, wake-up sources and relaunch through the real tracker and SQLite files, on a
//! `ManualClock`. Uploads are off: only the decisions are under test.

use std::sync::{Arc, Mutex};

use crate::clock::{Clock, ManualClock};
use crate::platform::{AccessReport, LocationAccess, RecordingMode, WakeSources, approximate};
use crate::policy::{MotionReason, MotionState, Priority};
use crate::{Event, EventListener, Fix, Tracker, TrackerConfig};

const T0: i64 = 1_700_000_000_000;
const HOME: (f64, f64) = (48.137, 11.575);

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl EventListener for Recorder {
    fn on_event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn open(dir: &std::path::Path, clock: &Arc<ManualClock>) -> (Tracker, Arc<Recorder>) {
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev-1", "tok", dir);
    config.upload.automatic = false;
    config.jitter_seed = Some(1);
    let tracker = Tracker::new(config, clock.clone()).unwrap();
    let events = Arc::new(Recorder::default());
    tracker.set_listener(Some(events.clone()));
    (tracker, events)
}

fn fix(clock: &ManualClock, north_m: f64, accuracy_m: f64) -> Fix {
    let lat = HOME.0 + north_m / 111_195.0;
    Fix::new(clock.now_ms(), lat, HOME.1, accuracy_m)
}

/// Drives a tracker at home, still, until the policy declares it stationary.
fn come_to_rest(tracker: &Tracker, clock: &ManualClock) {
    for _ in 0..400 {
        clock.advance_ms(1_000);
        tracker.record(fix(clock, 0.0, 5.0)).unwrap();
        tracker.tick();
        if tracker.status().motion_state == Some(MotionState::Stationary) {
            return;
        }
    }
    panic!("never stationary");
}

const APPROXIMATE_ONLY: LocationAccess = LocationAccess {
    granted: true,
    precise: false,
    background: true,
};

#[test]
fn approximate_only_stores_coarse_fixes_and_tells_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, events) = open(dir.path(), &clock);
    tracker.start().unwrap();
    events.take();

    tracker.set_location_access(APPROXIMATE_ONLY);
    let told = events.take();
    assert!(told.contains(&Event::AccessChanged {
        report: AccessReport {
            mode: RecordingMode::Approximate,
            background_wake: false,
        }
    }));
    assert!(told.contains(&Event::SamplingChanged {
        request: approximate::sampling_request()
    }));
    assert_eq!(tracker.sampling_request().priority, Priority::LowPower);

    // Android's coarse fixes: 2 km wide, every 10 minutes, and one repeat in between.
    for i in 0..6 {
        clock.set_ms(T0 + i * approximate::MIN_INTERVAL_MS);
        let outcome = tracker.record(fix(&clock, i as f64 * 500.0, 2_000.0));
        assert!(
            matches!(outcome, Ok(crate::RecordOutcome::Stored { .. })),
            "{outcome:?}"
        );
        clock.advance_ms(60_000);
        let repeat = tracker.record(fix(&clock, i as f64 * 500.0, 2_000.0));
        assert!(matches!(repeat, Ok(crate::RecordOutcome::Filtered { .. })));
    }
    assert_eq!(tracker.status().pending_count, 6);
    // No stop is decided on kilometre-wide fixes, and time alone decides nothing either.
    clock.advance_ms(3_600_000);
    tracker.tick();
    assert!(
        !events
            .take()
            .iter()
            .any(|e| matches!(e, Event::MotionChanged { .. }))
    );
    assert_eq!(tracker.sampling_request(), approximate::sampling_request());
}

#[test]
fn precise_again_resumes_the_filter_and_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, events) = open(dir.path(), &clock);
    tracker.start().unwrap();
    tracker.set_location_access(APPROXIMATE_ONLY);
    tracker.set_location_access(LocationAccess::FULL);
    assert_eq!(tracker.access_report().mode, RecordingMode::Precise);
    assert_eq!(tracker.sampling_request().priority, Priority::HighAccuracy);
    assert!(events.take().contains(&Event::AccessChanged {
        report: AccessReport::of(LocationAccess::FULL)
    }));
    // The precise gate is back: a 2 km fix is refused.
    let outcome = tracker.record(fix(&clock, 0.0, 2_000.0)).unwrap();
    assert!(matches!(outcome, crate::RecordOutcome::Filtered { .. }));
}

#[test]
fn the_same_access_twice_is_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, events) = open(dir.path(), &clock);
    let when_in_use = LocationAccess {
        background: false,
        ..LocationAccess::FULL
    };
    tracker.set_location_access(when_in_use);
    tracker.set_location_access(when_in_use);
    let told = events
        .take()
        .into_iter()
        .filter(|e| matches!(e, Event::AccessChanged { .. }))
        .count();
    assert_eq!(told, 1);
    assert!(!tracker.access_report().background_wake);
}

#[test]
fn a_relaunch_resumes_the_saved_stop_instead_of_running_gnss() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let (tracker, _) = open(dir.path(), &clock);
        tracker.start().unwrap();
        come_to_rest(&tracker, &clock);
    }
    // The process died; iOS relaunches it two hours later for a visit.
    clock.advance_ms(2 * 3_600_000);
    let (tracker, _) = open(dir.path(), &clock);
    assert_eq!(tracker.status().motion_state, Some(MotionState::Stationary));
    let request = tracker.sampling_request();
    assert_ne!(request.priority, Priority::HighAccuracy);
    let fence = request.stationary_geofence.expect("the stop's geofence");
    assert!((fence.latitude_deg - HOME.0).abs() < 1e-4);

    // The first fix far from the stop resumes sampling.
    clock.advance_ms(1_000);
    tracker.record(fix(&clock, 2_000.0, 20.0)).unwrap();
    assert_eq!(tracker.status().motion_state, Some(MotionState::Moving));
}

#[test]
fn a_stale_saved_stop_or_a_moving_one_starts_moving() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let (tracker, _) = open(dir.path(), &clock);
        tracker.start().unwrap();
        come_to_rest(&tracker, &clock);
    }
    clock.advance_ms(crate::platform::relaunch::MAX_AGE_MS + 60_000);
    {
        let (tracker, _) = open(dir.path(), &clock);
        assert_eq!(tracker.status().motion_state, Some(MotionState::Moving));
        // Moving again is saved too: the next relaunch does not resume the old stop.
        tracker.start().unwrap();
        tracker.on_significant_motion();
    }
    let (tracker, _) = open(dir.path(), &clock);
    assert_eq!(tracker.status().motion_state, Some(MotionState::Moving));
}

#[test]
fn significant_motion_resumes_sampling_from_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, events) = open(dir.path(), &clock);
    tracker.start().unwrap();
    come_to_rest(&tracker, &clock);
    events.take();
    tracker.on_significant_motion();
    assert!(events.take().contains(&Event::MotionChanged {
        state: MotionState::Moving,
        reason: MotionReason::SignificantMotion,
    }));
    assert_eq!(tracker.sampling_request().priority, Priority::HighAccuracy);
}

#[test]
fn a_still_phone_keeps_coarse_updates_unless_something_can_wake_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), &clock);
    tracker.start().unwrap();
    assert!(
        tracker
            .plan_updates(WakeSources::default())
            .standard_updates
    );
    come_to_rest(&tracker, &clock);
    let deaf = tracker.plan_updates(WakeSources::default());
    assert!(deaf.standard_updates && deaf.coarse_fallback);
    let armed = tracker.plan_updates(WakeSources {
        stationary_region: true,
        ..WakeSources::default()
    });
    assert!(!armed.standard_updates);
    assert_eq!(armed.request, tracker.sampling_request());
}

#[test]
fn a_stop_inside_a_privacy_zone_is_not_saved_for_a_relaunch() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let (tracker, _) = open(dir.path(), &clock);
        tracker
            .set_privacy_zones(vec![crate::privacy::PrivacyZone {
                id: "home".into(),
                latitude_deg: HOME.0,
                longitude_deg: HOME.1,
                radius_m: 200.0,
                action: crate::privacy::PrivacyAction::Drop,
            }])
            .unwrap();
        tracker.start().unwrap();
        come_to_rest(&tracker, &clock);
        assert_eq!(tracker.status().motion_state, Some(MotionState::Stationary));
    }
    clock.advance_ms(2 * 3_600_000);
    let (tracker, _) = open(dir.path(), &clock);
    // Nothing saved to resume: it starts moving, and no position of the stop is stored.
    assert_eq!(tracker.status().motion_state, Some(MotionState::Moving));
    let saved = crate::tracker::lock(&tracker.shared.store)
        .meta(crate::platform::relaunch::META_KEY)
        .unwrap()
        .unwrap_or_default();
    assert!(!saved.contains(&format!("{}", HOME.0)), "{saved}");
}
