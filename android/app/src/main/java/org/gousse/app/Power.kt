package org.gousse.app

import android.content.Intent
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.Build
import android.os.PowerManager
import org.gousse.core.PlugType
import org.gousse.core.PowerState
import org.gousse.core.ThermalStatus

/*
 * The mapping from Android's power and network signals to the router's PowerState:
 * small pure functions, tested on the JVM (PowerMappingTest). PowerMonitor feeds them.
 */

/** What the battery intents tell: charging, the charger, the level. */
data class Battery(val charging: Boolean, val plug: PlugType, val percent: UByte)

/** Before any battery intent: on battery, full (the sticky intent replaces it at once). */
val UNKNOWN_BATTERY = Battery(charging = false, plug = PlugType.NONE, percent = 100u)

/** `BatteryManager.EXTRA_PLUGGED` to the charger type; 0 is unplugged. */
fun plugTypeOf(plugged: Int): PlugType = when (plugged) {
    0 -> PlugType.NONE
    BatteryManager.BATTERY_PLUGGED_AC -> PlugType.AC
    BatteryManager.BATTERY_PLUGGED_USB -> PlugType.USB
    BatteryManager.BATTERY_PLUGGED_WIRELESS -> PlugType.WIRELESS
    BatteryManager.BATTERY_PLUGGED_DOCK -> PlugType.DOCK
    else -> if (plugged < 0) PlugType.NONE else PlugType.OTHER
}

/**
 * `EXTRA_LEVEL` out of `EXTRA_SCALE` as a rounded percentage, 0-100; null when the
 * intent lacks them (level below 0 or scale not above 0).
 */
fun batteryPercent(level: Int, scale: Int): UByte? {
    if (level < 0 || scale <= 0) return null
    val pct = (level.toLong() * 100 + scale / 2) / scale
    return pct.coerceIn(0, 100).toInt().toUByte()
}

/**
 * `EXTRA_STATUS` and `EXTRA_PLUGGED` to "charging": charging, or full while on a
 * charger (a full phone on its charger counts as charging for sharing).
 */
fun isCharging(status: Int, plugged: Int): Boolean =
    status == BatteryManager.BATTERY_STATUS_CHARGING ||
        (status == BatteryManager.BATTERY_STATUS_FULL && plugged > 0)

/**
 * The battery from the extras of an `ACTION_BATTERY_CHANGED` intent; the fields the
 * intent lacks keep their value from [previous].
 */
fun batteryOf(status: Int, plugged: Int, level: Int, scale: Int, previous: Battery): Battery {
    val plug = if (plugged < 0) previous.plug else plugTypeOf(plugged)
    val charging = if (status < 0) previous.charging else isCharging(status, plugged)
    return Battery(charging, plug, batteryPercent(level, scale) ?: previous.percent)
}

/** [batteryOf] on an `ACTION_BATTERY_CHANGED` intent; null intent: [previous]. */
fun batteryFromIntent(intent: Intent?, previous: Battery): Battery {
    if (intent == null) return previous
    return batteryOf(
        status = intent.getIntExtra(BatteryManager.EXTRA_STATUS, -1),
        plugged = intent.getIntExtra(BatteryManager.EXTRA_PLUGGED, -1),
        level = intent.getIntExtra(BatteryManager.EXTRA_LEVEL, -1),
        scale = intent.getIntExtra(BatteryManager.EXTRA_SCALE, -1),
        previous = previous,
    )
}

/**
 * `ACTION_POWER_CONNECTED` / `ACTION_POWER_DISCONNECTED`: they carry no extras and
 * may arrive before the sticky battery intent is updated, so they decide by
 * themselves. Connected: charging, on the charger the sticky intent names if it
 * names one ([stickyPlugged], else OTHER). Disconnected: on battery.
 */
fun afterPowerConnection(b: Battery, connected: Boolean, stickyPlugged: Int): Battery =
    if (connected) {
        val plug = plugTypeOf(stickyPlugged).takeIf { it != PlugType.NONE } ?: PlugType.OTHER
        b.copy(charging = true, plug = plug)
    } else {
        b.copy(charging = false, plug = PlugType.NONE)
    }

/** `PowerManager.THERMAL_STATUS_*` to the router's thermal status. */
fun thermalStatusOf(status: Int): ThermalStatus = when (status) {
    PowerManager.THERMAL_STATUS_NONE -> ThermalStatus.NONE
    PowerManager.THERMAL_STATUS_LIGHT -> ThermalStatus.LIGHT
    PowerManager.THERMAL_STATUS_MODERATE -> ThermalStatus.MODERATE
    PowerManager.THERMAL_STATUS_SEVERE -> ThermalStatus.SEVERE
    PowerManager.THERMAL_STATUS_CRITICAL -> ThermalStatus.CRITICAL
    PowerManager.THERMAL_STATUS_EMERGENCY -> ThermalStatus.EMERGENCY
    PowerManager.THERMAL_STATUS_SHUTDOWN -> ThermalStatus.SHUTDOWN
    // A newer, hotter level than we know; anything below 0 is unknown.
    else -> if (status > PowerManager.THERMAL_STATUS_SHUTDOWN) ThermalStatus.SHUTDOWN else ThermalStatus.NONE
}

/**
 * The network costs nothing per byte: `NET_CAPABILITY_NOT_METERED`, or (API 30+)
 * `NET_CAPABILITY_TEMPORARILY_NOT_METERED` (an unmetered period of a mobile plan).
 */
fun isUnmetered(caps: NetworkCapabilities?): Boolean {
    if (caps == null) return false
    if (caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)) return true
    return Build.VERSION.SDK_INT >= 30 &&
        caps.hasCapability(NetworkCapabilities.NET_CAPABILITY_TEMPORARILY_NOT_METERED)
}

/** The record the router takes. */
fun powerState(b: Battery, powerSave: Boolean, thermal: ThermalStatus, unmetered: Boolean) = PowerState(
    charging = b.charging,
    plug = b.plug,
    batteryPct = b.percent,
    powerSave = powerSave,
    thermal = thermal,
    unmetered = unmetered,
)
