package dev.tracelet.platform

import android.annotation.SuppressLint
import android.app.PendingIntent
import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.location.LocationManager
import dev.tracelet.Tracelet
import dev.tracelet.internal.core.StationaryGeofence

/**
 * The core's stationary geofence as a `LocationManager` proximity alert: while the device is
 * still, GNSS is off and the OS watches the circle; leaving it calls `Tracelet.client.onGeofenceExit()`
 * through [GeofenceExitReceiver], which resumes sampling. Framework API only (no Play Services
 * geofencing). One alert at a time: setting a new circle replaces the previous one. The app's
 * own geofences are registered beside it by [AppRegionAlerts].
 */
internal class StationaryGeofenceAlert(
    private val context: Context,
    private val locationManager: LocationManager,
    private val sdkInt: Int,
    private val onProblem: (String) -> Unit,
) {
    private var current: StationaryGeofence? = null

    /** Monitors [geofence], or nothing when `null`; true when the OS accepted it (it is armed). */
    @Synchronized
    @SuppressLint("MissingPermission") // The service checks the permission before starting us.
    fun set(geofence: StationaryGeofence?): Boolean {
        if (geofence == current) return geofence != null
        clear()
        if (geofence == null) return false
        return try {
            // No expiration: the alert lasts until the policy moves on (or the device reboots).
            locationManager.addProximityAlert(
                geofence.latitudeDeg, geofence.longitudeDeg, geofence.radiusM.toFloat(), -1L, pendingIntent(),
            )
            current = geofence
            true
        } catch (e: RuntimeException) {
            // SecurityException without fine location (coarse only): the core then keeps coarse
            // updates running (plan_updates), so movement is still noticed.
            onProblem("stationary geofence refused: ${e.javaClass.simpleName}")
            false
        }
    }

    /** Removes the alert, also one a killed process registered: the `PendingIntent` is fixed. */
    @Synchronized
    fun clear() {
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

/**
 * Receives the proximity alerts: leaving the stationary geofence resumes sampling
 * (`Tracelet.client.onGeofenceExit()`; an alert also fires on entering, which means nothing there);
 * either transition of an app region ([LocationManagerProximityAlerts]) goes to
 * `Tracelet.client.onRegionEvent(id)`, and the next fixes decide the geofence event.
 */
internal class GeofenceExitReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        // Tracelet.configure ran in Application.onCreate, before any receiver; without it
        // there is no tracker to tell.
        val client = Tracelet.runtimeOrNull()?.client ?: return
        dispatchProximityAlert(intent, client::onGeofenceExit, client::onRegionEvent)
    }
}

/** The receiver's work, apart from the `Tracelet` singleton so that tests can watch it. */
internal fun dispatchProximityAlert(intent: Intent, onGeofenceExit: () -> Unit, onRegionEvent: (String) -> Unit) {
    val entering = intent.getBooleanExtra(LocationManager.KEY_PROXIMITY_ENTERING, true)
    when (val route = routeProximityAlert(intent.action, intent.data, entering)) {
        ProximityRoute.StationaryExit -> onGeofenceExit()
        is ProximityRoute.AppRegion -> onRegionEvent(route.regionId)
        null -> Unit
    }
}

/** Whether a proximity-alert broadcast reports leaving the stationary circle. */
internal fun isGeofenceExit(action: String?, entering: Boolean): Boolean =
    routeProximityAlert(action, null, entering) == ProximityRoute.StationaryExit
