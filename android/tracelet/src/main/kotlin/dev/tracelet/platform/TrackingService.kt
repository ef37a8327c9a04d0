package dev.tracelet.platform

import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.location.LocationManager
import android.os.Build
import android.os.IBinder
import dev.tracelet.Tracelet

/**
 * The foreground service of type `location` that keeps positions flowing while the app is in the
 * background (Android 8+ throttles background location to a few fixes an hour otherwise).
 */
internal class TrackingService : Service() {

    private var source: LocationSource? = null
    private var conditions: DeviceConditions? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        val runtime = Tracelet.runtimeOrNull()
        if (runtime == null || !runtime.client.status.isTracking) {
            // Restarted by the system after the app called stop(), or before configure(): the
            // service must still call startForeground() once, then it may leave.
            stopSelf()
            return START_NOT_STICKY
        }
        if (!enterForeground(runtime.config.notification)) return START_NOT_STICKY
        if (source == null) {
            val manager = requireSystemService<LocationManager>()
            val sdkInt = Build.VERSION.SDK_INT
            val geofence = StationaryGeofenceAlert(applicationContext, manager, sdkInt, Tracelet::reportInterruption)
            val regions = AppRegionAlerts(
                LocationManagerProximityAlerts(applicationContext, manager, sdkInt),
                Tracelet::reportInterruption,
            )
            source = LocationSource(manager, runtime.client, sdkInt, geofence, Tracelet::reportInterruption, regions)
                .also { it.start() }
            conditions = DeviceConditions(this, runtime.client).also { it.register() }
        }
        // Killed for memory: the system recreates us and onStartCommand resumes from the
        // persisted tracking flag.
        return START_STICKY
    }

    private fun enterForeground(settings: dev.tracelet.NotificationSettings): Boolean {
        val notification = NotificationFactory.build(this, settings)
        return try {
            if (Build.VERSION.SDK_INT >= 29) {
                startForeground(settings.notificationId, notification, ServiceInfo.FOREGROUND_SERVICE_TYPE_LOCATION)
            } else {
                startForeground(settings.notificationId, notification)
            }
            true
        } catch (e: RuntimeException) {
            // Android 12+: ForegroundServiceStartNotAllowedException when started from the
            // background; Android 14+: SecurityException without a location permission.
            Tracelet.reportInterruption("foreground service refused: ${e.javaClass.simpleName}")
            stopSelf()
            false
        }
    }

    override fun onDestroy() {
        source?.stop()
        source = null
        conditions?.unregister()
        conditions = null
        super.onDestroy()
    }

    companion object {
        fun start(context: Context) {
            context.startForegroundService(Intent(context, TrackingService::class.java))
        }

        fun stop(context: Context) {
            context.stopService(Intent(context, TrackingService::class.java))
        }
    }
}
