package dev.tracelet.platform

import dev.tracelet.PermissionState

/** The raw facts the permission state is computed from; read from the OS by [PermissionProbe]. */
internal data class PermissionInputs(
    val sdkInt: Int,
    val fineGranted: Boolean,
    val coarseGranted: Boolean,
    /** ACCESS_BACKGROUND_LOCATION; ignored below API 29, where it does not exist. */
    val backgroundGranted: Boolean,
    val locationServicesEnabled: Boolean,
    /** Whether the app asked before: Android cannot tell "never asked" from "denied" by itself. */
    val requestedBefore: Boolean,
)

/**
 * Pure mapping, so every state is testable on the JVM. Missing permissions come first (the user
 * must fix those before anything else matters), then the device setting, then the grant level.
 */
internal fun permissionState(inputs: PermissionInputs): PermissionState {
    val foreground = inputs.fineGranted || inputs.coarseGranted
    return when {
        !foreground && !inputs.requestedBefore -> PermissionState.NotDetermined
        !foreground -> PermissionState.Denied
        !inputs.locationServicesEnabled -> PermissionState.LocationServicesOff
        // Before Android 10 a foreground grant also covers the background.
        inputs.sdkInt < 29 || inputs.backgroundGranted ->
            PermissionState.BackgroundGranted(precise = inputs.fineGranted)
        else -> PermissionState.ForegroundOnly(precise = inputs.fineGranted)
    }
}

/**
 * What tracking needs before `start()`: foreground location (and, on Android 13+, the
 * notification the service shows). Empty once any location permission is granted, so a user who
 * keeps "while using the app" can track: background is an upgrade ([backgroundPermissionToRequest]),
 * never a gate.
 */
internal fun permissionsToRequest(inputs: PermissionInputs): Array<String> {
    val foreground = inputs.fineGranted || inputs.coarseGranted
    if (foreground) return emptyArray()
    return buildList {
        add(FINE)
        add(COARSE)
        if (inputs.sdkInt >= 33) add(POST_NOTIFICATIONS)
    }.toTypedArray()
}

/**
 * The optional upgrade to "allow all the time" (resume after a reboot or a process kill without
 * the user opening the app), or `null`. Android 11+ refuses it bundled with the foreground
 * request, so it is its own step after that; an app that does not declare
 * ACCESS_BACKGROUND_LOCATION in its manifest is never asked for it.
 */
internal fun backgroundPermissionToRequest(inputs: PermissionInputs, backgroundDeclared: Boolean): String? {
    val foreground = inputs.fineGranted || inputs.coarseGranted
    val wanted = foreground && inputs.sdkInt >= 29 && !inputs.backgroundGranted && backgroundDeclared
    return if (wanted) BACKGROUND else null
}

// Literal names: the Manifest.permission constants for newer APIs are inlined anyway, and these
// strings are the stable contract.
internal const val FINE = "android.permission.ACCESS_FINE_LOCATION"
internal const val COARSE = "android.permission.ACCESS_COARSE_LOCATION"
internal const val BACKGROUND = "android.permission.ACCESS_BACKGROUND_LOCATION"
internal const val POST_NOTIFICATIONS = "android.permission.POST_NOTIFICATIONS"
