package dev.tracelet.platform

import android.content.Context
import android.content.pm.PackageManager
import android.location.LocationManager
import android.os.Build

/** Reads [PermissionInputs] from the OS. The decisions live in the pure functions beside it. */
internal object PermissionProbe {
    private const val PREFS = "dev.tracelet.permissions"
    private const val KEY_REQUESTED = "requested"

    fun read(context: Context): PermissionInputs {
        val locationManager = context.getSystemService(LocationManager::class.java)
        return PermissionInputs(
            sdkInt = Build.VERSION.SDK_INT,
            fineGranted = context.granted(FINE),
            coarseGranted = context.granted(COARSE),
            backgroundGranted = Build.VERSION.SDK_INT >= 29 && context.granted(BACKGROUND),
            locationServicesEnabled = locationServicesEnabled(context, locationManager, Build.VERSION.SDK_INT),
            requestedBefore = prefs(context).getBoolean(KEY_REQUESTED, false),
        )
    }

    fun backgroundDeclared(context: Context): Boolean {
        val info = context.packageManager.getPackageInfo(context.packageName, PackageManager.GET_PERMISSIONS)
        return info.requestedPermissions?.contains(BACKGROUND) == true
    }

    fun markRequested(context: Context) {
        prefs(context).edit().putBoolean(KEY_REQUESTED, true).apply()
    }

    private fun prefs(context: Context) = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    private fun Context.granted(permission: String) =
        checkSelfPermission(permission) == PackageManager.PERMISSION_GRANTED
}
