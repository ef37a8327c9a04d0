package dev.tracelet.platform

import android.content.Context
import android.location.LocationManager
import android.provider.Settings

/**
 * Whether the device's location setting is on. `LocationManager.isLocationEnabled()` exists only
 * from API 28: calling it on Android 8.0/8.1 throws `NoSuchMethodError`, so below 28 the
 * secure setting `LOCATION_MODE` (deprecated from 28, still answered) is read instead.
 */
internal fun locationServicesEnabled(context: Context, locationManager: LocationManager?, sdkInt: Int): Boolean =
    if (sdkInt >= 28) {
        locationManager?.isLocationEnabledApi28() ?: false
    } else {
        @Suppress("DEPRECATION")
        val mode = Settings.Secure.getInt(
            context.contentResolver,
            Settings.Secure.LOCATION_MODE,
            Settings.Secure.LOCATION_MODE_OFF,
        )
        @Suppress("DEPRECATION")
        mode != Settings.Secure.LOCATION_MODE_OFF
    }

@GuardedApiCall
private fun LocationManager.isLocationEnabledApi28(): Boolean = isLocationEnabled
