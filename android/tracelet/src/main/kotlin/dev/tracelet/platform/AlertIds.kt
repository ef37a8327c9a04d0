package dev.tracelet.platform

import android.content.Context

/**
 * The ids of the proximity alerts registered with the OS, kept outside the process: the OS keeps
 * an alert after the process dies, and only its id rebuilds the `PendingIntent` that removes it.
 * Without this, alerts of a killed process kept waking the app, even after `stop()`.
 */
internal interface AlertIds {
    fun load(): Set<String>

    fun save(ids: Set<String>)
}

internal class PreferencesAlertIds(context: Context) : AlertIds {
    private val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)

    override fun load(): Set<String> = prefs.getStringSet(KEY, emptySet()).orEmpty().toSet()

    // commit(), not apply(): the ids must be on disk before the process can die with the alerts.
    override fun save(ids: Set<String>) {
        prefs.edit().putStringSet(KEY, ids.toSet()).commit()
    }

    private companion object {
        const val PREFS = "dev.tracelet.alerts"
        const val KEY = "region_ids"
    }
}

/**
 * Removes every proximity alert this app may have left registered, whether or not this process
 * registered it: the stationary geofence (one fixed `PendingIntent`) and each persisted app
 * region. `Tracelet.stop()` calls it, since the service may be long dead by then.
 */
internal fun removeLeftoverAlerts(context: Context) {
    val manager = context.getSystemService(android.location.LocationManager::class.java) ?: return
    val sdkInt = android.os.Build.VERSION.SDK_INT
    StationaryGeofenceAlert(context, manager, sdkInt, onProblem = {}).clear()
    val ids = PreferencesAlertIds(context)
    val alerts = LocationManagerProximityAlerts(context, manager, sdkInt)
    ids.load().forEach(alerts::remove)
    ids.save(emptySet())
}
