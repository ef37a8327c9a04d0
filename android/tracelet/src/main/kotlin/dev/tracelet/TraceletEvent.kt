package dev.tracelet

/** What the SDK tells the app as it works; collect them from `events`. */
sealed class TraceletEvent {
    data class FixAccepted(val seq: Long) : TraceletEvent()

    data class FixRejected(val reason: String) : TraceletEvent()

    data class TrackingChanged(val isTracking: Boolean) : TraceletEvent()

    data class UploadSucceeded(val firstSeq: Long, val lastSeq: Long) : TraceletEvent()

    data class UploadFailed(val reason: String, val retryInMillis: Long) : TraceletEvent()

    data class BatchDeadLettered(val firstSeq: Long, val lastSeq: Long, val httpStatus: Int) :
        TraceletEvent()

    /**
     * Raised by the Android layer, not the core: tracking is on but the OS is not delivering
     * positions (service start refused, permission revoked, no provider). [reason] says which.
     */
    data class TrackingInterrupted(val reason: String) : TraceletEvent()
}
