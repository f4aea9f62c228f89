package org.gousse.app

import android.app.Application
import android.view.View
import android.view.ViewGroup
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.RadioButton
import org.gousse.core.GousseRouter
import org.gousse.core.RouterState
import org.gousse.core.SharingMode
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
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

/** The main screen: status, start/stop, settings, log lines. */
@RunWith(RobolectricTestRunner::class)
class MainActivityTest {
    @get:Rule
    val tmp = TemporaryFolder()

    private lateinit var app: Application
    private var router: GousseRouter? = null

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
        RouterHub.router = null
        RouterHub.state = RouterState.STOPPED
        RouterHub.status = null
        RouterHub.error = null
    }

    @After
    fun tearDown() {
        RouterHub.router = null
        router?.let {
            it.stop(5_000u)
            it.close()
        }
    }

    private fun views(v: View): List<View> =
        if (v is ViewGroup) listOf(v) + (0 until v.childCount).flatMap { views(v.getChildAt(it)) } else listOf(v)

    @Test
    fun `stopped, the screen says so and its button starts the service`() {
        val a = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        assertEquals("State: stopped", a.statusText.toString())
        assertEquals("The router is not running.", a.logText.toString())
        a.clickStartStop()
        val started = shadowOf(app).nextStartedService
        assertEquals(RouterService::class.java.name, started?.component?.className)
        assertEquals(RouterService.ACTION_START, started?.action)
    }

    @Test
    fun `running, the screen shows the router's status and log lines, and its button stops it`() {
        val r = GousseRouter(loopbackSettings(tmp.newFolder("data")))
        router = r
        r.start()
        val a = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        // What the service does on each listener event.
        RouterHub.router = r
        RouterHub.state = RouterState.RUNNING
        RouterHub.status = r.status()
        RouterHub.changed()
        val text = a.statusText.toString()
        assertTrue(text, text.startsWith("State: running\nPeers: 0 connected"))
        assertTrue(text, text.contains("Sharing: off (no power information yet)"))
        assertTrue(text, text.contains("Shared today: 0 B"))
        // The log view refreshes every 2 s.
        shadowOf(android.os.Looper.getMainLooper()).idleFor(java.time.Duration.ofSeconds(3))
        assertTrue(a.logText.toString(), a.logText.contains("gousse::router"))
        a.clickStartStop()
        assertEquals(RouterService.ACTION_STOP, shadowOf(app).nextStartedService?.action)
    }

    @Test
    fun `settings are checked and saved`() {
        val a = Robolectric.buildActivity(MainActivity::class.java).setup().get()
        val all = views(a.window.decorView)
        val (cap, minBattery) = all.filterIsInstance<EditText>()
        val always = all.filterIsInstance<RadioButton>().single { it.text.startsWith("Always") }
        val boot = all.filterIsInstance<CheckBox>().single()
        val save = all.filterIsInstance<Button>().single { it.text == "Save settings" }

        // The defaults are shown.
        val defaults = AppPrefs(app).sharing
        assertEquals(defaults.capKbps.toString(), cap.text.toString())

        cap.setText("lots")
        save.performClick()
        assertNotNull("a bad cap is refused", cap.error)
        assertEquals(defaults, AppPrefs(app).sharing)

        cap.setText("128")
        minBattery.setText("35")
        always.isChecked = true
        boot.isChecked = true
        save.performClick()
        val p = AppPrefs(app).sharing
        assertEquals(SharingMode.ALWAYS, p.mode)
        assertEquals(128uL, p.capKbps)
        assertEquals(35.toUByte(), p.minBatteryPct)
        assertTrue(AppPrefs(app).startOnBoot)
    }
}
