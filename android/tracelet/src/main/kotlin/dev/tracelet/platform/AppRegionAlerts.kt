package dev.tracelet.platform

import android.annotation.SuppressLint
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.location.LocationManager
import android.net.Uri
import dev.tracelet.OsRegion
import dev.tracelet.RegionRequest

/**
 * The OS side of the app's regions: one proximity alert per region id. An interface so that
 * the diffing in [AppRegionAlerts] is tested on the JVM against a fake.
 */
internal interface ProximityAlerts {
    /** Throws a `RuntimeException` (`SecurityException` without fine location) if refused. */
    fun add(region: OsRegion)

    fun remove(regionId: String)
}

/**
 * The regions of the core's `RegionsChanged` as `LocationManager` proximity alerts, the same
 * framework API as [StationaryGeofenceAlert] (no Play Services geofencing). Each region has its
 * own `PendingIntent` to [GeofenceExitReceiver], told apart by a `tracelet-region:<id>` data URI,
 * so that the same intent, rebuilt, removes it.
 */
internal class LocationManagerProximityAlerts(
    private val context: Context,
    private val locationManager: LocationManager,
    private val sdkInt: Int,
) : ProximityAlerts {

    @SuppressLint("MissingPermission") // The service checks the permission before starting us.
    override fun add(region: OsRegion) {
        // No expiration: the alert lasts until the core's request drops it (or the device reboots).
        locationManager.addProximityAlert(
            region.latitude, region.longitude, region.radiusMeters.toFloat(), -1L, pendingIntent(region.id),
        )
    }

    override fun remove(regionId: String) {
        try {
            locationManager.removeProximityAlert(pendingIntent(regionId))
        } catch (e: RuntimeException) {
            // Nothing left to remove.
        }
    }

    // Mutable: LocationManager adds KEY_PROXIMITY_ENTERING to it (explicit, so Android 14 allows it).
    private fun pendingIntent(regionId: String): PendingIntent = PendingIntent.getBroadcast(
        context,
        REQUEST_CODE,
        Intent(context, GeofenceExitReceiver::class.java)
            .setAction(ACTION_REGION)
            .setData(regionUri(regionId)),
        PendingIntent.FLAG_UPDATE_CURRENT or (if (sdkInt >= 31) PendingIntent.FLAG_MUTABLE else 0),
    )

    companion object {
        const val ACTION_REGION = "dev.tracelet.action.APP_REGION"
        const val REGION_SCHEME = "tracelet-region"
        private const val REQUEST_CODE = 0x7ACF

        fun regionUri(regionId: String): Uri = Uri.fromParts(REGION_SCHEME, regionId, null)
    }
}

/**
 * Keeps the OS watching exactly the regions of the core's latest [RegionRequest]: registers the
 * new or moved ones, removes those dropped, leaves the others alone (re-adding an alert makes
 * the OS report "entering" again).
 */
internal class AppRegionAlerts(
    private val alerts: ProximityAlerts,
    private val onProblem: (String) -> Unit,
    private val ids: AlertIds? = null,
) {
    private val registered = LinkedHashMap<String, OsRegion>()

    init {
        // Alerts a killed process left behind: the OS still holds them. Remove them all; the
        // core's request re-adds those still wanted.
        ids?.let { persisted ->
            persisted.load().forEach(alerts::remove)
            persisted.save(emptySet())
        }
    }

    /** The regions registered now, by id; for tests. */
    @get:Synchronized
    internal val registeredRegions: Map<String, OsRegion> get() = LinkedHashMap(registered)

    @Synchronized
    fun set(request: RegionRequest) {
        val wanted = request.regions.associateBy { it.id }
        val stale = registered.filter { (id, region) -> wanted[id] != region }.keys.toList()
        for (id in stale) {
            alerts.remove(id)
            registered.remove(id)
        }
        var refused = 0
        for (region in request.regions) {
            if (registered.containsKey(region.id)) continue
            try {
                alerts.add(region)
                registered[region.id] = region
            } catch (e: RuntimeException) {
                refused++
            }
        }
        ids?.save(registered.keys)
        // One report per request: without fine location every region is refused, and the
        // fixes of the tracking service still decide the transitions.
        if (refused > 0) onProblem("$refused geofence region(s) refused by the OS")
    }

    @Synchronized
    fun clear() {
        val leftovers = ids?.load().orEmpty()
        (registered.keys + leftovers).forEach(alerts::remove)
        registered.clear()
        ids?.save(emptySet())
    }
}

/** What a proximity-alert broadcast means for the core. */
internal sealed interface ProximityRoute {
    /** The device left the stationary geofence: `onGeofenceExit()`. */
    data object StationaryExit : ProximityRoute

    /** The device entered or left an app region: `onRegionEvent(regionId)`. */
    data class AppRegion(val regionId: String) : ProximityRoute
}

/**
 * Routes a proximity-alert broadcast: leaving the stationary circle (entering it means
 * nothing), or either transition of an app region, whose id is the data URI's
 * scheme-specific part. Anything else: `null`.
 */
internal fun routeProximityAlert(action: String?, data: Uri?, entering: Boolean): ProximityRoute? = when {
    action == StationaryGeofenceAlert.ACTION_PROXIMITY ->
        if (entering) null else ProximityRoute.StationaryExit
    action == LocationManagerProximityAlerts.ACTION_REGION && data?.scheme == LocationManagerProximityAlerts.REGION_SCHEME ->
        data.schemeSpecificPart?.takeIf { it.isNotEmpty() }?.let { ProximityRoute.AppRegion(it) }
    else -> null
}
