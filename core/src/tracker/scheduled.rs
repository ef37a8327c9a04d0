//! The tracking schedule applied: the schedule turns tracking on when a window opens and off
//! when it closes, by the wall clock (a schedule is about what the user's clocks show). It acts
//! on transitions only, so an app's `start`/`stop` in between holds until the next one.
//!
//! Which state the schedule last applied is stored with the queue beside the schedule, so a
//! transition passed while the app was not running is applied at the next start or wake-up,
//! once, and a restart inside a window does not undo the app's own `stop`.

use super::{Event, Shared, Tracker, lock};
use crate::error::TrackerError;
use crate::store::Store;
use crate::tracking_schedule::{ScheduleState, TrackingSchedule};

const META_SCHEDULE: &str = "tracking_schedule";
/// "1" or "0": what the schedule last turned tracking to; absent until it first acts.
const META_SCHEDULE_APPLIED: &str = "tracking_schedule_applied";

#[derive(Default)]
pub(super) struct Scheduled {
    schedule: Option<TrackingSchedule>,
    applied: Option<bool>,
}

impl Scheduled {
    pub(super) fn load(store: &Store) -> Result<Scheduled, TrackerError> {
        let schedule = store
            .meta(META_SCHEDULE)?
            .as_deref()
            .and_then(TrackingSchedule::from_json);
        let applied = match store.meta(META_SCHEDULE_APPLIED)?.as_deref() {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        Ok(Scheduled { schedule, applied })
    }
}

impl Tracker {
    /// Replaces the tracking schedule (built and validated by [`TrackingSchedule::new`]) and
    /// applies it at once: tracking is turned to what it says now. Stored with the queue.
    /// Returns what it says now, with the next transition for the platform to wake up for.
    pub fn set_schedule(&self, schedule: TrackingSchedule) -> Result<ScheduleState, TrackerError> {
        {
            let mut scheduled = lock(&self.shared.schedule);
            let json = schedule.to_json();
            lock(&self.shared.store).append_events_and_meta(
                &[],
                &[(META_SCHEDULE, Some(&json)), (META_SCHEDULE_APPLIED, None)],
                self.shared.steady.now_ms(),
            )?;
            *scheduled = Scheduled {
                schedule: Some(schedule),
                applied: None,
            };
        }
        let state = self.shared.apply_schedule()?;
        Ok(state.unwrap_or(ScheduleState {
            tracking: false,
            next_transition_ms: None,
        }))
    }

    /// Removes the schedule; tracking stays as it is until `start` or `stop`.
    pub fn clear_schedule(&self) -> Result<(), TrackerError> {
        let mut scheduled = lock(&self.shared.schedule);
        lock(&self.shared.store).append_events_and_meta(
            &[],
            &[(META_SCHEDULE, None), (META_SCHEDULE_APPLIED, None)],
            self.shared.steady.now_ms(),
        )?;
        *scheduled = Scheduled::default();
        Ok(())
    }

    /// The schedule in force, if any.
    pub fn schedule(&self) -> Option<TrackingSchedule> {
        lock(&self.shared.schedule).schedule.clone()
    }

    /// Looks at the schedule now and turns tracking on or off if a transition has passed. The
    /// tracker does this on its own while it runs; the platform calls it when the OS wakes the
    /// app (an alarm, a region, a significant change). `None` without a schedule.
    pub fn apply_schedule(&self) -> Result<Option<ScheduleState>, TrackerError> {
        self.shared.apply_schedule()
    }
}

impl Shared {
    /// What the schedule says now, without acting on it.
    pub(super) fn schedule_state(&self) -> Option<ScheduleState> {
        let now_ms = self.steady.now().wall_ms;
        lock(&self.schedule)
            .schedule
            .as_ref()
            .map(|s| s.state_at(now_ms))
    }

    pub(super) fn apply_schedule(&self) -> Result<Option<ScheduleState>, TrackerError> {
        let now_ms = self.steady.now().wall_ms;
        // Decided and marked under the lock, so that two threads never both act on one
        // transition; acted on after it, so that no lock is held while the app hears of it.
        let state = {
            let mut scheduled = lock(&self.schedule);
            let Some(state) = scheduled.schedule.as_ref().map(|s| s.state_at(now_ms)) else {
                return Ok(None);
            };
            if scheduled.applied == Some(state.tracking) {
                return Ok(Some(state));
            }
            lock(&self.store).set_meta(
                META_SCHEDULE_APPLIED,
                if state.tracking { "1" } else { "0" },
            )?;
            scheduled.applied = Some(state.tracking);
            state
        };
        if state.tracking {
            self.start_tracking()?;
        } else {
            self.set_tracking(false)?;
        }
        self.emit(Event::ScheduleChanged {
            tracking: state.tracking,
            next_transition_ms: state.next_transition_ms,
        });
        Ok(Some(state))
    }

    /// When the uploader should wake for the schedule (steady time): at once if a transition
    /// is due and not applied, else at the next transition. The wall clock may be stepped
    /// meanwhile; any wake-up looks again.
    pub(super) fn next_schedule_wake_ms(&self) -> Option<i64> {
        let now = self.steady.now();
        let scheduled = lock(&self.schedule);
        let state = scheduled.schedule.as_ref()?.state_at(now.wall_ms);
        if scheduled.applied != Some(state.tracking) {
            return Some(now.steady_ms);
        }
        let until = state.next_transition_ms?.saturating_sub(now.wall_ms).max(0);
        Some(now.steady_ms.saturating_add(until))
    }
}
