//! When tracking should be on: weekly windows of local time in a named time zone (Monday to
//! Friday 08:00 to 18:00 Europe/Berlin, say). Pure: a schedule and an instant in, "on or off,
//! and the next instant that changes" out. The tracker applies it (`tracker::scheduled`); this
//! module knows nothing of clocks or storage.
//!
//! Zone rules come from jiff's bundled copy of the IANA time-zone database, so a phone and a
//! test read the same rules.
//!
//! Local time is what a person reads off a clock, and around a daylight-saving change it does
//! not map to instants one to one. The rule: a window opens the first time the zone's clocks
//! reach its start, and closes the first time after that they reach its end.
//! - Spring forward: a time in the skipped hour is never shown; the clocks pass it when they
//!   jump, so a window starting at 02:30 on that day opens at the jump (03:00 new time).
//! - Fall back: a time in the repeated hour is shown twice; the first showing counts, so a
//!   window 01:00 to 02:30 closes at the first 02:30 and does not open again in the repeat.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most windows in one schedule: a week of split shifts fits with room to spare, and each
/// evaluation stays cheap.
pub const MAX_WINDOWS: usize = 64;
/// Days looked at around an instant: the week ahead plus one on either side, enough to find the
/// next opening of any weekly window and to see a window of yesterday that runs into today.
const DAYS_BEFORE: i64 = 1;
const DAYS_AFTER: i64 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    fn of(date: Date) -> Weekday {
        use jiff::civil::Weekday as W;
        match date.weekday() {
            W::Monday => Weekday::Monday,
            W::Tuesday => Weekday::Tuesday,
            W::Wednesday => Weekday::Wednesday,
            W::Thursday => Weekday::Thursday,
            W::Friday => Weekday::Friday,
            W::Saturday => Weekday::Saturday,
            W::Sunday => Weekday::Sunday,
        }
    }
}

/// A time shown on a clock, to the minute. 24:00 is the end of the day (a window's end only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

impl TimeOfDay {
    pub const fn new(hour: u8, minute: u8) -> TimeOfDay {
        TimeOfDay { hour, minute }
    }

    fn minutes(self) -> u16 {
        u16::from(self.hour) * 60 + u16::from(self.minute)
    }

    fn is_valid_start(self) -> bool {
        self.hour < 24 && self.minute < 60
    }

    fn is_valid_end(self) -> bool {
        self.is_valid_start() || (self.hour == 24 && self.minute == 0)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// Tracking on from `start` to `end` (local time) on each of `days`. A window ends on the day
/// it starts: a night shift is two windows (22:00 to 24:00, then 00:00 to 06:00 the next day),
/// which join without a break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ScheduleWindow {
    pub days: Vec<Weekday>,
    pub start: TimeOfDay,
    pub end: TimeOfDay,
}

/// Why a schedule was refused. Windows are numbered from 0 in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    #[error("unknown time zone {zone:?}: use an IANA name such as Europe/Berlin")]
    UnknownTimeZone { zone: String },
    #[error("a schedule needs at least one window (clear it to track without one)")]
    NoWindows,
    #[error("at most {max} windows")]
    TooManyWindows { max: usize },
    #[error("window {window} has no days")]
    NoDays { window: usize },
    #[error("window {window} lists a day twice")]
    RepeatedDay { window: usize },
    #[error("window {window}: {time} is not a time of day (00:00 to 23:59, or 24:00 as an end)")]
    InvalidTime { window: usize, time: String },
    #[error("window {window} ends ({end}) before or when it starts ({start})")]
    EndBeforeStart {
        window: usize,
        start: String,
        end: String,
    },
    #[error("windows {first} and {second} overlap on {day:?}")]
    Overlapping {
        first: usize,
        second: usize,
        day: Weekday,
    },
}

/// A validated weekly schedule. Build it with [`TrackingSchedule::new`]; every value of this
/// type is valid.
#[derive(Debug, Clone)]
pub struct TrackingSchedule {
    windows: Vec<ScheduleWindow>,
    zone_name: String,
    zone: TimeZone,
}

impl PartialEq for TrackingSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.windows == other.windows && self.zone_name == other.zone_name
    }
}

/// What the schedule says at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ScheduleState {
    /// Tracking should be on now.
    pub tracking: bool,
    /// UTC milliseconds at which that changes; `None` if it never does (a window covers the
    /// whole week).
    pub next_transition_ms: Option<i64>,
}

