import TraceletBindings

// The tracking schedule: weekly windows of local time in an IANA time zone, decided in the core
// (the same on Android). See docs/schedules.md.

/// Weekly windows (1 to 64, none overlapping) in an IANA time zone ("Europe/Berlin") inside
/// which tracking is on. See ``Tracelet/setSchedule(_:)``.
///
/// ```swift
/// let office = TrackingSchedule(
///     windows: [ScheduleWindow(days: Weekday.workdays, start: TimeOfDay(hour: 8, minute: 0),
///                              end: TimeOfDay(hour: 18, minute: 0))],
///     timeZone: "Europe/Berlin")
/// ```
public typealias TrackingSchedule = TraceletBindings.TrackingSchedule
/// Tracking on from `start` to `end` on each of `days`. A window ends on the day it starts: a
/// night shift is two windows (22:00 to 24:00, then 00:00 to 06:00 the next day), which join.
public typealias ScheduleWindow = TraceletBindings.ScheduleWindow
/// A time shown on a clock, to the minute: 00:00 to 23:59, and 24:00 as a window's end.
public typealias TimeOfDay = TraceletBindings.TimeOfDay
public typealias Weekday = TraceletBindings.Weekday
/// What the schedule says now: `tracking`, and `nextTransitionMs` (UTC milliseconds) when that
/// changes next, nil if never.
public typealias ScheduleState = TraceletBindings.ScheduleState
/// A refused schedule (nothing changed): `.UnknownTimeZone`, `.NoWindows`, `.TooManyWindows`,
/// `.NoDays`, `.RepeatedDay`, `.InvalidTime`, `.EndBeforeStart`, `.OverlappingWindows`; or
/// `.Storage` when it could not be stored. Windows are numbered from 0 in the order given.
public typealias ScheduleError = TraceletBindings.ScheduleError

extension Weekday {
    /// Monday to Friday.
    public static let workdays: [Weekday] = [.monday, .tuesday, .wednesday, .thursday, .friday]
}

extension Tracelet {
    /// Replaces the tracking schedule and applies it at once: tracking turns to what it says
    /// now, then on and off at each window's edge (`.scheduleChanged(tracking:nextTransitionMs:)`).
    /// ``start()`` and ``stop()`` in between hold until the next edge. Stored with the queue.
    ///
    /// iOS gives apps no timers in the background: while the app is suspended or terminated,
    /// a transition is applied at its next wake-up (``LocationTracker`` keeps significant-change
    /// monitoring armed for that). See docs/schedules.md.
    ///
    /// - Returns: what the schedule says now, with the next transition.
    /// - Throws: ``ScheduleError``; the schedule in force is kept.
    @discardableResult
    public func setSchedule(_ schedule: TrackingSchedule) throws -> ScheduleState {
        try core.setSchedule(schedule: schedule)
    }

    /// Removes the schedule; tracking stays as it is.
    public func clearSchedule() throws {
        try core.clearSchedule()
    }

    /// The schedule in force, or nil.
    public var schedule: TrackingSchedule? {
        core.schedule()
    }

    /// Applies a schedule transition that has passed; call it when the OS wakes the app
    /// (``LocationTracker`` does). Nil without a schedule.
    @discardableResult
    public func applySchedule() throws -> ScheduleState? {
        try core.applySchedule()
    }
}

/// What ``LocationTracker`` keeps armed for the schedule while it holds tracking off: decided
/// apart from CoreLocation, so that the decision runs in tests on Linux.
///
/// iOS runs no app code at a chosen time in the background. What relaunches or resumes a
/// suspended or terminated app is the OS's own location triggers: significant-change
/// monitoring (about 500 m of movement; needs Always), visits, region crossings; and
/// opportunistically a background app refresh or a silent push from the app's server. The
/// schedule is applied at each of them, so a window opens at the first wake-up after its start.
struct ScheduleWakePlan: Equatable {
    /// Keep significant-change and visit monitoring on while tracking is off.
    var significantChange: Bool

    /// - Parameters:
    ///   - state: what the schedule says now; nil without a schedule.
    ///   - tracking: whether tracking is on now (the app's own start/stop included).
    static func decide(
        state: ScheduleState?, tracking: Bool, authorization: LocationAuthorization,
        significantChangeAvailable: Bool
    ) -> ScheduleWakePlan {
        guard let state, !tracking, state.nextTransitionMs != nil else {
            return ScheduleWakePlan(significantChange: false)
        }
        return ScheduleWakePlan(
            significantChange: authorization.allowsRelaunch && significantChangeAvailable)
    }
}
