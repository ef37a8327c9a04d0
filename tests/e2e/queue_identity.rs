//! Exactly-once across queues that are wiped, restored or cloned, against the real collector:
//! each queue database numbers its fixes in a stream of its own, and the server keys on
//! (device, stream, sequence).
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap fails the test

use std::path::Path;
use std::sync::{Arc, Mutex};

use tracelet_collector::{ChaosConfig, CollectorConfig, RunningCollector};
use tracelet_core::store::{DATABASE_FILE, MARKER_FILE};
use tracelet_core::{Event, EventListener, SystemClock, Tracker, TrackerConfig};
use tracelet_tests::{TOKEN, now_ms, start_collector, walk};

#[derive(Default)]
struct Anomalies(Mutex<Vec<Event>>);

impl EventListener for Anomalies {
    fn on_event(&self, event: Event) {
        if matches!(event, Event::DeliveryAnomaly { .. }) {
            self.0.lock().unwrap().push(event);
        }
    }
}

fn tracker(
    collector: &RunningCollector,
    device: &str,
    dir: &Path,
    marker_dir: &Path,
) -> (Tracker, Arc<Anomalies>) {
    let mut config = TrackerConfig::new(collector.ingest_url(), device, TOKEN, dir);
    config.marker_dir = Some(marker_dir.to_owned());
    config.jitter_seed = Some(3);
    config.upload.automatic = false;
    let tracker = Tracker::new(config, Arc::new(SystemClock)).unwrap();
    let anomalies = Arc::new(Anomalies::default());
    tracker.set_listener(Some(anomalies.clone()));
    tracker.start().unwrap();
    (tracker, anomalies)
}

/// Fixes of one walk, `hours_ago` whole hours back, so that runs differ in time.
fn record(tracker: &Tracker, hours_ago: i64, count: usize) -> Vec<i64> {
    let start = (now_ms() / 3_600_000 - hours_ago) * 3_600_000;
    let fixes = walk(start, count);
    for fix in &fixes {
        tracker.record(fix.clone()).unwrap();
    }
    fixes.iter().map(|f| f.time_ms).collect()
}

