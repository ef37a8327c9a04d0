package dev.tracelet.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import dev.tracelet.Tracelet

/**
 * Resumes tracking after a reboot or an app update, when it was on before. Both broadcasts are
 * exempt from the Android 12+ ban on starting foreground services from the background.
 *
 * It relies on the app calling `Tracelet.configure` in `Application.onCreate`, which Android runs
 * before delivering the broadcast; the tracking flag itself comes from the core's queue.
 */
internal class RestartReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val runtime = Tracelet.runtimeOrNull() ?: return
        val decision = restartDecision(
            action = intent.action,
            wasTracking = runtime.client.status.isTracking,
            permission = Tracelet.permissionState(context),
        )
        when (decision) {
            RestartDecision.RESTART -> TrackingService.start(context)
            RestartDecision.NO_BACKGROUND_PERMISSION ->
                Tracelet.reportInterruption("not resumed after restart: background location not granted")
            RestartDecision.NOT_TRACKING, RestartDecision.IGNORED -> Unit
        }
        // Fixes queued before the restart go out as soon as there is a network.
        FlushScheduler.schedule(context, unmeteredOnly = runtime.config.uploadOnlyUnmetered)
    }
}
