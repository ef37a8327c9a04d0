package dev.tracelet.robolectric

import android.Manifest
import android.content.Context
import android.location.Location
import android.location.LocationManager
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.Build
import android.os.SystemClock
import dev.tracelet.CollectorProcess
import dev.tracelet.Tracelet
import dev.tracelet.config
import dev.tracelet.platform.TrackingService
import java.io.File
import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.junit.AfterClass
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.BeforeClass
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetworkCapabilities

/**
 * The Android layer under Robolectric: `Tracelet.configure` / `start`, the real
 * [TrackingService] (foreground notification, `LocationSource`, `DeviceConditions`), fixes
 * delivered by Robolectric's `ShadowLocationManager`, the real core through JNA, and a real
 * collector process that the fixes are read back from. Runs once per API level, minSdk 26 to 35:
 * the legacy `requestLocationUpdates` path below 31, the fused provider from 31.
 */
@RunWith(TraceletRobolectricTestRunner::class)
@Config(sdk = [26, 28, 30, 31, 33, 34, 35])
class TrackingServiceRobolectricTest {

    companion object {
        private const val LATITUDE = 48.8566
        private val METERS_PER_DEGREE_LONGITUDE = 111_320.0 * Math.cos(Math.toRadians(LATITUDE))

        private lateinit var collector: CollectorProcess

        @BeforeClass
        @JvmStatic
        fun startCollector() {
            collector = CollectorProcess.start()
        }

        @AfterClass
        @JvmStatic
        fun stopCollector() {
            collector.close()
        }
    }

    @Test
    fun fixesFromLocationManagerReachTheCollectorThroughTheTrackingService() {
        val app = RuntimeEnvironment.getApplication()
        val locationManager = checkNotNull(app.getSystemService(LocationManager::class.java))
        shadowOf(app).grantPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        shadowOf(locationManager).setLocationEnabled(true)
        // Robolectric only has gps, network and passive; an API 31+ device also has "fused".
        shadowOf(locationManager).setProviderEnabled(LocationManager.FUSED_PROVIDER, true)
        useUnmeteredNetwork(app)

        val deviceId = "robo-" + UUID.randomUUID().toString().take(8)
        Tracelet.configure(app, config(collector, deviceId))
        // The queue and its install marker live where no backup route reaches.
        assertTrue(File(app.noBackupFilesDir, "tracelet/tracelet-queue.sqlite3").isFile)
        assertTrue(File(app.noBackupFilesDir, "tracelet-queue.marker").isFile)
        Tracelet.start()

        // start() asked the OS for the foreground service; run that intent through the real service.
        val intent = shadowOf(app).nextStartedService
        assertNotNull("Tracelet.start() did not start a service", intent)
        assertEquals(TrackingService::class.java.name, intent.component?.className)
        val controller = Robolectric.buildService(TrackingService::class.java, intent).create().startCommand(0, 1)
        val service = controller.get()
        assertNotNull("no foreground notification", shadowOf(service).lastForegroundNotification)

        // The service applied the core's sampling request: find the providers it listens to.
        val listened = locationManager.allProviders.filter { shadowOf(locationManager).getLocationRequests(it).isNotEmpty() }
        val provider = if (Build.VERSION.SDK_INT >= 31) {
            assertEquals("on API 31+ the fused provider is used alone", listOf(LocationManager.FUSED_PROVIDER), listened)
            LocationManager.FUSED_PROVIDER
        } else {
            assertTrue("below API 31 high accuracy listens to gps: $listened", LocationManager.GPS_PROVIDER in listened)
            LocationManager.GPS_PROVIDER
        }

        // A walk east, each fix spaced by what the current request asks for: the shadow, like the
        // OS, drops fixes that come sooner than minUpdateIntervalMillis or closer than
        // minUpdateDistanceMeters.
        val count = 40
        val sent = ArrayList<Location>(count)
        var timeMillis = 1_767_225_600_000L
        var elapsedNanos = SystemClock.elapsedRealtimeNanos()
        var longitude = 2.3522
        // Steps wider than any moving request's interval (5 s) and distance filter (at most
        // 50 m), so the same walk works on every level (LocationRequest's getters are API 31+).
        val stepMillis = 6_000L
        val stepMeters = 60.0
        repeat(count) { i ->
            if (i > 0) {
                timeMillis += stepMillis
                elapsedNanos += stepMillis * 1_000_000L
                longitude += stepMeters / METERS_PER_DEGREE_LONGITUDE
            }
            val location = Location(provider).apply {
                time = timeMillis
                elapsedRealtimeNanos = elapsedNanos
                latitude = LATITUDE
                this.longitude = longitude
                accuracy = 4.0f + (i % 4)
                speed = (stepMeters * 1_000.0 / stepMillis).toFloat()
            }
            sent += location
            shadowOf(locationManager).simulateLocation(location)
        }

        // Fixes reach the core on the service's own location thread: wait for all of them.
        val deadline = System.nanoTime() + 20_000_000_000L
        while (Tracelet.client.status.pendingCount < count && System.nanoTime() < deadline) Thread.sleep(20)
        assertEquals(count.toLong(), Tracelet.client.status.pendingCount)

        val flushed = runBlocking { Tracelet.client.flush() }
        assertEquals(count.toLong(), flushed.uploaded)

        val stored = collector.fixes(deviceId)
        assertEquals((1L..count).toList(), stored.map { it.seq })
        sent.zip(stored).forEach { (location, got) ->
            assertEquals(location.time, got.timeMillis)
            assertEquals(location.latitude, got.latitude, 1e-7)
            assertEquals(location.longitude, got.longitude, 1e-7)
            assertEquals(location.accuracy.toDouble(), got.accuracyMeters, 0.05)
            assertEquals(location.speed.toDouble(), got.speedMetersPerSecond!!, 0.05)
            assertEquals(provider, got.provider)
            assertFalse(got.isMock)
        }

        Tracelet.stop()
        controller.destroy()
        assertTrue("the service still listens after stop()", shadowOf(locationManager).getLocationRequests(provider).isEmpty())
    }

    /** Sets the default network's capabilities (Wi-Fi, internet, unmetered) instead of relying on Robolectric's defaults. */
    private fun useUnmeteredNetwork(context: Context) {
        val connectivity = checkNotNull(context.getSystemService(ConnectivityManager::class.java))
        val capabilities = ShadowNetworkCapabilities.newInstance()
        shadowOf(capabilities).addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
        shadowOf(capabilities).addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
        shadowOf(capabilities).addCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
        shadowOf(connectivity).setNetworkCapabilities(connectivity.activeNetwork, capabilities)
    }
}
