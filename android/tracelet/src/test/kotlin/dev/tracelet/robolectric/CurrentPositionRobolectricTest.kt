package dev.tracelet.robolectric

import android.Manifest
import android.location.Location
import android.location.LocationManager
import android.os.Build
import android.os.SystemClock
import dev.tracelet.Tracelet
import dev.tracelet.TraceletConfig
import dev.tracelet.TraceletException
import java.util.UUID
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * `Tracelet.currentPosition` with tracking off: the layer asks the OS for positions itself, for
 * this request only. The real `Tracelet` and `LocationSource` over the real core, with
 * Robolectric's `ShadowLocationManager` standing in for the OS (not a device): below API 31 the
 * legacy providers, from 31 the fused one.
 */
@RunWith(TraceletRobolectricTestRunner::class)
@Config(sdk = [26, 34])
class CurrentPositionRobolectricTest {

    private val app = RuntimeEnvironment.getApplication()
    private val locationManager = checkNotNull(app.getSystemService(LocationManager::class.java))

    private fun configure() {
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        shadowOf(locationManager).setLocationEnabled(true)
        shadowOf(locationManager).setProviderEnabled(LocationManager.FUSED_PROVIDER, true)
        Tracelet.configure(
            app,
            TraceletConfig(
                // Nothing listens there: nothing here uploads.
                endpoint = "http://127.0.0.1:9/v1/batches",
                deviceId = "robo-" + UUID.randomUUID().toString().take(8),
                bearerToken = "token",
            ),
        )
    }

    private fun listenedProviders(): List<String> =
        locationManager.allProviders.filter { shadowOf(locationManager).getLocationRequests(it).isNotEmpty() }

    /** Polls [condition] until it holds; fails after 20 s (the wait, not its length, is the check). */
    private fun until(what: String, condition: () -> Boolean) {
        val deadline = System.nanoTime() + 20_000_000_000L
        while (!condition()) {
            if (System.nanoTime() > deadline) fail("timed out waiting: $what")
            Thread.sleep(10)
        }
    }

    @Test
    fun withTrackingOffTheOsIsAskedForThePositionAndReleasedOnceItCame() = runBlocking {
        configure()
        assertFalse(Tracelet.client.status.isTracking)
        assertTrue("nothing listens before the request", listenedProviders().isEmpty())

        val answer = async(Dispatchers.Default) { Tracelet.currentPosition(desiredAccuracyMeters = 20.0, timeoutMillis = 20_000) }
        until("the OS is asked for positions") { Tracelet.client.currentPositionPending() && listenedProviders().isNotEmpty() }
        val provider = listenedProviders().first()
        if (Build.VERSION.SDK_INT >= 31) assertEquals(LocationManager.FUSED_PROVIDER, provider)

        shadowOf(locationManager).simulateLocation(
            Location(provider).apply {
                time = System.currentTimeMillis()
                elapsedRealtimeNanos = SystemClock.elapsedRealtimeNanos()
                latitude = 48.8566
                longitude = 2.3522
                accuracy = 6.0f
            },
        )
        val location = answer.await()

        assertEquals(48.8566, location.latitude, 1e-7)
        assertEquals(2.3522, location.longitude, 1e-7)
        assertFalse(Tracelet.client.currentPositionPending())
        assertTrue("the OS still delivers after the answer: ${listenedProviders()}", listenedProviders().isEmpty())
        // The request answered a question; it did not turn tracking on.
        assertFalse(Tracelet.client.status.isTracking)
    }

    @Test
    fun aRequestThatTimesOutAlsoReleasesTheOs() = runBlocking {
        configure()
        try {
            Tracelet.currentPosition(desiredAccuracyMeters = 20.0, timeoutMillis = 200)
            fail("no position was delivered, yet the request succeeded")
        } catch (e: TraceletException.Timeout) {
            // expected
        }
        assertTrue("the OS still delivers after the timeout: ${listenedProviders()}", listenedProviders().isEmpty())
    }
}
