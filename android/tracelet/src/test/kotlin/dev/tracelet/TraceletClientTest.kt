package dev.tracelet

import dev.tracelet.internal.Tracelet as FfiTracelet
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The Kotlin facade against the real core (JNA) and a real collector process. */
class TraceletClientTest : CollectorTestBase(storagePrefix = "tracelet-client", devicePrefix = "kt-") {

    @Test
    fun `recorded fixes reach the collector in order with their values`() = runBlocking {
        val fixes = walk(250)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val seqs = fixes.map { client.record(it).seq() }
            assertEquals((1L..250L).toList(), seqs)

            val flushed = client.flush()
            assertEquals(250L, flushed.uploaded)
            assertEquals(0L, flushed.pending)
            assertEquals(0L, client.status.pendingCount)
        }

        val stored = collector.fixes(deviceId)
        assertEquals(fixes.size, stored.size)
        assertEquals((1L..250L).toList(), stored.map { it.seq })
        fixes.zip(stored).forEach { (sent, got) ->
            assertEquals(sent.timeMillis, got.timeMillis)
            assertEquals(sent.latitude, got.latitude, 1e-7)
            assertEquals(sent.longitude, got.longitude, 1e-7)
            assertEquals(sent.accuracyMeters, got.accuracyMeters, 0.05)
            assertEquals(sent.speedMetersPerSecond!!, got.speedMetersPerSecond!!, 0.05)
            assertEquals("gps", got.provider)
            assertFalse(got.isMock)
        }
    }

    @Test
    fun `record of a list stores the valid fixes and reports the invalid one by index`() = runBlocking {
        val fixes = walk(5).toMutableList()
        fixes[2] = fixes[2].copy(accuracyMeters = -1.0)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val result = client.record(fixes)
            assertEquals(4, result.acceptedSeqs.size)
            assertEquals(listOf(2), result.rejected.map { it.index })
            assertTrue(result.rejected.single().error is TraceletException.InvalidFix)
            client.flush()
        }
        assertEquals(
            fixes.filterIndexed { i, _ -> i != 2 }.map { it.timeMillis },
            collector.fixes(deviceId).map { it.timeMillis },
        )
    }

    @Test
    fun `a NaN latitude throws InvalidFix and a later valid fix still arrives`() = runBlocking {
        val (good, later) = walk(2)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            client.record(good)
            val error = assertThrows<TraceletException.InvalidFix> {
                client.record(good.copy(latitude = Double.NaN))
            }
            // Location history is personal data: the message names the problem, not the place.
            assertFalse(error.message!!.contains("52.52"), error.message)
            client.record(later)
            assertEquals(2L, client.flush().uploaded)
            assertEquals(1L, client.status.rejectedTotal)
        }
        assertEquals(listOf(good.timeMillis, later.timeMillis), collector.fixes(deviceId).map { it.timeMillis })
    }

    @Test
    fun `recording while stopped throws NotTracking`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertThrows<TraceletException.NotTracking> { client.record(walk(1).single()) }
            client.start()
            assertTrue(client.status.isTracking)
            client.stop()
            assertFalse(client.status.isTracking)
            assertThrows<TraceletException.NotTracking> { client.record(walk(1).single()) }
        }
    }

    @Test
    fun `plain http to a non-loopback host is an InvalidConfig`() {
        val bad = config(collector, deviceId).copy(endpoint = "http://collector.example.com/v1/batches")
        assertThrows<TraceletException.InvalidConfig> { TraceletClient(bad, storage) }
    }

    @Test
    fun `an empty device id is an InvalidConfig`() {
        val bad = config(collector, deviceId).copy(deviceId = "")
        assertThrows<TraceletException.InvalidConfig> { TraceletClient(bad, storage) }
    }

    @Test
    fun `a negative batch size is refused before it reaches the core`() {
        val bad = config(collector, deviceId).copy(maxBatchFixes = -1)
        assertThrows<TraceletException.InvalidConfig> { TraceletClient(bad, storage) }
    }

    @Test
    fun `a rejected bearer token leaves fixes queued and reports the failure`() = runBlocking {
        val wrong = config(collector, deviceId).copy(bearerToken = "not-the-token")
        TraceletClient(wrong, storage).use { client ->
            client.start()
            client.record(walk(1).single())
            runCatching { client.flush() }
            assertTrue(client.status.lastUpload != null)
            assertTrue(client.status.lastUpload !is UploadResult.Delivered)
        }
        assertTrue(collector.fixes(deviceId).isEmpty())
    }

    @Test
    fun `events flow reports tracking, accepted, rejected and uploaded`() = runBlocking {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            // Subscribe before acting: the flow is hot.
            // Policy events (the sampling start() asks for) have tests of their own.
            val firstFour = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) {
                    client.events
                        .filter {
                            it !is TraceletEvent.SamplingChanged && it !is TraceletEvent.MotionChanged &&
                                it !is TraceletEvent.FixSmoothed
                        }
                        .take(4)
                        .toList()
                }
            }
            val uploaded = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) { client.events.filterIsInstance<TraceletEvent.UploadSucceeded>().first() }
            }
            client.start()
            val seq = client.record(walk(1).single()).seq()
            runCatching { client.record(walk(1).single().copy(longitude = 200.0)) }
            client.record(walk(2)[1])
            client.flush()

            val events = firstFour.await()
            assertEquals(TraceletEvent.TrackingChanged(isTracking = true), events[0])
            assertEquals(TraceletEvent.FixAccepted(seq), events[1])
            assertEquals(TraceletEvent.FixRejected("invalid_value"), events[2])
            assertEquals(TraceletEvent.FixAccepted(seq + 1), events[3])
            assertEquals(TraceletEvent.UploadSucceeded(seq, seq + 1), uploaded.await())
        }
    }

    @Test
    fun `the tracking flag survives a restart of the process`() {
        TraceletClient(config(collector, deviceId), storage).use { it.start() }
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertTrue(client.status.isTracking)
            client.stop()
        }
        TraceletClient(config(collector, deviceId), storage).use { assertFalse(it.status.isTracking) }
    }

    @Test
    fun `a 401 asks the token provider once and the fixes arrive with the fresh token`() = runBlocking {
        val fixes = walk(3)
        val calls = AtomicInteger()
        val wrong = config(collector, deviceId).copy(bearerToken = "expired-token")
        TraceletClient(wrong, storage).use { client ->
            client.setTokenProvider {
                calls.incrementAndGet()
                collector.token
            }
            client.start()
            fixes.forEach { client.record(it) }
            assertEquals(3L, client.flush().uploaded)
            assertEquals(1, calls.get())

            // The fresh token is kept: the next round is accepted without asking again.
            client.record(walk(4)[3])
            assertEquals(1L, client.flush().uploaded)
            assertEquals(1, calls.get())
        }
        assertEquals((1L..4L).toList(), collector.fixes(deviceId).map { it.seq })
    }

    @Test
    fun `a token provider that throws counts as no token and the fixes stay queued`() = runBlocking {
        val calls = AtomicInteger()
        val wrong = config(collector, deviceId).copy(bearerToken = "expired-token")
        TraceletClient(wrong, storage).use { client ->
            client.setTokenProvider {
                calls.incrementAndGet()
                throw IllegalStateException("backend unreachable")
            }
            client.start()
            client.record(walk(1).single())
            assertThrows<TraceletException.Upload> { client.flush() }
            // At most once per upload round, even though the answer stayed 401.
            assertEquals(1, calls.get())
            assertEquals(1L, client.status.pendingCount)

            // A new token retries what is pending by itself.
            client.setBearerToken(collector.token)
            assertEquals(1, awaitFixes(deviceId, 1).size)
        }
    }

    @Test
    fun `a bearer token with spaces is an InvalidConfig`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val error = assertThrows<TraceletException.InvalidConfig> {
                client.setBearerToken("bad token with spaces")
            }
            // A credential, even a malformed one, stays out of messages.
            assertFalse(error.message!!.contains("bad token"), error.message)
        }
    }

    @Test
    fun `status counts uploaded bytes after a successful flush`() = runBlocking {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            assertEquals(0L, client.status.uploadedBytes)
            client.start()
            walk(10).forEach { client.record(it) }
            client.flush()
            val status = client.status
            assertEquals(10L, status.uploadedTotal)
            assertTrue(status.uploadedBytes > 0, status.toString())
            assertEquals(0L, status.evictedTotal)
            assertFalse(status.storageRecovered)
        }
    }

    @Test
    fun `offline flush is an Upload error and regaining the network uploads at once`() = runBlocking {
        val fixes = walk(3)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            client.setNetwork(connected = false, unmetered = false)
            fixes.forEach { client.record(it) }
            assertThrows<TraceletException.Upload> { client.flush() }
            assertEquals(3L, client.status.pendingCount)
            assertTrue(collector.fixes(deviceId).isEmpty())

            // No flush: the core uploads by itself when a usable network comes back.
            client.setNetwork(connected = true, unmetered = false)
            assertEquals(fixes.map { it.timeMillis }, awaitFixes(deviceId, 3).map { it.timeMillis })
            assertEquals(0L, client.status.pendingCount)
        }
    }

    @Test
    fun `a metered network holds uploads when only unmetered ones are allowed`() = runBlocking {
        val unmeteredOnly = config(collector, deviceId).copy(uploadOnlyUnmetered = true)
        TraceletClient(unmeteredOnly, storage).use { client ->
            client.start()
            client.setNetwork(connected = true, unmetered = false)
            client.record(walk(1).single())
            assertThrows<TraceletException.Upload> { client.flush() }
            assertEquals(1L, client.status.pendingCount)

            client.setNetwork(connected = true, unmetered = true)
            assertEquals(1, awaitFixes(deviceId, 1).size)
        }
    }

    @Test
    fun `going to the background uploads what is pending without a flush`() = runBlocking {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            walk(2).forEach { client.record(it) }
            client.onAppBackground()
            assertEquals(2, awaitFixes(deviceId, 2).size)
        }
    }

    @Test
    fun `a 50 km jump one second later is Filtered as implied_speed and its neighbours arrive`() = runBlocking {
        val fixes = walk(5).toMutableList()
        fixes[2] = fixes[2].copy(latitude = fixes[2].latitude + 0.45) // about 50 km north
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val outcomes = fixes.map { client.record(it) }
            assertEquals(RecordOutcome.Filtered("implied_speed"), outcomes[2])
            assertEquals(listOf(1L, 2L, 3L, 4L), outcomes.filterIndexed { i, _ -> i != 2 }.map { it.seq() })
            assertEquals(4L, client.flush().uploaded)
        }
        assertEquals(
            fixes.filterIndexed { i, _ -> i != 2 }.map { it.timeMillis },
            collector.fixes(deviceId).map { it.timeMillis },
        )
    }

    @Test
    fun `record of a list reports the filtered fix by index, apart from the invalid ones`() = runBlocking {
        val fixes = walk(5).toMutableList()
        fixes[1] = fixes[1].copy(accuracyMeters = 0.0)
        fixes[3] = fixes[3].copy(latitude = fixes[3].latitude + 0.45)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val result = client.record(fixes)
            assertEquals(listOf(1L, 2L, 3L), result.acceptedSeqs)
            assertEquals(listOf(1), result.rejected.map { it.index })
            assertEquals(listOf(RecordResult.FilteredFix(3, "implied_speed")), result.filtered)
            client.flush()
        }
        assertEquals(listOf(0, 2, 4).map { fixes[it].timeMillis }, collector.fixes(deviceId).map { it.timeMillis })
    }

    @Test
    fun `status counts the filtered fix under its reason`() {
        val fixes = walk(4).toMutableList()
        fixes[2] = fixes[2].copy(longitude = fixes[2].longitude + 0.7) // about 50 km east
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            fixes.forEach { client.record(it) }
            assertThrows<TraceletException.InvalidFix> { client.record(fixes[3].copy(latitude = 91.0)) }
            val status = client.status
            assertEquals(2L, status.rejectedTotal)
            assertEquals(3L, status.acceptedTotal)
            assertEquals(mapOf("implied_speed" to 1L, "invalid_value" to 1L), status.rejectedByReason)
            // Recently recorded fixes within the stop radius: moving, or a candidate stop.
            assertTrue(status.motionState in setOf(MotionState.MOVING, MotionState.STOPPING), "${status.motionState}")
        }
    }

    @Test
    fun `with the filter off the jump is stored like any valid fix`() = runBlocking {
        val fixes = walk(3).toMutableList()
        fixes[1] = fixes[1].copy(latitude = fixes[1].latitude + 0.45)
        TraceletClient(config(collector, deviceId).copy(filterEnabled = false), storage).use { client ->
            client.start()
            assertEquals(listOf(1L, 2L, 3L), fixes.map { client.record(it).seq() })
            assertEquals(3L, client.flush().uploaded)
            assertTrue(client.status.rejectedByReason.isEmpty())
        }
        assertEquals(3, collector.fixes(deviceId).size)
    }

    @Test
    fun `mock fixes are refused when asked and smoothing can be switched off`() = runBlocking {
        val config = config(collector, deviceId).copy(rejectMock = true, smoothingEnabled = false)
        TraceletClient(config, storage).use { client ->
            // Everything up to the second stored fix: with smoothing on, the first one's
            // FixSmoothed would be among them.
            val untilSecond = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) {
                    client.events.takeWhile { !(it is TraceletEvent.FixAccepted && it.seq == 2L) }.toList()
                }
            }
            client.start()
            val fixes = walk(3).toMutableList()
            fixes[1] = fixes[1].copy(isMock = true)
            val outcomes = fixes.map { client.record(it) }
            assertEquals(RecordOutcome.Filtered("mock"), outcomes[1])
            assertEquals(listOf(1L, 2L), listOf(outcomes[0], outcomes[2]).map { it.seq() })
            val before = untilSecond.await()
            assertTrue(before.contains(TraceletEvent.FixAccepted(1L)), "$before")
            assertTrue(before.none { it is TraceletEvent.FixSmoothed }, "$before")
        }
    }

    @Test
    fun `a low battery and an override change what the core asks of the OS`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val normal = client.samplingRequest()
            client.setPowerState(batteryPercent = 9, charging = false, powerSave = false)
            assertTrue(client.samplingRequest().intervalMs > normal.intervalMs)
            client.setPowerState(batteryPercent = 9, charging = true, powerSave = false)
            assertEquals(normal, client.samplingRequest())
            client.setPolicyParameter("moving_interval_ms", 20_000.0)
            assertEquals(20_000L, client.samplingRequest().intervalMs)
            assertThrows<TraceletException.InvalidConfig> { client.setPolicyParameter("warp_factor", 9.0) }
        }
    }

    @Test
    fun `every preset is accepted by the core`() {
        for (preset in Preset.entries) {
            val dir = tempStorageDir("tracelet-preset")
            try {
                TraceletClient(config(collector, deviceId).copy(preset = preset), dir).use { client ->
                    client.start()
                    assertEquals(1L, client.record(walk(1).single()).seq(), preset.toString())
                }
            } finally {
                dir.deleteTree()
            }
        }
        assertEquals(Preset.CONTINUOUS, Preset.fromName("continuous"))
    }

    @Test
    fun `an unknown preset name is an InvalidConfig, from the facade and from the core`() {
        assertThrows<TraceletException.InvalidConfig> { Preset.fromName("sporty") }
        // The enum cannot name an unknown preset; the core still refuses one with the same type.
        val unknown = config(collector, deviceId).toFfi(storage.absolutePath).copy(preset = "sporty")
        val error = assertThrows<TraceletException.InvalidConfig> { translatingErrors { FfiTracelet(unknown) } }
        assertTrue(error.reason.contains("preset"), error.reason)
    }

    @Test
    fun `the events flow delivers a SamplingChanged after start`() = runBlocking {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val sampling = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) { client.events.filterIsInstance<TraceletEvent.SamplingChanged>().first() }
            }
            client.start()
            // The balanced preset, moving: GNSS every 5 s, no geofence.
            val request = sampling.await().request
            assertEquals(SamplingPriority.HIGH_ACCURACY, request.priority)
            assertEquals(5_000L, request.intervalMillis)
            assertEquals(null, request.stationaryGeofence)
        }
    }

    @Test
    fun `a geofence exit or a tick while moving changes no motion state`() = runBlocking {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            // Both emit synchronously, so everything they emit comes before the fix's event.
            val untilStored = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) {
                    client.events.takeWhile { it !is TraceletEvent.FixAccepted }.toList()
                }
            }
            client.onGeofenceExit()
            client.tick()
            assertEquals(1L, client.record(walk(1).single()).seq())
            val before = untilStored.await()
            assertTrue(before.none { it is TraceletEvent.MotionChanged }, before.toString())
        }
    }

    /** Polls the collector until [count] fixes are there or a few seconds have passed. */
    private suspend fun awaitFixes(deviceId: String, count: Int, timeoutMillis: Long = 5_000): List<StoredFix> {
        val deadline = System.nanoTime() + timeoutMillis * 1_000_000
        while (true) {
            val stored = collector.fixes(deviceId)
            if (stored.size >= count || System.nanoTime() > deadline) return stored
            delay(50)
        }
    }
}
