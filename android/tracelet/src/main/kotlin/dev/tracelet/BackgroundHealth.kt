package dev.tracelet

import android.content.Context
import android.content.Intent
import android.net.Uri
import android.os.Build
import android.provider.Settings

/**
 * What may stop tracking in the background on this device, beyond the location permission:
 * part of `Tracelet.status`. Show the user what to change, with the intents below; the SDK
 * changes none of it itself. `docs/android-background.md` explains each item.
 *
 * @property ignoringBatteryOptimizations the app is on the battery-optimisation allow list:
 *   Doze and App Standby do not defer its alarms, jobs and network.
 * @property canScheduleExactAlarms exact alarms allowed (always below Android 12): the tracking
 *   schedule starts on time and may start the location service from the background.
 * @property backgroundRestricted the user restricted the app in its battery settings (Android 9+):
 *   no background work at all.
 * @property manufacturer `Build.MANUFACTURER`, lower case.
 * @property vendorSettings the maker's own settings known to stop background apps, in the words
 *   of its settings screens; empty for makers with none known.
 */
data class BackgroundHealth(
    val ignoringBatteryOptimizations: Boolean,
    val canScheduleExactAlarms: Boolean,
    val backgroundRestricted: Boolean,
    val manufacturer: String,
    val vendorSettings: List<String>,
) {
    companion object {
        /**
         * Asks the user, in a system dialog, to exempt the app from battery optimisation. The
         * app must declare `android.permission.REQUEST_IGNORE_BATTERY_OPTIMIZATIONS`, which
         * Google Play allows only for some kinds of app (see its policy); otherwise use
         * [batteryOptimizationSettingsIntent].
         */
        fun requestIgnoreBatteryOptimizationsIntent(context: Context): Intent =
            Intent(Settings.ACTION_REQUEST_IGNORE_BATTERY_OPTIMIZATIONS, packageUri(context))

        /** Opens the system list of battery-optimised apps, where the user exempts the app. */
        fun batteryOptimizationSettingsIntent(): Intent = Intent(Settings.ACTION_IGNORE_BATTERY_OPTIMIZATION_SETTINGS)

        /**
         * Opens the "Alarms & reminders" page of the app (Android 12+), where the user allows
         * exact alarms; `null` below Android 12, where they need no permission. The app must
         * declare `android.permission.SCHEDULE_EXACT_ALARM`.
         */
        fun exactAlarmSettingsIntent(context: Context): Intent? =
            if (Build.VERSION.SDK_INT >= 31) {
                Intent(Settings.ACTION_REQUEST_SCHEDULE_EXACT_ALARM, packageUri(context))
            } else {
                null
            }

        private fun packageUri(context: Context): Uri = Uri.parse("package:${context.packageName}")
    }
}