impl TrackingSchedule {
    pub fn new(
        windows: Vec<ScheduleWindow>,
        zone: &str,
    ) -> Result<TrackingSchedule, ScheduleError> {
        if windows.is_empty() {
            return Err(ScheduleError::NoWindows);
        }
        if windows.len() > MAX_WINDOWS {
            return Err(ScheduleError::TooManyWindows { max: MAX_WINDOWS });
        }
        for (index, window) in windows.iter().enumerate() {
            check_window(index, window)?;
        }
        check_overlaps(&windows)?;
        let unknown = || ScheduleError::UnknownTimeZone {
            zone: zone.chars().take(64).collect(),
        };
        // `get` also reads POSIX-style names; only IANA names from the bundled database are
        // taken, so a schedule means the same on every device.
        let tz = jiff::tz::db().get(zone).map_err(|_| unknown())?;
        Ok(TrackingSchedule {
            windows,
            zone_name: tz.iana_name().unwrap_or(zone).to_owned(),
            zone: tz,
        })
    }

    pub fn windows(&self) -> &[ScheduleWindow] {
        &self.windows
    }

    /// The zone's IANA name.
    pub fn zone(&self) -> &str {
        &self.zone_name
    }

    /// On or off at `now_ms` (UTC milliseconds), and when that next changes.
    pub fn state_at(&self, now_ms: i64) -> ScheduleState {
        let off = ScheduleState {
            tracking: false,
            next_transition_ms: None,
        };
        let Ok(now) = Timestamp::from_millisecond(now_ms) else {
            return off;
        };
        let today = self.zone.to_datetime(now).date();
        let spans = merged(self.open_spans(today));
        let horizon_end = day_start(&self.zone, add_days(today, DAYS_AFTER + 1));
        for (open, close) in spans {
            if close <= now_ms {
                continue;
            }
            if open <= now_ms {
                // A span that reaches the end of the horizon covers more than a week: always on.
                let never = horizon_end.is_some_and(|end| close >= end);
                return ScheduleState {
                    tracking: true,
                    next_transition_ms: (!never).then_some(close),
                };
            }
            return ScheduleState {
                tracking: false,
                next_transition_ms: Some(open),
            };
        }
        off
    }

    /// Every window's opening and closing instant (UTC ms) on the days around `today`.
    fn open_spans(&self, today: Date) -> Vec<(i64, i64)> {
        let mut spans = Vec::new();
        for offset in -DAYS_BEFORE..=DAYS_AFTER {
            let Some(date) = add_days(today, offset) else {
                continue;
            };
            let weekday = Weekday::of(date);
            for window in self.windows.iter().filter(|w| w.days.contains(&weekday)) {
                let open = first_shown(&self.zone, date, window.start);
                let close = first_shown(&self.zone, date, window.end);
                if let (Some(open), Some(close)) = (open, close) {
                    // Empty when the whole window falls in a skipped hour.
                    if open < close {
                        spans.push((open, close));
                    }
                }
            }
        }
        spans
    }
}

/// Persisted form: the windows as given and the zone's name.
#[derive(Serialize, Deserialize)]
struct Stored {
    zone: String,
    windows: Vec<ScheduleWindow>,
}

