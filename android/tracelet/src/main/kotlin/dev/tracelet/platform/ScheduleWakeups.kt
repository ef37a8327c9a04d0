package dev.tracelet.platform

import android.app.AlarmManager
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import dev.tracelet.Tracelet
import dev.tracelet.TraceletClient
import dev.tracelet.TraceletEvent

/**
 * The tracking schedule's wake-ups on Android. The core decides when tracking turns on and off;
 * while the process lives its own thread applies each transition. A process that Android has
 * stopped needs waking: one alarm, always for the next transition, whose receiver asks the core
 * to apply what passed ([TraceletClient.applySchedule]) and arms the next.
 *
 * Exact alarms (`setExactAndAllowWhileIdle`) when the app may use them (Android 12+: the
 * `SCHEDULE_EXACT_ALARM` permission the app declares and the user allows): on time, and their
 * broadcast may start the location service from the background. Otherwise inexact ones
 * (`setAndAllowWhileIdle`): Doze may defer them by minutes, and Android 12+ refuses to start a
 * foreground service from them, so the service resumes when an activity of the app is next
 * visible (reported as `TrackingInterrupted`, like a refused restart).
 */
internal object ScheduleWakeupsSetup {
    /** The wake-ups of the configured client, for the alarm's receiver. */
    @Volatile var current: ScheduleWakeups? = null
        private set

    /** Hooks the schedule's events of [client] to alarms and the tracking service. */
    fun attach(context: Context, client: TraceletClient, unmeteredOnly: Boolean) {
        val wakeups = ScheduleWakeups(
            os = AlarmManagerScheduleAlarms(context),
            onTrackingOn = { Tracelet.resumeServiceIfInterrupted() },
            onTrackingOff = {
                TrackingService.stop(context)
                removeLeftoverAlerts(context)
                FlushScheduler.schedule(context, unmeteredOnly)
            },
        )
        client.setScheduleListener(wakeups::onScheduleChanged)
        current = wakeups
        // Alarms do not survive a reboot or a force stop; configure() runs at every process start.
        wakeups.reevaluate(client)
    }
}

/** What the schedule's wake-up needs from Android; a fake stands in for it on the JVM. */
internal interface ScheduleAlarmOs {
    /** Exact alarms allowed (always below Android 12). */
    fun canScheduleExact(): Boolean

    fun setExact(atMillis: Long)

    fun setInexact(atMillis: Long)

    fun cancel()
}

/** The alarm to hold for a schedule, decided without Android. */
internal sealed class ScheduleAlarm {
    data class Exact(val atMillis: Long) : ScheduleAlarm()

    data class Inexact(val atMillis: Long) : ScheduleAlarm()

    /** No schedule, or one that never changes: nothing to wake for. */
    data object None : ScheduleAlarm()
}

internal fun scheduleAlarm(nextTransitionMillis: Long?, canScheduleExact: Boolean): ScheduleAlarm = when {
    nextTransitionMillis == null -> ScheduleAlarm.None
    canScheduleExact -> ScheduleAlarm.Exact(nextTransitionMillis)
    else -> ScheduleAlarm.Inexact(nextTransitionMillis)
}

/** Follows the core's schedule decisions: arms the next alarm, starts or stops the service. */
internal class ScheduleWakeups(
    private val os: ScheduleAlarmOs,
    private val onTrackingOn: () -> Unit,
    private val onTrackingOff: () -> Unit,
) {
    /** The core turned tracking on or off by the schedule. Called on the core's threads. */
    fun onScheduleChanged(event: TraceletEvent.ScheduleChanged) {
        // The next wake-up first: whatever starting or stopping the service runs into, the
        // schedule must still get its next alarm.
        arm(event.nextTransitionMillis)
        if (event.isTracking) onTrackingOn() else onTrackingOff()
    }

    /** The alarm fired, or the process started: apply what passed, and arm the next alarm. */
    fun reevaluate(client: TraceletClient) {
        arm(client.applySchedule()?.nextTransitionMs)
    }

    fun arm(nextTransitionMillis: Long?) {
        when (val alarm = scheduleAlarm(nextTransitionMillis, os.canScheduleExact())) {
            is ScheduleAlarm.Exact -> try {
                os.setExact(alarm.atMillis)
            } catch (e: SecurityException) {
                // The user withdrew the permission between the check and the call.
                os.setInexact(alarm.atMillis)
            }
            is ScheduleAlarm.Inexact -> os.setInexact(alarm.atMillis)
            ScheduleAlarm.None -> os.cancel()
        }
    }
}

/** The real alarms: one PendingIntent to [ScheduleAlarmReceiver], replaced at each arming. */
internal class AlarmManagerScheduleAlarms(private val context: Context) : ScheduleAlarmOs {
    private val manager: AlarmManager get() = context.requireSystemService()

    override fun canScheduleExact(): Boolean = exactAlarmsAllowed(manager, android.os.Build.VERSION.SDK_INT)

    override fun setExact(atMillis: Long) {
        manager.setExactAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, atMillis, pendingIntent())
    }

    override fun setInexact(atMillis: Long) {
        manager.setAndAllowWhileIdle(AlarmManager.RTC_WAKEUP, atMillis, pendingIntent())
    }

    override fun cancel() {
        manager.cancel(pendingIntent())
    }

    private fun pendingIntent(): PendingIntent = PendingIntent.getBroadcast(
        context,
        REQUEST_CODE,
        Intent(context, ScheduleAlarmReceiver::class.java),
        PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
    )

    private companion object {
        const val REQUEST_CODE = 0x7ACE_5C4
    }
}

/** Android 12+ asks; before it every app may set exact alarms. */
internal fun exactAlarmsAllowed(manager: AlarmManager, sdkInt: Int): Boolean =
    sdkInt < 31 || canScheduleExactAlarmsApi31(manager)

@GuardedApiCall
private fun canScheduleExactAlarmsApi31(manager: AlarmManager): Boolean = manager.canScheduleExactAlarms()

/** The schedule's alarm fired: the core applies the transition, the next alarm is armed. */
internal class ScheduleAlarmReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        // Tracelet.configure, in Application.onCreate, has run before this.
        val runtime = Tracelet.runtimeOrNull() ?: return
        ScheduleWakeupsSetup.current?.reevaluate(runtime.client)
    }
}
