package dev.tracelet

/** What the SDK records under the current location permission; decided by the core. */
enum class RecordingMode {
    /** Precise fixes; the motion policy decides when GNSS runs. */
    PRECISE,

    /**
     * Approximate location only (Android 12+): coarse fixes (about 2 km) are stored, at most one
     * per 10 minutes; stops are not detected and GNSS is never asked for.
     */
    APPROXIMATE,

    /** No location permission, or location is off: nothing is recorded. */
    BLOCKED,
}

/**
 * What the app is told about its permission, as [TraceletEvent.AccessChanged] and
 * `Tracelet.client.accessReport`. [backgroundWake] is false with "while using the app": tracking runs
 * only while the foreground service does, and after a process kill it resumes only when the app
 * is opened again.
 */
data class AccessReport(val mode: RecordingMode, val backgroundWake: Boolean)
