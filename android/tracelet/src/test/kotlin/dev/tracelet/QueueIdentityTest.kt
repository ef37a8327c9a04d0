package dev.tracelet

import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Test

/**
 * A queue that is wiped or copied keeps exactly-once delivery: the real core (JNA) against a real
 * collector process, with the queue's files deleted or copied as "clear data" and a restored
 * backup would leave them.
 */
class QueueIdentityTest : CollectorTestBase(storagePrefix = "tracelet-identity", devicePrefix = "kt-id-") {

    @Test
    fun `a wiped queue with the same device id still delivers every new fix`() = runBlocking {
        val first = walk(30)
        val second = walk(30, startMillis = first.last().timeMillis + 60_000)
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            first.forEach { client.record(it) }
            assertEquals(30L, client.flush().uploaded)
        }
        // "Clear data": the queue directory is gone; the app keeps its device id.
        storage.deleteTree()
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            // Numbering restarts at 1, as it did before stream ids, and nothing is lost.
            assertEquals(1L, client.record(second.first()).seq())
            second.drop(1).forEach { client.record(it) }
            assertEquals(30L, client.flush().uploaded)
            assertEquals(0L, client.status.deliveryAnomalies)
        }
        val stored = collector.fixes(deviceId)
        assertEquals((first + second).map { it.timeMillis }, stored.map { it.timeMillis })
        assertEquals(2, stored.map { it.stream }.distinct().size)
    }

    @Test
    fun `a queue restored without its marker starts a new stream`() = runBlocking {
        val markers = tempStorageDir("tracelet-marker")
        val backup = tempStorageDir("tracelet-backup")
        try {
            TraceletClient(config(collector, deviceId), storage, markers).use { client ->
                client.start()
                walk(10).forEach { client.record(it) }
                client.flush()
            }
            storage.copyRecursively(backup, overwrite = true)
            // Restored onto a new phone: the queue comes back, the no-backup marker does not.
            val newPhoneMarkers = tempStorageDir("tracelet-marker-new")
            TraceletClient(config(collector, deviceId), backup, newPhoneMarkers).use { client ->
                client.start()
                walk(10, startMillis = 1_767_300_000_000L).forEach { client.record(it) }
                assertEquals(10L, client.flush().uploaded)
                assertEquals(0L, client.status.deliveryAnomalies)
            }
            newPhoneMarkers.deleteTree()
            val stored = collector.fixes(deviceId)
            assertEquals(20, stored.size)
            assertNotEquals(stored.first().stream, stored.last().stream)
        } finally {
            markers.deleteTree()
            backup.deleteTree()
        }
    }

    @Test
    fun `a clone that carried its marker along is reported as a delivery anomaly`() = runBlocking {
        val clone = tempStorageDir("tracelet-clone")
        try {
            TraceletClient(config(collector, deviceId), storage).use { client ->
                client.start()
                walk(5).forEach { client.record(it) }
                // Copied, marker and all, before the original uploads: both hold fixes 1-5 of
                // one stream, which is what no backup route may produce.
                storage.copyRecursively(clone, overwrite = true)
                client.flush()
            }
            TraceletClient(config(collector, deviceId), clone).use { client ->
                val anomaly = async(start = CoroutineStart.UNDISPATCHED) {
                    withTimeout(10_000) { client.events.filterIsInstance<TraceletEvent.DeliveryAnomaly>().first() }
                }
                client.flush()
                assertEquals(TraceletEvent.DeliveryAnomaly(1, 5, 5, 0), anomaly.await())
                assertEquals(1L, client.status.deliveryAnomalies)
            }
        } finally {
            clone.deleteTree()
        }
    }
}
