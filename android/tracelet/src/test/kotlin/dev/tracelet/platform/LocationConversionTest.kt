package dev.tracelet.platform

import android.location.Location
import dev.tracelet.CollectorProcess
import dev.tracelet.Provider
import dev.tracelet.TraceletClient
import dev.tracelet.config
import dev.tracelet.deleteTree
import dev.tracelet.tempStorageDir
import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Real `android.location.Location` objects (framework jar) into the core and to the collector. */
class LocationConversionTest {

    private fun location(i: Int, provider: String = "gps") = Location(provider).apply {
        time = 1_767_225_600_000L + i * 1_000L
        latitude = 48.8566000 + i * 0.00002
        longitude = 2.3522000 - i * 0.00001
        accuracy = 4.5f
        altitude = 35.0
        verticalAccuracyMeters = 3.0f
        speed = 1.5f
        speedAccuracyMetersPerSecond = 0.5f
        bearing = 90.0f
        bearingAccuracyDegrees = 10.0f
        elapsedRealtimeNanos = 1_000_000_000L + i
    }

    @Test
    fun `every measured field is carried over`() {
        val fix = location(0).toFix(sdkInt = 34)
        assertEquals(1_767_225_600_000L, fix.timeMillis)
        assertEquals(48.8566, fix.latitude)
        assertEquals(2.3522, fix.longitude)
        assertEquals(4.5, fix.accuracyMeters)
        assertEquals(35.0, fix.altitudeMeters)
        assertEquals(3.0, fix.verticalAccuracyMeters)
        assertEquals(1.5, fix.speedMetersPerSecond)
        assertEquals(0.5, fix.speedAccuracyMetersPerSecond)
        assertEquals(90.0, fix.bearingDegrees)
        assertEquals(10.0, fix.bearingAccuracyDegrees)
        assertEquals(Provider.GPS, fix.provider)
        assertEquals(1_000_000_000L, fix.elapsedRealtimeNanos)
        assertFalse(fix.isMock)
    }

    @Test
    fun `absent fields stay absent instead of becoming zero`() {
        val bare = Location("fused").apply {
            time = 1_767_225_600_000L
            latitude = 1.0
            longitude = 2.0
            accuracy = 12f
        }
        val fix = bare.toFix(sdkInt = 34)
        assertNull(fix.altitudeMeters)
        assertNull(fix.verticalAccuracyMeters)
        assertNull(fix.speedMetersPerSecond)
        assertNull(fix.speedAccuracyMetersPerSecond)
        assertNull(fix.bearingDegrees)
        assertNull(fix.bearingAccuracyDegrees)
        assertNull(fix.elapsedRealtimeNanos)
        assertEquals(Provider.FUSED, fix.provider)
    }

    @Test
    fun `mock flag is read with the API of the running OS`() {
        val mocked = location(0).apply { isMock = true }
        assertTrue(mocked.toFix(sdkInt = 31).isMock)
        assertTrue(mocked.toFix(sdkInt = 30).isMock)
    }

    @Test
    fun `providers map by name`() {
        assertEquals(Provider.NETWORK, providerOf("network"))
        assertEquals(Provider.PASSIVE, providerOf("passive"))
        assertEquals(Provider.UNKNOWN, providerOf("my-custom"))
        assertEquals(Provider.UNKNOWN, providerOf(null))
    }

    @Test
    fun `converted locations reach the collector through the core`() = runBlocking {
        val locations = List(20) { location(it, provider = if (it % 2 == 0) "gps" else "network") }
        val storage = tempStorageDir("tracelet-location")
        val deviceId = "loc-" + UUID.randomUUID().toString().take(8)
        try {
            CollectorProcess.start().use { collector ->
                TraceletClient(config(collector, deviceId), storage).use { client ->
                    client.start()
                    val result = client.record(locations.map { it.toFix(sdkInt = 34) })
                    assertTrue(result.rejected.isEmpty())
                    assertEquals(20L, client.flush().uploaded)
                }
                val stored = collector.fixes(deviceId)
                assertEquals(locations.map { it.time }, stored.map { it.timeMillis })
                locations.zip(stored).forEach { (sent, got) ->
                    assertEquals(sent.latitude, got.latitude, 1e-7)
                    assertEquals(sent.longitude, got.longitude, 1e-7)
                    assertEquals(sent.accuracy.toDouble(), got.accuracyMeters, 0.05)
                    assertEquals(sent.provider, got.provider)
                }
            }
        } finally {
            storage.deleteTree()
        }
    }
}
