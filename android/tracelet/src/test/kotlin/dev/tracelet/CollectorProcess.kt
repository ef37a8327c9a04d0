package dev.tracelet

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import org.json.JSONObject

/** One fix as the collector's read API returns it. */
data class StoredFix(
    val seq: Long,
    val timeMillis: Long,
    val latitude: Double,
    val longitude: Double,
    val accuracyMeters: Double,
    val provider: String,
    val isMock: Boolean,
    val speedMetersPerSecond: Double?,
)

/**
 * The reference collector (examples/collector) as a child process on a free loopback port.
 * Close it to destroy the process; nothing outlives the test.
 */
class CollectorProcess private constructor(
    private val process: Process,
    val baseUrl: String,
    val token: String,
) : AutoCloseable {

    val ingestUrl: String get() = "$baseUrl/v1/batches"

    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    fun fixes(deviceId: String): List<StoredFix> {
        val body = get("/v1/devices/$deviceId/fixes?after_seq=0&limit=1000")
        val array = JSONObject(body).getJSONArray("fixes")
        return (0 until array.length()).map { i ->
            val o = array.getJSONObject(i)
            StoredFix(
                seq = o.getLong("seq"),
                timeMillis = o.getLong("t"),
                latitude = o.getDouble("la"),
                longitude = o.getDouble("lo"),
                accuracyMeters = o.getDouble("ac"),
                provider = o.getString("pr"),
                isMock = o.optBoolean("mk", false),
                speedMetersPerSecond = if (o.has("sp")) o.getDouble("sp") else null,
            )
        }
    }

    fun stats(): JSONObject = JSONObject(get("/v1/stats"))

    private fun get(path: String): String {
        val request = HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("Authorization", "Bearer $token")
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 200) { "GET $path -> ${response.statusCode()}: ${response.body()}" }
        return response.body()
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS)
        }
    }

    companion object {
        private const val BANNER = "tracelet-collector listening on "

        fun start(token: String = "test-token"): CollectorProcess {
            val bin = System.getProperty("tracelet.collector.bin")
                ?: error("system property tracelet.collector.bin is not set")
            check(File(bin).canExecute()) { "collector binary not found at $bin: build it with cargo" }
            val process = ProcessBuilder(bin, "--listen", "127.0.0.1:0", "--token", token)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start()
            try {
                val reader = BufferedReader(InputStreamReader(process.inputStream))
                // readLine blocks; bound the wait so a broken collector fails the test quickly.
                val first = CompletableFuture.supplyAsync { reader.readLine() }
                    .get(30, TimeUnit.SECONDS)
                    ?: error("collector exited before announcing its address")
                check(first.startsWith(BANNER)) { "unexpected first line from collector: $first" }
                // Keep draining stdout so the child never blocks on a full pipe.
                Thread({ reader.useLines { lines -> lines.forEach { _ -> } } }, "collector-stdout")
                    .apply { isDaemon = true }
                    .start()
                return CollectorProcess(process, first.removePrefix(BANNER).trim(), token)
            } catch (e: Throwable) {
                process.destroyForcibly()
                throw e
            }
        }
    }
}
