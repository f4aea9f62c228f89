package org.gousse.app

import android.app.Application
import android.app.Notification
import android.app.NotificationManager
import android.content.Intent
import android.net.ConnectivityManager
import android.os.Build
import org.gousse.core.GousseRouter
import org.gousse.core.PlugType
import org.gousse.core.PowerState
import org.gousse.core.RouterState
import org.gousse.core.ThermalStatus
import org.junit.After
import org.junit.Assert.assertEquals
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
import org.robolectric.annotation.Config
import org.robolectric.shadows.ShadowNetwork

/**
 * The app on its minSdk (26, Android 8.0), where the APIs of 29+ (thermal status,
 * foreground service types) are missing: the guarded paths must hold. Runs in a JVM
 * of its own (see pom.xml).
 */
@RunWith(RobolectricTestRunner::class)
@Config(sdk = [26])
class MinSdkTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private lateinit var app: Application
    private var controller: ServiceController<RouterService>? = null

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
        val dir = tmp.newFolder("data")
        RouterSettingsFactory.factory = { loopbackSettings(dir) }
        AppPrefs(app).sharing = TEST_PREFS
    }

    @After
    fun tearDown() {
        val r = RouterHub.router
        controller?.destroy()
        if (r != null) waitFor("the router to stop after onDestroy") { RouterHub.state == RouterState.STOPPED }
        RouterSettingsFactory.reset()
    }

    private fun router(): GousseRouter = RouterHub.router ?: throw AssertionError("the service holds no router")

    private fun reason() = router().status().sharing.reason

    @Suppress("DEPRECATION")
    @Test
    fun `on API 26 the service runs the router and follows power and network`() {
        assertEquals(26, Build.VERSION.SDK_INT)
        app.sendStickyBroadcast(CHARGING_AC_80)
        setActiveNetwork(app, unmetered = true)
        val c = Robolectric.buildService(RouterService::class.java, Intent(app, RouterService::class.java).setAction(RouterService.ACTION_START))
        controller = c
        val service = c.create().startCommand(0, 1).get()
        waitFor("the router to run") { RouterHub.state == RouterState.RUNNING }
        assertEquals(
            PowerState(charging = true, plug = PlugType.AC, batteryPct = 80u, powerSave = false, thermal = ThermalStatus.NONE, unmetered = true),
            RouterHub.power,
        )
        assertTrue(reason(), reason().startsWith("waiting for charging and unmetered network"))

        app.sendBroadcast(Intent(Intent.ACTION_POWER_DISCONNECTED))
        waitFor("not charging") { reason() == "not charging" }
        app.sendBroadcast(Intent(Intent.ACTION_POWER_CONNECTED))
        waitFor("charging again") { reason().startsWith("waiting") }

        val cm = app.getSystemService(ConnectivityManager::class.java)
        shadowOf(cm).networkCallbacks.single().onCapabilitiesChanged(ShadowNetwork.newInstance(7), caps(unmetered = false))
        idleMain()
        assertEquals("metered network", reason())

        val n = shadowOf(app.getSystemService(NotificationManager::class.java)).getNotification(RouterService.NOTIFICATION_ID)
        assertEquals("I2P router running", n.extras.getCharSequence(Notification.EXTRA_TITLE).toString())

        service.onStartCommand(Intent(app, RouterService::class.java).setAction(RouterService.ACTION_STOP), 0, 2)
        waitFor("the service to stop itself") { shadowOf(service).isStoppedBySelf }
        assertEquals(RouterState.STOPPED, router().status().state)
    }

    @Test
    fun `on API 26 the screen shows and starts the router`() {
        val a = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        assertTrue(a.statusText.toString(), a.statusText.startsWith("State: "))
        a.clickStartStop()
        assertEquals(RouterService.ACTION_START, shadowOf(app).nextStartedService?.action)
    }
}
