package dev.tracelet.platform

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Build
import android.os.Bundle
import android.os.Handler
import android.os.HandlerThread
import dev.tracelet.TraceletClient
import dev.tracelet.TraceletException
import dev.tracelet.internal.core.Priority
import dev.tracelet.internal.core.SamplingRequest
import dev.tracelet.internal.core.WakeSources
import java.util.concurrent.Executor

/**
 * Feeds the OS's positions into the core and applies the core's sampling to the OS: the core
 * decides, the OS obeys. Fixes arrive on a private thread, so the SQLite write in
 * [TraceletClient.record] never runs on the main thread.
 *
 * A new request is announced by the core's `SamplingChanged` event (also when no fix comes in,
 * say a stop noticed by time) and applied on this source's thread; after each batch of fixes the
 * current request is also read back, in case an event was missed. While stationary, [geofence]
 * watches the core's stationary circle. The app's geofences nearest the device are registered
 * with the OS by [regions], following the core's `RegionsChanged` on the same thread.
 *
 * While the phone is still, [motion] (the significant-motion sensor) is armed beside the
 * geofence, and the core's `planUpdates` says what to request given what could actually be
 * armed: with neither (coarse location refuses proximity alerts; no sensor) it keeps coarse
 * updates instead of a passive heartbeat that nothing would end.
 */
internal class LocationSource(
    private val locationManager: LocationManager,
    private val client: TraceletClient,
    private val sdkInt: Int,
    private val geofence: StationaryGeofenceAlert?,
    private val onProblem: (String) -> Unit,
    private val regions: AppRegionAlerts? = null,
    private val motion: MotionTrigger? = null,
    /** The device's location setting; read through [locationServicesEnabled] by the service. */
    private val locationEnabled: () -> Boolean = { true },
    /** The OS refused updates for lack of permission (revoked while running): stop cleanly. */
    private val onPermissionLost: () -> Unit = {},
) : LocationListener {

    private val thread = HandlerThread("tracelet-location").apply { start() }
    private val handler = Handler(thread.looper)
    private val executor = Executor { handler.post(it) }
    @Volatile private var applied: SamplingRequest? = null
    private var stopped = false
    /** The providers listened to now; re-requesting the same ones replaces their request. */
    private var listening: List<String> = emptyList()

    /** What this source set as the client's sampling listener, so that [stop] removes only its own. */
    private val samplingListener: (SamplingRequest) -> Unit = { handler.post(::applyCurrent) }

    /** Applies the core's current sampling request and follows its changes. Needs a location permission. */
    fun start() {
        // Events from different core threads may be posted out of order; applying the core's
        // current request when the message runs means the last one applied is the newest.
        client.setSamplingListener(samplingListener)
        apply(client.samplingRequest())
        if (regions != null) {
            // Same as sampling: the region request current when the message runs is the newest.
            client.setRegionListener { handler.post(::applyRegions) }
            applyRegions()
        }
    }

    @Synchronized
    fun stop() {
        stopped = true
        client.clearSamplingListener(samplingListener)
        if (regions != null) client.setRegionListener(null)
        locationManager.removeUpdates(this)
        geofence?.clear()
        regions?.clear()
        motion?.disarm()
        listening = emptyList()
        applied = null
        thread.quitSafely()
    }

    override fun onLocationChanged(location: Location) {
        onLocationChanged(listOf(location))
    }

    // API 31+: hardware batching delivers several fixes at once; store them in one transaction.
    override fun onLocationChanged(locations: List<Location>) {
        try {
            client.record(locations.map { it.toFix(sdkInt) })
        } catch (e: TraceletException) {
            // Invalid fixes are counted by the core and reported as events; a failure here is
            // storage or shutdown, which the app sees through the event.
            onProblem(e.message ?: e.javaClass.simpleName)
            return
        }
        // Normally a no-op: the SamplingChanged event has applied any change already.
        applyIfChanged(client.samplingRequest())
    }

    override fun onProviderDisabled(provider: String) {
        if (applied != null && !locationEnabled()) onProblem("location services turned off")
    }

    // Abstract in LocationListener before API 30, and still called on API 26-28: without it the
    // location thread dies with AbstractMethodError, and the process with it.
    @Deprecated("Deprecated in API 29; required below API 30.")
    override fun onStatusChanged(provider: String?, status: Int, extras: Bundle?) = Unit

    override fun onProviderEnabled(provider: String) {
        // A provider the current selection wanted may be back: select again.
        applied?.let { apply(it) }
    }

    private fun applyCurrent() {
        val current = try {
            client.samplingRequest()
        } catch (e: RuntimeException) {
            return // The client was closed (reconfigured) after the event: the service stops us.
        }
        applyIfChanged(current)
    }

    @Synchronized
    private fun applyRegions() {
        if (stopped) return
        val request = try {
            client.regionRequest()
        } catch (e: RuntimeException) {
            return // Closed after the event, as in applyCurrent.
        }
        regions?.set(request)
    }

    private fun applyIfChanged(request: SamplingRequest) {
        if (request != applied) apply(request)
    }

    @Synchronized
    @SuppressLint("MissingPermission") // The service checks the permission before starting us.
    private fun apply(request: SamplingRequest) {
        // A request posted before stop() must not restart updates after it.
        if (stopped) return
        applied = request
        val regionArmed = geofence?.set(request.stationaryGeofence) ?: false
        val idle = request.stationaryGeofence != null || request.priority == Priority.PASSIVE
        val motionArmed = if (idle) {
            motion?.arm(client::onSignificantMotion) ?: false
        } else {
            motion?.disarm()
            false
        }
        val plan = client.planUpdates(
            WakeSources(stationaryRegion = regionArmed, significantMotion = motionArmed, significantChange = false),
        )
        val sampling = plan.request.toOsSampling()
        val enabled = locationManager.getProviders(true).toSet()
        val providers = selectProviders(plan.request.priority, sdkInt, enabled)
        try {
            // Requesting again for the same listener and provider replaces the request; a
            // removeUpdates first would drop fixes the OS is batching (API 31+).
            if (providers != listening) locationManager.removeUpdates(this)
            for (provider in providers) {
                if (sdkInt >= 31) {
                    requestApi31(provider, sampling)
                } else {
                    locationManager.requestLocationUpdates(
                        provider, sampling.legacyMinTimeMillis, sampling.minDistanceMeters, this, thread.looper,
                    )
                }
            }
            listening = providers
        } catch (e: SecurityException) {
            // The permission was revoked while tracking: the OS refuses, and retrying would
            // only throw again. Stop cleanly; the app is told why.
            listening = emptyList()
            onProblem("location permission revoked")
            onPermissionLost()
        }
    }

    @GuardedApiCall
    @SuppressLint("MissingPermission")
    private fun requestApi31(provider: String, sampling: OsSampling) {
        locationManager.requestLocationUpdates(provider, sampling.toLocationRequest(), executor, this)
    }
}

/**
 * A source for one position request while tracking is off: the core's sampling (GNSS once a
 * second while the request waits) applied to the OS, no geofences, no regions, no motion
 * sensor. A problem ends nothing here: the request itself times out with a typed error.
 */
internal fun oneShotLocationSource(context: Context, client: TraceletClient): LocationSource {
    val manager = checkNotNull(context.getSystemService(LocationManager::class.java)) { "no LocationManager" }
    val sdkInt = Build.VERSION.SDK_INT
    return LocationSource(
        manager, client, sdkInt, geofence = null, onProblem = {},
        locationEnabled = { locationServicesEnabled(context, manager, sdkInt) },
    )
}
