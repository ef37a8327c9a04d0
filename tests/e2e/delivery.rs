//! The delivery contract against the real collector: response classes, token refresh,
//! batch splitting, network policy and the compact encoding.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns; a failed unwrap fails the test

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tracelet_collector::{ChaosConfig, CollectorConfig, RunningCollector};
use tracelet_core::filter::Activity;
use tracelet_core::upload::Encoding;
use tracelet_core::{ManualClock, RecordOutcome};
use tracelet_core::{
    NetworkState, SystemClock, TokenProvider, Tracker, TrackerConfig, TrackerError,
};
use tracelet_tests::{TOKEN, now_ms, walk};

async fn collector_with(edit: impl FnOnce(&mut CollectorConfig)) -> RunningCollector {
    let mut config = CollectorConfig::loopback(vec![TOKEN.into()]);
    edit(&mut config);
    tracelet_collector::start(config).await.unwrap()
}

fn tracker(
    collector: &RunningCollector,
    device: &str,
    dir: &std::path::Path,
    edit: impl FnOnce(&mut TrackerConfig),
) -> Tracker {
    let mut config = TrackerConfig::new(collector.ingest_url(), device, TOKEN, dir);
    config.jitter_seed = Some(5);
    edit(&mut config);
    let tracker = Tracker::new(config, Arc::new(SystemClock)).unwrap();
    tracker.start().unwrap();
    tracker
}

