package dev.tracelet.platform

import dev.tracelet.PermissionState

internal enum class RestartDecision {
    /** Start the foreground service again. */
    RESTART,
    /** Tracking was off when the device went down (or the app was updated). */
    NOT_TRACKING,
    /**
     * A location service started from the background gets no location access without
     * "allow all the time" (Android 10+); starting it anyway would only show a useless notification.
     */
    NO_BACKGROUND_PERMISSION,
    /** Not one of the broadcasts this receiver is for. */
    IGNORED,
}

internal const val ACTION_BOOT_COMPLETED = "android.intent.action.BOOT_COMPLETED"
internal const val ACTION_MY_PACKAGE_REPLACED = "android.intent.action.MY_PACKAGE_REPLACED"

internal fun restartDecision(action: String?, wasTracking: Boolean, permission: PermissionState): RestartDecision =
    when {
        action != ACTION_BOOT_COMPLETED && action != ACTION_MY_PACKAGE_REPLACED -> RestartDecision.IGNORED
        !wasTracking -> RestartDecision.NOT_TRACKING
        !permission.canTrackInBackground -> RestartDecision.NO_BACKGROUND_PERMISSION
        else -> RestartDecision.RESTART
    }
