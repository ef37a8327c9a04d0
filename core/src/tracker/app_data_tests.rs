//! The tracker's geofence, trip and metadata API against real SQLite files, restarts
//! included. Uploads are off (`automatic = false`, no flush): delivery of events is tested end
//! to end against the real collector in `tests/e2e/geofences.rs`.

use std::sync::{Arc, Mutex};

use super::*;
use crate::annotations::MetadataError;
use crate::clock::ManualClock;
use crate::fix::Fix;
use crate::geofence::Geofence;
use crate::geofence::RegionRequest;
use crate::geofencing::GeofenceTransition;
use crate::store::EventKind;

const T0: i64 = 1_700_000_000_000;
const DEPOT: (f64, f64) = (48.8566, 2.3522);

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl EventListener for Recorder {
    fn on_event(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
}

impl Recorder {
    fn geofence_events(&self) -> Vec<(GeofenceTransition, String)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Event::Geofence { transition, id, .. } => Some((*transition, id.clone())),
                _ => None,
            })
            .collect()
    }

    fn last_regions(&self) -> Option<RegionRequest> {
        self.0.lock().unwrap().iter().rev().find_map(|e| match e {
            Event::RegionsChanged { request } => Some(request.clone()),
            _ => None,
        })
    }
}

struct Harness {
    tracker: Tracker,
    clock: Arc<ManualClock>,
    events: Arc<Recorder>,
}

fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> Harness {
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev-1", "tok", dir);
    config.upload.automatic = false;
    // The filter is not under test here: positions go to the geofences as recorded.
    config.filter = None;
    config.jitter_seed = Some(1);
    let tracker = Tracker::new(config, clock.clone()).unwrap();
    let events = Arc::new(Recorder::default());
    tracker.set_listener(Some(events.clone()));
    Harness {
        tracker,
        clock,
        events,
    }
}

impl Harness {
    /// Records a fix `north_m` metres north of the depot, `s` seconds after T0.
    fn at(&self, s: i64, north_m: f64) {
        let t = T0 + s * 1000;
        self.clock.set_ms(t);
        let lat = DEPOT.0 + north_m / 111_195.0;
        self.tracker.record(Fix::new(t, lat, DEPOT.1, 5.0)).unwrap();
    }

    fn stored(&self) -> Vec<crate::store::StoredFix> {
        lock(&self.tracker.shared.store)
            .peek_batch(1000)
            .unwrap()
            .fixes
    }

    fn queued_events(&self) -> Vec<crate::store::StoredEvent> {
        lock(&self.tracker.shared.store).peek_events(1000).unwrap()
    }
}

fn depot(dwell_ms: Option<i64>) -> Geofence {
    Geofence {
        metadata: vec![("customer".into(), "42".into())],
        dwell_ms,
        ..Geofence::circle("depot", DEPOT.0, DEPOT.1, 100.0)
    }
}

#[test]
fn arriving_and_leaving_fire_enter_then_exit_once_each_and_queue_them() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path(), Arc::new(ManualClock::new(T0)));
    h.tracker.start().unwrap();
    h.tracker.add_geofences(vec![depot(None)]).unwrap();
    // Approach from 400 m, stay, leave to 400 m again: 1 fix every 10 s.
    for (i, d) in [
        400.0, 300.0, 200.0, 120.0, 50.0, 10.0, 0.0, 20.0, 60.0, 150.0, 300.0, 400.0,
    ]
    .into_iter()
    .enumerate()
    {
        h.at(i as i64 * 10, d);
    }
    assert_eq!(
        h.events.geofence_events(),
        vec![
            (GeofenceTransition::Enter, "depot".to_owned()),
            (GeofenceTransition::Exit, "depot".to_owned())
        ]
    );
    let queued = h.queued_events();
    let kinds: Vec<EventKind> = queued.iter().map(|e| e.event.kind).collect();
    assert_eq!(kinds, vec![EventKind::Enter, EventKind::Exit]);
    // The server learns where and the geofence's metadata.
    assert!(queued[0].event.position.is_some());
    assert_eq!(
        queued[0].event.metadata,
        vec![("customer".into(), "42".into())]
    );
    // 50 m in with 5 m accuracy (+10 m hysteresis) decides Enter: the fix at 40 s.
    assert_eq!(queued[0].event.time_ms, T0 + 40_000);
}

