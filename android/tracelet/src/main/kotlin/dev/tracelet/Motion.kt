package dev.tracelet

/** What the core's motion policy believes the device is doing. */
enum class MotionState {
    /** Sampling as the preset asks for movement. */
    MOVING,

    /** No progress for a while: about to become [STATIONARY] unless the device moves. */
    STOPPING,

    /** GNSS is off; a geofence around [SamplingRequest.stationaryGeofence] watches for movement. */
    STATIONARY,
}

/** How hard the OS should try for a fix. */
enum class SamplingPriority { HIGH_ACCURACY, BALANCED, LOW_POWER, PASSIVE }

/**
 * What the core asks of the OS location API; the SDK's tracking service applies it by itself
 * (see [TraceletEvent.SamplingChanged]). Apps with their own location source can follow it.
 *
 * @property maxBatchDelayMillis the OS may hold fixes back this long and deliver them at once.
 * @property stationaryGeofence while stationary: the circle to watch for an exit, which should
 *   be reported with `Tracelet.client.onGeofenceExit()`.
 */
data class SamplingRequest(
    val priority: SamplingPriority,
    val intervalMillis: Long,
    val fastestIntervalMillis: Long,
    val minDistanceMeters: Double,
    val maxBatchDelayMillis: Long,
    val stationaryGeofence: StationaryGeofence?,
)

/** A circle around where the device stopped. */
data class StationaryGeofence(val latitude: Double, val longitude: Double, val radiusMeters: Double) {
    // Location history is personal data: never print coordinates.
    override fun toString(): String = "StationaryGeofence(radiusMeters=$radiusMeters)"
}
