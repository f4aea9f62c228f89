package org.gousse.app

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import org.w3c.dom.Element

/**
 * The app's AndroidManifest.xml (which Robolectric does not read here): what Android
 * requires of a specialUse foreground service, the permissions the code needs, and
 * components that name real classes.
 */
class ManifestTest {
    private val ns = "http://schemas.android.com/apk/res/android"
    private val doc = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
        .newDocumentBuilder().parse(File(System.getProperty("gousse.manifest")))

    private fun elements(tag: String): List<Element> {
        val nl = doc.getElementsByTagName(tag)
        return (0 until nl.length).map { nl.item(it) as Element }
    }

    private fun Element.a(name: String): String = getAttributeNS(ns, name)

    private fun component(tag: String, name: String): Element =
        elements(tag).singleOrNull { it.a("name") == name } ?: throw AssertionError("no <$tag> $name")

    @Test
    fun `permissions the app uses`() {
        val perms = elements("uses-permission").map { it.a("name") }.toSet()
        for (p in listOf("INTERNET", "ACCESS_NETWORK_STATE", "FOREGROUND_SERVICE", "FOREGROUND_SERVICE_SPECIAL_USE", "POST_NOTIFICATIONS", "RECEIVE_BOOT_COMPLETED")) {
            assertTrue("android.permission.$p in $perms", "android.permission.$p" in perms)
        }
    }

    @Test
    fun `the router service is a specialUse foreground service that says why`() {
        val s = component("service", ".RouterService")
        assertEquals("specialUse", s.a("foregroundServiceType"))
        assertEquals("false", s.a("exported"))
        val props = s.getElementsByTagName("property")
        val prop = (0 until props.length).map { props.item(it) as Element }
            .single { it.a("name") == "android.app.PROPERTY_SPECIAL_USE_FGS_SUBTYPE" }
        assertTrue(prop.a("value"), prop.a("value").contains("I2P router"))
    }

    @Test
    fun `the boot receiver and the launcher activity`() {
        val r = component("receiver", ".BootReceiver")
        val actions = r.getElementsByTagName("action")
        assertEquals("android.intent.action.BOOT_COMPLETED", (actions.item(0) as Element).a("name"))
        val a = component("activity", ".MainActivity")
        assertEquals("true", a.a("exported"))
        val cats = a.getElementsByTagName("category")
        assertEquals("android.intent.category.LAUNCHER", (cats.item(0) as Element).a("name"))
    }

    @Test
    fun `every component names a class of the app`() {
        for (tag in listOf("activity", "service", "receiver")) {
            for (e in elements(tag)) {
                val cls = "org.gousse.app" + e.a("name")
                Class.forName(cls, false, javaClass.classLoader)
            }
        }
    }
}
