//! The tracker under the conditions phones meet: uploads blocked for hours, clocks set back
//! and forward, a full disk, a platform transport that never answers, the app releasing the
//! tracker inside a callback. Real SQLite files; virtual clocks; transports written here stand
//! in for the network (the end-to-end tests use the real collector).

use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};

use super::*;
use crate::clock::ManualClock;
use crate::filter::RejectReason;
use crate::fix::Fix;
use crate::geofence::Geofence;
use crate::geofencing::GeofenceTransition;
use crate::policy::MotionState;
use crate::upload::{TransportFuture, UploadRequest, UploadResponse};

const T0: i64 = 1_700_000_000_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Answers every request with `status` and counts them.
struct Answering {
    status: u16,
    calls: AtomicU32,
}

impl Transport for Answering {
    fn send(&self, _request: UploadRequest) -> TransportFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let status = self.status;
        Box::pin(async move {
            Ok(UploadResponse {
                status,
                ..UploadResponse::default()
            })
        })
    }
}

/// A platform transport that never answers (its future never completes); says when called.
struct Silent(Mutex<std::sync::mpsc::Sender<()>>);

impl Transport for Silent {
    fn send(&self, _request: UploadRequest) -> TransportFuture<'_> {
        let _ = self.0.lock().unwrap().send(());
        Box::pin(std::future::pending())
    }
}

fn config(dir: &std::path::Path) -> TrackerConfig {
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev-1", "tok", dir);
    config.jitter_seed = Some(1);
    config
}

fn tracker(
    dir: &std::path::Path,
    clock: &Arc<ManualClock>,
    transport: Arc<dyn Transport>,
    edit: impl FnOnce(&mut TrackerConfig),
) -> Tracker {
    let mut config = config(dir);
    edit(&mut config);
    let tracker = Tracker::with_transport(config, clock.clone(), transport).unwrap();
    tracker.start().unwrap();
    tracker
}

/// A fix `north_m` north of a fixed point at wall time `t`.
fn fix_at(t: i64, north_m: f64) -> Fix {
    Fix::new(t, 48.8566 + north_m / 111_195.0, 2.3522, 5.0)
}

/// Records one fix per second for `seconds`, walking north at 1.4 m/s from `from_m`.
fn walk(tracker: &Tracker, clock: &ManualClock, seconds: i64, from_m: f64) {
    for s in 0..seconds {
        clock.advance_ms(1_000);
        tracker
            .record(fix_at(clock.now_ms(), from_m + s as f64 * 1.4))
            .unwrap();
    }
}

#[test]
fn with_the_network_down_no_timer_wakes_the_uploader_for_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Answering {
            status: 200,
            calls: AtomicU32::new(0),
        }),
        |c| {
            c.upload.batch_trigger_count = 100;
            c.upload.unmetered_only = true;
        },
    );
    tracker.set_network(NetworkState {
        connected: false,
        unmetered: false,
    });
    walk(&tracker, &clock, 150, 0.0);
    // 150 pending, past the count trigger: without a network only the stop timeout is due.
    assert_eq!(tracker.status().pending_count, 150);
    assert!(!tracker.upload_wanted());
    let stop_deadline = lock(&tracker.shared.decider).next_deadline_ms();
    assert_eq!(tracker.next_wake_ms(), stop_deadline);
    assert!(stop_deadline.is_some_and(|t| t > tracker.shared.steady.now_ms()));
    // Still: after the stop, nothing at all is scheduled.
    clock.advance_ms(10 * 60_000);
    tracker.tick();
    assert_eq!(tracker.status().motion_state, Some(MotionState::Stationary));
    assert_eq!(tracker.next_wake_ms(), None);
    // On Wi-Fi-only uploads, a cellular network changes nothing either.
    tracker.set_network(NetworkState {
        connected: true,
        unmetered: false,
    });
    assert_eq!(tracker.next_wake_ms(), None, "still no usable network");
}

#[test]
fn the_uploader_sleeps_until_something_can_change() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let transport = Arc::new(Answering {
        status: 200,
        calls: AtomicU32::new(0),
    });
    let tracker = tracker(dir.path(), &clock, transport.clone(), |c| {
        c.upload.max_delay_ms = 120_000;
    });
    walk(&tracker, &clock, 10, 0.0);
    // A few fixes wait for the delay, measured from the first one's arrival.
    let stop = lock(&tracker.shared.decider).next_deadline_ms();
    let upload_due = tracker.shared.steady.now_ms() - 9_000 + 120_000;
    assert_eq!(
        tracker.next_wake_ms(),
        stop.map_or(Some(upload_due), |s| Some(s.min(upload_due)))
    );
}

