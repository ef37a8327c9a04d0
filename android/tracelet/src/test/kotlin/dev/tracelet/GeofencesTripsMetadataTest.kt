package dev.tracelet

import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * Geofences, trips, fix extras and device metadata (issue #10) through the Kotlin facade,
 * against the real core (JNA) and a real collector process.
 */
class GeofencesTripsMetadataTest : CollectorTestBase(storagePrefix = "tracelet-places", devicePrefix = "kt-places-") {

    private val depot = Geofence(
        id = "depot",
        shape = GeofenceShape.Circle(CENTER_LAT, CENTER_LON, radiusMeters = 100.0),
        metadata = mapOf("customer" to "42"),
    )

    @Test
    fun `walking into and out of a 100 m circle reports ENTER then EXIT once each, on the flow and the hub`() = runBlocking {
        // From 250 m west of the centre to 250 m east, at 5 m/s, accuracy 5 m.
        val walk = eastward(CENTER_LAT, CENTER_LON, fromMeters = -250.0, toMeters = 250.0)
        val hub = EventHub()
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.addGeofences(listOf(depot))
            hub.attach(client)
            // Everything until stop()'s TrackingChanged(false): all the walk's events, then the end.
            val untilStopped = { flow: kotlinx.coroutines.flow.Flow<TraceletEvent> ->
                async(start = CoroutineStart.UNDISPATCHED) {
                    withTimeout(20_000) {
                        flow.takeWhile { it != TraceletEvent.TrackingChanged(false) }
                            .filterIsInstance<TraceletEvent.GeofenceTransitioned>()
                            .toList()
                    }
                }
            }
            val fromClient = untilStopped(client.events)
            val fromHub = untilStopped(hub.events)
            withTimeout(5_000) { while (client.subscriberCount < 2) yield() }

            client.start()
            for (fix in walk) {
                client.record(fix).seq()
                // Let the collectors drain the hot flow: 100 fixes make more events than it buffers.
                yield()
            }
            client.stop()

            val events = fromClient.await()
            assertEquals(
                listOf(GeofenceTransition.ENTER, GeofenceTransition.EXIT),
                events.map { it.transition },
                events.toString(),
            )
            assertTrue(events.all { it.geofenceId == "depot" }, events.toString())
            assertEquals(events, fromHub.await())

            // Each was decided on a fix of the walk: inside the circle for ENTER, outside for EXIT.
            val (enter, exit) = events
            val byTime = walk.associateBy { it.timeMillis }
            val metersEast = { fix: Fix -> (fix.longitude - CENTER_LON) * 111_320.0 * Math.cos(Math.toRadians(CENTER_LAT)) }
            assertTrue(Math.abs(metersEast(byTime.getValue(enter.timeMillis))) < 100.0)
            assertTrue(Math.abs(metersEast(byTime.getValue(exit.timeMillis))) > 100.0)
            assertTrue(enter.timeMillis < exit.timeMillis)
        }
    }

    @Test
    fun `geofences persist across closing and reopening the client`() {
        val yard = Geofence(
            id = "yard",
            shape = GeofenceShape.Polygon(
                listOf(LatLon(52.5210, 13.4060), LatLon(52.5220, 13.4060), LatLon(52.5220, 13.4080)),
            ),
            dwellMillis = 300_000L,
        )
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertEquals(emptyList<Geofence>(), client.geofences)
            client.addGeofences(listOf(depot, yard))
            assertEquals(listOf(depot, yard), client.geofences)
        }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertEquals(listOf(depot, yard), client.geofences)
            assertTrue(client.removeGeofence("depot"))
            assertFalse(client.removeGeofence("depot"))
        }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertEquals(listOf(yard), client.geofences)
            client.removeAllGeofences()
        }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertEquals(emptyList<Geofence>(), client.geofences)
        }
    }

    @Test
    fun `a device inside when the client reopens gets no second ENTER, and then its EXIT`() = runBlocking {
        val walk = eastward(CENTER_LAT, CENTER_LON, fromMeters = -250.0, toMeters = 250.0)
        val (toCentre, onwards) = walk.partition { it.longitude <= CENTER_LON }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.addGeofences(listOf(depot))
            val entered = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) { client.events.filterIsInstance<TraceletEvent.GeofenceTransitioned>().first() }
            }
            client.start()
            toCentre.forEach { client.record(it); yield() }
            assertEquals(GeofenceTransition.ENTER, entered.await().transition)
        }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val transitions = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(20_000) {
                    client.events.takeWhile { it != TraceletEvent.TrackingChanged(false) }
                        .filterIsInstance<TraceletEvent.GeofenceTransitioned>()
                        .toList()
                }
            }
            withTimeout(5_000) { while (client.subscriberCount == 0) yield() }
            onwards.forEach { client.record(it); yield() }
            client.stop()
            assertEquals(listOf(GeofenceTransition.EXIT), transitions.await().map { it.transition })
        }
    }

    @Test
    fun `an invalid geofence throws InvalidGeofence and adds nothing`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val bad = Geofence("north-of-the-pole", GeofenceShape.Circle(91.0, 13.4, radiusMeters = 100.0))
            val error = assertThrows<TraceletException.InvalidGeofence> { client.addGeofences(listOf(depot, bad)) }
            // Places are personal data: the reason names the problem, not the coordinates.
            assertFalse(error.message!!.contains("91"), error.message)
            assertTrue(client.geofences.isEmpty(), client.geofences.toString())

            assertThrows<TraceletException.InvalidGeofence> {
                client.addGeofences(listOf(depot.copy(shape = GeofenceShape.Circle(CENTER_LAT, CENTER_LON, 0.0))))
            }
            assertThrows<TraceletException.InvalidGeofence> { client.addGeofences(listOf(depot.copy(id = ""))) }
            assertThrows<TraceletException.InvalidGeofence> {
                client.addGeofences(listOf(depot.copy(shape = GeofenceShape.Polygon(listOf(LatLon(1.0, 1.0), LatLon(1.0, 1.001))))))
            }
            assertTrue(client.geofences.isEmpty())
        }
        // Nothing was stored either.
        TraceletClient(config(collector, deviceId), storage).use { assertTrue(it.geofences.isEmpty()) }
    }

    @Test
    fun `fix extras, device metadata and trip ids past the caps throw InvalidMetadata`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.setFixExtras(mapOf("vehicle" to "van-7"))
            val seventeen = (1..17).associate { "k$it" to "v" }
            assertThrows<TraceletException.InvalidMetadata> { client.setFixExtras(seventeen) }
            // 16 entries, but 16 * (2 + 63) = 1,040 bytes of keys and values.
            val tooLarge = (10..25).associate { "k$it" to "v".repeat(63) }
            assertEquals(16, tooLarge.size)
            val error = assertThrows<TraceletException.InvalidMetadata> { client.setFixExtras(tooLarge) }
            assertFalse(error.message!!.contains("vvvv"), error.message)
            // Exactly at the cap is fine.
            client.setFixExtras((1..16).associate { "k" + it.toString().padStart(2, '0') to "v".repeat(61) })
            client.setFixExtras(emptyMap())

            assertThrows<TraceletException.InvalidMetadata> { client.setDeviceMetadata(seventeen) }
            client.setDeviceMetadata(mapOf("model" to "Pixel 9", "app" to "1.4.2"))

            assertThrows<TraceletException.InvalidMetadata> { client.startTrip("") }
            assertThrows<TraceletException.InvalidMetadata> { client.startTrip("t".repeat(129)) }
            assertThrows<TraceletException.InvalidMetadata> { client.startTrip("trip-1", seventeen) }
            assertNull(client.currentTrip)
        }
    }

    @Test
    fun `fixes recorded during a trip reach the collector with its id, and later ones without`() = runBlocking {
        val fixes = walk(5)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            assertNull(client.endTrip())
            client.startTrip("trip-42", mapOf("driver" to "ann"))
            assertEquals("trip-42", client.currentTrip)
            fixes.take(3).forEach { client.record(it).seq() }
            assertEquals("trip-42", client.endTrip())
            assertNull(client.currentTrip)
            fixes.drop(3).forEach { client.record(it).seq() }
            client.flush()
        }
        val stored = collector.fixes(deviceId)
        assertEquals(fixes.map { it.timeMillis }, stored.map { it.timeMillis })
        assertEquals(listOf("trip-42", "trip-42", "trip-42", null, null), stored.map { it.tripId })
    }

    @Test
    fun `the trip survives a restart and fix extras ride on the fixes recorded while they are set`() = runBlocking {
        val fixes = walk(4)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            client.startTrip("trip-7")
            client.setFixExtras(mapOf("vehicle" to "van-7"))
            client.record(fixes[0]).seq()
            // Refused: the extras in force stay.
            assertThrows<TraceletException.InvalidMetadata> { client.setFixExtras((1..17).associate { "k$it" to "v" }) }
            client.record(fixes[1]).seq()
        }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertEquals("trip-7", client.currentTrip)
            client.record(fixes[2]).seq()
            client.setFixExtras(emptyMap())
            client.endTrip()
            client.record(fixes[3]).seq()
            client.flush()
        }
        val stored = collector.fixes(deviceId)
        assertEquals(listOf("trip-7", "trip-7", "trip-7", null), stored.map { it.tripId })
        val van = mapOf("vehicle" to "van-7")
        assertEquals(listOf(van, van, van, emptyMap()), stored.map { it.extras })
    }

    @Test
    fun `trip, device and geofence events reach the collector's events API`() = runBlocking {
        val walk = eastward(CENTER_LAT, CENTER_LON, fromMeters = -250.0, toMeters = 250.0)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.setDeviceMetadata(mapOf("model" to "Pixel 9"))
            client.addGeofences(listOf(depot))
            client.start()
            client.startTrip("trip-9", mapOf("driver" to "ann"))
            walk.forEach { client.record(it).seq() }
            client.endTrip()
            client.flush()
        }
        // In the order they happened (by s); geofence events carry the time of their fix.
        val bySeq = collector.events(deviceId).sortedBy { it.s }
        assertEquals(listOf("device", "trip_start", "enter", "exit", "trip_end"), bySeq.map { it.kind })
        assertEquals(mapOf("model" to "Pixel 9"), bySeq[0].metadata)
        assertEquals("trip-9" to mapOf("driver" to "ann"), bySeq[1].id to bySeq[1].metadata)
        assertEquals(listOf("depot", "depot"), bySeq.subList(2, 4).map { it.id })
        assertEquals(mapOf("customer" to "42"), bySeq[2].metadata)
        assertEquals("trip-9", bySeq[4].id)
    }

    @Test
    fun `150 geofences and one fix make a RegionsChanged of at most 99 regions, nearest first`() = runBlocking {
        // A 15 x 10 grid, 200 m apart, around the centre.
        val grid = (0 until 150).map { i ->
            Geofence(
                id = "g$i",
                shape = GeofenceShape.Circle(
                    CENTER_LAT + (i / 15 - 5) * 0.0018,
                    CENTER_LON + (i % 15 - 7) * 0.0030,
                    radiusMeters = 50.0,
                ),
            )
        }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val heardByPlatform = CopyOnWriteArrayList<RegionRequest>()
            client.setRegionListener { heardByPlatform += it }
            val changed = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) { client.events.filterIsInstance<TraceletEvent.RegionsChanged>().first() }
            }
            client.addGeofences(grid)
            // No position yet: nothing to choose from.
            assertEquals(RegionRequest(emptyList()), client.regionRequest())
            client.start()
            client.record(Fix(1_767_225_600_000L, CENTER_LAT, CENTER_LON, 5.0, provider = Provider.GPS)).seq()

            val request = changed.await().request
            assertTrue(request.regions.size <= 99, "${request.regions.size} regions")
            // Android allows 100 (osMaxRegions), one is kept for the stationary geofence.
            assertEquals(99, request.regions.size)
            assertEquals(99, request.regions.map { it.id }.toSet().size)
            assertEquals(request, client.regionRequest())
            assertEquals(listOf(request), heardByPlatform)
            // Nearest first: the geofence at the centre leads, and the farthest corners are left out.
            assertEquals("g82", request.regions.first().id)
            assertFalse(request.regions.any { it.id == "g0" || it.id == "g149" })
            assertEquals(50.0, request.regions.first().radiusMeters, 1e-6)
        }
    }

    @Test
    fun `configuration sets Android's region limit`() {
        assertEquals(100u, config(collector, deviceId).toFfi(storage.absolutePath).osMaxRegions)
    }

    private companion object {
        const val CENTER_LAT = 52.5200
        const val CENTER_LON = 13.4050
    }
}
