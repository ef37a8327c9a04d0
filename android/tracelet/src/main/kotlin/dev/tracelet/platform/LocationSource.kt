package dev.tracelet.platform

import android.annotation.SuppressLint
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Handler
import android.os.HandlerThread
import dev.tracelet.TraceletClient
import dev.tracelet.TraceletException
import dev.tracelet.internal.SamplingRequest
import java.util.concurrent.Executor

/**
 * Feeds the OS's positions into the core and applies the core's sampling to the OS: the core
 * decides, the OS obeys. Fixes arrive on a private thread, so the SQLite write in
 * [TraceletClient.recordAll] never runs on the main thread.
 */
internal class LocationSource(
    private val locationManager: LocationManager,
    private val client: TraceletClient,
    private val sdkInt: Int,
    private val onProblem: (String) -> Unit,
) : LocationListener {

    private val thread = HandlerThread("tracelet-location").apply { start() }
    private val handler = Handler(thread.looper)
    private val executor = Executor { handler.post(it) }
    @Volatile private var applied: SamplingRequest? = null

    /** Applies the core's current sampling request. Needs a location permission. */
    fun start() {
        apply(client.samplingRequest())
    }

    fun stop() {
        locationManager.removeUpdates(this)
        applied = null
        thread.quitSafely()
    }

    override fun onLocationChanged(location: Location) {
        onLocationChanged(listOf(location))
    }

    // API 31+: hardware batching delivers several fixes at once; store them in one transaction.
    override fun onLocationChanged(locations: List<Location>) {
        try {
            client.recordAll(locations.map { it.toFix(sdkInt) })
        } catch (e: TraceletException) {
            // Invalid fixes are counted by the core and reported as events; a failure here is
            // storage or shutdown, which the app sees through the event.
            onProblem(e.message ?: e.javaClass.simpleName)
            return
        }
        val next = client.samplingRequest()
        if (next != applied) apply(next)
    }

    override fun onProviderDisabled(provider: String) {
        if (applied != null && !locationManager.isLocationEnabled) onProblem("location services turned off")
    }

    override fun onProviderEnabled(provider: String) {
        // A provider the current selection wanted may be back: select again.
        applied?.let { apply(it) }
    }

    @SuppressLint("MissingPermission") // The service checks the permission before starting us.
    private fun apply(request: SamplingRequest) {
        applied = request
        locationManager.removeUpdates(this)
        val sampling = request.toOsSampling()
        val enabled = locationManager.getProviders(true).toSet()
        val providers = selectProviders(request.priority, sdkInt, enabled)
        for (provider in providers) {
            if (sdkInt >= 31) {
                locationManager.requestLocationUpdates(provider, sampling.toLocationRequest(), executor, this)
            } else {
                locationManager.requestLocationUpdates(
                    provider, sampling.intervalMillis, sampling.minDistanceMeters, this, thread.looper,
                )
            }
        }
    }
}
