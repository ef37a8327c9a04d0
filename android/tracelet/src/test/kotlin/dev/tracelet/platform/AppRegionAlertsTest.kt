package dev.tracelet.platform

import android.content.Intent
import android.location.LocationManager
import android.net.Uri
import dev.tracelet.CollectorProcess
import dev.tracelet.Fix
import dev.tracelet.Geofence
import dev.tracelet.GeofenceShape
import dev.tracelet.OsRegion
import dev.tracelet.Provider
import dev.tracelet.RegionRequest
import dev.tracelet.TraceletClient
import dev.tracelet.config
import dev.tracelet.deleteTree
import dev.tracelet.seq
import dev.tracelet.tempStorageDir
import java.util.UUID
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The platform layer's app regions: the core's `RegionsChanged` registered as proximity alerts,
 * and the OS's proximity broadcasts routed back to the core. The OS part is a fake here
 * ([FakeOsProximityAlerts] records what `LocationManager.addProximityAlert` would be asked;
 * broadcasts are `Intent`s built as `LocationManager` delivers them): Robolectric has no
 * proximity-alert shadow, and there is no Play Services on this machine.
 */
class AppRegionAlertsTest {

    /** A fake of the OS's proximity alerts: what is registered, and every call, in order. */
    private class FakeOsProximityAlerts(private val refuse: Boolean = false) : ProximityAlerts {
        val registered = LinkedHashMap<String, OsRegion>()
        val calls = ArrayList<String>()

        override fun add(region: OsRegion) {
            calls += "add ${region.id}"
            if (refuse) throw SecurityException("needs ACCESS_FINE_LOCATION")
            registered[region.id] = region
        }

        override fun remove(regionId: String) {
            calls += "remove $regionId"
            registered.remove(regionId)
        }
    }

    private fun region(id: String, radius: Double = 100.0) = OsRegion(id, 52.52, 13.405, radius)

    /** Stands in for the SharedPreferences file that outlives the process. */
    private class FakeAlertIds : AlertIds {
        var ids: Set<String> = emptySet()

        override fun load(): Set<String> = ids

        override fun save(ids: Set<String>) {
            this.ids = ids.toSet()
        }
    }

    @Test
    fun `alerts a killed process registered are removed by the next one, and by clear (fake OS)`() {
        val os = FakeOsProximityAlerts()
        val persisted = FakeAlertIds()
        AppRegionAlerts(os, {}, persisted).set(RegionRequest(listOf(region("a"), region("b"))))
        assertEquals(setOf("a", "b"), persisted.ids)

        // The process dies with both alerts registered in the OS; the next one starts afresh.
        val next = AppRegionAlerts(os, {}, persisted)
        assertTrue(os.registered.isEmpty(), "leftover alerts keep waking the app: ${os.registered.keys}")
        next.set(RegionRequest(listOf(region("c"))))
        next.clear()
        assertTrue(os.registered.isEmpty())
        assertTrue(persisted.ids.isEmpty())
    }

    @Test
    fun `a new request registers the new regions, removes the dropped ones and leaves the rest (fake OS)`() {
        val os = FakeOsProximityAlerts()
        val problems = ArrayList<String>()
        val alerts = AppRegionAlerts(os, problems::add)

        alerts.set(RegionRequest(listOf(region("a"), region("b"))))
        assertEquals(listOf("add a", "add b"), os.calls)

        os.calls.clear()
        // b moved (a new radius), c is new, a is dropped.
        alerts.set(RegionRequest(listOf(region("b", radius = 250.0), region("c"))))
        assertEquals(listOf("remove a", "remove b", "add b", "add c"), os.calls)
        assertEquals(mapOf("b" to region("b", 250.0), "c" to region("c")), os.registered)
        assertEquals(os.registered, alerts.registeredRegions)

        os.calls.clear()
        // The same set again: re-adding would make the OS report "entering" again.
        alerts.set(RegionRequest(listOf(region("c"), region("b", radius = 250.0))))
        assertTrue(os.calls.isEmpty(), os.calls.toString())

        alerts.clear()
        assertTrue(os.registered.isEmpty())
        assertTrue(problems.isEmpty(), problems.toString())
    }

