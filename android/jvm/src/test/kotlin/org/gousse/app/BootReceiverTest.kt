package org.gousse.app

import android.app.Application
import android.content.Intent
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

/** Start on boot, as a setting. */
@RunWith(RobolectricTestRunner::class)
class BootReceiverTest {
    private lateinit var app: Application

    @Before
    fun setUp() {
        app = RuntimeEnvironment.getApplication()
    }

    @Test
    fun `off by default, boot starts nothing`() {
        BootReceiver().onReceive(app, Intent(Intent.ACTION_BOOT_COMPLETED))
        assertNull(shadowOf(app).nextStartedService)
    }

    @Test
    fun `on, boot starts the router service`() {
        AppPrefs(app).startOnBoot = true
        BootReceiver().onReceive(app, Intent(Intent.ACTION_BOOT_COMPLETED))
        val started = shadowOf(app).nextStartedService
        assertEquals(RouterService::class.java.name, started?.component?.className)
        assertEquals(RouterService.ACTION_START, started?.action)
        assertNull("once", shadowOf(app).nextStartedService)
    }

    @Test
    fun `switched off again, boot starts nothing`() {
        AppPrefs(app).startOnBoot = true
        AppPrefs(app).startOnBoot = false
        BootReceiver().onReceive(app, Intent(Intent.ACTION_BOOT_COMPLETED))
        assertNull(shadowOf(app).nextStartedService)
    }

    @Test
    fun `other broadcasts start nothing`() {
        AppPrefs(app).startOnBoot = true
        BootReceiver().onReceive(app, Intent(Intent.ACTION_POWER_CONNECTED))
        assertNull(shadowOf(app).nextStartedService)
    }
}