fn stored_times(collector: &RunningCollector, device: &str) -> Vec<i64> {
    let mut times: Vec<i64> = collector
        .fixes(device)
        .unwrap()
        .iter()
        .map(|r| r.fix.t)
        .collect();
    times.sort_unstable();
    times
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_queue_with_the_same_device_id_loses_nothing() {
    let collector = start_collector().await;
    let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut sent = Vec::new();
    for round in 0..3 {
        let (tracker, anomalies) = tracker(&collector, "wiped", dir.path(), markers.path());
        sent.extend(record(&tracker, 10 - round, 120));
        let report = tracker.flush().await.unwrap();
        assert_eq!((report.uploaded, report.pending), (120, 0));
        assert!(anomalies.0.lock().unwrap().is_empty());
        drop(tracker);
        // "Clear data": the queue goes; the device id stays. Numbering restarts at 1.
        std::fs::remove_dir_all(dir.path()).unwrap();
    }
    assert_eq!(stored_times(&collector, "wiped"), sent);
    assert_eq!(collector.stats().duplicates, 0);
    collector.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_on_a_new_phone_and_the_old_phone_both_deliver_everything_once() {
    let collector = start_collector().await;
    let (old_dir, old_markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (old, _) = tracker(&collector, "restored", old_dir.path(), old_markers.path());
    let mut sent = record(&old, 9, 50);
    // The backup is taken with 50 fixes pending; the new phone restores it without the marker,
    // which lives where backups do not reach. The old phone uploads them too.
    let (new_dir, new_markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for file in [DATABASE_FILE.to_owned(), format!("{DATABASE_FILE}-wal")] {
        std::fs::copy(old_dir.path().join(&file), new_dir.path().join(&file)).unwrap();
    }
    old.flush().await.unwrap();
    sent.extend(record(&old, 8, 40));
    old.flush().await.unwrap();

    let (new, anomalies) = tracker(&collector, "restored", new_dir.path(), new_markers.path());
    sent.extend(record(&new, 7, 60));
    new.flush().await.unwrap();
    assert_eq!(new.status().pending_count, 0);
    // The restored 50 were repeats, expected of rows from another phone's stream: not an anomaly.
    assert_eq!(collector.stats().duplicates, 50);
    assert!(anomalies.0.lock().unwrap().is_empty());
    let mut expected = sent.clone();
    expected.sort_unstable();
    assert_eq!(stored_times(&collector, "restored"), expected);
    collector.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_retried_is_no_anomaly() {
    let collector = tracelet_collector::start(CollectorConfig {
        chaos: Some(ChaosConfig {
            drop_after_commit: 0.5,
            ..ChaosConfig::off(11)
        }),
        ..CollectorConfig::loopback(vec![TOKEN.into()])
    })
    .await
    .unwrap();
    let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (tracker, anomalies) = tracker(&collector, "lost-answer", dir.path(), markers.path());
    let sent = record(&tracker, 5, 400);
    for _ in 0..50 {
        if tracker
            .flush()
            .await
            .is_ok_and(|report| report.pending == 0)
        {
            break;
        }
    }
    assert!(
        collector.chaos_counts().drops_after_commit > 0,
        "no answer was lost"
    );
    assert!(collector.stats().duplicates > 0, "the retries were repeats");
    assert_eq!(stored_times(&collector, "lost-answer"), sent);
    assert!(anomalies.0.lock().unwrap().is_empty());
    assert_eq!(tracker.status().delivery_anomalies, 0);
    collector.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_queues_sharing_one_stream_are_reported_as_a_delivery_anomaly() {
    let collector = start_collector().await;
    let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (original, _) = tracker(&collector, "cloned", dir.path(), markers.path());
    record(&original, 4, 30);
    // Cloned with its marker (no backup route does this; a hand-made copy can): one stream,
    // two queues, both holding fixes 1-30.
    let (clone_dir, clone_markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (from, to, file) in [
        (dir.path(), clone_dir.path(), DATABASE_FILE.to_owned()),
        (dir.path(), clone_dir.path(), format!("{DATABASE_FILE}-wal")),
        (markers.path(), clone_markers.path(), MARKER_FILE.to_owned()),
    ] {
        std::fs::copy(from.join(&file), to.join(&file)).unwrap();
    }
    original.flush().await.unwrap();
    let (clone, anomalies) = tracker(&collector, "cloned", clone_dir.path(), clone_markers.path());
    clone.flush().await.unwrap();
    assert_eq!(
        *anomalies.0.lock().unwrap(),
        vec![Event::DeliveryAnomaly {
            first_seq: 1,
            last_seq: 30,
            duplicates: 30,
            event_duplicates: 0,
        }]
    );
    assert_eq!(clone.status().delivery_anomalies, 1);
    collector.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_loses_no_fix_recorded_after_it() {
    let collector = start_collector().await;
    let (dir, markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (before, _) = tracker(&collector, "power-cut", dir.path(), markers.path());
    let mut expected = record(&before, 6, 20);
    before.flush().await.unwrap();
    // Recorded, never synced: the contract allows a power cut to lose these.
    record(&before, 5, 5);
    // The power goes: storage keeps the WAL as far as it was synced before the upload, and the
    // marker. Copied while open, since closing would checkpoint the WAL away.
    let (cut, cut_markers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::copy(
        dir.path().join(DATABASE_FILE),
        cut.path().join(DATABASE_FILE),
    )
    .unwrap();
    std::fs::copy(
        markers.path().join(MARKER_FILE),
        cut_markers.path().join(MARKER_FILE),
    )
    .unwrap();
    let wal = std::fs::read(dir.path().join(format!("{DATABASE_FILE}-wal"))).unwrap();
    let synced = usize::try_from(before.synced_wal_len()).unwrap();
    std::fs::write(
        cut.path().join(format!("{DATABASE_FILE}-wal")),
        &wal[..synced.min(wal.len())],
    )
    .unwrap();
    drop(before);

    let (after, anomalies) = tracker(&collector, "power-cut", cut.path(), cut_markers.path());
    expected.extend(record(&after, 4, 30));
    after.flush().await.unwrap();
    assert_eq!(after.status().pending_count, 0);
    assert!(anomalies.0.lock().unwrap().is_empty());
    assert_eq!(stored_times(&collector, "power-cut"), expected);
    collector.stop().await;
}
