package dev.tracelet

import java.nio.file.Files
import java.io.File

/** A plausible walk near a fixed point, one fix per second, with distinct values per fix. */
fun walk(count: Int, startMillis: Long = 1_767_225_600_000L): List<Fix> = List(count) { i ->
    Fix(
        timeMillis = startMillis + i * 1_000L,
        latitude = 52.5200000 + i * 0.0000100,
        longitude = 13.4050000 + i * 0.0000150,
        accuracyMeters = 5.0 + (i % 10) * 0.5,
        speedMetersPerSecond = 1.2,
        provider = Provider.GPS,
    )
}

/**
 * A straight walk east along [latitude] at [speedMetersPerSecond], one fix per second, from
 * [fromMeters] to [toMeters] east of [longitude] (negative: west of it).
 */
fun eastward(
    latitude: Double,
    longitude: Double,
    fromMeters: Double,
    toMeters: Double,
    speedMetersPerSecond: Double = 5.0,
    startMillis: Long = 1_767_225_600_000L,
): List<Fix> {
    val metersPerDegree = 111_320.0 * Math.cos(Math.toRadians(latitude))
    val count = ((toMeters - fromMeters) / speedMetersPerSecond).toInt() + 1
    return List(count) { i ->
        Fix(
            timeMillis = startMillis + i * 1_000L,
            latitude = latitude,
            longitude = longitude + (fromMeters + i * speedMetersPerSecond) / metersPerDegree,
            accuracyMeters = 5.0,
            speedMetersPerSecond = speedMetersPerSecond,
            bearingDegrees = 90.0,
            provider = Provider.GPS,
        )
    }
}

/** The sequence number of a stored fix; fails the test if the filter dropped it. */
fun RecordOutcome.seq(): Long = when (this) {
    is RecordOutcome.Stored -> seq
    is RecordOutcome.Filtered -> throw AssertionError("expected a stored fix, the filter dropped it: $reason")
}

fun tempStorageDir(prefix: String): File = Files.createTempDirectory(prefix).toFile()

fun File.deleteTree() {
    deleteRecursively()
}

fun config(collector: CollectorProcess, deviceId: String) = TraceletConfig(
    endpoint = collector.ingestUrl,
    deviceId = deviceId,
    bearerToken = collector.token,
    // Large enough that only flush() uploads: the test controls when batches leave.
    batchTriggerCount = 10_000,
)
