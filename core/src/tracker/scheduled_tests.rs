//! The tracking schedule through the real tracker, real SQLite files and the virtual clock:
//! days of virtual time tick by tick, daylight-saving changes, restarts, the app's own
//! start/stop between transitions. Uploads are off (`automatic = false`).

use std::sync::{Arc, Mutex};

use super::*;
use crate::clock::ManualClock;
use crate::fix::Fix;
use crate::tracking_schedule::{
    ScheduleState, ScheduleWindow, TimeOfDay, TrackingSchedule, Weekday,
};

const MINUTE_MS: i64 = 60_000;
const WORKDAYS: [Weekday; 5] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
];

/// What the schedule did, with the wall-clock time it was heard at.
#[derive(Default)]
struct Heard {
    clock: Mutex<Option<Arc<ManualClock>>>,
    log: Mutex<Vec<(i64, Event)>>,
}

impl Heard {
    fn schedule_changes(&self) -> Vec<(i64, bool)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(at, e)| match e {
                Event::ScheduleChanged { tracking, .. } => Some((*at, *tracking)),
                _ => None,
            })
            .collect()
    }
}

impl EventListener for Heard {
    fn on_event(&self, event: Event) {
        if matches!(
            event,
            Event::ScheduleChanged { .. } | Event::TrackingChanged { .. }
        ) {
            let at = self
                .clock
                .lock()
                .unwrap()
                .as_ref()
                .map_or(0, |c| c.now_ms());
            self.log.lock().unwrap().push((at, event));
        }
    }
}

fn open(dir: &std::path::Path, clock: &Arc<ManualClock>) -> (Tracker, Arc<Heard>) {
    let mut config = TrackerConfig::new("http://127.0.0.1:9/v1/batches", "dev-1", "tok", dir);
    config.upload.automatic = false;
    config.jitter_seed = Some(1);
    let tracker = Tracker::new(config, clock.clone()).unwrap();
    let heard = Arc::new(Heard::default());
    *heard.clock.lock().unwrap() = Some(clock.clone());
    tracker.set_listener(Some(heard.clone()));
    (tracker, heard)
}

fn at(text: &str) -> i64 {
    text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

fn schedule(days: &[Weekday], start: (u8, u8), end: (u8, u8), zone: &str) -> TrackingSchedule {
    TrackingSchedule::new(
        vec![ScheduleWindow {
            days: days.to_vec(),
            start: TimeOfDay::new(start.0, start.1),
            end: TimeOfDay::new(end.0, end.1),
        }],
        zone,
    )
    .unwrap()
}

/// Lets virtual time pass minute by minute until `until_ms`, ticking as the upload thread
/// would.
fn run_until(tracker: &Tracker, clock: &ManualClock, until_ms: i64) {
    while clock.now_ms() < until_ms {
        clock.advance_ms(MINUTE_MS.min(until_ms - clock.now_ms()));
        tracker.tick();
    }
}

fn fix_now(clock: &ManualClock) -> Fix {
    Fix::new(clock.now_ms(), 52.52, 13.405, 5.0)
}

#[test]
fn a_day_of_virtual_time_turns_tracking_on_and_off_at_the_window_edges() {
    let dir = tempfile::tempdir().unwrap();
    // Monday 2 March 2026, midnight in Berlin (CET, UTC+1).
    let clock = Arc::new(ManualClock::new(at("2026-03-02T00:00+01:00")));
    let (tracker, heard) = open(dir.path(), &clock);
    let state = tracker
        .set_schedule(schedule(&WORKDAYS, (8, 0), (18, 0), "Europe/Berlin"))
        .unwrap();
    assert_eq!(
        state,
        ScheduleState {
            tracking: false,
            next_transition_ms: Some(at("2026-03-02T08:00+01:00"))
        }
    );
    // Fixes are refused before the window and stored inside it.
    assert_eq!(
        tracker.record(fix_now(&clock)),
        Err(TrackerError::NotTracking)
    );
    run_until(&tracker, &clock, at("2026-03-02T12:00+01:00"));
    assert!(tracker.record(fix_now(&clock)).is_ok());
    assert_eq!(
        tracker.status().schedule,
        Some(ScheduleState {
            tracking: true,
            next_transition_ms: Some(at("2026-03-02T18:00+01:00"))
        })
    );
    run_until(&tracker, &clock, at("2026-03-03T00:00+01:00"));
    assert_eq!(
        heard.schedule_changes(),
        vec![
            (at("2026-03-02T00:00+01:00"), false),
            (at("2026-03-02T08:00+01:00"), true),
            (at("2026-03-02T18:00+01:00"), false),
        ]
    );
    let tracking_changes: Vec<_> = heard
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, e)| matches!(e, Event::TrackingChanged { .. }))
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(
        tracking_changes,
        vec![at("2026-03-02T08:00+01:00"), at("2026-03-02T18:00+01:00")]
    );
    assert!(!tracker.status().tracking);
}