impl TrackingSchedule {
    pub(crate) fn to_json(&self) -> String {
        let stored = Stored {
            zone: self.zone_name.clone(),
            windows: self.windows.clone(),
        };
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// `None` for text that does not hold a valid schedule (a newer, unknown format).
    pub(crate) fn from_json(text: &str) -> Option<TrackingSchedule> {
        let stored: Stored = serde_json::from_str(text).ok()?;
        TrackingSchedule::new(stored.windows, &stored.zone).ok()
    }
}

fn check_window(index: usize, window: &ScheduleWindow) -> Result<(), ScheduleError> {
    if window.days.is_empty() {
        return Err(ScheduleError::NoDays { window: index });
    }
    let mut days = window.days.clone();
    days.sort_unstable();
    days.dedup();
    if days.len() != window.days.len() {
        return Err(ScheduleError::RepeatedDay { window: index });
    }
    for (time, valid) in [
        (window.start, window.start.is_valid_start()),
        (window.end, window.end.is_valid_end()),
    ] {
        if !valid {
            return Err(ScheduleError::InvalidTime {
                window: index,
                time: time.to_string(),
            });
        }
    }
    if window.end.minutes() <= window.start.minutes() {
        return Err(ScheduleError::EndBeforeStart {
            window: index,
            start: window.start.to_string(),
            end: window.end.to_string(),
        });
    }
    Ok(())
}

/// Two windows may touch (one ends at 12:00, the next starts at 12:00) but not share a minute.
fn check_overlaps(windows: &[ScheduleWindow]) -> Result<(), ScheduleError> {
    for (first, a) in windows.iter().enumerate() {
        for (offset, b) in windows[first + 1..].iter().enumerate() {
            let shares_time =
                a.start.minutes() < b.end.minutes() && b.start.minutes() < a.end.minutes();
            if let Some(&day) = a.days.iter().find(|d| shares_time && b.days.contains(d)) {
                return Err(ScheduleError::Overlapping {
                    first,
                    second: first + 1 + offset,
                    day,
                });
            }
        }
    }
    Ok(())
}

/// Sorted spans with touching or overlapping ones joined (a night shift across midnight is one).
fn merged(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
    for (open, close) in spans {
        match out.last_mut() {
            Some(last) if open <= last.1 => last.1 = last.1.max(close),
            _ => out.push((open, close)),
        }
    }
    out
}

/// `date` moved by a few days. Day by day rather than through `Span` arithmetic, whose code is
/// a large part of jiff and is needed nowhere else.
fn add_days(date: Date, days: i64) -> Option<Date> {
    let mut date = date;
    for _ in 0..days.unsigned_abs() {
        date = if days > 0 {
            date.tomorrow()
        } else {
            date.yesterday()
        }
        .ok()?;
    }
    Some(date)
}

fn day_start(zone: &TimeZone, date: Option<Date>) -> Option<i64> {
    first_shown(zone, date?, TimeOfDay::new(0, 0))
}

/// The first instant (UTC ms) at which the zone's clocks show `time` on `date`, or have just
/// jumped past it (see the module's rule). 24:00 is 00:00 of the next day.
fn first_shown(zone: &TimeZone, date: Date, time: TimeOfDay) -> Option<i64> {
    let (date, hour) = if time.hour == 24 {
        (add_days(date, 1)?, 0)
    } else {
        (date, time.hour)
    };
    let local: DateTime = date.at(
        i8::try_from(hour).ok()?,
        i8::try_from(time.minute).ok()?,
        0,
        0,
    );
    let instant = match zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(local).ok()?,
        // Shown twice: the first showing, under the offset in force before the change.
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(local).ok()?,
        // Never shown: the clocks jump past it at the zone's next transition.
        AmbiguousOffset::Gap { after, .. } => {
            let before_jump = after.to_timestamp(local).ok()?;
            zone.following(before_jump).next()?.timestamp()
        }
    };
    Some(instant.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;

    const WORKDAYS: [Weekday; 5] = [Monday, Tuesday, Wednesday, Thursday, Friday];

    fn window(days: &[Weekday], start: (u8, u8), end: (u8, u8)) -> ScheduleWindow {
        ScheduleWindow {
            days: days.to_vec(),
            start: TimeOfDay::new(start.0, start.1),
            end: TimeOfDay::new(end.0, end.1),
        }
    }

    fn office_hours(zone: &str) -> TrackingSchedule {
        TrackingSchedule::new(vec![window(&WORKDAYS, (8, 0), (18, 0))], zone).unwrap()
    }

    /// UTC milliseconds of an RFC 3339 instant with its offset ("2026-03-02T08:00+01:00").
    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn office_hours_in_berlin_on_a_winter_week() {
        let s = office_hours("Europe/Berlin");
        // Monday 2 March 2026, CET (UTC+1).
        assert_eq!(
            s.state_at(at("2026-03-02T07:59:59+01:00")),
            ScheduleState {
                tracking: false,
                next_transition_ms: Some(at("2026-03-02T08:00+01:00"))
            }
        );
        assert_eq!(
            s.state_at(at("2026-03-02T08:00+01:00")),
            ScheduleState {
                tracking: true,
                next_transition_ms: Some(at("2026-03-02T18:00+01:00"))
            }
        );
        // Friday evening: the next opening is Monday morning.
        assert_eq!(
            s.state_at(at("2026-03-06T18:00+01:00")),
            ScheduleState {
                tracking: false,
                next_transition_ms: Some(at("2026-03-09T08:00+01:00"))
            }
        );
        assert!(
            !s.state_at(at("2026-03-07T12:00+01:00")).tracking,
            "Saturday"
        );
    }

    #[test]
    fn the_same_local_hours_are_different_instants_in_another_zone() {
        // 06:30 UTC: 15:30 in Tokyo, 07:30 in Berlin.
        let tokyo = office_hours("Asia/Tokyo");
        assert_eq!(
            tokyo.state_at(at("2026-03-02T06:30Z")),
            ScheduleState {
                tracking: true,
                next_transition_ms: Some(at("2026-03-02T18:00+09:00"))
            }
        );
        assert!(
            !office_hours("Europe/Berlin")
                .state_at(at("2026-03-02T06:30Z"))
                .tracking
        );
    }

    #[test]
    fn spring_forward_a_window_starting_in_the_skipped_hour_opens_at_the_jump() {
        // Europe/Berlin, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
        let s = TrackingSchedule::new(vec![window(&[Sunday], (2, 30), (6, 0))], "Europe/Berlin")
            .unwrap();
        let saturday = s.state_at(at("2026-03-28T12:00+01:00"));
        assert_eq!(saturday.next_transition_ms, Some(at("2026-03-29T01:00Z")));
        let open = s.state_at(at("2026-03-29T01:00Z"));
        assert_eq!(
            open,
            ScheduleState {
                tracking: true,
                next_transition_ms: Some(at("2026-03-29T06:00+02:00"))
            }
        );
        // Off the millisecond before the jump.
        assert!(!s.state_at(at("2026-03-29T01:00Z") - 1).tracking);
        // The next Sunday it opens at 02:30 as usual.
        assert_eq!(
            s.state_at(at("2026-03-29T06:00+02:00")).next_transition_ms,
            Some(at("2026-04-05T02:30+02:00"))
        );
    }

    #[test]
    fn spring_forward_a_window_wholly_in_the_skipped_hour_does_not_open_that_day() {
        let s = TrackingSchedule::new(vec![window(&[Sunday], (2, 10), (2, 50))], "Europe/Berlin")
            .unwrap();
        assert_eq!(
            s.state_at(at("2026-03-29T00:00+01:00")).next_transition_ms,
            Some(at("2026-04-05T02:10+02:00"))
        );
    }

    #[test]
    fn spring_forward_a_window_across_the_jump_lasts_an_hour_less() {
        let s = TrackingSchedule::new(vec![window(&[Sunday], (1, 0), (5, 0))], "Europe/Berlin")
            .unwrap();
        let open = at("2026-03-29T01:00+01:00");
        let state = s.state_at(open);
        assert!(state.tracking);
        assert_eq!(state.next_transition_ms, Some(at("2026-03-29T05:00+02:00")));
        assert_eq!(state.next_transition_ms.unwrap() - open, 3 * 3_600_000);
    }

    #[test]
    fn fall_back_the_repeated_hour_counts_once() {
        // Europe/Berlin, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC), so
        // 02:00 to 02:59 is shown twice.
        let s = TrackingSchedule::new(vec![window(&[Sunday], (1, 0), (2, 30))], "Europe/Berlin")
            .unwrap();
        let first_close = at("2026-10-25T02:30+02:00");
        assert_eq!(
            s.state_at(at("2026-10-25T01:00+02:00")),
            ScheduleState {
                tracking: true,
                next_transition_ms: Some(first_close)
            }
        );
        // The second 02:00 to 02:30 (CET) stays off: no flicker back on.
        let repeat = s.state_at(at("2026-10-25T02:15+01:00"));
        assert_eq!(
            repeat,
            ScheduleState {
                tracking: false,
                next_transition_ms: Some(at("2026-11-01T01:00+01:00"))
            }
        );
    }

    #[test]
    fn fall_back_a_window_starting_in_the_repeated_hour_opens_at_its_first_showing() {
        let s = TrackingSchedule::new(vec![window(&[Sunday], (2, 30), (4, 0))], "Europe/Berlin")
            .unwrap();
        let state = s.state_at(at("2026-10-25T00:00+02:00"));
        assert_eq!(state.next_transition_ms, Some(at("2026-10-25T02:30+02:00")));
        // Open through the repeat until 04:00 CET: two and a half hours.
        let open = s.state_at(at("2026-10-25T02:30+02:00"));
        assert_eq!(open.next_transition_ms, Some(at("2026-10-25T04:00+01:00")));
        assert!(s.state_at(at("2026-10-25T02:10+01:00")).tracking);
    }

    #[test]
    fn a_night_shift_across_midnight_is_one_span() {
        let s = TrackingSchedule::new(
            vec![
                window(&[Friday], (22, 0), (24, 0)),
                window(&[Saturday], (0, 0), (6, 0)),
            ],
            "America/New_York",
        )
        .unwrap();
        assert_eq!(
            s.state_at(at("2026-03-06T23:00-05:00")),
            ScheduleState {
                tracking: true,
                next_transition_ms: Some(at("2026-03-07T06:00-05:00"))
            }
        );
    }

    #[test]
    fn a_window_over_the_whole_week_never_changes() {
        let all = [
            Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
        ];
        let s = TrackingSchedule::new(vec![window(&all, (0, 0), (24, 0))], "UTC").unwrap();
        assert_eq!(
            s.state_at(at("2026-03-29T01:00Z")),
            ScheduleState {
                tracking: true,
                next_transition_ms: None
            }
        );
    }

    #[test]
    fn bad_schedules_are_refused_with_typed_errors() {
        let ok = window(&WORKDAYS, (8, 0), (18, 0));
        assert_eq!(
            TrackingSchedule::new(vec![ok.clone()], "Europe/Atlantis"),
            Err(ScheduleError::UnknownTimeZone {
                zone: "Europe/Atlantis".into()
            })
        );
        assert_eq!(
            TrackingSchedule::new(vec![ok.clone()], ""),
            Err(ScheduleError::UnknownTimeZone { zone: "".into() })
        );
        assert_eq!(
            TrackingSchedule::new(Vec::new(), "UTC"),
            Err(ScheduleError::NoWindows)
        );
        assert_eq!(
            TrackingSchedule::new(vec![ok.clone(), window(&[], (1, 0), (2, 0))], "UTC"),
            Err(ScheduleError::NoDays { window: 1 })
        );
        assert_eq!(
            TrackingSchedule::new(vec![window(&[Monday, Monday], (1, 0), (2, 0))], "UTC"),
            Err(ScheduleError::RepeatedDay { window: 0 })
        );
        assert_eq!(
            TrackingSchedule::new(vec![window(&[Monday], (18, 0), (8, 0))], "UTC"),
            Err(ScheduleError::EndBeforeStart {
                window: 0,
                start: "18:00".into(),
                end: "08:00".into()
            })
        );
        assert!(matches!(
            TrackingSchedule::new(vec![window(&[Monday], (8, 0), (8, 0))], "UTC"),
            Err(ScheduleError::EndBeforeStart { .. })
        ));
        assert_eq!(
            TrackingSchedule::new(vec![window(&[Monday], (24, 0), (24, 0))], "UTC"),
            Err(ScheduleError::InvalidTime {
                window: 0,
                time: "24:00".into()
            })
        );
        assert!(matches!(
            TrackingSchedule::new(vec![window(&[Monday], (8, 60), (9, 0))], "UTC"),
            Err(ScheduleError::InvalidTime { .. })
        ));
        assert_eq!(
            TrackingSchedule::new(
                vec![ok.clone(), window(&[Sunday, Friday], (17, 0), (20, 0))],
                "UTC"
            ),
            Err(ScheduleError::Overlapping {
                first: 0,
                second: 1,
                day: Friday
            })
        );
        assert_eq!(
            TrackingSchedule::new(vec![ok; MAX_WINDOWS + 1], "UTC"),
            Err(ScheduleError::TooManyWindows { max: MAX_WINDOWS })
        );
    }

    #[test]
    fn touching_windows_and_the_same_hours_on_other_days_are_fine() {
        let s = TrackingSchedule::new(
            vec![
                window(&WORKDAYS, (8, 0), (12, 0)),
                window(&WORKDAYS, (12, 0), (18, 0)),
                window(&[Saturday], (8, 0), (18, 0)),
            ],
            "Europe/Berlin",
        )
        .unwrap();
        // Noon is no transition: the two windows join.
        assert_eq!(
            s.state_at(at("2026-03-02T11:00+01:00")).next_transition_ms,
            Some(at("2026-03-02T18:00+01:00"))
        );
    }

    #[test]
    fn a_schedule_survives_its_stored_form() {
        let s = office_hours("Europe/Berlin");
        let back = TrackingSchedule::from_json(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.zone(), "Europe/Berlin");
        assert_eq!(
            TrackingSchedule::from_json("{\"zone\":\"Nowhere\",\"windows\":[]}"),
            None
        );
        assert_eq!(TrackingSchedule::from_json("garbage"), None);
    }
}
