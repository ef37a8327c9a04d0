package dev.tracelet.robolectric

import android.Manifest
import android.app.Application
import android.graphics.drawable.Icon
import android.location.LocationListener
import android.location.LocationManager
import android.os.Bundle
import dev.tracelet.AccessReport
import dev.tracelet.Fix
import dev.tracelet.PermissionState
import dev.tracelet.Provider
import dev.tracelet.RecordOutcome
import dev.tracelet.RecordingMode
import dev.tracelet.Tracelet
import dev.tracelet.TraceletClient
import dev.tracelet.TraceletConfig
import dev.tracelet.TraceletEvent
import dev.tracelet.TraceletException
import dev.tracelet.internal.core.Priority
import dev.tracelet.platform.LocationSource
import dev.tracelet.platform.MotionTrigger
import dev.tracelet.platform.NotificationFactory
import dev.tracelet.platform.TrackingService
import java.util.UUID
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.annotation.Config

/**
 * The Android layer's OS contract at every API level from minSdk 26 up (issue 20): the real
 * `Tracelet`, `TrackingService` and `LocationSource` over the real core, with Robolectric's
 * shadows of the framework services (not a device). Robolectric runs each test once per level.
 */
@RunWith(TraceletRobolectricTestRunner::class)
@Config(sdk = [26, 28, 30, 31, 33, 34, 35])
class PlatformLayerRobolectricTest {

    private val app: Application = RuntimeEnvironment.getApplication()
    private val locationManager = checkNotNull(app.getSystemService(LocationManager::class.java))
    private val events = CopyOnWriteArrayList<TraceletEvent>()
    private val scope = CoroutineScope(Dispatchers.Unconfined)

    init {
        // Unconfined: subscribed before any test code runs, so no event is missed.
        scope.launch { Tracelet.events.collect { events += it } }
    }

    @After
    fun tearDown() {
        Tracelet.serviceStarter = TrackingService::start
        scope.cancel()
    }

    private fun configure(): TraceletConfig {
        val config = TraceletConfig(
            // Nothing listens there: uploads fail quietly, which no test here looks at.
            endpoint = "http://127.0.0.1:9/v1/batches",
            deviceId = "robo-" + UUID.randomUUID().toString().take(8),
            bearerToken = "token",
            batchTriggerCount = 10_000,
        )
        Tracelet.configure(app, config)
        return config
    }

    private fun grant(vararg permissions: String) {
        shadowOf(app).grantPermissions(*permissions)
        shadowOf(locationManager).setLocationEnabled(true)
    }