    @Test
    fun `regions the OS refuses are reported once per request and tried again with the next (fake OS)`() {
        val os = FakeOsProximityAlerts(refuse = true)
        val problems = ArrayList<String>()
        val alerts = AppRegionAlerts(os, problems::add)
        alerts.set(RegionRequest(listOf(region("a"), region("b"))))
        assertEquals(listOf("2 geofence region(s) refused by the OS"), problems)
        assertTrue(alerts.registeredRegions.isEmpty())
        alerts.set(RegionRequest(listOf(region("a"))))
        assertEquals(listOf("add a", "add b", "add a"), os.calls)
    }

    @Test
    fun `an app region's OS transition goes to onRegionEvent, the stationary exit to onGeofenceExit (OS broadcasts faked)`() {
        val exits = ArrayList<Unit>()
        val regionEvents = ArrayList<String>()
        fun deliver(intent: Intent) = dispatchProximityAlert(intent, { exits += Unit }, { regionEvents += it })

        fun regionBroadcast(id: String, entering: Boolean) = Intent(LocationManagerProximityAlerts.ACTION_REGION)
            .setData(LocationManagerProximityAlerts.regionUri(id))
            .putExtra(LocationManager.KEY_PROXIMITY_ENTERING, entering)

        // An id with characters a URI must escape comes back as it was.
        deliver(regionBroadcast("depot 7/north#2", entering = true))
        deliver(regionBroadcast("depot", entering = false))
        assertEquals(listOf("depot 7/north#2", "depot"), regionEvents)
        assertTrue(exits.isEmpty())

        val stationary = { entering: Boolean ->
            Intent(StationaryGeofenceAlert.ACTION_PROXIMITY).putExtra(LocationManager.KEY_PROXIMITY_ENTERING, entering)
        }
        deliver(stationary(true))
        assertTrue(exits.isEmpty(), "entering the stationary circle means nothing")
        deliver(stationary(false))
        assertEquals(1, exits.size)
        assertEquals(2, regionEvents.size)
    }

    @Test
    fun `broadcasts that are not ours route nowhere`() {
        assertNull(routeProximityAlert("some.other.ACTION", LocationManagerProximityAlerts.regionUri("a"), false))
        assertNull(routeProximityAlert(LocationManagerProximityAlerts.ACTION_REGION, null, true))
        assertNull(routeProximityAlert(LocationManagerProximityAlerts.ACTION_REGION, Uri.parse("https://example.com/a"), true))
        assertNull(routeProximityAlert(null, null, false))
        assertEquals(
            ProximityRoute.AppRegion("a"),
            routeProximityAlert(LocationManagerProximityAlerts.ACTION_REGION, LocationManagerProximityAlerts.regionUri("a"), false),
        )
    }

    @Test
    fun `the real core's RegionsChanged reaches the fake OS as 99 proximity alerts`() {
        val storage = tempStorageDir("tracelet-regions")
        try {
            CollectorProcess.start().use { collector ->
                val deviceId = "kt-regions-" + UUID.randomUUID().toString().take(8)
                TraceletClient(config(collector, deviceId), storage).use { client ->
                    val os = FakeOsProximityAlerts()
                    val alerts = AppRegionAlerts(os, onProblem = { throw AssertionError(it) })
                    // What LocationSource does, without its thread: apply the current request.
                    client.setRegionListener { alerts.set(client.regionRequest()) }
                    client.addGeofences(
                        (0 until 150).map { i ->
                            Geofence("g$i", GeofenceShape.Circle(52.52 + i * 0.001, 13.405, radiusMeters = 50.0))
                        },
                    )
                    client.start()
                    client.record(Fix(1_767_225_600_000L, 52.52, 13.405, 5.0, provider = Provider.GPS)).seq()
                    assertEquals(99, os.registered.size)
                    assertEquals((0 until 99).map { "g$it" }, os.registered.keys.toList())

                    client.removeAllGeofences()
                    assertTrue(os.registered.isEmpty(), os.registered.keys.toString())
                }
            }
        } finally {
            storage.deleteTree()
        }
    }
}
