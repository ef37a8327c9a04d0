package dev.tracelet.platform

import dev.tracelet.CollectorProcess
import dev.tracelet.ScheduleWindow
import dev.tracelet.TraceletClient
import dev.tracelet.TraceletEvent
import dev.tracelet.TrackingSchedule
import dev.tracelet.Weekday
import dev.tracelet.config
import dev.tracelet.deleteTree
import dev.tracelet.tempStorageDir
import dev.tracelet.timeOfDay
import java.time.LocalDate
import java.time.ZoneOffset
import java.util.UUID
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

/**
 * The schedule's wake-ups on Android: which alarm is armed for the core's decisions, and when the
 * tracking service is started or stopped. `AlarmManager` cannot run on the JVM, so a fake OS
 * ([FakeAlarms]) records what it would be asked; the core on the other side is the real library.
 */
class ScheduleWakeupsTest {

    /** A fake of `AlarmManager`: every call, in order. */
    private class FakeAlarms(var exactAllowed: Boolean, private val refuseExact: Boolean = false) : ScheduleAlarmOs {
        val calls = ArrayList<String>()

        override fun canScheduleExact(): Boolean = exactAllowed

        override fun setExact(atMillis: Long) {
            calls += "exact $atMillis"
            if (refuseExact) throw SecurityException("SCHEDULE_EXACT_ALARM revoked")
        }

        override fun setInexact(atMillis: Long) {
            calls += "inexact $atMillis"
        }

        override fun cancel() {
            calls += "cancel"
        }
    }

    private class Recorder {
        val service = ArrayList<String>()
    }

    private fun wakeups(alarms: FakeAlarms, recorder: Recorder) = ScheduleWakeups(
        alarms,
        onTrackingOn = { recorder.service += "start" },
        onTrackingOff = { recorder.service += "stop" },
    )

    @Test
    fun `exact alarms when allowed, inexact otherwise, none without a transition`() {
        assertEquals(ScheduleAlarm.Exact(1_000), scheduleAlarm(1_000, canScheduleExact = true))
        assertEquals(ScheduleAlarm.Inexact(1_000), scheduleAlarm(1_000, canScheduleExact = false))
        assertEquals(ScheduleAlarm.None, scheduleAlarm(null, canScheduleExact = true))
    }

    @Test
    fun `a schedule change starts or stops the service and arms the next alarm`() {
        val alarms = FakeAlarms(exactAllowed = true)
        val recorder = Recorder()
        val w = wakeups(alarms, recorder)
        w.onScheduleChanged(TraceletEvent.ScheduleChanged(isTracking = true, nextTransitionMillis = 5_000))
        alarms.exactAllowed = false
        w.onScheduleChanged(TraceletEvent.ScheduleChanged(isTracking = false, nextTransitionMillis = 9_000))
        w.onScheduleChanged(TraceletEvent.ScheduleChanged(isTracking = true, nextTransitionMillis = null))
        assertEquals(listOf("start", "stop", "start"), recorder.service)
        assertEquals(listOf("exact 5000", "inexact 9000", "cancel"), alarms.calls)
    }

    @Test
    fun `a permission withdrawn between the check and the call falls back to an inexact alarm`() {
        val alarms = FakeAlarms(exactAllowed = true, refuseExact = true)
        wakeups(alarms, Recorder()).arm(7_000)
        assertEquals(listOf("exact 7000", "inexact 7000"), alarms.calls)
    }

    @Test
    fun `the real core's decisions reach the fake OS`() {
        CollectorProcess.start().use { collector ->
            val storage = tempStorageDir("tracelet-wakeups")
            try {
                TraceletClient(config(collector, "kt-wake-" + UUID.randomUUID().toString().take(8)), storage).use { client ->
                    val alarms = FakeAlarms(exactAllowed = true)
                    val recorder = Recorder()
                    val w = wakeups(alarms, recorder)
                    client.setScheduleListener(w::onScheduleChanged)
                    // The process starting: no schedule, so no alarm.
                    w.reevaluate(client)
                    val tomorrow = LocalDate.now(ZoneOffset.UTC).plusDays(1)
                    val opens = tomorrow.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli()
                    client.setSchedule(
                        TrackingSchedule(
                            listOf(ScheduleWindow(listOf(Weekday.entries[tomorrow.dayOfWeek.value - 1]), timeOfDay(0), timeOfDay(24))),
                            "UTC",
                        ),
                    )
                    // Set on this thread: the core told the listener before setSchedule returned.
                    assertEquals(listOf("stop"), recorder.service)
                    assertEquals(listOf("cancel", "exact $opens"), alarms.calls)
                    // The alarm fires early (or the process restarts): nothing to apply, same alarm.
                    w.reevaluate(client)
                    assertEquals(listOf("cancel", "exact $opens", "exact $opens"), alarms.calls)
                    assertEquals(listOf("stop"), recorder.service)
                }
            } finally {
                storage.deleteTree()
            }
        }
    }
}
