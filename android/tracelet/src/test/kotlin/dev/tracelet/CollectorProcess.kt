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
    /** The SDK queue's stream that [seq] belongs to. */
    val stream: String,
    val seq: Long,
    val timeMillis: Long,
    val latitude: Double,
    val longitude: Double,
    val accuracyMeters: Double,
    val provider: String,
    val isMock: Boolean,
    val speedMetersPerSecond: Double?,
    /** `tr`: the trip the fix was recorded in. */
    val tripId: String? = null,
    /** `x`: the fix extras in force when it was recorded. */
    val extras: Map<String, String> = emptyMap(),
)

/** One geofence, trip or device event as the collector's read API returns it. */
data class StoredEvent(
    val s: Long,
    val timeMillis: Long,
    /** `enter`, `exit`, `dwell`, `trip_start`, `trip_end` or `device`. */
    val kind: String,
    val id: String?,
    val metadata: Map<String, String>,
)

/**
 * The reference collector (examples/collector) as a child process on a free loopback port.
 * Close it to destroy the process; nothing outlives the test.
 */
class CollectorProcess private constructor(
    private val process: Process,
    val baseUrl: String,
    val token: String,
    /** The read API's token: the ingest [token] cannot read. */
    private val readToken: String,
) : AutoCloseable {

    val ingestUrl: String get() = "$baseUrl/v1/batches"

    private val http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    /** Every stored fix of [deviceId], in storage order, following the read API's cursor. */
    fun fixes(deviceId: String): List<StoredFix> {
        val all = mutableListOf<StoredFix>()
        var after = 0L
        while (true) {
            val page = JSONObject(get("/v1/devices/$deviceId/fixes?after=$after&limit=1000"))
            all += page.getJSONArray("fixes").toFixes()
            if (!page.has("next")) return all
            after = page.getLong("next")
        }
    }

    private fun org.json.JSONArray.toFixes(): List<StoredFix> =
        (0 until length()).map { i ->
            val o = getJSONObject(i)
            StoredFix(
                stream = o.getString("stream"),
                seq = o.getLong("seq"),
                timeMillis = o.getLong("t"),
                latitude = o.getDouble("la"),
                longitude = o.getDouble("lo"),
                accuracyMeters = o.getDouble("ac"),
                provider = o.getString("pr"),
                isMock = o.optBoolean("mk", false),
                speedMetersPerSecond = if (o.has("sp")) o.getDouble("sp") else null,
                tripId = if (o.has("tr")) o.getString("tr") else null,
                extras = o.optJSONObject("x").toStringMap(),
            )
        }

    /** `GET /v1/devices/{device}/events`: the device's events in time order. */
    fun events(deviceId: String): List<StoredEvent> {
        val array = JSONObject(get("/v1/devices/$deviceId/events")).getJSONArray("events")
        return (0 until array.length()).map { i ->
            val o = array.getJSONObject(i)
            StoredEvent(
                s = o.getLong("s"),
                timeMillis = o.getLong("t"),
                kind = o.getString("k"),
                id = if (o.has("id")) o.getString("id") else null,
                metadata = o.optJSONObject("m").toStringMap(),
            )
        }
    }

    private fun JSONObject?.toStringMap(): Map<String, String> =
        this?.keys()?.asSequence()?.associateWith { getString(it) } ?: emptyMap()

    fun stats(): JSONObject = JSONObject(get("/v1/stats"))

    private fun get(path: String): String {
        val request = HttpRequest.newBuilder(URI.create(baseUrl + path))
            .header("Authorization", "Bearer $readToken")
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

        fun start(token: String = "test-token", readToken: String = "test-read-token"): CollectorProcess {
            val bin = System.getProperty("tracelet.collector.bin")
                ?: error("system property tracelet.collector.bin is not set")
            check(File(bin).canExecute()) { "collector binary not found at $bin: build it with cargo" }
            val process = ProcessBuilder(
                bin, "--listen", "127.0.0.1:0", "--token", token, "--read-token", readToken,
            )
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
                return CollectorProcess(process, first.removePrefix(BANNER).trim(), token, readToken)
            } catch (e: Throwable) {
                process.destroyForcibly()
                throw e
            }
        }
    }
}
