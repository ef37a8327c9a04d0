package dev.tracelet.platform

import android.app.ActivityManager
import android.content.Context
import android.os.Build
import android.os.PowerManager
import dev.tracelet.BackgroundHealth

/** What the OS says, read in one place; [backgroundHealth] turns it into the report. */
internal data class HealthInputs(
    val sdkInt: Int,
    val ignoringBatteryOptimizations: Boolean,
    val exactAlarmsAllowed: Boolean,
    val backgroundRestricted: Boolean,
    val manufacturer: String,
)

internal fun readBackgroundHealth(context: Context): BackgroundHealth {
    val sdkInt = Build.VERSION.SDK_INT
    val power = context.requireSystemService<PowerManager>()
    val activity = context.requireSystemService<ActivityManager>()
    return backgroundHealth(
        HealthInputs(
            sdkInt = sdkInt,
            ignoringBatteryOptimizations = power.isIgnoringBatteryOptimizations(context.packageName),
            exactAlarmsAllowed = exactAlarmsAllowed(context.requireSystemService(), sdkInt),
            backgroundRestricted = sdkInt >= 28 && isBackgroundRestrictedApi28(activity),
            manufacturer = Build.MANUFACTURER.orEmpty(),
        ),
    )
}

internal fun backgroundHealth(inputs: HealthInputs): BackgroundHealth {
    val maker = inputs.manufacturer.trim().lowercase()
    return BackgroundHealth(
        ignoringBatteryOptimizations = inputs.ignoringBatteryOptimizations,
        canScheduleExactAlarms = inputs.exactAlarmsAllowed,
        backgroundRestricted = inputs.backgroundRestricted,
        manufacturer = maker,
        vendorSettings = vendorSettings(maker),
    )
}

/**
 * Settings of a maker's Android that stop background apps, beyond stock Android's battery
 * optimisation: a summary, in our own words, of the reports collected at dontkillmyapp.com and of
 * the makers' own help pages. `docs/android-background.md` has the longer list; keep the two in
 * step.
 */
internal fun vendorSettings(manufacturer: String): List<String> = when (manufacturer.trim().lowercase()) {
    "xiaomi", "redmi", "poco" -> listOf(
        "Autostart (Background autostart on MIUI 14 and later): allow the app",
        "Battery saver for the app: No restrictions",
        "Lock the app in the recent-apps screen so that clearing it does not kill it",
    )
    "huawei", "honor" -> listOf(
        "App launch: manage the app manually and allow auto-launch, secondary launch and running in background",
        "Battery: turn off power-intensive app monitoring for the app",
    )
    "samsung" -> listOf(
        "Battery > Background usage limits: add the app to Never sleeping apps (unused apps are put to sleep after about 3 days)",
        "Battery: set the app to Unrestricted",
    )
    "oneplus" -> listOf(
        "Battery optimisation: Don't optimise the app (and turn off advanced or deep optimisation)",
        "Lock the app in the recent-apps screen",
    )
    "oppo", "realme" -> listOf(
        "Allow auto launch and background activity for the app",
        "Battery: allow the app to run in the background without restrictions",
    )
    "vivo", "iqoo" -> listOf(
        "Background power consumption: allow high background power use for the app",
        "Autostart: allow the app",
    )
    "asus" -> listOf("Power Master / Mobile Manager: allow the app to auto-start and keep it out of clean-ups")
    "meizu" -> listOf("Battery: let the app keep running in the background")
    "nokia", "hmd global" -> listOf("Older releases: exclude the app from the maker's battery protection")
    "sony" -> listOf("STAMINA mode: add the app to the exceptions, or turn the mode off")
    else -> emptyList()
}

@GuardedApiCall
private fun isBackgroundRestrictedApi28(manager: ActivityManager): Boolean = manager.isBackgroundRestricted
