package dev.tracelet

/**
 * Weekly windows of local time in an IANA time zone ("Europe/Berlin"), inside which tracking is
 * on: set with [TraceletClient.setSchedule]. 1 to 64 windows, none overlapping; decided in the
 * core, the same on iOS.
 */
typealias TrackingSchedule = dev.tracelet.internal.TrackingSchedule

/**
 * Tracking on from [ScheduleWindow.start] to [ScheduleWindow.end] on each of its days. A window
 * ends on the day it starts: a night shift is two windows (22:00 to 24:00, then 00:00 to 06:00
 * the next day), which join without a break.
 */
typealias ScheduleWindow = dev.tracelet.internal.ScheduleWindow

/** A time shown on a clock, to the minute: 00:00 to 23:59, and 24:00 as a window's end. See [timeOfDay]. */
typealias TimeOfDay = dev.tracelet.internal.TimeOfDay

typealias Weekday = dev.tracelet.internal.Weekday

/**
 * What the schedule says now: [ScheduleState.tracking], and [ScheduleState.nextTransitionMs]
 * (UTC milliseconds) when that changes next, `null` if never.
 */
typealias ScheduleState = dev.tracelet.internal.ScheduleState

/**
 * A refused schedule (nothing changed): `UnknownTimeZone`, `NoWindows`, `TooManyWindows`,
 * `NoDays`, `RepeatedDay`, `InvalidTime`, `EndBeforeStart`, `OverlappingWindows`; or `Storage`
 * when it could not be stored. Windows are numbered from 0 in the order given.
 */
typealias ScheduleException = dev.tracelet.internal.ScheduleException

/**
 * A [TimeOfDay] from plain ints. Out-of-range values are not wrapped: they reach the core as an
 * invalid time and [TraceletClient.setSchedule] refuses them with [ScheduleException.InvalidTime].
 */
fun timeOfDay(hour: Int, minute: Int = 0): TimeOfDay =
    TimeOfDay(hour.toClockField(), minute.toClockField())

/** Monday to Friday. */
val WORKDAYS: List<Weekday> =
    listOf(Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY)

// 255 is never a valid hour or minute, so anything outside 0..255 becomes it rather than wrapping.
private fun Int.toClockField(): UByte = (if (this in 0..255) this else 255).toUByte()
