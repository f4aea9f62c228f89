package org.gousse.app

import android.content.Context
import android.content.Intent
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.Looper
import java.io.File
import org.gousse.core.RouterSettings
import org.gousse.core.SharingMode
import org.gousse.core.SharingPrefs
import org.junit.Assert.fail
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetworkCapabilities

/** Runs what the main thread has queued (broadcasts, the listener's posts). */
fun idleMain() {
    shadowOf(Looper.getMainLooper()).idle()
}

/** Idles the main thread and polls [cond] every 20 ms until it holds, or fails after [ms]. */
fun waitFor(what: String, ms: Long = 20_000, cond: () -> Boolean) {
    val until = System.nanoTime() + ms * 1_000_000
    while (true) {
        idleMain()
        if (cond()) return
        if (System.nanoTime() > until) fail("timed out waiting for $what")
        Thread.sleep(20)
    }
}

/** The sharing preferences of the tests: the app's default mode, a small cap. */
val TEST_PREFS = SharingPrefs(mode = SharingMode.WHEN_CHARGING_UNMETERED, capKbps = 64u, minBatteryPct = 20u)

/**
 * A router alone on loopback in a private network (net id 99), no reseed, its data in
 * [dir]. A long stable interval keeps a favourable policy in "waiting".
 */
fun loopbackSettings(dir: File, prefs: SharingPrefs = TEST_PREFS) = RouterSettings(
    dataDir = dir.path,
    netId = 99u,
    host = "127.0.0.1",
    port = 0u,
    allowPrivateAddresses = true,
    sharing = prefs,
    sharingStableSecs = 600u,
    statusIntervalMs = 200u,
)

/** An `ACTION_BATTERY_CHANGED` intent as the system sends it. */
fun batteryIntent(status: Int, plugged: Int, level: Int, scale: Int = 100): Intent =
    Intent(Intent.ACTION_BATTERY_CHANGED)
        .putExtra(BatteryManager.EXTRA_STATUS, status)
        .putExtra(BatteryManager.EXTRA_PLUGGED, plugged)
        .putExtra(BatteryManager.EXTRA_LEVEL, level)
        .putExtra(BatteryManager.EXTRA_SCALE, scale)

val CHARGING_AC_80 = batteryIntent(BatteryManager.BATTERY_STATUS_CHARGING, BatteryManager.BATTERY_PLUGGED_AC, 80)
val UNPLUGGED_80 = batteryIntent(BatteryManager.BATTERY_STATUS_DISCHARGING, 0, 80)

/** Network capabilities with or without `NET_CAPABILITY_NOT_METERED`. */
fun caps(unmetered: Boolean): NetworkCapabilities {
    val c = ShadowNetworkCapabilities.newInstance()
    val s = shadowOf(c)
    s.addTransportType(NetworkCapabilities.TRANSPORT_WIFI)
    s.addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
    if (unmetered) s.addCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED)
    return c
}

/** Makes the active network (un)metered, as read at the service's start. */
fun setActiveNetwork(ctx: Context, unmetered: Boolean) {
    val cm = ctx.getSystemService(ConnectivityManager::class.java)
    shadowOf(cm).setNetworkCapabilities(cm.activeNetwork, caps(unmetered))
}
