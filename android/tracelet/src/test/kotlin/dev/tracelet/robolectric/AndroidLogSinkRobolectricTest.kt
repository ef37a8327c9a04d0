package dev.tracelet.robolectric

import android.util.Log
import dev.tracelet.AndroidLogSink
import dev.tracelet.LogLevel
import dev.tracelet.LogRecord
import dev.tracelet.TraceletClient
import dev.tracelet.TraceletConfig
import dev.tracelet.setLogSink
import java.nio.file.Files
import java.util.UUID
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowLog

/**
 * The Android default sink writes to android.util.Log: here Robolectric's shadow of it (not a
 * device's logcat), fed by the real core.
 */
@RunWith(TraceletRobolectricTestRunner::class)
@Config(sdk = [35])
class AndroidLogSinkRobolectricTest {

    private fun logcat(): List<ShadowLog.LogItem> = ShadowLog.getLogsForTag("Tracelet").toList()

    @Test
    fun `each level goes to the matching android Log priority`() {
        ShadowLog.clear()
        val levels = listOf(LogLevel.ERROR, LogLevel.WARN, LogLevel.INFO, LogLevel.DEBUG, LogLevel.TRACE)
        levels.forEach { AndroidLogSink.onLog(LogRecord(0, it, "tracelet_core::test", "line ${it.name}")) }
        assertEquals(listOf(Log.ERROR, Log.WARN, Log.INFO, Log.DEBUG, Log.VERBOSE), logcat().map { it.type })
        assertEquals("tracelet_core::test: line WARN", logcat()[1].msg)
    }

    @Test
    fun `records of a real client reach android Log`() {
        ShadowLog.clear()
        val storage = Files.createTempDirectory("tracelet-logcat").toFile()
        val config = TraceletConfig(
            // Nothing listens there and nothing is uploaded: only the log is looked at.
            endpoint = "http://127.0.0.1:9/v1/batches",
            deviceId = "robo-log-" + UUID.randomUUID().toString().take(8),
            bearerToken = "token",
            batchTriggerCount = 10_000,
        )
        try {
            TraceletClient(config, storage).use { client ->
                client.setLogSink(AndroidLogSink)
                client.start()
                // The sink runs on the core's log thread: wait for it, failing after a deadline.
                val deadline = System.nanoTime() + 30_000_000_000L
                while (logcat().none { it.msg.endsWith("tracking started") } && System.nanoTime() < deadline) {
                    Thread.sleep(10)
                }
                val started = logcat().filter { it.msg == "tracelet_core::tracker: tracking started" }
                assertEquals(1, started.size)
                assertEquals(Log.INFO, started.single().type)
                assertTrue("the default level is info", logcat().none { it.type == Log.DEBUG })
            }
        } finally {
            storage.deleteRecursively()
        }
    }
}
