package dev.tracelet

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** Locations, the odometer, one position on demand and privacy zones, through the real core. */
class PositionsTest : CollectorTestBase(storagePrefix = "tracelet-positions", devicePrefix = "kt-pos-") {

    private fun recentWalk(count: Int) = walk(count, startMillis = System.currentTimeMillis() - count * 1_000L - 5_000L)

    /** Waits for a condition the test cannot be notified of; fails instead of hanging. */
    private suspend fun until(what: String, condition: () -> Boolean) {
        withTimeout(30_000) { while (!condition()) delay(10) }
        assertTrue(condition(), what)
    }

    @Test
    fun `every accepted fix arrives as a location and the last one survives a restart`() = runBlocking<Unit> {
        val fixes = recentWalk(60)
        val last = TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            assertNull(client.lastKnownLocation())
            val received = async(start = CoroutineStart.UNDISPATCHED) { client.locations.take(60).toList() }
            until("the location collector subscribed") { client.locationSubscriberCount > 0 }
            val stored = fixes.map { client.record(it) }.filterIsInstance<RecordOutcome.Stored>().map { it.seq }
            assertEquals(60, stored.size, "the walk passes the filter")
            val locations = withTimeout(30_000) { received.await() }
            assertEquals(stored, locations.map { it.seq })
            assertEquals(fixes.map { it.timeMillis }, locations.map { it.timeMillis })
            assertTrue(locations.zipWithNext().all { (a, b) -> b.odometerMeters >= a.odometerMeters })
            assertTrue(locations.last().odometerMeters > 0.0, "a 60 s walk moves the odometer")
            assertFalse(locations.last().toString().contains("52.5"), "no coordinates in toString")
            assertEquals(locations.last(), client.lastKnownLocation())
            locations.last()
        }
        TraceletClient(config(collector, deviceId), storage).use { reopened ->
            assertEquals(last, reopened.lastKnownLocation())
            assertEquals(last.odometerMeters, reopened.odometer().meters, 1e-9)
        }
    }

    @Test
    fun `the odometer refuses a negative reset and keeps its value`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            recentWalk(60).forEach { client.record(it) }
            val before = client.odometer()
            assertTrue(before.meters > 0.0)
            assertThrows<TraceletException.InvalidArgument> { client.resetOdometer(-1.0) }
            assertThrows<TraceletException.InvalidArgument> { client.resetOdometer(Double.NaN) }
            assertEquals(before, client.odometer())
            client.resetOdometer()
            assertEquals(0.0, client.odometer().meters)
        }
    }

    @Test
    fun `current position answers from the cache, then from the next good fix, else times out`() = runBlocking<Unit> {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val fixes = recentWalk(12)
            val stored = fixes.take(10).map { client.record(it) }.filterIsInstance<RecordOutcome.Stored>()
            val cached = client.currentPosition(maxAgeMillis = 60_000)
            assertEquals(stored.last().seq, cached.seq)

            val waiting = async(start = CoroutineStart.UNDISPATCHED) { client.currentPosition(desiredAccuracyMeters = 50.0) }
            until("the request waits for a fix") { client.currentPositionPending() }
            val next = client.record(fixes[10]) as RecordOutcome.Stored
            assertEquals(next.seq, withTimeout(30_000) { waiting.await() }.seq)
            assertFalse(client.currentPositionPending())

            assertThrows<TraceletException.Timeout> { client.currentPosition(timeoutMillis = 50) }
            assertThrows<TraceletException.InvalidArgument> { client.currentPosition(desiredAccuracyMeters = 0.0) }
        }
    }

    @Test
    fun `no fix inside a drop zone is stored and a bad zone changes nothing`() = runBlocking<Unit> {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val home = PrivacyZone("home", 52.5200, 13.4050, 50.0, PrivacyAction.DROP)
            client.setPrivacyZones(listOf(home))
            assertThrows<TraceletException.InvalidArgument> {
                client.setPrivacyZones(listOf(home.copy(id = "bad", radiusM = -1.0)))
            }
            assertEquals(listOf(home), client.privacyZones())
            val outcomes = recentWalk(60).map { client.record(it) }
            assertTrue(outcomes.any { it == RecordOutcome.Filtered("privacy_zone") }, "$outcomes")
            assertEquals(0L, client.flush().pending)
        }
        val stored = collector.fixes(deviceId)
        assertTrue(stored.isNotEmpty())
        for (fix in stored) {
            val north = (fix.latitude - 52.52) * 111_320.0
            val east = (fix.longitude - 13.405) * 111_320.0 * Math.cos(Math.toRadians(52.52))
            assertTrue(Math.hypot(north, east) > 50.0, "a stored fix lies inside the zone")
        }
    }
}
