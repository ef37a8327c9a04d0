package dev.tracelet

/**
 * A snapshot of the tracker. Counters are totals since the queue was created.
 *
 * @property uploadedBytes request bytes of the batches the server accepted.
 * @property evictedTotal fixes dropped, oldest first, because the queue hit a bound.
 * @property deliveryAnomalies batches the server answered with duplicates on their first attempt
 *   (see [TraceletEvent.DeliveryAnomaly]).
 * @property storageRecovered the queue was found corrupt at start and replaced by a fresh one
 *   (see [TraceletEvent.StorageRecovered]).
 * @property motionState what the motion policy believes the device is doing; `null` if unknown.
 * @property rejectedByReason fixes not stored, by stable reason name (`implied_speed`,
 *   `duplicate`, `invalid_value`...), in name order: the filter's verdicts and invalid fixes,
 *   which together make up [rejectedTotal].
 */
data class TraceletStatus(
    val isTracking: Boolean,
    val pendingCount: Long,
    val acceptedTotal: Long,
    val rejectedTotal: Long,
    val uploadedTotal: Long,
    val uploadedBytes: Long,
    val deadLetteredTotal: Long,
    val evictedTotal: Long,
    val uploadAttempts: Long,
    val storageRecovered: Boolean,
    val lastUpload: UploadResult?,
    val motionState: MotionState? = null,
    val rejectedByReason: Map<String, Long> = emptyMap(),
    val deliveryAnomalies: Long = 0,
    /** Fixes a privacy zone dropped (no positions are reported). */
    val privacyDroppedTotal: Long = 0,
    /** Fixes stored at a privacy zone's centre. */
    val privacyCoarsenedTotal: Long = 0,
    /** What the tracking schedule says now; `null` without one ([TraceletClient.setSchedule]). */
    val schedule: ScheduleState? = null,
    /**
     * What may stop the app in the background (battery optimisation, exact alarms, the maker's
     * own settings); filled in by `Tracelet.status` on Android, `null` from a bare [TraceletClient].
     */
    val backgroundHealth: BackgroundHealth? = null,
)

/** How the most recent upload ended. */
sealed class UploadResult {
    abstract val atMillis: Long

    data class Delivered(val fixes: Long, override val atMillis: Long) : UploadResult()

    data class Failed(
        val reason: String,
        override val atMillis: Long,
        val retryAtMillis: Long,
    ) : UploadResult()

    /** The server refused the batch for good; it was set aside instead of retried forever. */
    data class DeadLettered(val httpStatus: Int, override val atMillis: Long) : UploadResult()
}

/** What one [TraceletClient.flush] did. */
data class FlushResult(val uploaded: Long, val batches: Long, val pending: Long)

/**
 * Outcome of [TraceletClient.record]: valid fixes are stored even when others are not.
 *
 * @property rejected invalid fixes, each with the error [TraceletClient.record] would throw.
 * @property filtered valid fixes the on-device filter dropped (see [RecordOutcome.Filtered]).
 */
data class RecordResult(
    val acceptedSeqs: List<Long>,
    val rejected: List<RejectedFix>,
    val filtered: List<FilteredFix> = emptyList(),
) {
    /** An invalid fix that was not stored, by its index in the list passed in. */
    data class RejectedFix(val index: Int, val error: TraceletException)

    /** A valid fix the filter did not store, by its index in the list passed in. */
    data class FilteredFix(val index: Int, val reason: String)
}