#[test]
fn geofences_and_their_state_survive_a_restart_without_a_second_enter() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let h = open(dir.path(), clock.clone());
        h.tracker.start().unwrap();
        h.tracker
            .add_geofences(vec![
                depot(Some(300_000)),
                Geofence::polygon(
                    "yard",
                    vec![(48.80, 2.30), (48.81, 2.30), (48.81, 2.31), (48.80, 2.31)],
                ),
            ])
            .unwrap();
        h.at(0, 0.0);
        assert_eq!(h.events.geofence_events().len(), 1);
    }
    let h = open(dir.path(), clock.clone());
    let ids: Vec<String> = h.tracker.geofences().into_iter().map(|g| g.id).collect();
    assert_eq!(ids, vec!["depot", "yard"]);
    assert_eq!(h.tracker.geofences()[0], depot(Some(300_000)));
    // Still inside after the restart: no Enter again, and the dwell clock kept its start.
    h.at(200, 5.0);
    assert!(h.events.geofence_events().is_empty());
    clock.set_ms(T0 + 300_000);
    h.tracker.tick();
    assert_eq!(
        h.events.geofence_events(),
        vec![(GeofenceTransition::Dwell, "depot".to_owned())]
    );
    // Enter (before the restart) and Dwell are both queued for the server.
    let kinds: Vec<EventKind> = h.queued_events().iter().map(|e| e.event.kind).collect();
    assert_eq!(kinds, vec![EventKind::Enter, EventKind::Dwell]);
}

#[test]
fn removed_geofences_stay_removed_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let h = open(dir.path(), clock.clone());
        h.tracker.add_geofences(vec![depot(None)]).unwrap();
        h.tracker
            .add_geofences(vec![Geofence::circle("b", 1.0, 1.0, 50.0)])
            .unwrap();
        assert!(h.tracker.remove_geofence("depot").unwrap());
        assert!(!h.tracker.remove_geofence("depot").unwrap());
    }
    let h = open(dir.path(), clock.clone());
    let ids: Vec<String> = h.tracker.geofences().into_iter().map(|g| g.id).collect();
    assert_eq!(ids, vec!["b"]);
    h.tracker.remove_all_geofences().unwrap();
    drop(h);
    assert!(open(dir.path(), clock).tracker.geofences().is_empty());
}

#[test]
fn an_invalid_geofence_is_a_typed_error_and_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path(), Arc::new(ManualClock::new(T0)));
    let bad = Geofence::circle("bad", 91.0, 0.0, 100.0);
    let err = h.tracker.add_geofences(vec![depot(None), bad]).unwrap_err();
    assert!(matches!(err, TrackerError::InvalidGeofence(_)), "{err:?}");
    assert!(!err.to_string().contains("91"), "no coordinates in errors");
    assert!(h.tracker.geofences().is_empty());
}

#[test]
fn the_region_request_follows_the_device_within_the_os_limit() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path(), Arc::new(ManualClock::new(T0)));
    h.tracker.start().unwrap();
    // 50 geofences 1 km apart northwards; the default limit is iOS's 20 (19 + stationary).
    let fences: Vec<Geofence> = (0..50)
        .map(|i| {
            Geofence::circle(
                format!("g{i}"),
                DEPOT.0 + i as f64 / 111.195,
                DEPOT.1,
                100.0,
            )
        })
        .collect();
    h.tracker.add_geofences(fences).unwrap();
    h.at(0, 0.0);
    let first = h.events.last_regions().unwrap();
    assert_eq!(first.regions.len(), IOS_MAX - 1);
    assert_eq!(first.regions[0].id, "g0");
    assert_eq!(h.tracker.region_request(), first);
    // 30 km north the nearest is g30 and the set covers g21..g39.
    h.at(1_000, 30_000.0);
    let moved = h.events.last_regions().unwrap();
    assert_eq!(moved.regions[0].id, "g30");
    assert_eq!(moved.regions.len(), IOS_MAX - 1);
    assert!(moved.regions.iter().all(|r| {
        let n: usize = r.id[1..].parse().unwrap();
        (21..=39).contains(&n)
    }));
}

const IOS_MAX: usize = crate::geofence::IOS_MAX_REGIONS;

