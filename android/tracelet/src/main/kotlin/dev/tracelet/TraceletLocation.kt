package dev.tracelet

/**
 * One accepted fix as the app sees it: after the filter and the privacy zones, once it is
 * stored. Arrives on [TraceletClient.locations] (and `Tracelet.locations`) for every accepted
 * fix; [TraceletClient.lastKnownLocation] and [TraceletClient.currentPosition] return one.
 *
 * @property seq the fix's sequence number in its queue (what the server stores it under).
 * @property latitude the position as stored (a privacy zone's centre when it coarsened the fix).
 * @property smoothedLatitude the filter's smoothed position, when it has one.
 * @property odometerMeters the odometer after this fix, [odometerUncertaintyMeters] how far off
 *   it may be.
 */
data class TraceletLocation(
    val seq: Long,
    val timeMillis: Long,
    val latitude: Double,
    val longitude: Double,
    val accuracyMeters: Double,
    val smoothedLatitude: Double?,
    val smoothedLongitude: Double?,
    val smoothedAccuracyMeters: Double?,
    val speedMetersPerSecond: Double?,
    val bearingDegrees: Double?,
    val altitudeMeters: Double?,
    val provider: Provider,
    val isMock: Boolean,
    val motionState: MotionState,
    val tripId: String?,
    val odometerMeters: Double,
    val odometerUncertaintyMeters: Double,
) {
    // Location history is personal data: never print coordinates.
    override fun toString(): String =
        "TraceletLocation(seq=$seq, timeMillis=$timeMillis, accuracyMeters=$accuracyMeters, " +
            "motionState=$motionState, odometerMeters=$odometerMeters)"
}

/** Distance travelled along accepted fixes, and how far off it may be (both metres). */
typealias OdometerReading = dev.tracelet.internal.core.OdometerReading

/**
 * A circle the app keeps private (a user's home): fixes inside are dropped
 * ([PrivacyAction.DROP]) or stored at its centre with the radius as accuracy
 * ([PrivacyAction.COARSEN]), before anything is stored. See [TraceletClient.setPrivacyZones].
 */
typealias PrivacyZone = dev.tracelet.internal.core.PrivacyZone

typealias PrivacyAction = dev.tracelet.internal.core.PrivacyAction
