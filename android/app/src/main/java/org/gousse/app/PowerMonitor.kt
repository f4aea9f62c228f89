package org.gousse.app

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.os.Build
import android.os.Handler
import android.os.Looper
import android.os.PowerManager
import android.util.Log
import org.gousse.core.PowerState
import org.gousse.core.ThermalStatus

/**
 * Watches the phone's power and network signals and reports each change as a
 * [PowerState], always on the main thread.
 *
 * - Battery: the sticky `ACTION_BATTERY_CHANGED` read at [start] (registerReceiver
 *   with a null receiver), then runtime receivers for `ACTION_BATTERY_CHANGED`,
 *   `ACTION_POWER_CONNECTED` and `ACTION_POWER_DISCONNECTED`.
 * - Power-save mode: `PowerManager.ACTION_POWER_SAVE_MODE_CHANGED`.
 * - Heat: `PowerManager.addThermalStatusListener` (API 29+; older phones report NONE).
 * - Metered: a default-network callback (`NET_CAPABILITY_NOT_METERED` of the
 *   network the app's traffic goes through). Once the app runs its own VpnService,
 *   the default network becomes the VPN: the app must then exclude itself from its
 *   VPN (addDisallowedApplication) so that this stays the underlying network, or set
 *   the VPN's underlying networks so that the VPN's capabilities carry their meteredness.
 *
 * Identical consecutive states are reported once.
 */
class PowerMonitor(context: Context, private val onChange: (PowerState) -> Unit) {
    private val ctx = context.applicationContext
    private val main = Handler(Looper.getMainLooper())
    private val pm = ctx.getSystemService(PowerManager::class.java)
    private val cm = ctx.getSystemService(ConnectivityManager::class.java)

    private var battery = UNKNOWN_BATTERY
    private var powerSave = false
    private var thermal = ThermalStatus.NONE
    private var unmetered = false
    private var started = false

    /** The state last reported, if any. */
    var current: PowerState? = null
        private set

    private val receiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            when (intent.action) {
                Intent.ACTION_BATTERY_CHANGED -> battery = batteryFromIntent(intent, battery)
                Intent.ACTION_POWER_CONNECTED, Intent.ACTION_POWER_DISCONNECTED -> {
                    val sticky = stickyBattery()
                    val plugged = sticky?.getIntExtra(android.os.BatteryManager.EXTRA_PLUGGED, 0) ?: 0
                    battery = afterPowerConnection(battery, intent.action == Intent.ACTION_POWER_CONNECTED, plugged)
                }
                PowerManager.ACTION_POWER_SAVE_MODE_CHANGED -> powerSave = pm?.isPowerSaveMode ?: false
                else -> return
            }
            publish()
        }
    }

    // Only registered on API 29+ (the listener type exists there only).
    private var thermalListener: Any? = null

    private val network = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, caps: NetworkCapabilities) {
            unmetered = isUnmetered(caps)
            publish()
        }

        override fun onLost(network: Network) {
            // No default network: nothing to share over; count it as metered.
            unmetered = false
            publish()
        }
    }

    /** Reads the current state, reports it, and starts watching. Main thread. */
    fun start() {
        if (started) return
        started = true
        battery = batteryFromIntent(stickyBattery(), battery)
        powerSave = pm?.isPowerSaveMode ?: false
        if (Build.VERSION.SDK_INT >= 29 && pm != null) thermal = thermalStatusOf(pm.currentThermalStatus)
        unmetered = cm?.let { isUnmetered(it.getNetworkCapabilities(it.activeNetwork)) } ?: false
        publish()

        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_BATTERY_CHANGED)
            addAction(Intent.ACTION_POWER_CONNECTED)
            addAction(Intent.ACTION_POWER_DISCONNECTED)
            addAction(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED)
        }
        // System broadcasts reach a not-exported receiver; nobody else can fake them.
        if (Build.VERSION.SDK_INT >= 33) {
            ctx.registerReceiver(receiver, filter, Context.RECEIVER_NOT_EXPORTED)
        } else {
            ctx.registerReceiver(receiver, filter)
        }
        if (Build.VERSION.SDK_INT >= 29 && pm != null) {
            val l = PowerManager.OnThermalStatusChangedListener { status ->
                thermal = thermalStatusOf(status)
                publish()
            }
            // Called on the main thread. Some builds' thermal service refuses
            // listeners ("Listener failed to set"): then heat stays unknown (NONE).
            try {
                pm.addThermalStatusListener(l)
                thermalListener = l
            } catch (e: RuntimeException) {
                Log.w(TAG, "no thermal status: $e")
            }
        }
        cm?.registerDefaultNetworkCallback(network, main)
    }

    /** Stops watching. Main thread. */
    fun stop() {
        if (!started) return
        started = false
        runCatching { ctx.unregisterReceiver(receiver) }
        if (Build.VERSION.SDK_INT >= 29) {
            (thermalListener as? PowerManager.OnThermalStatusChangedListener)?.let { pm?.removeThermalStatusListener(it) }
            thermalListener = null
        }
        runCatching { cm?.unregisterNetworkCallback(network) }
    }

    private companion object {
        const val TAG = "GoussePower"
    }

    private fun stickyBattery(): Intent? =
        ctx.registerReceiver(null, IntentFilter(Intent.ACTION_BATTERY_CHANGED))

    private fun publish() {
        if (!started) return
        val s = powerState(battery, powerSave, thermal, unmetered)
        if (s == current) return
        current = s
        onChange(s)
    }
}
