//! The position-request policy with a virtual clock: plain numbers for steady time.

use super::*;
use crate::fix::Provider;
use crate::policy::MotionState;

const T0: i64 = 1_700_000_000_000;

fn request(accuracy: f64, timeout_ms: i64, max_age_ms: i64) -> PositionRequest {
    PositionRequest {
        desired_accuracy_m: accuracy,
        timeout_ms,
        max_age_ms,
        persist: false,
    }
}

fn location(time_ms: i64, accuracy_m: f64) -> Location {
    Location {
        seq: 1,
        time_ms,
        latitude_deg: 48.0,
        longitude_deg: 11.0,
        accuracy_m,
        smoothed_latitude_deg: None,
        smoothed_longitude_deg: None,
        smoothed_accuracy_m: None,
        speed_mps: None,
        bearing_deg: None,
        altitude_m: None,
        provider: Provider::Gps,
        is_mock: false,
        motion_state: MotionState::Moving,
        trip_id: None,
        odometer_m: 0.0,
        odometer_uncertainty_m: 0.0,
    }
}

#[test]
fn bad_requests_are_refused_and_nothing_waits() {
    let mut requests = Requests::default();
    for bad in [
        request(f64::NAN, 1000, 0),
        request(0.0, 1000, 0),
        request(10.0, 0, 0),
        request(10.0, MAX_WAIT_MS + 1, 0),
        request(10.0, 1000, -1),
    ] {
        assert_eq!(
            requests.add(bad, 0, ()),
            Err(CurrentPositionError::InvalidRequest)
        );
    }
    assert!(!requests.is_waiting());
}

#[test]
fn a_young_enough_cached_location_answers_at_once() {
    let last = location(T0, 8.0);
    let r = request(10.0, 30_000, 60_000);
    assert_eq!(r.cached(Some(&last), T0 + 60_000), Some(last.clone()));
    assert_eq!(r.cached(Some(&last), T0 + 60_001), None);
    assert_eq!(r.cached(None, T0), None);
    // max_age 0: always a fresh fix.
    assert_eq!(request(10.0, 30_000, 0).cached(Some(&last), T0), None);
}

#[test]
fn the_first_fix_accurate_enough_answers_and_vaguer_ones_wait() {
    let mut requests = Requests::default();
    requests.add(request(20.0, 30_000, 0), 0, "a").unwrap();
    assert!(requests.offer(&location(T0, 150.0)).is_empty());
    assert!(requests.offer(&location(T0 + 1000, 35.0)).is_empty());
    assert_eq!(requests.next_deadline_ms(), Some(30_000));
    let answers = requests.offer(&location(T0 + 2000, 12.0));
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].reply, "a");
    assert_eq!(answers[0].result.as_ref().unwrap().accuracy_m, 12.0);
    assert!(!requests.is_waiting());
}

#[test]
fn at_the_timeout_the_best_fix_answers_or_the_request_fails() {
    let mut requests = Requests::default();
    requests.add(request(5.0, 10_000, 0), 0, 1).unwrap();
    requests.add(request(5.0, 20_000, 0), 5_000, 2).unwrap();
    requests.offer(&location(T0, 40.0));
    requests.offer(&location(T0 + 1000, 25.0));
    requests.offer(&location(T0 + 2000, 60.0));
    requests.add(request(5.0, 10_000, 0), 9_000, 3).unwrap();
    assert!(requests.expire(9_999).is_empty());
    let answers = requests.expire(10_000);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].result.as_ref().unwrap().accuracy_m, 25.0);
    assert_eq!(requests.next_deadline_ms(), Some(19_000));
    // Request 3 started after the fixes and saw none.
    let answers = requests.expire(19_000);
    assert_eq!(answers[0].reply, 3);
    assert_eq!(answers[0].result, Err(CurrentPositionError::Timeout));
    assert_eq!(requests.expire(25_000).len(), 1);
    assert!(!requests.is_waiting());
}

#[test]
fn waiting_is_bounded_and_gone_callers_are_forgotten() {
    let mut requests = Requests::default();
    for i in 0..MAX_PENDING {
        requests.add(request(5.0, 1000, 0), 0, i).unwrap();
    }
    assert_eq!(
        requests.add(request(5.0, 1000, 0), 0, 99),
        Err(CurrentPositionError::TooManyRequests)
    );
    requests.forget(|i| *i % 2 == 0);
    assert_eq!(
        requests.fail_all(&CurrentPositionError::ShutDown).len(),
        MAX_PENDING / 2
    );
}

#[test]
fn the_sampling_while_waiting_is_valid_and_uses_gnss() {
    let s = sampling();
    assert!(s.is_valid());
    assert_eq!(s.priority, Priority::HighAccuracy);
}
