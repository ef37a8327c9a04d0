//! `current_position` through the real tracker with the virtual clock. The future is polled
//! by hand (a no-op waker), so that fixes can be recorded between polls on this thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::*;
use crate::clock::ManualClock;
use crate::fix::Fix;
use crate::platform::LocationAccess;
use crate::policy::Priority;
use crate::position_request::{CurrentPositionError, PositionRequest};

const T0: i64 = 1_700_000_000_000;

#[derive(Default)]
struct Sampling(Mutex<Vec<SamplingRequest>>);

impl EventListener for Sampling {
    fn on_event(&self, event: Event) {
        if let Event::SamplingChanged { request } = event {
            self.0.lock().unwrap().push(request);
        }
    }
}

fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> (Tracker, Arc<Sampling>) {
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev-1", "tok", dir);
    config.upload.automatic = false;
    config.jitter_seed = Some(1);
    let tracker = Tracker::new(config, clock).unwrap();
    let heard = Arc::new(Sampling::default());
    tracker.set_listener(Some(heard.clone()));
    (tracker, heard)
}

fn poll<F: Future>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

fn request(accuracy: f64, persist: bool) -> PositionRequest {
    PositionRequest {
        desired_accuracy_m: accuracy,
        timeout_ms: 30_000,
        max_age_ms: 0,
        persist,
    }
}

fn fix_at(clock: &ManualClock, s: i64, accuracy: f64) -> Fix {
    clock.set_ms(T0 + s * 1000);
    Fix::new(T0 + s * 1000, 48.0 + s as f64 * 1e-5, 11.0, accuracy)
}

#[test]
fn with_tracking_off_the_first_accurate_fix_answers_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, heard) = open(dir.path(), clock.clone());
    let mut answer = Box::pin(tracker.current_position(request(20.0, false)));
    assert!(poll(&mut answer).is_pending());
    assert!(tracker.current_position_pending());
    assert_eq!(tracker.sampling_request().priority, Priority::HighAccuracy);
    assert_eq!(
        heard.0.lock().unwrap().last().unwrap().priority,
        Priority::HighAccuracy
    );
    assert_eq!(
        tracker.record(fix_at(&clock, 1, 60.0)),
        Err(TrackerError::NotTracking)
    );
    assert!(poll(&mut answer).is_pending());
    let _ = tracker.record(fix_at(&clock, 2, 8.0));
    let Poll::Ready(Ok(location)) = poll(&mut answer) else {
        panic!("not answered");
    };
    assert_eq!((location.accuracy_m, location.seq), (8.0, 0));
    assert!(!tracker.current_position_pending());
    // The policy's own request is announced again.
    let back = heard.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!(back, tracker.sampling_request());
    assert_eq!(tracker.status().pending_count, 0);
}

#[test]
fn persist_queues_the_answer_with_tracking_off() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), clock.clone());
    let mut answer = Box::pin(tracker.current_position(request(20.0, true)));
    assert!(poll(&mut answer).is_pending());
    let _ = tracker.record(fix_at(&clock, 1, 5.0));
    let Poll::Ready(Ok(location)) = poll(&mut answer) else {
        panic!("not answered");
    };
    assert!(location.seq > 0);
    assert_eq!(tracker.status().pending_count, 1);
}

#[test]
fn at_the_timeout_the_best_fix_answers_or_it_is_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), clock.clone());
    tracker.start().unwrap();
    let mut none = Box::pin(tracker.current_position(request(5.0, false)));
    assert!(poll(&mut none).is_pending());
    let deadline = tracker.steady_now_ms() + 30_000;
    assert!(tracker.next_wake_ms().is_some_and(|t| t <= deadline));
    clock.set_ms(T0 + 29_999);
    tracker.tick();
    assert!(poll(&mut none).is_pending());
    clock.set_ms(T0 + 30_000);
    tracker.tick();
    assert_eq!(
        poll(&mut none),
        Poll::Ready(Err(CurrentPositionError::Timeout))
    );

    let mut vague = Box::pin(tracker.current_position(request(5.0, false)));
    assert!(poll(&mut vague).is_pending());
    tracker.record(fix_at(&clock, 31, 40.0)).unwrap();
    tracker.record(fix_at(&clock, 32, 25.0)).unwrap();
    clock.set_ms(T0 + 61_000);
    tracker.tick();
    let Poll::Ready(Ok(best)) = poll(&mut vague) else {
        panic!("not answered");
    };
    // Stored while tracking: it has its sequence number.
    assert_eq!(best.accuracy_m, 25.0);
    assert!(best.seq > 0);
}

#[test]
fn a_young_last_location_answers_at_once_and_permission_and_bad_input_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, _) = open(dir.path(), clock.clone());
    tracker.start().unwrap();
    tracker.record(fix_at(&clock, 1, 10.0)).unwrap();
    clock.set_ms(T0 + 20_000);
    let cached = PositionRequest {
        max_age_ms: 60_000,
        ..request(5.0, false)
    };
    let mut answer = Box::pin(tracker.current_position(cached));
    let Poll::Ready(Ok(location)) = poll(&mut answer) else {
        panic!("not answered from the cache");
    };
    assert_eq!(Some(location), tracker.last_known_location());
    assert!(!tracker.current_position_pending());

    let bad = PositionRequest {
        timeout_ms: 0,
        ..request(5.0, false)
    };
    let mut answer = Box::pin(tracker.current_position(bad));
    assert_eq!(
        poll(&mut answer),
        Poll::Ready(Err(CurrentPositionError::InvalidRequest))
    );
    tracker.set_location_access(LocationAccess {
        granted: false,
        ..LocationAccess::FULL
    });
    let mut answer = Box::pin(tracker.current_position(request(5.0, false)));
    assert_eq!(
        poll(&mut answer),
        Poll::Ready(Err(CurrentPositionError::PermissionDenied))
    );
    assert!(!tracker.current_position_pending());
}

#[test]
fn a_dropped_request_is_withdrawn_and_sampling_goes_back() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let (tracker, heard) = open(dir.path(), clock.clone());
    tracker.start().unwrap();
    let policy = tracker.sampling_request();
    let mut answer = Box::pin(tracker.current_position(request(5.0, false)));
    assert!(poll(&mut answer).is_pending());
    assert_ne!(tracker.sampling_request(), policy);
    drop(answer);
    clock.set_ms(T0 + 1000);
    tracker.tick();
    assert!(!tracker.current_position_pending());
    assert_eq!(tracker.sampling_request(), policy);
    assert_eq!(heard.0.lock().unwrap().last(), Some(&policy));
}