    @Test
    fun `the permission state reads the location setting on every level (isLocationEnabled is API 28)`() {
        grant(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        assertTrue(Tracelet.permissionState(app).canTrack)
        shadowOf(locationManager).setLocationEnabled(false)
        assertEquals(PermissionState.LocationServicesOff, Tracelet.permissionState(app))
    }

    @Test
    fun `onStatusChanged, abstract before API 30, does not kill the location thread`() {
        val client = TraceletClient(configure(), app.noBackupFilesDir.resolve("status"))
        val source = LocationSource(locationManager, client, android.os.Build.VERSION.SDK_INT, geofence = null, onProblem = {})
        val listener: LocationListener = source
        @Suppress("DEPRECATION")
        listener.onStatusChanged(LocationManager.GPS_PROVIDER, 2, Bundle())
        source.stop()
        client.close()
    }

    @Test
    fun `the service enters the foreground even when it only comes to leave`() {
        configure() // not tracking
        val controller = Robolectric.buildService(TrackingService::class.java).create().startCommand(0, 1)
        val service = shadowOf(controller.get())
        // The notification is gone again (stopForeground(REMOVE)); its id shows it was posted.
        assertEquals(
            "startForeground() was not called: Android kills the app",
            dev.tracelet.NotificationSettings().notificationId, service.lastForegroundNotificationId,
        )
        assertTrue(service.isStoppedBySelf)
        controller.destroy()
    }

    @Test
    fun `the default small icon is a drawn monochrome icon, not the launcher icon`() {
        configure()
        val notification = NotificationFactory.build(app, dev.tracelet.NotificationSettings())
        assertEquals(Icon.TYPE_BITMAP, notification.smallIcon.type)
    }

    @Test
    fun `a refused start leaves tracking off with a typed error`() {
        grant(Manifest.permission.ACCESS_FINE_LOCATION)
        configure()
        Tracelet.serviceStarter = { throw IllegalStateException("ForegroundServiceStartNotAllowedException") }
        try {
            Tracelet.start()
            fail("start() succeeded although Android refused the service")
        } catch (e: TraceletException.ForegroundServiceRefused) {
            assertEquals("IllegalStateException", e.reason)
        }
        assertFalse(Tracelet.client.status.isTracking)
    }

    @Test
    fun `a revoked permission stops the service cleanly and says why`() {
        grant(Manifest.permission.ACCESS_FINE_LOCATION)
        configure()
        Tracelet.start()
        shadowOf(app).denyPermissions(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION)
        val controller = Robolectric.buildService(TrackingService::class.java).create().startCommand(0, 1)
        val service = shadowOf(controller.get())
        assertEquals(dev.tracelet.NotificationSettings().notificationId, service.lastForegroundNotificationId)
        assertTrue("the service kept running without permission", service.isStoppedBySelf)
        assertTrue(events.any { it is TraceletEvent.TrackingInterrupted && "revoked" in it.reason })
        controller.destroy()
        Tracelet.stop()
    }

    @Test
    fun `configure restarts the service of an interrupted tracking, and says it is interrupted meanwhile`() {
        grant(Manifest.permission.ACCESS_FINE_LOCATION)
        configure()
        Tracelet.start()
        shadowOf(app).clearStartedServices()
        // The process died; the sticky restart's startForeground() was refused (Android 12+).
        Tracelet.serviceRefused("foreground service refused: ForegroundServiceStartNotAllowedException")
        assertNotNull(Tracelet.interruption)
        assertTrue(Tracelet.client.status.isTracking)

        configure() // the app's next launch (a new config object, the same queue)
        val intent = shadowOf(app).nextStartedService
        assertNotNull("tracking on, service never restarted", intent)
        assertEquals(TrackingService::class.java.name, intent.component?.className)
        val controller = Robolectric.buildService(TrackingService::class.java, intent).create().startCommand(0, 2)
        assertNull(Tracelet.interruption)
        controller.destroy()
        Tracelet.stop()
    }

    @Test
    fun `approximate-only permission is reported and coarse fixes are stored`() {
        grant(Manifest.permission.ACCESS_COARSE_LOCATION)
        configure()
        Tracelet.start()
        assertEquals(AccessReport(RecordingMode.APPROXIMATE, backgroundWake = false), Tracelet.client.accessReport)
        assertTrue(events.any { it is TraceletEvent.AccessChanged && it.report.mode == RecordingMode.APPROXIMATE })
        val client = checkNotNull(Tracelet.runtimeOrNull()).client
        val now = System.currentTimeMillis()
        val outcome = client.record(Fix(now - 1_000, 48.137, 11.575, 2_000.0, provider = Provider.NETWORK))
        assertTrue("a 2 km fix was refused: $outcome", outcome is RecordOutcome.Stored)
        Tracelet.stop()
    }

    @Test
    fun `a still phone arms the significant-motion trigger, and its firing resumes sampling`() {
        grant(Manifest.permission.ACCESS_FINE_LOCATION)
        val client = TraceletClient(configure(), app.noBackupFilesDir.resolve("motion"))
        client.start()
        // Stationary as soon as two fixes share a place, so that no test waits three minutes.
        client.setPolicyParameter("stopping_after_ms", 0.0)
        client.setPolicyParameter("stop_timeout_ms", 1.0)
        val now = System.currentTimeMillis()
        client.record(listOf(Fix(now - 2_000, 48.137, 11.575, 5.0), Fix(now - 1_000, 48.137, 11.575, 5.0)))
        assertNotNull("not stationary", client.samplingRequest().stationaryGeofence)

        val trigger = FakeMotionTrigger()
        val source = LocationSource(locationManager, client, android.os.Build.VERSION.SDK_INT, geofence = null, onProblem = {}, motion = trigger)
        source.start()
        val onMotion = checkNotNull(trigger.armedWith) { "the trigger was not armed while stationary" }
        onMotion()
        assertEquals(Priority.HIGH_ACCURACY, client.samplingRequest().priority)
        source.stop()
        client.close()
    }

    /** A fake of the significant-motion sensor (Robolectric's SensorManager has no trigger sensors). */
    private class FakeMotionTrigger : MotionTrigger {
        var armedWith: (() -> Unit)? = null

        override fun arm(onMotion: () -> Unit): Boolean {
            armedWith = onMotion
            return true
        }

        override fun disarm() {
            armedWith = null
        }
    }

}
