package dev.tracelet.platform

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.Build
import android.os.PowerManager
import dev.tracelet.TraceletClient

/**
 * Connectivity, battery and power-save callbacks while tracking runs.
 *
 * Connectivity goes to the core through [TraceletClient.setNetwork]: it holds uploads while
 * offline (or on a metered network with `uploadOnlyUnmetered`) and uploads at once when a usable
 * network comes back. Battery and power-save changes are tracked in [snapshot] and reach the core
 * once the sampling policy takes them as input (see README).
 */
internal class DeviceConditions(private val context: Context, private val client: TraceletClient) {

    data class Snapshot(val online: Boolean, val batteryLow: Boolean, val powerSave: Boolean)

    @Volatile var snapshot = Snapshot(online = false, batteryLow = false, powerSave = false)
        private set

    private val connectivity = context.requireSystemService<ConnectivityManager>()
    private val power = context.requireSystemService<PowerManager>()

    // The default network: the one the core's uploads use. Since API 26 onAvailable is always
    // followed by onCapabilitiesChanged, which carries what matters (internet, metered).
    private val networkCallback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
            apply(capabilities)
        }

        override fun onLost(network: Network) {
            apply(null)
        }
    }

    private val receiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            snapshot = when (intent.action) {
                Intent.ACTION_BATTERY_LOW -> snapshot.copy(batteryLow = true)
                Intent.ACTION_BATTERY_OKAY -> snapshot.copy(batteryLow = false)
                PowerManager.ACTION_POWER_SAVE_MODE_CHANGED -> snapshot.copy(powerSave = power.isPowerSaveMode)
                // Plugged in or out: only the charging flag changes, read fresh in reportPower.
                else -> snapshot
            }
            reportPower()
        }
    }

    /** The core decides what a low battery or the saver changes; it only needs the facts. */
    private fun reportPower() {
        val battery = context.getSystemService(BatteryManager::class.java)
        val percent = battery?.getIntProperty(BatteryManager.BATTERY_PROPERTY_CAPACITY)?.takeIf { it in 0..100 }
        client.setPowerState(percent, battery?.isCharging == true, snapshot.powerSave)
    }

    private fun apply(capabilities: NetworkCapabilities?) {
        snapshot = snapshot.copy(online = capabilities.hasInternet())
        client.setNetwork(capabilities)
    }

    fun register() {
        snapshot = snapshot.copy(powerSave = power.isPowerSaveMode)
        reportPower()
        // No callback arrives when there is no network at all: start from the current state.
        apply(connectivity.currentNetworkCapabilities())
        connectivity.registerDefaultNetworkCallback(networkCallback)
        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_BATTERY_LOW)
            addAction(Intent.ACTION_BATTERY_OKAY)
            addAction(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED)
            // Without these the charging flag stayed what it was at start: a low battery on a
            // charger kept saving power, a phone unplugged at 10 % did not.
            addAction(Intent.ACTION_POWER_CONNECTED)
            addAction(Intent.ACTION_POWER_DISCONNECTED)
            addAction(BatteryManager.ACTION_CHARGING)
            addAction(BatteryManager.ACTION_DISCHARGING)
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
    }
}

/** The default network's capabilities, `null` when there is none. */
internal fun ConnectivityManager.currentNetworkCapabilities(): NetworkCapabilities? =
    activeNetwork?.let(::getNetworkCapabilities)

private fun NetworkCapabilities?.hasInternet(): Boolean =
    this?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true

/** Feeds the core the network described by [capabilities] (`null`: offline). */
internal fun TraceletClient.setNetwork(capabilities: NetworkCapabilities?) {
    setNetwork(
        connected = capabilities.hasInternet(),
        unmetered = capabilities?.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) == true,
    )
}
