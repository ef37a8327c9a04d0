package dev.tracelet

import java.io.File
import dev.tracelet.internal.LogException as FfiLogException
import dev.tracelet.internal.LogLevel as FfiLogLevel
import dev.tracelet.internal.LogRecord as FfiLogRecord
import dev.tracelet.internal.LogSettings as FfiLogSettings
import dev.tracelet.internal.LogSink as FfiLogSink
import dev.tracelet.internal.Tracelet as FfiTracelet

// The SDK's own log: what support asks a user for when "it stopped tracking". The core keeps a
// bounded log beside its queue (no coordinates in it, ever) and hands records to a sink as they
// happen: android.util.Log by default on Android; on a plain JVM there is no system log, so no
// sink is attached unless the app sets one.

/** How important a record is, most important first. */
enum class LogLevel { ERROR, WARN, INFO, DEBUG, TRACE }

/** One line of the SDK's log; never holds a coordinate. */
data class LogRecord(
    /** Wall-clock UTC milliseconds when it was logged. */
    val timeMillis: Long,
    val level: LogLevel,
    /** The part of the SDK that logged it, such as `tracelet_core::tracker::uploader`. */
    val target: String,
    val message: String,
)

/**
 * The on-device log's level and bounds: past [maxBytes] or [maxAgeMillis] the oldest records
 * go first. Records below [minLevel] are not kept (a sink has its own level).
 */
data class LogSettings(
    val minLevel: LogLevel = LogLevel.INFO,
    /** At least 16 KiB. */
    val maxBytes: Long = 1024L * 1024L,
    val maxAgeMillis: Long = 7L * 24 * 3600 * 1000,
)

/** Receives the SDK's log records on the SDK's log thread (never a tracking thread). */
fun interface LogSink {
    fun onLog(record: LogRecord)
}

/** Why a log call did nothing; an export wrote no file and the log is unchanged. */
sealed class LogException(message: String) : Exception(message) {
    /** The directory of the export destination does not exist. */
    class DestinationMissing(val path: String) :
        LogException("the directory of the export destination does not exist: $path")

    class DestinationIsDirectory(val path: String) :
        LogException("the export destination is a directory: $path")

    /** Bounds under 16 KiB or an age that is not positive. */
    class InvalidSettings(val reason: String) : LogException("invalid log settings: $reason")

    /** Writing failed (a full disk), or the tracker was closed. */
    class Failed(val reason: String) : LogException("log export failed: $reason")
}

/** Sends each record to logcat under the tag "Tracelet". */
object AndroidLogSink : LogSink {
    private const val TAG = "Tracelet"

    override fun onLog(record: LogRecord) {
        val text = "${record.target}: ${record.message}"
        when (record.level) {
            LogLevel.ERROR -> android.util.Log.e(TAG, text)
            LogLevel.WARN -> android.util.Log.w(TAG, text)
            LogLevel.INFO -> android.util.Log.i(TAG, text)
            LogLevel.DEBUG -> android.util.Log.d(TAG, text)
            LogLevel.TRACE -> android.util.Log.v(TAG, text)
        }
    }
}

/**
 * The sink attached when a client opens: [AndroidLogSink] on Android (ART names itself
 * "Dalvik"), none on a plain JVM, where android.util.Log exists only as stubs that throw.
 * Pass it to [setLogSink] to restore it after attaching another.
 */
fun defaultLogSink(): LogSink? =
    if (System.getProperty("java.vm.name").orEmpty().contains("Dalvik")) AndroidLogSink else null

/** Hands every SDK log record at [minLevel] or above to [sink]; `null` detaches it. */
fun TraceletClient.setLogSink(sink: LogSink?, minLevel: LogLevel = LogLevel.INFO) {
    core.attachLogSink(sink, minLevel)
}

/**
 * Changes the on-device log's level and bounds; a tighter bound evicts at once.
 * @throws LogException.InvalidSettings and keeps the settings in force.
 */
fun TraceletClient.setLogSettings(settings: LogSettings): Unit = translatingLogErrors {
    core.setLogSettings(FfiLogSettings(settings.minLevel.toFfi(), settings.maxBytes.toULong(), settings.maxAgeMillis))
}

/** The on-device log, oldest first. */
fun TraceletClient.logRecords(): List<LogRecord> = translatingLogErrors { core.logRecords().map { it.toPublic() } }

/**
 * Writes the on-device log to [destination] as gzip text (one record a line), ready to attach
 * to a support email, and returns the number of records.
 * @throws LogException.DestinationMissing if the directory of [destination] does not exist;
 *   nothing is written and the log is unchanged.
 */
fun TraceletClient.exportLogs(destination: File): Long =
    translatingLogErrors { core.exportLogs(destination.absolutePath).toLong() }

internal fun FfiTracelet.attachLogSink(sink: LogSink?, minLevel: LogLevel) {
    setLogSink(
        sink?.let { public ->
            object : FfiLogSink {
                override fun onLog(record: FfiLogRecord) = public.onLog(record.toPublic())
            }
        },
        minLevel.toFfi(),
    )
}

private fun LogLevel.toFfi(): FfiLogLevel = FfiLogLevel.valueOf(name)

private fun FfiLogRecord.toPublic() = LogRecord(timeMs, LogLevel.valueOf(level.name), target, message)

private inline fun <T> translatingLogErrors(block: () -> T): T =
    try {
        block()
    } catch (e: FfiLogException) {
        throw when (e) {
            is FfiLogException.DestinationMissing -> LogException.DestinationMissing(e.path)
            is FfiLogException.DestinationIsDirectory -> LogException.DestinationIsDirectory(e.path)
            is FfiLogException.InvalidSettings -> LogException.InvalidSettings(e.reason)
            is FfiLogException.Failed -> LogException.Failed(e.reason)
        }
    }
