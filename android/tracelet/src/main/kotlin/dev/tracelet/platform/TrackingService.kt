package dev.tracelet.platform

import android.app.Notification
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.hardware.SensorManager
import android.location.LocationManager
import android.os.Build
import android.os.IBinder
import dev.tracelet.NotificationSettings
import dev.tracelet.PermissionState
import dev.tracelet.Tracelet
import dev.tracelet.TraceletClient

/**
 * The foreground service of type `location` that keeps positions flowing while the app is in the
 * background (Android 8+ throttles background location to a few fixes an hour otherwise).
 *
 * Every start calls `startForeground()` first, whatever follows: a service started with
 * `startForegroundService` that stops before calling it crashes the app ("did not then call
 * Service.startForeground()"), also when it only came to leave (tracking off, permission gone).
 */
internal class TrackingService : Service() {

    private var source: LocationSource? = null
    private var conditions: DeviceConditions? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val runtime = Tracelet.runtimeOrNull()
        val settings = runtime?.config?.notification ?: NotificationSettings()
        if (!enterForeground(settings)) return START_NOT_STICKY
        if (runtime == null || !runtime.client.status.isTracking) {
            // Restarted by the system after the app called stop(), or before configure().
            leave()
            return START_NOT_STICKY
        }
        val permission = Tracelet.permissionState(this)
        runtime.client.reportAccess(permission)
        if (!permission.canTrack) {
            // Revoked while tracking (or location switched off): the OS would refuse every
            // request with a SecurityException, restart after restart. Stop and say why.
            Tracelet.reportInterruption("location permission revoked or location off: $permission")
            leave()
            return START_NOT_STICKY
        }
        if (source == null) startSource(runtime.client)
        Tracelet.serviceRunning(true)
        // Killed for memory: the system recreates us and onStartCommand resumes from the
        // persisted tracking flag.
        return START_STICKY
    }

    private fun startSource(client: TraceletClient) {
        val manager = requireSystemService<LocationManager>()
        val sdkInt = Build.VERSION.SDK_INT
        val geofence = StationaryGeofenceAlert(applicationContext, manager, sdkInt, Tracelet::reportInterruption)
        val regions = AppRegionAlerts(
            LocationManagerProximityAlerts(applicationContext, manager, sdkInt),
            Tracelet::reportInterruption,
            PreferencesAlertIds(applicationContext),
        )
        source = LocationSource(
            manager, client, sdkInt, geofence, Tracelet::reportInterruption, regions,
            motion = SignificantMotionTrigger(getSystemService(SensorManager::class.java)),
            locationEnabled = { locationServicesEnabled(applicationContext, manager, sdkInt) },
            onPermissionLost = { leave() },
        ).also { it.start() }
        conditions = DeviceConditions(this, client).also { it.register() }
    }

    /** Ends the service cleanly after `startForeground()`; also from the location thread. */
    private fun leave() {
        stopForeground(STOP_FOREGROUND_REMOVE)
        stopSelf()
    }

    private fun enterForeground(settings: NotificationSettings): Boolean {
        val notification = NotificationFactory.build(this, settings)
        return try {
            if (Build.VERSION.SDK_INT >= 29) {
                startForegroundApi29(settings.notificationId, notification)
            } else {
                startForeground(settings.notificationId, notification)
            }
            true
        } catch (e: RuntimeException) {
            // Android 12+: ForegroundServiceStartNotAllowedException when restarted from the
            // background (a sticky restart after a process kill); Android 14+: SecurityException
            // without a location permission. Tracking is on but nothing flows: say so, and
            // Tracelet restarts us when configure() runs or an activity becomes visible.
            Tracelet.serviceRefused("foreground service refused: ${e.javaClass.simpleName}")
            stopSelf()
            false
        }
    }

    @GuardedApiCall
    private fun startForegroundApi29(id: Int, notification: Notification) {
        startForeground(id, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION)
    }

    override fun onDestroy() {
        source?.stop()
        source = null
        conditions?.unregister()
        conditions = null
        Tracelet.serviceRunning(false)
        super.onDestroy()
    }

    companion object {
        /**
         * Throws what `startForegroundService` throws: `ForegroundServiceStartNotAllowedException`
         * (an `IllegalStateException`) from the background on Android 12+, `SecurityException`.
         */
        fun start(context: Context) {
            context.startForegroundService(Intent(context, TrackingService::class.java))
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, TrackingService::class.java))
        }
    }
}

/** Tells the core what the permission lets it record (approximate only, no background). */
internal fun TraceletClient.reportAccess(permission: PermissionState) {
    val precise = when (permission) {
        is PermissionState.ForegroundOnly -> permission.precise
        is PermissionState.BackgroundGranted -> permission.precise
        else -> false
    }
    setLocationAccess(granted = permission.canTrack, precise = precise, background = permission.canTrackInBackground)
}
