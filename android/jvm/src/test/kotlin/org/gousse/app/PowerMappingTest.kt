package org.gousse.app

import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.PowerManager
import org.gousse.core.PlugType
import org.gousse.core.ThermalStatus
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetworkCapabilities

/** The pure mapping from Android's power and network signals to the router's PowerState. */
@RunWith(RobolectricTestRunner::class)
class PowerMappingTest {
    @Test
    fun `plug types from EXTRA_PLUGGED`() {
        val cases = mapOf(
            0 to PlugType.NONE,
            BatteryManager.BATTERY_PLUGGED_AC to PlugType.AC,
            BatteryManager.BATTERY_PLUGGED_USB to PlugType.USB,
            BatteryManager.BATTERY_PLUGGED_WIRELESS to PlugType.WIRELESS,
            BatteryManager.BATTERY_PLUGGED_DOCK to PlugType.DOCK,
            32 to PlugType.OTHER,
            -1 to PlugType.NONE,
        )
        for ((extra, plug) in cases) assertEquals("EXTRA_PLUGGED $extra", plug, plugTypeOf(extra))
    }

    @Test
    fun `percent from EXTRA_LEVEL and EXTRA_SCALE, rounded and clamped`() {
        assertEquals(57.toUByte(), batteryPercent(57, 100))
        assertEquals(33.toUByte(), batteryPercent(1, 3))
        assertEquals(67.toUByte(), batteryPercent(2, 3))
        assertEquals(24.toUByte(), batteryPercent(12, 50))
        assertEquals(100.toUByte(), batteryPercent(150, 100))
        assertEquals(100.toUByte(), batteryPercent(Int.MAX_VALUE, 1))
        assertNull(batteryPercent(-1, 100))
        assertNull(batteryPercent(5, 0))
    }

    @Test
    fun `charging from EXTRA_STATUS, full counts only on a charger`() {
        assertTrue(isCharging(BatteryManager.BATTERY_STATUS_CHARGING, BatteryManager.BATTERY_PLUGGED_USB))
        assertTrue(isCharging(BatteryManager.BATTERY_STATUS_FULL, BatteryManager.BATTERY_PLUGGED_AC))
        assertFalse(isCharging(BatteryManager.BATTERY_STATUS_FULL, 0))
        assertFalse(isCharging(BatteryManager.BATTERY_STATUS_DISCHARGING, 0))
        assertFalse(isCharging(BatteryManager.BATTERY_STATUS_NOT_CHARGING, BatteryManager.BATTERY_PLUGGED_AC))
    }

    @Test
    fun `a battery intent without extras keeps what was known`() {
        val known = Battery(charging = true, plug = PlugType.USB, percent = 42u)
        assertEquals(known, batteryFromIntent(android.content.Intent(android.content.Intent.ACTION_BATTERY_CHANGED), known))
        assertEquals(known, batteryFromIntent(null, known))
        assertEquals(
            Battery(charging = false, plug = PlugType.NONE, percent = 24u),
            batteryFromIntent(batteryIntent(BatteryManager.BATTERY_STATUS_DISCHARGING, 0, 12, 50), known),
        )
    }

    @Test
    fun `power connected and disconnected decide by themselves`() {
        val onBattery = Battery(charging = false, plug = PlugType.NONE, percent = 50u)
        assertEquals(
            Battery(true, PlugType.USB, 50u),
            afterPowerConnection(onBattery, connected = true, stickyPlugged = BatteryManager.BATTERY_PLUGGED_USB),
        )
        // The sticky intent not updated yet: some charger.
        assertEquals(Battery(true, PlugType.OTHER, 50u), afterPowerConnection(onBattery, connected = true, stickyPlugged = 0))
        // Disconnected, even if the sticky intent still says plugged.
        val charging = Battery(charging = true, plug = PlugType.AC, percent = 90u)
        assertEquals(Battery(false, PlugType.NONE, 90u), afterPowerConnection(charging, connected = false, stickyPlugged = 1))
    }

    @Test
    fun `thermal status levels`() {
        val levels = listOf(
            PowerManager.THERMAL_STATUS_NONE to ThermalStatus.NONE,
            PowerManager.THERMAL_STATUS_LIGHT to ThermalStatus.LIGHT,
            PowerManager.THERMAL_STATUS_MODERATE to ThermalStatus.MODERATE,
            PowerManager.THERMAL_STATUS_SEVERE to ThermalStatus.SEVERE,
            PowerManager.THERMAL_STATUS_CRITICAL to ThermalStatus.CRITICAL,
            PowerManager.THERMAL_STATUS_EMERGENCY to ThermalStatus.EMERGENCY,
            PowerManager.THERMAL_STATUS_SHUTDOWN to ThermalStatus.SHUTDOWN,
            7 to ThermalStatus.SHUTDOWN,
            -1 to ThermalStatus.NONE,
        )
        for ((code, t) in levels) assertEquals("thermal $code", t, thermalStatusOf(code))
    }

    @Test
    fun `unmetered from the network capabilities`() {
        assertTrue(isUnmetered(caps(unmetered = true)))
        assertFalse(isUnmetered(caps(unmetered = false)))
        assertFalse(isUnmetered(null))
        // A mobile plan's unmetered period (API 30+; the tests run on 35).
        val temp = ShadowNetworkCapabilities.newInstance()
        shadowOf(temp).addCapability(NetworkCapabilities.NET_CAPABILITY_TEMPORARILY_NOT_METERED)
        assertTrue(isUnmetered(temp))
    }
}
