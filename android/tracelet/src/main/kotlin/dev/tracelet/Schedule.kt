package dev.tracelet

import dev.tracelet.internal.ScheduleException as FfiScheduleException

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
typealias ScheduleWindow = dev.tracelet.internal.core.ScheduleWindow

/** A time shown on a clock, to the minute: 00:00 to 23:59, and 24:00 as a window's end. See [timeOfDay]. */
typealias TimeOfDay = dev.tracelet.internal.core.TimeOfDay

typealias Weekday = dev.tracelet.internal.core.Weekday

/**
 * What the schedule says now: [ScheduleState.tracking], and [ScheduleState.nextTransitionMs]
 * (UTC milliseconds) when that changes next, `null` if never.
 */
typealias ScheduleState = dev.tracelet.internal.core.ScheduleState

/**
 * A refused schedule: nothing changed, the schedule in force is kept. Windows are numbered from
 * 0 in the order given. [Storage] is a schedule that could not be stored.
 */
sealed class ScheduleException(message: String) : Exception(message) {
    class UnknownTimeZone(val zone: String) :
        ScheduleException("unknown time zone \"$zone\": use an IANA name such as Europe/Berlin")

    class NoWindows : ScheduleException("a schedule needs at least one window (clear it to track without one)")

    class TooManyWindows(val max: Int) : ScheduleException("at most $max windows")

    class NoDays(val window: Int) : ScheduleException("window $window has no days")

    class RepeatedDay(val window: Int) : ScheduleException("window $window lists a day twice")

    class InvalidTime(val window: Int, val time: String) :
        ScheduleException("window $window: $time is not a time of day (00:00 to 23:59, or 24:00 as an end)")

    class EndBeforeStart(val window: Int, val start: String, val end: String) :
        ScheduleException("window $window ends ($end) before or when it starts ($start)")

    class OverlappingWindows(val first: Int, val second: Int, val day: Weekday) :
        ScheduleException("windows $first and $second overlap on $day")

    class Storage(val reason: String) : ScheduleException("the schedule could not be stored: $reason")
}

internal inline fun <T> translatingScheduleErrors(block: () -> T): T =
    try {
        block()
    } catch (e: FfiScheduleException) {
        throw e.toPublic()
    }

internal fun FfiScheduleException.toPublic(): ScheduleException = when (this) {
    is FfiScheduleException.UnknownTimeZone -> ScheduleException.UnknownTimeZone(zone)
    is FfiScheduleException.NoWindows -> ScheduleException.NoWindows()
    is FfiScheduleException.TooManyWindows -> ScheduleException.TooManyWindows(max.toInt())
    is FfiScheduleException.NoDays -> ScheduleException.NoDays(window.toInt())
    is FfiScheduleException.RepeatedDay -> ScheduleException.RepeatedDay(window.toInt())
    is FfiScheduleException.InvalidTime -> ScheduleException.InvalidTime(window.toInt(), time)
    is FfiScheduleException.EndBeforeStart -> ScheduleException.EndBeforeStart(window.toInt(), start, end)
    is FfiScheduleException.OverlappingWindows ->
        ScheduleException.OverlappingWindows(first.toInt(), second.toInt(), day)
    is FfiScheduleException.Storage -> ScheduleException.Storage(reason)
}

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
