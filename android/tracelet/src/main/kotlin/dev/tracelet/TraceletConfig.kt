package dev.tracelet

/**
 * What an app configures once.
 *
 * @property endpoint ingest URL (protocol v1). HTTPS is required; plain http only for loopback
 *   hosts, which is meant for tests and local development.
 * @property deviceId stable identifier of this install on the server, 1 to 128 characters.
 * @property bearerToken sent as `Authorization: Bearer`.
 * @property batchTriggerCount upload as soon as this many fixes are pending.
 * @property maxBatchFixes most fixes in one request.
 * @property maxUploadDelayMillis upload pending fixes once the oldest has waited this long; 0
 *   (the default) takes the preset's interval (7.5 min balanced, 30 min efficient, 1 min
 *   continuous).
 * @property uploadOnlyUnmetered upload only on unmetered networks (Wi-Fi, Ethernet); on a metered
 *   one fixes wait in the queue.
 * @property preset the battery / track density trade-off: how often GNSS samples while moving,
 *   how soon a stop turns it off, how strict the filter is.
 * @property filterEnabled the on-device filter (jumps, duplicates, out-of-order and vague fixes):
 *   [TraceletClient.record] returns [RecordOutcome.Filtered] for the fixes it drops. Off, every
 *   valid fix is stored.
 * @property uploadSmoothed upload the filter's smoothed position beside the raw one.
 * @property smoothingEnabled Kalman smoothing in the filter ([TraceletEvent.FixSmoothed]).
 * @property rejectMock refuse fixes Android flags as mock locations (reason `mock`).
 * @property notification what the foreground service shows while tracking (Android only).
 * @property headers the app's own headers on every upload request (an API gateway's key, a
 *   tenant). Names the SDK sets itself are refused with [TraceletException.InvalidHeader].
 * @property params extra fields in the `params` object of every batch (JSON bodies), at most
 *   16 entries and 1,024 bytes.
 */
data class TraceletConfig(
    val endpoint: String,
    val deviceId: String,
    val bearerToken: String,
    val batchTriggerCount: Int = 100,
    val maxBatchFixes: Int = 500,
    val maxUploadDelayMillis: Long = 0L,
    val uploadOnlyUnmetered: Boolean = false,
    val preset: Preset = Preset.BALANCED,
    val filterEnabled: Boolean = true,
    val uploadSmoothed: Boolean = false,
    val smoothingEnabled: Boolean = true,
    val rejectMock: Boolean = false,
    val notification: NotificationSettings = NotificationSettings(),
    val headers: Map<String, String> = emptyMap(),
    val params: Map<String, String> = emptyMap(),
) {
    // The token is a credential: keep it out of logs and crash reports.
    override fun toString(): String =
        "TraceletConfig(endpoint=$endpoint, deviceId=$deviceId, bearerToken=***, " +
            "batchTriggerCount=$batchTriggerCount, maxBatchFixes=$maxBatchFixes, " +
            "maxUploadDelayMillis=$maxUploadDelayMillis, uploadOnlyUnmetered=$uploadOnlyUnmetered, " +
            "preset=$preset, filterEnabled=$filterEnabled, uploadSmoothed=$uploadSmoothed, " +
            "smoothingEnabled=$smoothingEnabled, rejectMock=$rejectMock, " +
            "notification=$notification, headers=${headers.keys}, params=${params.keys})"
}
