package dev.tracelet.platform

import android.location.LocationRequest
import dev.tracelet.internal.core.Priority
import dev.tracelet.internal.core.SamplingRequest

/**
 * The core's [SamplingRequest] in the OS's terms, with the values the OS would reject clamped.
 * Kept apart from `LocationRequest` so it also drives the pre-API-31 `requestLocationUpdates`.
 */
internal data class OsSampling(
    val intervalMillis: Long,
    /**
     * `minTime` of the pre-API-31 `requestLocationUpdates`: the interval, and for a passive
     * request the heartbeat itself. `PASSIVE_INTERVAL` (Long.MAX_VALUE) there becomes a fastest
     * interval that drops every fix after the first.
     */
    val legacyMinTimeMillis: Long,
    val minUpdateIntervalMillis: Long,
    val minDistanceMeters: Float,
    /** Hardware batching: the OS may hold fixes back this long. */
    val maxUpdateDelayMillis: Long,
    /** One of the LocationRequest.QUALITY_* values. */
    val quality: Int,
    val passive: Boolean,
)

internal fun SamplingRequest.toOsSampling(): OsSampling {
    val passive = priority == Priority.PASSIVE
    val interval = if (passive) LocationRequest.PASSIVE_INTERVAL else intervalMs.coerceAtLeast(0)
    return OsSampling(
        intervalMillis = interval,
        legacyMinTimeMillis = intervalMs.coerceAtLeast(0),
        // The OS requires min interval <= interval; a faster "fastest" would be an invalid request.
        minUpdateIntervalMillis = fastestIntervalMs.coerceIn(0, interval),
        minDistanceMeters = minDistanceM.coerceAtLeast(0.0).toFloat(),
        maxUpdateDelayMillis = maxBatchDelayMs.coerceAtLeast(0),
        quality = when (priority) {
            Priority.HIGH_ACCURACY -> LocationRequest.QUALITY_HIGH_ACCURACY
            Priority.BALANCED -> LocationRequest.QUALITY_BALANCED_POWER_ACCURACY
            Priority.LOW_POWER, Priority.PASSIVE -> LocationRequest.QUALITY_LOW_POWER
        },
        passive = passive,
    )
}

/** API 31+ only: `LocationRequest.Builder` does not exist before. */
@GuardedApiCall
internal fun OsSampling.toLocationRequest(): LocationRequest =
    LocationRequest.Builder(intervalMillis)
        .setMinUpdateIntervalMillis(minUpdateIntervalMillis)
        .setMinUpdateDistanceMeters(minDistanceMeters)
        .setMaxUpdateDelayMillis(maxUpdateDelayMillis)
        .setQuality(quality)
        .build()
