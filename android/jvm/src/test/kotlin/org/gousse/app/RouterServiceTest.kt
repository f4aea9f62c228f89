package org.gousse.app

import android.app.Application
import android.app.Notification
import android.app.NotificationManager
import android.content.Intent
import android.content.pm.ServiceInfo
import android.net.ConnectivityManager
import android.os.PowerManager
import java.net.InetAddress
import java.net.ServerSocket
import java.util.concurrent.CopyOnWriteArrayList
import org.gousse.core.GousseRouter
import org.gousse.core.PlugType
import org.gousse.core.PowerState
import org.gousse.core.RouterState
import org.gousse.core.SharingMode
import org.gousse.core.SharingState
import org.gousse.core.ThermalStatus
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.android.controller.ServiceController
import org.robolectric.shadows.ShadowNetwork

/**
 * The service with a REAL router (the host-built libgousse_ffi through JNA), alone on
 * loopback in a private network: Android's signals in, the router's decisions out.
 */
@RunWith(RobolectricTestRunner::class)
class RouterServiceTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private lateinit var app: Application
    private var controller: ServiceController<RouterService>? = null
    private val states = CopyOnWriteArrayList<RouterState>()
    private val recordState: () -> Unit = { if (states.lastOrNull() != RouterHub.state) states.add(RouterHub.state) }

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
        val dir = tmp.newFolder("data")
        RouterSettingsFactory.factory = { loopbackSettings(dir) }
        AppPrefs(app).sharing = TEST_PREFS
        RouterHub.state = RouterState.STOPPED
        RouterHub.power = null
        RouterHub.addObserver(recordState)
    }

    @After
    fun tearDown() {
        val r = RouterHub.router
        controller?.destroy()
        // onDestroy stops the router gracefully on the service's thread.
        if (r != null) waitFor("the router to stop after onDestroy") { RouterHub.state == RouterState.STOPPED }
        RouterHub.removeObserver(recordState)
        RouterSettingsFactory.reset()
    }

    private fun startService(): RouterService {
        val c = Robolectric.buildService(RouterService::class.java, Intent(app, RouterService::class.java).setAction(RouterService.ACTION_START))
        controller = c
        val s = c.create().startCommand(0, 1).get()
        waitFor("the router to run") { RouterHub.state == RouterState.RUNNING }
        return s
    }

    /** What a notification action or the screen sends to the running service. */
    private fun command(action: String, startId: Int) {
        val s = controller!!.get()
        s.onStartCommand(Intent(app, RouterService::class.java).setAction(action), 0, startId)
    }

    private fun router(): GousseRouter = RouterHub.router ?: throw AssertionError("the service holds no router")

    private fun reason() = router().status().sharing.reason

    @Suppress("DEPRECATION")
    private fun sticky(intent: Intent) = app.sendStickyBroadcast(intent)

    @Test
    fun `the sticky battery intent at start gives the router its PowerState`() {
        sticky(batteryIntent(android.os.BatteryManager.BATTERY_STATUS_CHARGING, android.os.BatteryManager.BATTERY_PLUGGED_USB, 57))
        setActiveNetwork(app, unmetered = true)
        startService()
        assertEquals(
            PowerState(charging = true, plug = PlugType.USB, batteryPct = 57u, powerSave = false, thermal = ThermalStatus.NONE, unmetered = true),
            RouterHub.power,
        )
        val sh = router().status().sharing
        assertEquals(SharingState.WAITING, sh.state)
        assertTrue(sh.reason, sh.reason.startsWith("waiting for charging and unmetered network to be stable"))
    }

    @Test
    fun `a low battery in the sticky intent keeps sharing off`() {
        // 9 of 50 is 18%, below the minimum of 20%.
        sticky(batteryIntent(android.os.BatteryManager.BATTERY_STATUS_CHARGING, android.os.BatteryManager.BATTERY_PLUGGED_AC, 9, scale = 50))
        setActiveNetwork(app, unmetered = true)
        startService()
        assertEquals(18.toUByte(), RouterHub.power?.batteryPct)
        val sh = router().status().sharing
        assertEquals(SharingState.OFF, sh.state)
        assertTrue(sh.reason, sh.reason.startsWith("battery below 20%"))
    }

    @Test
    fun `a power-disconnected broadcast reaches the router as not charging`() {
        sticky(CHARGING_AC_80)
        setActiveNetwork(app, unmetered = true)
        startService()
        assertTrue(reason(), reason().startsWith("waiting for charging and unmetered network"))

        // The system's broadcast, before the sticky battery intent is updated.
        app.sendBroadcast(Intent(Intent.ACTION_POWER_DISCONNECTED))
        waitFor("the router to hear of the unplugging") { router().status().sharing.state == SharingState.OFF }
        assertEquals("not charging", reason())
        assertEquals(false, RouterHub.power?.charging)
        assertEquals(PlugType.NONE, RouterHub.power?.plug)
        // The screen and the notification show it too.
        waitFor("the notification to say not charging") {
            notification()?.extras?.getCharSequence(Notification.EXTRA_TEXT)?.toString()?.endsWith("sharing off: not charging") == true
        }

        // Plugged in again: the charger named by the sticky intent, waiting again.
        app.sendBroadcast(Intent(Intent.ACTION_POWER_CONNECTED))
        waitFor("the router to hear of the charger") { router().status().sharing.state == SharingState.WAITING }
        assertEquals(PlugType.AC, RouterHub.power?.plug)
    }

    @Test
    fun `battery changes after start are followed`() {
        sticky(CHARGING_AC_80)
        setActiveNetwork(app, unmetered = true)
        startService()
        app.sendBroadcast(UNPLUGGED_80)
        waitFor("not charging") { reason() == "not charging" }
        app.sendBroadcast(batteryIntent(android.os.BatteryManager.BATTERY_STATUS_CHARGING, android.os.BatteryManager.BATTERY_PLUGGED_WIRELESS, 15))
        waitFor("battery low") { reason().startsWith("battery below 20%") }
        assertEquals(PlugType.WIRELESS, RouterHub.power?.plug)
        assertEquals(15.toUByte(), RouterHub.power?.batteryPct)
    }

    @Test
    fun `the default network callback passes the metered state on`() {
        sticky(CHARGING_AC_80)
        setActiveNetwork(app, unmetered = false)
        startService()
        assertEquals("metered network", reason())

        val cm = app.getSystemService(ConnectivityManager::class.java)
        val callbacks = shadowOf(cm).networkCallbacks
        assertEquals("one default-network callback", 1, callbacks.size)
        val wifi = ShadowNetwork.newInstance(42)
        callbacks.first().onCapabilitiesChanged(wifi, caps(unmetered = true))
        idleMain()
        assertEquals(true, RouterHub.power?.unmetered)
        assertTrue(reason(), reason().startsWith("waiting for charging and unmetered network"))

        callbacks.first().onLost(wifi)
        idleMain()
        assertEquals("metered network", reason())
    }

    @Test
    fun `power-save mode and heat stop sharing`() {
        sticky(CHARGING_AC_80)
        setActiveNetwork(app, unmetered = true)
        startService()
        val pm = app.getSystemService(PowerManager::class.java)

        shadowOf(pm).setIsPowerSaveMode(true)
        app.sendBroadcast(Intent(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED))
        waitFor("power-save mode") { reason() == "power-save mode" }
        shadowOf(pm).setIsPowerSaveMode(false)
        app.sendBroadcast(Intent(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED))
        waitFor("power-save mode off") { reason().startsWith("waiting") }

        // The thermal listener (API 29+).
        shadowOf(pm).setCurrentThermalStatus(PowerManager.THERMAL_STATUS_SEVERE)
        waitFor("too hot") { reason() == "phone too hot" }
        assertEquals(ThermalStatus.SEVERE, RouterHub.power?.thermal)
    }

    @Test
    fun `the Stop action stops the router gracefully, then the service`() {
        sticky(UNPLUGGED_80)
        val service = startService()
        val r = router()
        command(RouterService.ACTION_STOP, 2)
        waitFor("the service to stop itself") { shadowOf(service).isStoppedBySelf }
        assertEquals(RouterState.STOPPED, r.status().state)
        assertEquals(
            listOf(RouterState.STOPPED, RouterState.STARTING, RouterState.RUNNING, RouterState.STOPPING, RouterState.STOPPED),
            states.toList(),
        )
        assertTrue("the notification is removed", shadowOf(service).isForegroundStopped)
    }

    @Test
    fun `destroying the service stops the router and frees its port`() {
        sticky(UNPLUGGED_80)
        startService()
        val addr = router().status().ntcp2Address ?: throw AssertionError("no NTCP2 address")
        val port = addr.substringAfterLast(':').toInt()
        controller!!.destroy()
        controller = null
        assertNull("the screen no longer sees a router", RouterHub.router)
        waitFor("the router to stop") { RouterHub.state == RouterState.STOPPED }
        assertTrue("stopped gracefully (through STOPPING): $states", RouterState.STOPPING in states)
        waitFor("port $port to be free") {
            runCatching { ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close() }.isSuccess
        }
    }

    @Test
    fun `the notification shows state, peers and sharing, and Share and Don't share switch the mode`() {
        sticky(UNPLUGGED_80)
        setActiveNetwork(app, unmetered = true)
        val service = startService()
        assertEquals(ServiceInfo.FOREGROUND_SERVICE_TYPE_SPECIAL_USE, service.foregroundServiceType)
        val nm = app.getSystemService(NotificationManager::class.java)
        assertEquals(NotificationManager.IMPORTANCE_LOW, nm.getNotificationChannel(RouterService.CHANNEL_ID).importance)

        waitFor("the running notification") { title() == "I2P router running" }
        val text = notification()!!.extras.getCharSequence(Notification.EXTRA_TEXT).toString()
        assertTrue(text, Regex("""\d+ peers \(\d+ known\) · sharing off: not charging""").matches(text))
        assertEquals(listOf("Stop", "Don't share"), actions())
        val stop = notification()!!.actions[0].actionIntent
        assertEquals(RouterService.ACTION_STOP, shadowOf(stop).savedIntent.action)
        assertTrue(shadowOf(stop).isService)

        command(RouterService.ACTION_TOGGLE_SHARING, 2)
        assertEquals(SharingMode.NEVER, AppPrefs(app).sharing.mode)
        assertEquals("disabled in settings", reason())
        waitFor("the notification to say sharing is disabled") { text()?.endsWith("sharing off: disabled in settings") == true }
        assertEquals(listOf("Stop", "Share"), actions())

        command(RouterService.ACTION_TOGGLE_SHARING, 3)
        assertEquals(SharingMode.WHEN_CHARGING_UNMETERED, AppPrefs(app).sharing.mode)
        assertEquals("not charging", reason())
        assertEquals(listOf("Stop", "Don't share"), actions())
    }

    @Test
    fun `saved settings reach the running router`() {
        sticky(UNPLUGGED_80)
        setActiveNetwork(app, unmetered = false)
        startService()
        assertEquals("not charging", reason())
        AppPrefs(app).sharing = TEST_PREFS.copy(mode = SharingMode.ALWAYS)
        command(RouterService.ACTION_PREFS_CHANGED, 2)
        // Always: neither the charger nor the network matter.
        assertTrue(reason(), reason().startsWith("waiting for power conditions to be stable"))
    }

    @Test
    fun `invalid settings, the service reports the error and stops`() {
        RouterSettingsFactory.factory = { loopbackSettings(tmp.root).copy(port = 70_000u) }
        val c = Robolectric.buildService(RouterService::class.java, Intent(app, RouterService::class.java).setAction(RouterService.ACTION_START))
        controller = c
        val service = c.create().startCommand(0, 1).get()
        idleMain()
        assertEquals(RouterState.FAILED, RouterHub.state)
        assertTrue(RouterHub.error, RouterHub.error!!.contains("port 70000 is above 65535"))
        assertNull(RouterHub.router)
        assertTrue(shadowOf(service).isStoppedBySelf)
    }

    private fun notification(): Notification? =
        shadowOf(app.getSystemService(NotificationManager::class.java)).getNotification(RouterService.NOTIFICATION_ID)

    private fun title() = notification()?.extras?.getCharSequence(Notification.EXTRA_TITLE)?.toString()

    private fun text() = notification()?.extras?.getCharSequence(Notification.EXTRA_TEXT)?.toString()

    private fun actions() = notification()?.actions?.map { it.title.toString() }
}
