package dev.tracelet

/**
 * What happened to one valid fix passed to [TraceletClient.record]. An invalid fix is not an
 * outcome: it throws [TraceletException.InvalidFix].
 */
sealed class RecordOutcome {
    /** Durably queued under the per-device sequence number [seq]. */
    data class Stored(val seq: Long) : RecordOutcome()

    /**
     * The on-device filter judged it a bad fix and did not store it: a jump (`implied_speed`),
     * `duplicate`, `out_of_order`, too vague (`accuracy_too_low`), `superseded` by a better one,
     * or `mock` if configured. [reason] is that stable short name; the fix is also counted in
     * [TraceletStatus.rejectedByReason] and reported as [TraceletEvent.FixRejected]. Not an
     * error: turn the filter off with [TraceletConfig.filterEnabled] to store every valid fix.
     */
    data class Filtered(val reason: String) : RecordOutcome()
}