#[test]
fn the_upload_thread_is_told_to_wake_at_the_next_transition() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-03-02T07:00+01:00")));
    let (tracker, _heard) = open(dir.path(), &clock);
    assert_eq!(tracker.next_wake_ms(), None, "nothing to wake for yet");
    tracker
        .set_schedule(schedule(&WORKDAYS, (8, 0), (18, 0), "Europe/Berlin"))
        .unwrap();
    // Steady time started at the wall clock and no clock was stepped.
    assert_eq!(tracker.next_wake_ms(), Some(at("2026-03-02T08:00+01:00")));
    // A wall-clock step (the user sets the clock an hour on) makes the transition due now.
    clock.step_ms(3_600_000);
    assert_eq!(tracker.next_wake_ms(), Some(tracker.steady_now_ms()));
    tracker.tick();
    assert!(tracker.status().tracking);
}

#[test]
fn spring_forward_a_window_in_the_skipped_hour_opens_at_the_jump() {
    let dir = tempfile::tempdir().unwrap();
    // Saturday evening before the change; Sunday 29 March 2026 02:00 CET jumps to 03:00 CEST.
    let clock = Arc::new(ManualClock::new(at("2026-03-28T22:00+01:00")));
    let (tracker, heard) = open(dir.path(), &clock);
    tracker
        .set_schedule(schedule(
            &[Weekday::Sunday],
            (2, 30),
            (6, 0),
            "Europe/Berlin",
        ))
        .unwrap();
    run_until(&tracker, &clock, at("2026-03-29T12:00+02:00"));
    assert_eq!(
        heard.schedule_changes(),
        vec![
            (at("2026-03-28T22:00+01:00"), false),
            (at("2026-03-29T03:00+02:00"), true),
            (at("2026-03-29T06:00+02:00"), false),
        ]
    );
}

#[test]
fn fall_back_the_repeated_hour_does_not_reopen_the_window() {
    let dir = tempfile::tempdir().unwrap();
    // Sunday 25 October 2026: 03:00 CEST falls back to 02:00 CET.
    let clock = Arc::new(ManualClock::new(at("2026-10-24T22:00+02:00")));
    let (tracker, heard) = open(dir.path(), &clock);
    tracker
        .set_schedule(schedule(
            &[Weekday::Sunday],
            (1, 0),
            (2, 30),
            "Europe/Berlin",
        ))
        .unwrap();
    run_until(&tracker, &clock, at("2026-10-25T12:00+01:00"));
    assert_eq!(
        heard.schedule_changes(),
        vec![
            (at("2026-10-24T22:00+02:00"), false),
            (at("2026-10-25T01:00+02:00"), true),
            (at("2026-10-25T02:30+02:00"), false),
        ]
    );
}

#[test]
fn the_schedule_and_what_it_applied_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-03-02T07:00+01:00")));
    let office = schedule(&WORKDAYS, (8, 0), (18, 0), "Europe/Berlin");
    {
        let (tracker, _) = open(dir.path(), &clock);
        tracker.set_schedule(office.clone()).unwrap();
        assert!(!tracker.status().tracking);
    }
    // The app is not running when the window opens; the next start applies it.
    clock.advance_ms(2 * 3_600_000);
    let (tracker, _) = open(dir.path(), &clock);
    assert_eq!(tracker.schedule(), Some(office));
    assert!(tracker.status().tracking);
    // The app stops tracking inside the window; a restart must not undo that.
    tracker.stop().unwrap();
    drop(tracker);
    clock.advance_ms(MINUTE_MS);
    let (tracker, heard) = open(dir.path(), &clock);
    assert!(!tracker.status().tracking);
    run_until(&tracker, &clock, at("2026-03-02T17:59+01:00"));
    assert!(!tracker.status().tracking, "the app's stop holds");
    // It holds until the window closes and opens again the next morning.
    run_until(&tracker, &clock, at("2026-03-03T08:00+01:00"));
    assert!(tracker.status().tracking);
    assert_eq!(
        heard.schedule_changes(),
        vec![
            (at("2026-03-02T18:00+01:00"), false),
            (at("2026-03-03T08:00+01:00"), true)
        ]
    );
}

#[test]
fn clearing_the_schedule_leaves_tracking_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at("2026-03-02T09:00+01:00")));
    let (tracker, heard) = open(dir.path(), &clock);
    tracker
        .set_schedule(schedule(&WORKDAYS, (8, 0), (18, 0), "Europe/Berlin"))
        .unwrap();
    assert!(tracker.status().tracking);
    tracker.clear_schedule().unwrap();
    assert_eq!(tracker.schedule(), None);
    assert_eq!(tracker.status().schedule, None);
    run_until(&tracker, &clock, at("2026-03-02T19:00+01:00"));
    assert!(tracker.status().tracking);
    assert_eq!(heard.schedule_changes().len(), 1);
    drop(tracker);
    let (tracker, _) = open(dir.path(), &clock);
    assert_eq!(tracker.schedule(), None);
    assert_eq!(tracker.apply_schedule(), Ok(None));
}
