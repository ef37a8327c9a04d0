package dev.tracelet.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.Network
import android.os.Build
import android.os.PowerManager
import dev.tracelet.TraceletClient
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch

/**
 * Connectivity, battery and power-save callbacks while tracking runs.
 *
 * The FFI has no input for these yet, so only what it does offer is used: a network coming back
 * triggers a flush of what is pending. Battery and power-save changes are tracked in
 * [snapshot] and reach the core once the sampling policy takes them as input (see README).
 */
internal class DeviceConditions(private val context: Context, private val client: TraceletClient) {

    data class Snapshot(val online: Boolean, val batteryLow: Boolean, val powerSave: Boolean)

    @Volatile var snapshot = Snapshot(online = false, batteryLow = false, powerSave = false)
        private set

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val connectivity = context.requireSystemService<ConnectivityManager>()
    private val power = context.requireSystemService<PowerManager>()

    private val networkCallback = object : ConnectivityManager.NetworkCallback() {
        override fun onAvailable(network: Network) {
            snapshot = snapshot.copy(online = true)
            if (client.status.pendingCount > 0) {
                // Failures are reported by the core as events and retried with backoff.
                scope.launch { runCatching { client.flush() } }
            }
        }

        override fun onLost(network: Network) {
            snapshot = snapshot.copy(online = false)
        }
    }

    private val receiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            snapshot = when (intent.action) {
                Intent.ACTION_BATTERY_LOW -> snapshot.copy(batteryLow = true)
                Intent.ACTION_BATTERY_OKAY -> snapshot.copy(batteryLow = false)
                PowerManager.ACTION_POWER_SAVE_MODE_CHANGED -> snapshot.copy(powerSave = power.isPowerSaveMode)
                else -> snapshot
            }
        }
    }

    fun register() {
        snapshot = snapshot.copy(powerSave = power.isPowerSaveMode)
        connectivity.registerDefaultNetworkCallback(networkCallback)
        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_BATTERY_LOW)
            addAction(Intent.ACTION_BATTERY_OKAY)
            addAction(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED)
        }
        // System broadcasts still arrive at a non-exported receiver; other apps' do not.
        if (Build.VERSION.SDK_INT >= 33) {
            context.registerReceiver(receiver, filter, Context.RECEIVER_NOT_EXPORTED)
        } else {
            context.registerReceiver(receiver, filter)
        }
    }

    fun unregister() {
        runCatching { connectivity.unregisterNetworkCallback(networkCallback) }
        runCatching { context.unregisterReceiver(receiver) }
        scope.cancel()
    }
}
