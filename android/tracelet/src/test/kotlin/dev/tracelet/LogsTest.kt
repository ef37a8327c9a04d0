package dev.tracelet

import java.io.File
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import java.util.zip.GZIPInputStream
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/** The SDK's log through the real core: the app's sink, the export, the typed errors. */
class LogsTest : CollectorTestBase(storagePrefix = "tracelet-logs", devicePrefix = "kt-log-") {

    @Test
    fun `an app sink receives the records of its client`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            val received = CopyOnWriteArrayList<LogRecord>()
            val started = CountDownLatch(1)
            client.setLogSink({ record ->
                received += record
                if (record.message == "tracking started") started.countDown()
            }, LogLevel.DEBUG)
            client.start()
            assertTrue(started.await(30, TimeUnit.SECONDS), "the sink heard of the start: $received")
            val start = received.first { it.message == "tracking started" }
            assertEquals(LogLevel.INFO, start.level)
            assertEquals("tracelet_core::tracker", start.target)
            // The device log kept it too, at its default level (info).
            assertTrue(client.logRecords().any { it.message == "tracking started" })
        }
    }

    @Test
    fun `exportLogs writes a gzip file any reader can open`() = runBlocking<Unit> {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            walk(5, startMillis = System.currentTimeMillis() - 10_000L).forEach { client.record(it) }
            client.flush()
            val destination = File(storage, "support.log.gz")
            val written = client.exportLogs(destination)
            val lines = GZIPInputStream(destination.inputStream()).bufferedReader().readLines()
            assertEquals(written + 1, lines.size.toLong(), "a header line and one line per record")
            assertTrue(lines.first().startsWith("# Tracelet "))
            assertTrue(lines.any { it.endsWith("INFO tracelet_core::tracker: tracking started") }, "$lines")
            assertTrue(lines.any { it.contains("upload delivered: 5 fixes") }, "$lines")
            // The walk's coordinates appear nowhere (52.52…, 13.405…).
            assertFalse(lines.any { it.contains("52.52") || it.contains("13.40") }, "$lines")
        }
    }

    @Test
    fun `an export into a missing directory is a typed error and writes nothing`() {
        TraceletClient(config(collector, deviceId), storage).use { client ->
            client.start()
            val before = client.logRecords()
            val missing = File(storage, "no-such-dir")
            val error = assertThrows<LogException.DestinationMissing> {
                client.exportLogs(File(missing, "support.log.gz"))
            }
            assertEquals(missing.absolutePath, error.path)
            assertFalse(missing.exists())
            assertEquals(before, client.logRecords())
            assertThrows<LogException.InvalidSettings> { client.setLogSettings(LogSettings(maxBytes = 10)) }
        }
    }

    @Test
    fun `on a plain JVM no system log exists, so no default sink is attached`() {
        // android.util.Log is only a stub here; on Android (ART) the default is AndroidLogSink.
        assertNull(defaultLogSink())
    }
}