#[test]
fn fixes_carry_the_trip_and_extras_in_force_and_trips_are_events() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let h = open(dir.path(), clock.clone());
        h.tracker.start().unwrap();
        h.at(0, 0.0);
        h.tracker
            .start_trip("order-17".into(), vec![("driver".into(), "ana".into())])
            .unwrap();
        h.tracker
            .set_fix_extras(vec![("load".into(), "full".into())])
            .unwrap();
        h.at(10, 20.0);
    }
    // The trip and extras are still in force after a restart.
    let h = open(dir.path(), clock.clone());
    assert_eq!(h.tracker.current_trip().as_deref(), Some("order-17"));
    h.at(20, 40.0);
    assert_eq!(h.tracker.end_trip().unwrap().as_deref(), Some("order-17"));
    assert_eq!(h.tracker.end_trip().unwrap(), None);
    h.at(30, 60.0);
    let trips: Vec<Option<String>> = h
        .stored()
        .iter()
        .map(|f| f.annotation.trip_id.clone())
        .collect();
    let order = Some("order-17".to_owned());
    assert_eq!(trips, vec![None, order.clone(), order, None]);
    assert!(h.stored()[0].annotation.extras.is_empty());
    assert_eq!(
        h.stored()[3].annotation.extras,
        vec![("load".to_owned(), "full".to_owned())]
    );
    let queued = h.queued_events();
    let kinds: Vec<EventKind> = queued.iter().map(|e| e.event.kind).collect();
    assert_eq!(kinds, vec![EventKind::TripStart, EventKind::TripEnd]);
    assert_eq!(
        queued[0].event.metadata,
        vec![("driver".into(), "ana".into())]
    );
}

#[test]
fn starting_a_trip_ends_the_running_one() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path(), Arc::new(ManualClock::new(T0)));
    h.tracker.start_trip("a".into(), vec![]).unwrap();
    h.tracker.start_trip("b".into(), vec![]).unwrap();
    let queued: Vec<(EventKind, Option<String>)> = h
        .queued_events()
        .into_iter()
        .map(|e| (e.event.kind, e.event.subject))
        .collect();
    assert_eq!(
        queued,
        vec![
            (EventKind::TripStart, Some("a".into())),
            (EventKind::TripEnd, Some("a".into())),
            (EventKind::TripStart, Some("b".into())),
        ]
    );
}

#[test]
fn extras_past_the_cap_are_a_typed_error_and_keep_the_previous_ones() {
    let dir = tempfile::tempdir().unwrap();
    let h = open(dir.path(), Arc::new(ManualClock::new(T0)));
    let ok = vec![("k".to_owned(), "v".to_owned())];
    h.tracker.set_fix_extras(ok.clone()).unwrap();
    let big = vec![("k".to_owned(), "v".repeat(2_000))];
    assert_eq!(
        h.tracker.set_fix_extras(big).unwrap_err(),
        TrackerError::InvalidMetadata(MetadataError::TooLarge { bytes: 2_001 })
    );
    assert_eq!(h.tracker.fix_extras(), ok);
    assert!(matches!(
        h.tracker.start_trip(String::new(), vec![]),
        Err(TrackerError::InvalidMetadata(
            MetadataError::InvalidTripId { .. }
        ))
    ));
    assert_eq!(h.tracker.current_trip(), None);
}

#[test]
fn device_metadata_is_queued_once_per_change_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let meta = vec![("app".to_owned(), "1.4.2".to_owned())];
    {
        let h = open(dir.path(), clock.clone());
        h.tracker.set_device_metadata(meta.clone()).unwrap();
        h.tracker.set_device_metadata(meta.clone()).unwrap();
    }
    let h = open(dir.path(), clock);
    h.tracker.set_device_metadata(meta).unwrap();
    h.tracker
        .set_device_metadata(vec![("app".into(), "1.5.0".into())])
        .unwrap();
    let queued = h.queued_events();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|e| e.event.kind == EventKind::Device));
    assert_eq!(queued[1].event.metadata[0].1, "1.5.0");
}

#[test]
fn an_os_region_event_resumes_sampling_to_confirm_it_with_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let h = open(dir.path(), clock.clone());
    h.tracker.start().unwrap();
    h.tracker.add_geofences(vec![depot(None)]).unwrap();
    // Still for long enough that the policy stops sampling continuously.
    for s in 0..400 {
        h.at(s, 400.0);
        h.tracker.tick();
    }
    assert_eq!(
        h.tracker.status().motion_state,
        Some(crate::policy::MotionState::Stationary)
    );
    h.tracker.on_region_event("depot");
    assert_eq!(
        h.tracker.status().motion_state,
        Some(crate::policy::MotionState::Moving)
    );
    // The OS's word alone fires nothing; the confirming fix does.
    assert!(h.events.geofence_events().is_empty());
    h.at(401, 0.0);
    assert_eq!(
        h.events.geofence_events(),
        vec![(GeofenceTransition::Enter, "depot".to_owned())]
    );
}