#[test]
fn a_clock_set_back_three_hours_keeps_the_backoff_and_the_stop_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let failing = Arc::new(Answering {
        status: 503,
        calls: AtomicU32::new(0),
    });
    let tracker = tracker(dir.path(), &clock, failing, |c| {
        c.upload.automatic = false;
        c.upload.min_backoff_ms = 60_000;
        c.upload.max_backoff_ms = 60_000;
    });
    walk(&tracker, &clock, 100, 0.0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert!(runtime.block_on(tracker.flush()).is_err());
    let retry_at = lock(&tracker.shared.state).retry_at_ms.unwrap();
    clock.step_ms(-3 * HOUR_MS);
    // The retry is a minute of elapsed time away, not three hours and a minute.
    assert!(retry_at - tracker.shared.steady.now_ms() <= 60_000);
    clock.advance_ms(60_001);
    assert!(tracker.upload_wanted(), "due once the backoff has passed");
    // The phone stands still (fixes stamped by the stepped clock): it stops after the usual
    // stop timeout, not three hours later.
    let still_from = clock.monotonic_ms();
    while tracker.status().motion_state != Some(MotionState::Stationary) {
        clock.advance_ms(1_000);
        tracker.record(fix_at(clock.now_ms(), 140.0)).unwrap();
        tracker.tick();
        assert!(
            clock.monotonic_ms() - still_from < 10 * 60_000,
            "never stopped"
        );
    }
    let stopped_after = clock.monotonic_ms() - still_from;
    assert!(stopped_after <= 181_000, "{stopped_after} ms");
}

#[test]
fn a_clock_set_back_lets_geofences_follow_the_new_times() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Answering {
            status: 200,
            calls: AtomicU32::new(0),
        }),
        |c| {
            c.upload.automatic = false;
            c.filter = None;
        },
    );
    let events = Arc::new(Events::default());
    tracker.set_listener(Some(events.clone()));
    tracker
        .add_geofences(vec![Geofence::circle("depot", 48.8566, 2.3522, 100.0)])
        .unwrap();
    // Outside, then the clock goes back 3 h, then the phone walks in.
    for s in 0..5 {
        clock.advance_ms(1_000);
        tracker
            .record(fix_at(clock.now_ms(), 500.0 - s as f64))
            .unwrap();
    }
    clock.step_ms(-3 * HOUR_MS);
    for s in 0..5 {
        clock.advance_ms(1_000);
        tracker
            .record(fix_at(clock.now_ms(), 10.0 + s as f64))
            .unwrap();
    }
    assert_eq!(events.enters(), 1, "Enter fires on the new timeline");
}

#[test]
fn a_week_forward_loses_no_pending_fix() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Answering {
            status: 200,
            calls: AtomicU32::new(0),
        }),
        |c| c.upload.automatic = false,
    );
    walk(&tracker, &clock, 50, 0.0);
    clock.step_ms(8 * DAY_MS);
    // A GNSS fix stamped before the step, and the device clock's own after it.
    walk(&tracker, &clock, 1, 70.0);
    let status = tracker.status();
    assert_eq!(status.evicted_total, 0);
    assert_eq!(status.pending_count, 51);
}

#[test]
fn a_device_clock_behind_gnss_time_still_records_gnss_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Answering {
            status: 200,
            calls: AtomicU32::new(0),
        }),
        |c| c.upload.automatic = false,
    );
    // The device clock is two hours behind the satellites.
    let gnss = |t: i64, north: f64| Fix {
        provider: crate::fix::Provider::Gps,
        ..fix_at(t + 2 * HOUR_MS, north)
    };
    for s in 0..20 {
        clock.advance_ms(1_000);
        let outcome = tracker
            .record(gnss(clock.now_ms(), s as f64 * 1.4))
            .unwrap();
        assert!(
            matches!(outcome, RecordOutcome::Stored { .. }),
            "{outcome:?}"
        );
    }
    // The same times from a provider that stamps with the device clock are refused.
    let fused = Fix {
        provider: crate::fix::Provider::Fused,
        ..fix_at(clock.now_ms() + 2 * HOUR_MS, 40.0)
    };
    assert!(matches!(
        tracker.record(fused),
        Err(TrackerError::InvalidFix(crate::fix::FixError::TimeInFuture))
    ));
    // And the filter still refuses a repeat of the last GNSS fix.
    let repeat = gnss(clock.now_ms(), 19.0 * 1.4);
    assert_eq!(
        tracker.record(repeat).unwrap(),
        RecordOutcome::Filtered {
            reason: RejectReason::Duplicate
        }
    );
}

