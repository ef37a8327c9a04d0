package dev.tracelet

/** What the SDK tells the app as it works; collect them from `events`. */
sealed class TraceletEvent {
    data class FixAccepted(val seq: Long) : TraceletEvent()

    /** The filter smoothed the fix stored as [seq]; the raw position is what is stored. */
    data class FixSmoothed(
        val seq: Long,
        val latitude: Double,
        val longitude: Double,
        val accuracyMeters: Double,
    ) : TraceletEvent() {
        // Positions are personal data: keep them out of logs and crash reports.
        override fun toString(): String = "FixSmoothed(seq=$seq, accuracyMeters=$accuracyMeters)"
    }

    /**
     * A fix was not stored: invalid (`invalid_value`, `bad_accuracy`, `time_too_old`...) or
     * dropped by the filter (`implied_speed`, `duplicate`, `out_of_order`...). [reason] is a
     * stable short name, the key of [TraceletStatus.rejectedByReason].
     */
    data class FixRejected(val reason: String) : TraceletEvent()

    data class TrackingChanged(val isTracking: Boolean) : TraceletEvent()

    data class UploadSucceeded(val firstSeq: Long, val lastSeq: Long) : TraceletEvent()

    data class UploadFailed(val reason: String, val retryInMillis: Long) : TraceletEvent()

    data class BatchDeadLettered(val firstSeq: Long, val lastSeq: Long, val httpStatus: Int) :
        TraceletEvent()

    /**
     * The server already had [duplicates] fixes (and [eventDuplicates] events) of a batch sent
     * for the first time: another install sends under this device id and queue stream, or the
     * server does not key on streams. The batch was deleted as delivered, so those fixes may be
     * missing at the server. Counted in [TraceletStatus.deliveryAnomalies]; [firstSeq] and
     * [lastSeq] are 0 for a batch of events only.
     */
    data class DeliveryAnomaly(
        val firstSeq: Long,
        val lastSeq: Long,
        val duplicates: Long,
        val eventDuplicates: Long,
    ) : TraceletEvent()

    /**
     * The queue hit one of its bounds and dropped its [count] oldest fixes to make room;
     * [reason] is `count`, `age` or `bytes`. They are also counted in [TraceletStatus.evictedTotal].
     */
    data class FixesEvicted(val count: Long, val reason: String) : TraceletEvent()

    /**
     * The queue database was unreadable at start: it was moved aside to [quarantinedFile] and a
     * fresh queue started. Fixes in the old file were not uploaded.
     */
    data class StorageRecovered(val quarantinedFile: String) : TraceletEvent()

    /**
     * The motion policy changed state; [reason] is a short name such as `stop_timeout`,
     * `geofence_exit` or `started`. A change uploads what is queued.
     */
    data class MotionChanged(val state: MotionState, val reason: String) : TraceletEvent()

    /**
     * The core asks the OS location API for different sampling (emitted by `start()` too). The
     * SDK's tracking service applies it by itself; apps with their own location source follow it.
     */
    data class SamplingChanged(val request: SamplingRequest) : TraceletEvent()

    /**
     * The device entered, left or dwelt in the app geofence [geofenceId] (see
     * `Tracelet.client.addGeofences`), decided on the accepted fix taken at [timeMillis]. A geofence's
     * events start with [GeofenceTransition.ENTER] and alternate ENTER, EXIT; a fix whose
     * accuracy straddles the boundary decides nothing, so a device at the edge does not flap.
     * The same event is queued for the server.
     */
    data class GeofenceTransitioned(
        val transition: GeofenceTransition,
        val geofenceId: String,
        val timeMillis: Long,
    ) : TraceletEvent()

    /**
     * The core asks the OS to watch exactly these regions now, replacing the previous ones:
     * the geofences nearest the device, within the OS limit. The SDK's tracking service
     * registers them by itself; apps with their own geofencing follow it and report OS
     * transitions with `Tracelet.client.onRegionEvent(id)`.
     */
    data class RegionsChanged(val request: RegionRequest) : TraceletEvent()

    /**
     * Raised by the Android layer, not the core: tracking is on but the OS is not delivering
     * positions (service start refused, permission revoked, no provider). [reason] says which.
     */
    data class TrackingInterrupted(val reason: String) : TraceletEvent()

    /**
     * What the SDK records under the user's permission changed: approximate location only
     * (coarse fixes are stored, at most one per 10 minutes, no stop detection), or nothing can
     * wake the app in the background ("while using the app"). Also readable as
     * `Tracelet.client.accessReport`.
     */
    data class AccessChanged(val report: AccessReport) : TraceletEvent()

    /**
     * The tracking schedule turned tracking on or off; [nextTransitionMillis] (UTC) is when it
     * next will, `null` if never. The Android layer arms an alarm for it by itself.
     */
    data class ScheduleChanged(val isTracking: Boolean, val nextTransitionMillis: Long?) : TraceletEvent()
}