fn record_walk(tracker: &Tracker, count: usize) {
    // Whole hours, so two trackers recording in the same test record identical fixes.
    let start = (now_ms() / 3_600_000 - 1) * 3_600_000;
    for fix in walk(start, count) {
        tracker.record(fix).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compact_encoding_delivers_the_same_fixes_as_json() {
    let collector = collector_with(|_| {}).await;
    let (json_dir, compact_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let json = tracker(&collector, "enc-json", json_dir.path(), |_| {});
    let compact = tracker(&collector, "enc-compact", compact_dir.path(), |c| {
        c.upload.encoding = Encoding::Compact;
    });
    record_walk(&json, 300);
    record_walk(&compact, 300);
    json.flush().await.unwrap();
    compact.flush().await.unwrap();
    let from_json: Vec<_> = collector
        .fixes("enc-json")
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.fix))
        .collect();
    let from_compact: Vec<_> = collector
        .fixes("enc-compact")
        .unwrap()
        .into_iter()
        .map(|r| (r.seq, r.fix))
        .collect();
    assert_eq!(from_json.len(), 300);
    assert!(from_compact == from_json, "the encodings disagree");
    assert!(compact.status().uploaded_bytes < json.status().uploaded_bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_refusal_is_dead_lettered_not_retried_forever() {
    let collector = collector_with(|c| {
        c.chaos = Some(ChaosConfig {
            unprocessable: 1.0,
            ..ChaosConfig::off(1)
        });
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "dead-letter", dir.path(), |c| {
        c.upload.max_batch_fixes = 50
    });
    record_walk(&tracker, 120);
    let report = tracker.flush().await.unwrap();
    assert_eq!(report.pending, 0);
    let status = tracker.status();
    assert_eq!(status.dead_lettered_total, 120);
    assert_eq!(
        status.upload_attempts, 3,
        "one attempt per batch, no retries"
    );
    assert!(collector.fixes("dead-letter").unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_too_large_splits_the_batch_until_it_fits() {
    let collector = collector_with(|c| c.max_body_bytes = 1_500).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "split", dir.path(), |c| {
        c.upload.max_batch_fixes = 400
    });
    record_walk(&tracker, 400);
    tracker.flush().await.unwrap();
    let stored = collector.fixes("split").unwrap();
    assert_eq!(stored.len(), 400);
    assert_eq!(collector.stats().duplicates, 0);
    assert_eq!(tracker.status().dead_lettered_total, 0);
}

struct CountingProvider {
    calls: AtomicU32,
}

impl TokenProvider for CountingProvider {
    fn fresh_token(&self) -> Option<String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Some(TOKEN.into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_asks_the_app_for_a_token_once_then_delivers() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "token", dir.path(), |c| {
        c.bearer_token = "expired".into()
    });
    let provider = Arc::new(CountingProvider {
        calls: AtomicU32::new(0),
    });
    tracker.set_token_provider(Some(provider.clone()));
    record_walk(&tracker, 10);
    tracker.flush().await.unwrap();
    assert_eq!(collector.fixes("token").unwrap().len(), 10);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_provider_401_keeps_the_fixes_and_backs_off() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "no-token", dir.path(), |c| {
        c.bearer_token = "expired".into()
    });
    record_walk(&tracker, 10);
    assert!(matches!(
        tracker.flush().await,
        Err(TrackerError::Upload(_))
    ));
    assert_eq!(tracker.status().pending_count, 10);
    tracker.set_bearer_token(TOKEN.into()).unwrap();
    tracker.flush().await.unwrap();
    assert_eq!(collector.fixes("no-token").unwrap().len(), 10);
}

/// Waits (bounded) until the collector holds `count` fixes of `device`.
async fn wait_for(collector: &RunningCollector, device: &str, count: usize) -> usize {
    for _ in 0..500 {
        let n = collector.fixes(device).unwrap().len();
        if n >= count {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    collector.fixes(device).unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_uploads_without_waiting_for_the_count_or_delay() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    // Virtual time, so the stop timeout passes without waiting for it.
    let start = (now_ms() / 1000) * 1000;
    let clock = Arc::new(ManualClock::new(start));
    let mut config = TrackerConfig::new(collector.ingest_url(), "motion", TOKEN, dir.path());
    config.jitter_seed = Some(5);
    let tracker = Tracker::new(config, clock.clone()).unwrap();
    tracker.start().unwrap();
    tracker.on_activity(Activity::Vehicle);
    for (i, fix) in walk(start, 7).into_iter().enumerate() {
        clock.set_ms(start + i as i64 * 1000);
        tracker.record(fix).unwrap();
    }
    assert!(
        collector.fixes("motion").unwrap().is_empty(),
        "below every trigger"
    );
    // The user stops: still for longer than the "still" timeout, with no fixes.
    tracker.on_activity(Activity::Still);
    clock.set_ms(start + 7_000 + 125_000);
    tracker.tick();
    assert_eq!(
        tracker.status().motion_state,
        Some(tracelet_core::policy::MotionState::Stationary)
    );
    assert_eq!(wait_for(&collector, "motion", 7).await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmetered_only_waits_for_wifi() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "wifi", dir.path(), |c| {
        c.upload.unmetered_only = true
    });
    tracker.set_network(NetworkState {
        connected: true,
        unmetered: false,
    });
    record_walk(&tracker, 20);
    assert!(matches!(
        tracker.flush().await,
        Err(TrackerError::Upload(_))
    ));
    assert!(collector.fixes("wifi").unwrap().is_empty());
    tracker.set_network(NetworkState {
        connected: true,
        unmetered: true,
    });
    tracker.flush().await.unwrap();
    assert_eq!(collector.fixes("wifi").unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jump_is_filtered_counted_by_reason_and_never_uploaded() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "jump", dir.path(), |_| {});
    let start = (now_ms() / 3_600_000 - 1) * 3_600_000;
    let mut fixes = walk(start, 20);
    // Fix 10 lands 50 km away, one second after fix 9: a teleport, not a trip.
    fixes[10].latitude_deg += 0.45;
    let mut filtered = Vec::new();
    for (i, fix) in fixes.into_iter().enumerate() {
        if let RecordOutcome::Filtered { reason } = tracker.record(fix).unwrap() {
            filtered.push((i, reason.name()));
        }
    }
    assert_eq!(filtered, vec![(10, "implied_speed")]);
    let status = tracker.status();
    assert_eq!(
        status.rejected_by_reason,
        vec![tracelet_core::ReasonCount {
            reason: "implied_speed".to_owned(),
            count: 1
        }]
    );
    tracker.flush().await.unwrap();
    assert_eq!(collector.fixes("jump").unwrap().len(), 19);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stationary_heartbeats_are_judged_but_only_a_departure_is_stored() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let start = (now_ms() / 1000) * 1000;
    let clock = Arc::new(ManualClock::new(start));
    let config = TrackerConfig::new(collector.ingest_url(), "heartbeat", TOKEN, dir.path());
    let tracker = Tracker::new(config, clock.clone()).unwrap();
    tracker.start().unwrap();
    let at = |t_s: i64, north_m: f64, acc: f64| {
        tracelet_core::Fix::new(start + t_s * 1000, 48.0 + north_m / 111_195.0, 11.0, acc)
    };
    tracker.record(at(0, 0.0, 5.0)).unwrap();
    clock.set_ms(start + 200_000);
    tracker.tick();
    assert_eq!(
        tracker.status().motion_state,
        Some(tracelet_core::policy::MotionState::Stationary)
    );
    // A network heartbeat 60 m off with 100 m accuracy: no movement, not stored.
    clock.set_ms(start + 1_100_000);
    let heartbeat = tracker.record(at(1_100, 60.0, 100.0)).unwrap();
    assert!(
        matches!(heartbeat, RecordOutcome::Filtered { reason } if reason.name() == "stationary"),
        "{heartbeat:?}"
    );
    // A GNSS fix 300 m away: a departure, stored, and sampling resumes.
    clock.set_ms(start + 1_200_000);
    let departure = tracker.record(at(1_200, 300.0, 8.0)).unwrap();
    assert!(
        matches!(departure, RecordOutcome::Stored { .. }),
        "{departure:?}"
    );
    assert_eq!(
        tracker.status().motion_state,
        Some(tracelet_core::policy::MotionState::Moving)
    );
    tracker.flush().await.unwrap();
    assert_eq!(collector.fixes("heartbeat").unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_battery_and_overrides_change_the_sampling_request() {
    let collector = collector_with(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let tracker = tracker(&collector, "power", dir.path(), |_| {});
    let normal = tracker.sampling_request();
    tracker.set_power(tracelet_core::policy::PowerState {
        battery_percent: Some(10),
        charging: false,
        power_save: false,
    });
    let saving = tracker.sampling_request();
    assert!(saving.interval_ms > normal.interval_ms, "{saving:?}");
    tracker.set_power(tracelet_core::policy::PowerState {
        battery_percent: Some(10),
        charging: true,
        power_save: false,
    });
    assert_eq!(tracker.sampling_request(), normal);
    tracker
        .set_policy_parameter("moving_interval_ms", 20_000.0)
        .unwrap();
    assert_eq!(tracker.sampling_request().interval_ms, 20_000);
    assert!(tracker.set_policy_parameter("warp_factor", 9.0).is_err());
    assert!(
        tracker
            .set_policy_parameter("fastest_interval_ms", 1e9)
            .is_err()
    );
    assert_eq!(
        tracker.sampling_request().interval_ms,
        20_000,
        "nothing changed"
    );
}

#[derive(Default)]
struct Smoothings(std::sync::Mutex<Vec<u64>>);

impl tracelet_core::EventListener for Smoothings {
    fn on_event(&self, event: tracelet_core::Event) {
        if let tracelet_core::Event::FixSmoothed { seq, .. } = event {
            self.0.lock().unwrap().push(seq);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoothed_positions_are_reported_and_uploaded_only_when_asked_for() {
    let collector = collector_with(|_| {}).await;
    let (plain_dir, smooth_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = tracker(&collector, "plain", plain_dir.path(), |_| {});
    let smooth = tracker(&collector, "smooth", smooth_dir.path(), |c| {
        c.upload.include_smoothed = true;
    });
    let events = Arc::new(Smoothings::default());
    smooth.set_listener(Some(events.clone()));
    record_walk(&plain, 20);
    record_walk(&smooth, 20);
    plain.flush().await.unwrap();
    smooth.flush().await.unwrap();
    assert_eq!(*events.0.lock().unwrap(), (1..=20).collect::<Vec<u64>>());
    let smoothed = collector.fixes("smooth").unwrap();
    assert_eq!(smoothed.len(), 20);
    for row in &smoothed {
        let (la, lo, ac) = (
            row.fix.sla.unwrap(),
            row.fix.slo.unwrap(),
            row.fix.sac.unwrap(),
        );
        // Smoothing moves a clean walk by metres, never kilometres; the raw stays beside it.
        assert!(
            (la - row.fix.la).abs() < 1e-3 && (lo - row.fix.lo).abs() < 1e-3,
            "{row:?}"
        );
        assert!(ac > 0.0);
    }
    assert!(
        collector
            .fixes("plain")
            .unwrap()
            .iter()
            .all(|r| r.fix.sla.is_none())
    );
}
