package dev.tracelet

import java.io.File
import java.util.UUID
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows

/** The Kotlin facade against the real core (JNA) and a real collector process. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TraceletClientTest {

    private lateinit var collector: CollectorProcess
    private lateinit var storage: File
    private lateinit var deviceId: String

    @BeforeAll
    fun startCollector() {
        collector = CollectorProcess.start()
    }

    @AfterAll
    fun stopCollector() {
        collector.close()
    }

    @BeforeEach
    fun freshDevice() {
        storage = tempStorageDir("tracelet-client")
        deviceId = "kt-" + UUID.randomUUID().toString().take(8)
    }

    @AfterEach
    fun cleanUp() {
        storage.deleteTree()
    }

    @Test
    fun `recorded fixes reach the collector in order with their values`() = runBlocking {
        val fixes = walk(250)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val seqs = fixes.map { client.record(it) }
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
    fun `recordAll stores the valid fixes and reports the invalid one by index`() = runBlocking {
        val fixes = walk(5).toMutableList()
        fixes[2] = fixes[2].copy(accuracyMeters = -1.0)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val result = client.recordAll(fixes)
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
            val firstFour = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) { client.events.take(4).toList() }
            }
            val uploaded = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(10_000) { client.events.filterIsInstance<TraceletEvent.UploadSucceeded>().first() }
            }
            client.start()
            val seq = client.record(walk(1).single())
            runCatching { client.record(walk(1).single().copy(longitude = 200.0)) }
            client.record(walk(2)[1])
            client.flush()

            val events = firstFour.await()
            assertEquals(TraceletEvent.TrackingChanged(isTracking = true), events[0])
            assertEquals(TraceletEvent.FixAccepted(seq), events[1])
            assertTrue(events[2] is TraceletEvent.FixRejected, events[2].toString())
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
}
