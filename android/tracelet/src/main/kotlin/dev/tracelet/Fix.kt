package dev.tracelet

/** Where a fix came from. */
enum class Provider { GPS, FUSED, NETWORK, PASSIVE, UNKNOWN }

/**
 * One position. The Android layer builds these from `android.location.Location`; apps with their
 * own location source can record them directly.
 *
 * @property timeMillis UTC milliseconds since the Unix epoch.
 * @property accuracyMeters horizontal accuracy (68 %), required and > 0.
 * @property elapsedRealtimeNanos monotonic time since boot, where the OS gives it.
 */
data class Fix(
    val timeMillis: Long,
    val latitude: Double,
    val longitude: Double,
    val accuracyMeters: Double,
    val altitudeMeters: Double? = null,
    val verticalAccuracyMeters: Double? = null,
    val speedMetersPerSecond: Double? = null,
    val speedAccuracyMetersPerSecond: Double? = null,
    val bearingDegrees: Double? = null,
    val bearingAccuracyDegrees: Double? = null,
    val provider: Provider = Provider.UNKNOWN,
    val isMock: Boolean = false,
    val elapsedRealtimeNanos: Long? = null,
) {
    // Location history is personal data: never print coordinates.
    override fun toString(): String = "Fix(timeMillis=$timeMillis, provider=$provider)"
}
