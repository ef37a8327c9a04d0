package dev.tracelet.platform

import dev.tracelet.internal.core.Priority

internal const val GPS = "gps"
internal const val NETWORK = "network"
internal const val PASSIVE = "passive"
internal const val FUSED = "fused"

/**
 * Which LocationManager providers to listen to. The platform's fused provider (API 31+, no Play
 * Services) already blends gps and network by the request's quality, so it is used alone when
 * present; otherwise gps and network stand in for it by priority.
 *
 * @param enabled providers that exist and are enabled on this device.
 */
internal fun selectProviders(priority: Priority, sdkInt: Int, enabled: Set<String>): List<String> {
    if (priority == Priority.PASSIVE) return listOf(PASSIVE)
    if (sdkInt >= 31 && FUSED in enabled) return listOf(FUSED)
    val wanted = when (priority) {
        Priority.HIGH_ACCURACY -> listOf(GPS, NETWORK)
        Priority.BALANCED -> listOf(NETWORK, GPS)
        Priority.LOW_POWER -> listOf(NETWORK)
        Priority.PASSIVE -> listOf(PASSIVE)
    }.filter { it in enabled }
    return when {
        // Balanced wants one source, preferring the cheaper one.
        priority == Priority.BALANCED -> wanted.take(1)
        wanted.isNotEmpty() -> wanted
        // Nothing suitable is on: listen passively rather than not at all.
        else -> listOf(PASSIVE)
    }
}
