//! The uniffi surface of the tracking schedule: weekly windows of local time in a named time
//! zone, decided in the core (`tracelet_core::tracking_schedule`). Its own error enum, so that
//! Kotlin and Swift can tell an unknown zone from overlapping windows without parsing text.

use tracelet_core as core;

use crate::{ScheduleState, ScheduleWindow, Tracelet, Weekday};

/// Weekly windows in an IANA time zone ("Europe/Berlin"), 1 to 64 windows, none overlapping.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TrackingSchedule {
    pub windows: Vec<ScheduleWindow>,
    pub time_zone: String,
}

/// Why a schedule was refused (nothing changed), or could not be stored. Windows are numbered
/// from 0 in the order given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ScheduleError {
    #[error("unknown time zone {zone:?}: use an IANA name such as Europe/Berlin")]
    UnknownTimeZone { zone: String },
    #[error("a schedule needs at least one window (clear it to track without one)")]
    NoWindows,
    #[error("at most {max} windows")]
    TooManyWindows { max: u32 },
    #[error("window {window} has no days")]
    NoDays { window: u32 },
    #[error("window {window} lists a day twice")]
    RepeatedDay { window: u32 },
    #[error("window {window}: {time} is not a time of day (00:00 to 23:59, or 24:00 as an end)")]
    InvalidTime { window: u32, time: String },
    #[error("window {window} ends ({end}) before or when it starts ({start})")]
    EndBeforeStart {
        window: u32,
        start: String,
        end: String,
    },
    #[error("windows {first} and {second} overlap on {day:?}")]
    OverlappingWindows {
        first: u32,
        second: u32,
        day: Weekday,
    },
    #[error("the schedule could not be stored: {reason}")]
    Storage { reason: String },
}

#[uniffi::export]
impl Tracelet {
    /// Replaces the tracking schedule and applies it at once: tracking turns to what it says
    /// now, and from then on on and off at each window's edges (`ScheduleChanged`). The app's
    /// own `start`/`stop` holds until the next edge. Stored with the queue. A refused schedule
    /// changes nothing.
    pub fn set_schedule(&self, schedule: TrackingSchedule) -> Result<ScheduleState, ScheduleError> {
        let schedule = core::TrackingSchedule::new(schedule.windows, &schedule.time_zone)?;
        self.tracker.set_schedule(schedule).map_err(storage)
    }

    /// Removes the schedule; tracking stays as it is.
    pub fn clear_schedule(&self) -> Result<(), ScheduleError> {
        self.tracker.clear_schedule().map_err(storage)
    }

    /// The schedule in force, if any (the zone by its IANA name).
    pub fn schedule(&self) -> Option<TrackingSchedule> {
        self.tracker.schedule().map(|s| TrackingSchedule {
            windows: s.windows().to_vec(),
            time_zone: s.zone().to_owned(),
        })
    }

    /// Looks at the schedule now and applies a transition that has passed. The SDK does this
    /// itself while it runs; the platform calls it when the OS wakes the app (an alarm, a
    /// region, a significant change). `None` without a schedule.
    pub fn apply_schedule(&self) -> Result<Option<ScheduleState>, ScheduleError> {
        self.tracker.apply_schedule().map_err(storage)
    }
}

fn storage(e: core::TrackerError) -> ScheduleError {
    ScheduleError::Storage {
        reason: e.to_string(),
    }
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl From<core::ScheduleError> for ScheduleError {
    fn from(e: core::ScheduleError) -> Self {
        use core::ScheduleError as E;
        match e {
            E::UnknownTimeZone { zone } => ScheduleError::UnknownTimeZone { zone },
            E::NoWindows => ScheduleError::NoWindows,
            E::TooManyWindows { max } => ScheduleError::TooManyWindows { max: index(max) },
            E::NoDays { window } => ScheduleError::NoDays {
                window: index(window),
            },
            E::RepeatedDay { window } => ScheduleError::RepeatedDay {
                window: index(window),
            },
            E::InvalidTime { window, time } => ScheduleError::InvalidTime {
                window: index(window),
                time,
            },
            E::EndBeforeStart { window, start, end } => ScheduleError::EndBeforeStart {
                window: index(window),
                start,
                end,
            },
            E::Overlapping { first, second, day } => ScheduleError::OverlappingWindows {
                first: index(first),
                second: index(second),
                day,
            },
        }
    }
}
