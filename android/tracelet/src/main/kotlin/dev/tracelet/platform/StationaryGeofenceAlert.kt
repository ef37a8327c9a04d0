package dev.tracelet.platform

import android.annotation.SuppressLint
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.location.LocationManager
import dev.tracelet.Tracelet
import dev.tracelet.internal.StationaryGeofence

/**
 * The core's stationary geofence as a `LocationManager` proximity alert: while the device is
 * still, GNSS is off and the OS watches the circle; leaving it calls `Tracelet.onGeofenceExit()`
 * through [GeofenceExitReceiver], which resumes sampling. Framework API only (no Play Services
 * geofencing). One alert at a time: setting a new circle replaces the previous one.
 */
internal class StationaryGeofenceAlert(
    private val context: Context,
    private val locationManager: LocationManager,
    private val sdkInt: Int,
    private val onProblem: (String) -> Unit,
) {
    private var current: StationaryGeofence? = null

    /** Monitors [geofence], or nothing when `null`. */
    @Synchronized
    @SuppressLint("MissingPermission") // The service checks the permission before starting us.
    fun set(geofence: StationaryGeofence?) {
        if (geofence == current) return
        clear()
        if (geofence == null) return
        try {
            // No expiration: the alert lasts until the policy moves on (or the device reboots).
            locationManager.addProximityAlert(
                geofence.latitude, geofence.longitude, geofence.radiusM.toFloat(), -1L, pendingIntent(),
            )
            current = geofence
        } catch (e: RuntimeException) {
            // SecurityException without fine location (coarse only): the stationary heartbeat
            // fixes still notice movement, later.
            onProblem("stationary geofence refused: ${e.javaClass.simpleName}")
        }
    }

    @Synchronized
    fun clear() {
        if (current == null) return
        current = null
        try {
            locationManager.removeProximityAlert(pendingIntent())
        } catch (e: RuntimeException) {
            // Nothing left to remove.
        }
    }

    // The same request code and component every time, so removal finds the registered alert.
    // Mutable: LocationManager adds KEY_PROXIMITY_ENTERING to it (explicit, so Android 14 allows it).
    private fun pendingIntent(): PendingIntent = PendingIntent.getBroadcast(
        context,
        REQUEST_CODE,
        Intent(context, GeofenceExitReceiver::class.java).setAction(ACTION_PROXIMITY),
        PendingIntent.FLAG_UPDATE_CURRENT or (if (sdkInt >= 31) PendingIntent.FLAG_MUTABLE else 0),
    )

    companion object {
        const val ACTION_PROXIMITY = "dev.tracelet.action.STATIONARY_GEOFENCE"
        private const val REQUEST_CODE = 0x7ACE
    }
}

/** Receives the proximity alert; only an exit matters (an alert also fires on entering). */
internal class GeofenceExitReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (isGeofenceExit(intent.action, intent.getBooleanExtra(LocationManager.KEY_PROXIMITY_ENTERING, true))) {
            // Tracelet.configure ran in Application.onCreate, before any receiver.
            Tracelet.onGeofenceExit()
        }
    }
}

/** Whether a proximity-alert broadcast reports leaving the circle. */
internal fun isGeofenceExit(action: String?, entering: Boolean): Boolean =
    action == StationaryGeofenceAlert.ACTION_PROXIMITY && !entering
