package dev.tracelet

/**
 * Where the app stands with the location permission, in the states apps actually hit.
 * Computed by `Tracelet.permissionState(context)`.
 */
sealed class PermissionState {
    /** True when tracking can keep running with the app in the background. */
    open val canTrackInBackground: Boolean get() = false

    /** True when tracking can run while the app is visible (or its service is in the foreground). */
    open val canTrack: Boolean get() = false

    /** No location permission, and the app has not asked yet. */
    data object NotDetermined : PermissionState()

    /** The app asked and the user refused (or revoked) every location permission. */
    data object Denied : PermissionState()

    /** The device's location setting is off, so no app receives positions. */
    data object LocationServicesOff : PermissionState()

    /** "While using the app" only. [precise] is false when the user chose approximate location. */
    data class ForegroundOnly(val precise: Boolean) : PermissionState() {
        override val canTrack: Boolean get() = true
    }

    /** "Allow all the time". [precise] is false when the user chose approximate location. */
    data class BackgroundGranted(val precise: Boolean) : PermissionState() {
        override val canTrack: Boolean get() = true
        override val canTrackInBackground: Boolean get() = true
    }
}
