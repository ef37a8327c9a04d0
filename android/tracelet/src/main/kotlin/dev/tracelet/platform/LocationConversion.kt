package dev.tracelet.platform

import android.location.Location
import dev.tracelet.Fix
import dev.tracelet.Provider

/**
 * `android.location.Location` to the core's fix. Only what the OS actually measured is passed on:
 * each optional field is read behind its `has…` flag, so an absent speed stays absent instead of
 * becoming 0. [sdkInt] is a parameter because `Build.VERSION` is unavailable off-device.
 */
internal fun Location.toFix(sdkInt: Int): Fix = Fix(
    timeMillis = time,
    latitude = latitude,
    longitude = longitude,
    // The core refuses a fix without accuracy; 0 makes that refusal explicit instead of guessing.
    accuracyMeters = if (hasAccuracy()) accuracy.toDouble() else 0.0,
    altitudeMeters = if (hasAltitude()) altitude else null,
    verticalAccuracyMeters = if (hasVerticalAccuracy()) verticalAccuracyMeters.toDouble() else null,
    speedMetersPerSecond = if (hasSpeed()) speed.toDouble() else null,
    speedAccuracyMetersPerSecond = if (hasSpeedAccuracy()) speedAccuracyMetersPerSecond.toDouble() else null,
    bearingDegrees = if (hasBearing()) bearing.toDouble() else null,
    bearingAccuracyDegrees = if (hasBearingAccuracy()) bearingAccuracyDegrees.toDouble() else null,
    provider = providerOf(provider),
    isMock = isMockCompat(sdkInt),
    elapsedRealtimeNanos = elapsedRealtimeNanos.takeIf { it > 0 },
)

internal fun providerOf(name: String?): Provider = when (name) {
    "gps" -> Provider.GPS
    "fused" -> Provider.FUSED
    "network" -> Provider.NETWORK
    "passive" -> Provider.PASSIVE
    else -> Provider.UNKNOWN
}

private fun Location.isMockCompat(sdkInt: Int): Boolean =
    if (sdkInt >= 31) {
        isMockApi31()
    } else {
        @Suppress("DEPRECATION")
        isFromMockProvider
    }

@GuardedApiCall
private fun Location.isMockApi31(): Boolean = isMock
