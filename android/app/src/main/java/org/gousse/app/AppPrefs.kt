package org.gousse.app

import android.content.Context
import android.content.SharedPreferences
import org.gousse.core.SharingMode
import org.gousse.core.SharingPrefs
import org.gousse.core.defaultSharingPrefs

/** The app's settings, in SharedPreferences "gousse". */
class AppPrefs(context: Context) {
    private val sp: SharedPreferences =
        context.applicationContext.getSharedPreferences(FILE, Context.MODE_PRIVATE)

    /** Start the router when the phone boots (off by default). */
    var startOnBoot: Boolean
        get() = sp.getBoolean(START_ON_BOOT, false)
        set(v) = sp.edit().putBoolean(START_ON_BOOT, v).apply()

    /** The sharing preferences; the router's defaults until the user changes them. */
    var sharing: SharingPrefs
        get() {
            val d = defaultSharingPrefs()
            return SharingPrefs(
                mode = modeOf(sp.getString(MODE, null)) ?: d.mode,
                capKbps = sp.getLong(CAP_KBPS, d.capKbps.toLong()).coerceAtLeast(0).toULong(),
                minBatteryPct = sp.getInt(MIN_BATTERY, d.minBatteryPct.toInt()).coerceIn(0, 100).toUByte(),
            )
        }
        set(p) {
            val e = sp.edit()
                .putString(MODE, p.mode.name)
                .putLong(CAP_KBPS, p.capKbps.toLong())
                .putInt(MIN_BATTERY, p.minBatteryPct.toInt())
            if (p.mode != SharingMode.NEVER) e.putString(LAST_SHARING_MODE, p.mode.name)
            e.apply()
        }

    /** The mode the notification's "Share" action goes back to. */
    val lastSharingMode: SharingMode
        get() = modeOf(sp.getString(LAST_SHARING_MODE, null))?.takeIf { it != SharingMode.NEVER }
            ?: defaultSharingPrefs().mode.takeIf { it != SharingMode.NEVER }
            ?: SharingMode.WHEN_CHARGING_UNMETERED

    private fun modeOf(name: String?): SharingMode? =
        name?.let { n -> SharingMode.entries.firstOrNull { it.name == n } }

    companion object {
        /** The SharedPreferences file. */
        const val FILE = "gousse"
        private const val START_ON_BOOT = "start_on_boot"
        private const val MODE = "sharing_mode"
        private const val CAP_KBPS = "sharing_cap_kbps"
        private const val MIN_BATTERY = "sharing_min_battery_pct"
        private const val LAST_SHARING_MODE = "sharing_last_mode"
    }
}
