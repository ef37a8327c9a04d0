//! Geofence, trip and device events through the real tracker and the real collector: the same
//! batches and idempotency as fixes (issue 10).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap fails the test

use std::sync::Arc;

use tracelet_collector::{ChaosConfig, CollectorConfig, RunningCollector};
use tracelet_core::geofence::Geofence;
use tracelet_core::upload::Encoding;
use tracelet_core::{Fix, SystemClock, Tracker, TrackerConfig};
use tracelet_tests::{TOKEN, now_ms};

const LAT0: f64 = 52.52;
const LON0: f64 = 13.405;

async fn collector_with(edit: impl FnOnce(&mut CollectorConfig)) -> RunningCollector {
    let mut config = CollectorConfig::loopback(vec![TOKEN.into()]);
    edit(&mut config);
    tracelet_collector::start(config).await.unwrap()
}

fn tracker(collector: &RunningCollector, device: &str, dir: &std::path::Path) -> Tracker {
    let mut config = TrackerConfig::new(collector.ingest_url(), device, TOKEN, dir);
    config.jitter_seed = Some(3);
    // Uploads happen on flush() only, so the test decides when a batch goes.
    config.upload.automatic = false;
    config.upload.encoding = Encoding::Compact;
    let tracker = Tracker::new(config, Arc::new(SystemClock)).unwrap();
    tracker.start().unwrap();
    tracker
}

/// A walk east along the parallel through the depot: from 300 m west to 300 m east, 10 m a step.
fn walk_through_depot(start_ms: i64) -> Vec<Fix> {
    (0..=60)
        .map(|i| {
            let east_m = -300.0 + f64::from(i) * 10.0;
            let lon = LON0 + east_m / (111_195.0 * LAT0.to_radians().cos());
            Fix {
                speed_mps: Some(1.4),
                bearing_deg: Some(90.0),
                ..Fix::new(start_ms + i64::from(i) * 7_000, LAT0, lon, 5.0)
            }
        })
        .collect()
}

fn kinds(collector: &RunningCollector, device: &str) -> Vec<(String, Option<String>)> {
    collector
        .events(device)
        .unwrap()
        .into_iter()
        .map(|e| (e.event.k, e.event.id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geofence_and_trip_events_arrive_once_with_the_fixes_that_carry_the_trip() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "gf-1", dir.path());
    tracker
        .set_device_metadata(vec![("app".into(), "4.2.0".into())])
        .unwrap();
    tracker
        .add_geofences(vec![Geofence {
            metadata: vec![("customer".into(), "42".into())],
            ..Geofence::circle("depot", LAT0, LON0, 100.0)
        }])
        .unwrap();
    tracker
        .start_trip("order-17".into(), vec![("driver".into(), "ana".into())])
        .unwrap();
    tracker
        .set_fix_extras(vec![("load".into(), "full".into())])
        .unwrap();
    let start = now_ms() - 3_600_000;
    tracker.record_batch(walk_through_depot(start)).unwrap();
    tracker.end_trip().unwrap();
    let report = tracker.flush().await.unwrap();
    assert_eq!(report.pending, 0);

    let events = kinds(&collector, "gf-1");
    let named = |k: &str, id: Option<&str>| (k.to_owned(), id.map(str::to_owned));
    assert_eq!(
        events,
        vec![
            named("device", None),
            named("trip_start", Some("order-17")),
            named("enter", Some("depot")),
            named("exit", Some("depot")),
            named("trip_end", Some("order-17")),
        ]
    );
    let stored = collector.events("gf-1").unwrap();
    assert_eq!(
        stored[0].event.m.get("app").map(String::as_str),
        Some("4.2.0")
    );
    assert_eq!(
        stored[2].event.m.get("customer").map(String::as_str),
        Some("42")
    );
    assert!(stored[2].event.la.is_some(), "a geofence event says where");
    // Every fix carries the trip and the extras (and went as JSON despite Compact).
    let fixes = collector.fixes("gf-1").unwrap();
    assert_eq!(fixes.len(), 61);
    assert!(
        fixes
            .iter()
            .all(|r| r.fix.tr.as_deref() == Some("order-17"))
    );
    assert!(
        fixes
            .iter()
            .all(|r| r.fix.x.get("load").map(String::as_str) == Some("full"))
    );
    collector.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_answer_was_lost_is_sent_again_and_stored_once() {
    // The server commits, then the connection drops before the answer: the SDK must retry,
    // and the retry must not duplicate the fixes or the events. Two collector processes share
    // one database file: the first always drops its answers, the second is healthy.
    let server_dir = tempfile::tempdir().unwrap();
    let db = server_dir.path().join("collector.sqlite3");
    let lossy = collector_with(|c| {
        c.db_path = Some(db.clone());
        c.chaos = Some(ChaosConfig {
            drop_after_commit: 1.0,
            ..ChaosConfig::off(9)
        });
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let first = tracker(&lossy, "gf-2", dir.path());
    first.start_trip("t-1".into(), vec![]).unwrap();
    first
        .record_batch(walk_through_depot(now_ms() - 3_600_000)[..5].to_vec())
        .unwrap();
    assert!(first.flush().await.is_err(), "the answer never came");
    assert_eq!(
        lossy.fixes("gf-2").unwrap().len(),
        5,
        "but the batch was stored"
    );
    drop(first);
    lossy.stop().await;

    let healthy = collector_with(|c| c.db_path = Some(db.clone())).await;
    let again = tracker(&healthy, "gf-2", dir.path());
    let report = again.flush().await.unwrap();
    assert_eq!(report.uploaded, 5, "the same batch went again");
    assert_eq!(healthy.fixes("gf-2").unwrap().len(), 5);
    assert_eq!(
        kinds(&healthy, "gf-2"),
        vec![("trip_start".into(), Some("t-1".into()))]
    );
    assert_eq!(again.flush().await.unwrap().uploaded, 0, "nothing left");
    healthy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_without_fixes_go_in_a_batch_of_their_own() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "gf-3", dir.path());
    tracker.start_trip("solo".into(), vec![]).unwrap();
    tracker.end_trip().unwrap();
    let report = tracker.flush().await.unwrap();
    assert_eq!(report.uploaded, 0, "no fixes");
    assert_eq!(
        kinds(&collector, "gf-3"),
        vec![
            ("trip_start".into(), Some("solo".into())),
            ("trip_end".into(), Some("solo".into()))
        ]
    );
    assert!(collector.fixes("gf-3").unwrap().is_empty());
    collector.stop().await;
}
