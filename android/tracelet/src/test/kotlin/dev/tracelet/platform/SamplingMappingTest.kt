package dev.tracelet.platform

import android.location.LocationRequest
import dev.tracelet.internal.core.Priority
import dev.tracelet.internal.core.SamplingRequest
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Builds real `android.location.LocationRequest` objects from the framework jar. */
class SamplingMappingTest {

    private val moving = SamplingRequest(
        priority = Priority.HIGH_ACCURACY,
        intervalMs = 5_000,
        fastestIntervalMs = 1_000,
        minDistanceM = 10.0,
        maxBatchDelayMs = 60_000,
        stationaryGeofence = null,
    )

    @Test
    fun `interval, min distance, batching delay and quality reach the LocationRequest`() {
        val request = moving.toOsSampling().toLocationRequest()
        assertEquals(5_000L, request.intervalMillis)
        assertEquals(1_000L, request.minUpdateIntervalMillis)
        assertEquals(10.0f, request.minUpdateDistanceMeters)
        assertEquals(60_000L, request.maxUpdateDelayMillis)
        assertEquals(LocationRequest.QUALITY_HIGH_ACCURACY, request.quality)
    }

    @Test
    fun `each priority maps to a quality`() {
        assertEquals(LocationRequest.QUALITY_BALANCED_POWER_ACCURACY, moving.copy(priority = Priority.BALANCED).toOsSampling().quality)
        assertEquals(LocationRequest.QUALITY_LOW_POWER, moving.copy(priority = Priority.LOW_POWER).toOsSampling().quality)
    }

    @Test
    fun `passive asks for no updates of its own`() {
        val passive = moving.copy(priority = Priority.PASSIVE).toOsSampling()
        assertTrue(passive.passive)
        assertEquals(LocationRequest.PASSIVE_INTERVAL, passive.toLocationRequest().intervalMillis)
    }

    @Test
    fun `below API 31 a passive heartbeat asks for fixes at the heartbeat, not at Long MAX_VALUE`() {
        // The legacy requestLocationUpdates(provider, minTime, ...) treats minTime as the fastest
        // interval: PASSIVE_INTERVAL there let the first fix through and dropped every later one.
        val heartbeat = moving.copy(priority = Priority.PASSIVE, intervalMs = 30 * 60_000L).toOsSampling()
        assertEquals(30 * 60_000L, heartbeat.legacyMinTimeMillis)
        assertEquals(5_000L, moving.toOsSampling().legacyMinTimeMillis)
    }

    @Test
    fun `values the OS would reject are clamped`() {
        val odd = moving.copy(fastestIntervalMs = 9_000, minDistanceM = -3.0, maxBatchDelayMs = -1).toOsSampling()
        assertEquals(5_000L, odd.minUpdateIntervalMillis)
        assertEquals(0.0f, odd.minDistanceMeters)
        assertEquals(0L, odd.maxUpdateDelayMillis)
        odd.toLocationRequest() // must not throw
    }
}
