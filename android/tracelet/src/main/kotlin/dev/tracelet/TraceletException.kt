package dev.tracelet

/**
 * Every failure the SDK reports. Messages never contain coordinates.
 */
sealed class TraceletException(message: String, cause: Throwable? = null) :
    Exception(message, cause) {

    /** The fix was refused (NaN, out of range, bad accuracy or time); nothing was stored. */
    class InvalidFix(val reason: String, cause: Throwable? = null) :
        TraceletException("invalid fix: $reason", cause)

    /** The configuration was refused (endpoint, device id, token, sizes). */
    class InvalidConfig(val reason: String, cause: Throwable? = null) :
        TraceletException("invalid configuration: $reason", cause)

    /** The on-device queue could not be read or written. */
    class Storage(val reason: String, cause: Throwable? = null) :
        TraceletException("storage failure: $reason", cause)

    /**
     * The device has no room left to store the fix (disk full): it was not stored. Fixes
     * already stored are kept and still upload.
     */
    class StorageFull(cause: Throwable? = null) :
        TraceletException("storage is full: the fix was not stored; fixes already stored are kept", cause)

    /** A fix was recorded while tracking is stopped. */
    class NotTracking(cause: Throwable? = null) :
        TraceletException("tracking is stopped: call start() before recording fixes", cause)

    /** An explicit flush could not deliver; the fixes stay queued and will be retried. */
    class Upload(val reason: String, cause: Throwable? = null) :
        TraceletException("upload failed: $reason", cause)

    /** The tracker was closed. */
    class ShutDown(cause: Throwable? = null) :
        TraceletException("the tracker has shut down", cause)

    /**
     * A geofence was refused (id, coordinates, radius, polygon or dwell time out of range);
     * when adding several, none was added.
     */
    class InvalidGeofence(val reason: String, cause: Throwable? = null) :
        TraceletException("invalid geofence: $reason", cause)

    /**
     * Fix extras, device or trip metadata past their caps (16 entries, 1,024 bytes of keys and
     * values, keys of 1 to 64 characters, no duplicates), or a trip id not of 1 to 128
     * characters. What was in force before is kept.
     */
    class InvalidMetadata(val reason: String, cause: Throwable? = null) :
        TraceletException("invalid metadata: $reason", cause)

    /**
     * An app header the SDK cannot send: a name the SDK sets itself (`Authorization`,
     * `Content-Type`, `Idempotency-Key`...), a name that is not an HTTP token, a line break or
     * control character in a value, or more than 32 headers / 8 KiB. The headers in force are
     * kept. The message never contains the value.
     */
    class InvalidHeader(val reason: String, cause: Throwable? = null) :
        TraceletException("invalid header: $reason", cause)

    /**
     * A value out of its range: a negative odometer, a privacy zone without a valid centre or
     * radius, a position request without a timeout. Nothing changed.
     */
    class InvalidArgument(val reason: String, cause: Throwable? = null) :
        TraceletException("invalid argument: $reason", cause)

    /** `currentPosition` got no fix before its timeout. */
    class Timeout(cause: Throwable? = null) :
        TraceletException("no position before the timeout", cause)

    /** `currentPosition` cannot succeed: the app has no location permission. */
    class PermissionDenied(cause: Throwable? = null) :
        TraceletException("the app has no location permission", cause)

    /** `Tracelet.configure(context, config)` has not been called in this process. */
    class NotConfigured :
        TraceletException("Tracelet is not configured: call Tracelet.configure(context, config) first")

    /**
     * Android refused to start the location foreground service ([reason] names the exception):
     * `start()` was called while the app was in the background (Android 12+), or without the
     * permission the service type needs (Android 14+). Tracking was not started.
     */
    class ForegroundServiceRefused(val reason: String, cause: Throwable? = null) :
        TraceletException("the location service could not start: $reason", cause)

    /** Starting needs a location permission that the user has not granted. */
    class PermissionMissing(val state: PermissionState) :
        TraceletException("location permission missing: $state")
}
