package dev.tracelet

import dev.tracelet.internal.core.UserActivity as FfiActivity

/** What the OS activity recognition reports; a change between still and moving uploads at once. */
enum class UserActivity {
    UNKNOWN,
    STILL,
    ON_FOOT,
    BICYCLE,
    VEHICLE,
    ;

    internal fun toFfi(): FfiActivity = when (this) {
        UNKNOWN -> FfiActivity.UNKNOWN
        STILL -> FfiActivity.STILL
        ON_FOOT -> FfiActivity.ON_FOOT
        BICYCLE -> FfiActivity.BICYCLE
        VEHICLE -> FfiActivity.VEHICLE
    }
}
