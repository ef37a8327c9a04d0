package dev.tracelet

import java.net.HttpURLConnection
import java.util.Collections
import java.util.zip.GZIPInputStream
import kotlinx.coroutines.runBlocking
import org.json.JSONObject
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * The app's own HTTP stack, headers and batch params, through the real core (JNA) to a real
 * collector process: [HttpUrlConnectionTransport] does the real HTTP, wrapped so that the test
 * sees every request it sends.
 */
class HttpControlTest : CollectorTestBase(storagePrefix = "tracelet-http", devicePrefix = "kt-http-") {

    /** Records each request, then lets the real adapter send it. */
    private class Recording(private val inner: HttpTransport) : HttpTransport {
        val requests: MutableList<HttpRequest> = Collections.synchronizedList(mutableListOf())

        override fun send(request: HttpRequest): HttpResponse {
            requests += request
            return inner.send(request)
        }
    }

    private fun params(request: HttpRequest): JSONObject? {
        val json = GZIPInputStream(request.body.inputStream()).readBytes().decodeToString()
        return JSONObject(json).optJSONObject("params")
    }

    @Test
    fun `every request goes through the app's transport with the app's headers and params`() = runBlocking {
        var opened = 0
        val transport = Recording(
            HttpUrlConnectionTransport { url ->
                opened++
                url.openConnection() as HttpURLConnection
            },
        )
        val configured = config(collector, deviceId).copy(
            headers = mapOf("X-Api-Key" to "k1"),
            params = mapOf("app_version" to "2.1.0"),
        )
        TraceletClient(configured, storage, transport = transport).use { client ->
            client.start()
            val fixes = walk(130)
            fixes.take(120).forEach { client.record(it) }
            assertEquals(0L, client.flush().pending)

            client.setHeaders(mapOf("X-Api-Key" to "k2"))
            client.setParams(emptyMap())
            fixes.drop(120).forEach { client.record(it) }
            assertEquals(0L, client.flush().pending)
        }
        assertEquals(130, collector.fixes(deviceId).size)
        val requests = transport.requests.toList()
        assertTrue(requests.size >= 2, "${requests.size} requests")
        assertEquals(requests.size, opened)
        val (before, after) = requests.partition { r -> r.headers.any { it.name == "X-Api-Key" && it.value == "k1" } }
        assertTrue(before.isNotEmpty() && after.isNotEmpty())
        before.forEach { assertEquals("2.1.0", params(it)?.getString("app_version")) }
        after.forEach { r ->
            assertTrue(r.headers.any { it.name == "X-Api-Key" && it.value == "k2" })
            assertEquals(null, params(r))
        }
    }

    @Test
    fun `a header with a line break is a typed error that names no value and keeps the headers`() {
        TraceletClient(config(collector, deviceId).copy(headers = mapOf("X-Api-Key" to "k1")), storage).use { client ->
            val error = assertThrows<TraceletException.InvalidHeader> {
                client.setHeaders(mapOf("X-Api-Key" to "k2\r\nX-Evil: 1"))
            }
            assertFalse(error.message!!.contains("Evil"))
            assertEquals(mapOf("X-Api-Key" to "k1"), client.headers())
            assertThrows<TraceletException.InvalidHeader> { client.setHeaders(mapOf("Authorization" to "x")) }
        }
        assertThrows<TraceletException.InvalidConfig> {
            TraceletClient(config(collector, deviceId).copy(headers = mapOf("Content-Type" to "x")), storage)
        }
    }
}