#[test]
fn a_failed_write_leaves_the_filter_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Answering {
            status: 200,
            calls: AtomicU32::new(0),
        }),
        |c| c.upload.automatic = false,
    );
    walk(&tracker, &clock, 5, 0.0);
    let fixes: Vec<Fix> = (1..=20)
        .map(|s| fix_at(clock.now_ms() + s * 1_000, 7.0 + s as f64 * 1.4))
        .collect();
    let pages = lock(&tracker.shared.store).page_count().unwrap();
    lock(&tracker.shared.store)
        .set_max_page_count(pages)
        .unwrap();
    let big: Vec<Fix> = fixes.iter().cycle().take(20).cloned().collect();
    // Padding makes the batch need a new page: the disk is "full".
    let mut padded = big.clone();
    padded.extend((21..3_000).map(|s| fix_at(clock.now_ms() + s * 1_000, 7.0 + s as f64 * 1.4)));
    assert!(matches!(
        tracker.record_batch(padded),
        Err(TrackerError::StorageFull)
    ));
    lock(&tracker.shared.store)
        .set_max_page_count(1_000_000)
        .unwrap();
    // The same fixes again are judged afresh: none is refused as a repeat or out of order.
    let again = tracker.record_batch(fixes).unwrap();
    assert_eq!(again.accepted.len(), 20);
    assert!(again.filtered.is_empty(), "{:?}", again.filtered);
}

#[test]
fn close_returns_even_when_the_transport_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (called, calls) = std::sync::mpsc::channel();
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Silent(Mutex::new(called))),
        // The request timeout is long: closing must not wait for it.
        |c| c.upload.request_timeout_ms = 600_000,
    );
    walk(&tracker, &clock, 5, 0.0);
    tracker.on_app_background();
    // Generous deadlines that fail the test instead of hanging it; nothing is timed.
    calls
        .recv_timeout(Duration::from_secs(60))
        .expect("the uploader reached the transport");
    let (closed, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(tracker);
        let _ = closed.send(());
    });
    done.recv_timeout(Duration::from_secs(60))
        .expect("close returned while the transport was still silent");
}

/// Records geofence Enters, and drops the tracker it is given when an upload succeeds (the app
/// closing the SDK from inside a callback, on the upload thread).
#[derive(Default)]
struct Events {
    enters: Mutex<u32>,
    close_on_upload: Mutex<Option<Tracker>>,
    closed_on: Mutex<Option<std::thread::ThreadId>>,
}

impl Events {
    fn enters(&self) -> u32 {
        *self.enters.lock().unwrap()
    }
}

impl EventListener for Events {
    fn on_event(&self, event: Event) {
        match event {
            Event::Geofence {
                transition: GeofenceTransition::Enter,
                ..
            } => *self.enters.lock().unwrap() += 1,
            Event::UploadSucceeded { .. } => {
                let tracker = self.close_on_upload.lock().unwrap().take();
                if tracker.is_some() {
                    *self.closed_on.lock().unwrap() = Some(std::thread::current().id());
                }
                drop(tracker);
            }
            _ => {}
        }
    }
}

#[test]
fn closing_from_inside_a_callback_on_the_upload_thread_does_not_abort() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let tracker = tracker(
        dir.path(),
        &clock,
        Arc::new(Answering {
            status: 200,
            calls: AtomicU32::new(0),
        }),
        |_| {},
    );
    let events = Arc::new(Events::default());
    tracker.set_listener(Some(events.clone()));
    walk(&tracker, &clock, 3, 0.0);
    let upload_thread = tracker.worker.as_ref().map(|w| w.id);
    let flushes = tracker.flushes.clone();
    *events.close_on_upload.lock().unwrap() = Some(tracker);
    // Ask for an upload through the channel `flush` uses; the reply comes after the callback
    // has dropped the tracker on the upload thread.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (reply, answer) = oneshot::channel();
    runtime.block_on(async {
        flushes.send(reply).await.unwrap();
    });
    // The upload thread survived dropping the tracker inside the callback: it still answers.
    let report = runtime.block_on(answer).unwrap().unwrap();
    assert_eq!(report.uploaded, 3);
    assert_eq!(*events.closed_on.lock().unwrap(), upload_thread);
}
