package dev.tracelet.robolectric

import android.app.AlarmManager
import android.app.Application
import dev.tracelet.ScheduleWindow
import dev.tracelet.Tracelet
import dev.tracelet.TraceletConfig
import dev.tracelet.TrackingSchedule
import dev.tracelet.Weekday
import dev.tracelet.platform.ScheduleAlarmReceiver
import dev.tracelet.timeOfDay
import java.time.LocalDate
import java.time.ZoneOffset
import java.util.UUID
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowAlarmManager

/**
 * The tracking schedule's alarm through the real `Tracelet`, the real core and Robolectric's
 * shadow of `AlarmManager` (not a device): which alarm `AlarmManager` is given for the core's
 * next transition, and what `status.backgroundHealth` reads from the framework services.
 */
@RunWith(TraceletRobolectricTestRunner::class)
class ScheduleAlarmsRobolectricTest {

    private val app: Application = RuntimeEnvironment.getApplication()
    private val alarms = checkNotNull(app.getSystemService(AlarmManager::class.java))

    @After
    fun tearDown() {
        ShadowAlarmManager.reset()
    }

    /** Configures the SDK and sets a schedule for the whole of tomorrow (UTC); when it opens. */
    private fun scheduleTomorrow(): Long {
        Tracelet.configure(
            app,
            TraceletConfig(
                endpoint = "http://127.0.0.1:9/v1/batches",
                deviceId = "robo-sched-" + UUID.randomUUID().toString().take(8),
                bearerToken = "token",
            ),
        )
        val tomorrow = LocalDate.now(ZoneOffset.UTC).plusDays(1)
        val client = checkNotNull(Tracelet.runtimeOrNull()).client
        client.setSchedule(
            TrackingSchedule(
                listOf(ScheduleWindow(listOf(Weekday.entries[tomorrow.dayOfWeek.value - 1]), timeOfDay(0), timeOfDay(24))),
                "UTC",
            ),
        )
        return tomorrow.atStartOfDay().toInstant(ZoneOffset.UTC).toEpochMilli()
    }

    @Test
    @Config(sdk = [30, 34])
    fun `the next transition is an exact alarm to the schedule receiver when exact alarms are allowed`() {
        ShadowAlarmManager.setCanScheduleExactAlarms(true)
        val opens = scheduleTomorrow()
        val alarm = checkNotNull(shadowOf(alarms).peekNextScheduledAlarm()) { "no alarm armed" }
        assertEquals(opens, alarm.triggerAtMs)
        assertEquals(AlarmManager.RTC_WAKEUP, alarm.getType())
        assertEquals(ShadowAlarmManager.WINDOW_EXACT, alarm.windowLengthMs)
        assertTrue(alarm.isAllowWhileIdle)
        // The shadow offers the PendingIntent only as a deprecated field.
        @Suppress("DEPRECATION")
        val operation = checkNotNull(alarm.operation)
        assertEquals(ScheduleAlarmReceiver::class.java.name, shadowOf(operation).savedIntent.component?.className)
        assertTrue(checkNotNull(Tracelet.status.backgroundHealth).canScheduleExactAlarms)
        assertEquals(opens, Tracelet.status.schedule?.nextTransitionMs)
    }

    @Test
    @Config(sdk = [34])
    fun `without the exact-alarm permission the alarm is inexact and the status says so`() {
        ShadowAlarmManager.setCanScheduleExactAlarms(false)
        val opens = scheduleTomorrow()
        val alarm = checkNotNull(shadowOf(alarms).peekNextScheduledAlarm()) { "no alarm armed" }
        assertEquals(opens, alarm.triggerAtMs)
        assertEquals(ShadowAlarmManager.WINDOW_HEURISTIC, alarm.windowLengthMs)
        assertTrue(alarm.isAllowWhileIdle)
        val health = checkNotNull(Tracelet.status.backgroundHealth)
        assertFalse(health.canScheduleExactAlarms)
        assertFalse(health.ignoringBatteryOptimizations)
    }
}
