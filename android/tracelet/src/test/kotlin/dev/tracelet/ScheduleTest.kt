package dev.tracelet

import java.time.DayOfWeek
import java.time.LocalDate
import java.time.ZoneOffset
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * The tracking schedule through the real library and the real wall clock: windows are placed
 * on whole UTC days around today, so what the core answers is known in advance. Daylight-saving
 * changes and a day of virtual time are tested in the core (`scheduled_tests.rs`).
 */
class ScheduleTest : CollectorTestBase(storagePrefix = "tracelet-schedule", devicePrefix = "kt-sched-") {

    private fun today(): LocalDate = LocalDate.now(ZoneOffset.UTC)

    private fun DayOfWeek.toWeekday(): Weekday = Weekday.entries[value - 1]

    /** Midnight UTC at the start of [date], in epoch milliseconds. */
    private fun midnight(date: LocalDate): Long = date.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli()

    /** All of [date]'s weekday in UTC, 00:00 to 24:00. */
    private fun wholeDay(date: LocalDate) = TrackingSchedule(
        windows = listOf(ScheduleWindow(listOf(date.dayOfWeek.toWeekday()), timeOfDay(0), timeOfDay(24))),
        timeZone = "UTC",
    )

    private val office = TrackingSchedule(
        windows = listOf(ScheduleWindow(WORKDAYS, timeOfDay(8), timeOfDay(18))),
        timeZone = "Europe/Berlin",
    )

    @Test
    fun `a schedule turns tracking on now, shows in the status and survives a restart`() {
        val date = today()
        val schedule = wholeDay(date)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertNull(client.status.schedule)
            val state = client.setSchedule(schedule)
            assertEquals(ScheduleState(tracking = true, nextTransitionMs = midnight(date.plusDays(1))), state)
            assertTrue(client.status.isTracking)
            assertEquals(state, client.status.schedule)
            assertEquals(schedule, client.schedule)
        }
        TraceletClient(config(collector, deviceId), storage).use { reopened ->
            assertEquals(schedule, reopened.schedule)
            assertTrue(reopened.status.isTracking)
            assertEquals(true, reopened.status.schedule?.tracking)
        }
    }

    @Test
    fun `a schedule for tomorrow turns tracking off and says when it turns on`() = runBlocking<Unit> {
        val tomorrow = today().plusDays(1)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val told = async(start = CoroutineStart.UNDISPATCHED) {
                client.events.filter { it is TraceletEvent.ScheduleChanged }.first()
            }
            withTimeout(30_000) { while (client.subscriberCount == 0) delay(10) }
            val state = client.setSchedule(wholeDay(tomorrow))
            assertEquals(ScheduleState(tracking = false, nextTransitionMs = midnight(tomorrow)), state)
            assertFalse(client.status.isTracking)
            assertEquals(TraceletEvent.ScheduleChanged(false, midnight(tomorrow)), withTimeout(30_000) { told.await() })
            assertEquals(state, client.applySchedule(), "nothing more to apply")
        }
    }

    @Test
    fun `bad schedules give typed errors and change nothing`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val before = client.setSchedule(office)
            fun refused(bad: TrackingSchedule): ScheduleException {
                val error = assertThrows<ScheduleException> { client.setSchedule(bad) }
                assertEquals(office, client.schedule, "the schedule in force is kept")
                assertEquals(before.tracking, client.status.schedule?.tracking)
                return error
            }
            val monday = listOf(Weekday.MONDAY)
            val zone = refused(office.copy(timeZone = "Europe/Atlantis"))
            assertEquals("Europe/Atlantis", (zone as ScheduleException.UnknownTimeZone).zone)
            val overlap = refused(office.copy(windows = office.windows + ScheduleWindow(monday, timeOfDay(17), timeOfDay(19))))
            overlap as ScheduleException.OverlappingWindows
            assertEquals(listOf(0, 1), listOf(overlap.first, overlap.second))
            assertEquals(Weekday.MONDAY, overlap.day)
            val backwards = refused(office.copy(windows = listOf(ScheduleWindow(monday, timeOfDay(18), timeOfDay(8)))))
            backwards as ScheduleException.EndBeforeStart
            assertEquals(listOf("18:00", "08:00"), listOf(backwards.start, backwards.end))
            val noDays = refused(office.copy(windows = listOf(ScheduleWindow(emptyList(), timeOfDay(8), timeOfDay(9)))))
            assertEquals(0, (noDays as ScheduleException.NoDays).window)
            val twice = refused(office.copy(windows = listOf(ScheduleWindow(monday + monday, timeOfDay(8), timeOfDay(9)))))
            assertTrue(twice is ScheduleException.RepeatedDay)
            val late = refused(office.copy(windows = listOf(ScheduleWindow(monday, timeOfDay(8), timeOfDay(25)))))
            assertEquals("25:00", (late as ScheduleException.InvalidTime).time)
            // Not wrapped round to a valid hour: 264 would be 8 as a byte.
            val wrapped = refused(office.copy(windows = listOf(ScheduleWindow(monday, timeOfDay(264), timeOfDay(9)))))
            assertEquals("255:00", (wrapped as ScheduleException.InvalidTime).time)
            assertTrue(refused(office.copy(windows = emptyList())) is ScheduleException.NoWindows)
        }
    }

    @Test
    fun `clearing the schedule keeps tracking as it is`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.setSchedule(wholeDay(today()))
            client.clearSchedule()
            assertNull(client.schedule)
            assertNull(client.status.schedule)
            assertNull(client.applySchedule())
            assertTrue(client.status.isTracking)
        }
    }
}
