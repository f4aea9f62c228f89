package org.gousse.core

import java.nio.file.Files
import java.nio.file.Path
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** The router's life cycle and the sharing policy, driven from Kotlin. */
@Timeout(120)
class RouterTest {
    @TempDir
    lateinit var tmp: Path

    @Test
    fun `start, status, listener, stop`() {
        GousseRouter(loopbackSettings(tmp.resolve("data"))).use { router ->
            val rec = Recorder()
            router.setListener(rec)
            assertEquals(RouterState.STOPPED, router.status().state)

            router.start()
            assertEquals(RouterState.STARTING, rec.states.next())
            assertEquals(RouterState.RUNNING, rec.states.next())
            val st = router.status()
            assertEquals(RouterState.RUNNING, st.state)
            assertEquals(99u.toUByte(), st.netId)
            // Our router hash: 32 bytes in I2P base64.
            assertEquals(44, st.routerHash.length, st.routerHash)
            assertTrue(st.ntcp2Address?.startsWith("127.0.0.1:") ?: false, "${st.ntcp2Address}")
            // The key file is in the data directory we gave.
            assertTrue(Files.exists(tmp.resolve("data").resolve("router.keys")))

            // Periodic status (every 200 ms here) with our hash, uptime not going back.
            val a = rec.statuses.next()
            val b = rec.statuses.next()
            assertEquals(st.routerHash, a.routerHash)
            assertEquals(RouterState.RUNNING, b.state)
            assertTrue(b.uptimeS >= a.uptimeS)

            router.stop(5_000u)
            assertEquals(RouterState.STOPPING, rec.states.next())
            assertEquals(RouterState.STOPPED, rec.states.next())
            val after = router.status()
            assertEquals(RouterState.STOPPED, after.state)
            assertEquals(st.routerHash, after.routerHash, "the hash stays known after stop")
            assertEquals(0uL, after.uptimeS)

            // The router's own log lines reach Kotlin.
            val logs = router.recentLogs(2000u)
            assertTrue(logs.any { it.target == "gousse::router" && it.message.startsWith("router running") },
                logs.takeLast(20).joinToString("\n") { "${it.level} ${it.target} ${it.message}" })
            assertTrue(logs.zipWithNext().all { (x, y) -> x.timeMs <= y.timeMs }, "oldest first")
            assertEquals(3, router.recentLogs(3u).size)
        }
    }

    @Test
    fun `sharing follows charging and unmetered, and stops on unplugging`() {
        GousseRouter(loopbackSettings(tmp.resolve("data"), stableSecs = 1u)).use { router ->
            val rec = Recorder()
            router.setListener(rec)
            router.start()
            val s0 = router.status().sharing
            assertEquals(SharingState.OFF, s0.state)
            assertEquals("no power information yet", s0.reason)
            assertFalse(s0.accept)
            // The router's own snapshot of its limits is refreshed by its core a moment
            // after start.
            waitUntil("the router to refuse transit") { !router.status().transitAccepting }

            router.updatePower(PLUGGED_UNMETERED)
            val waiting = router.status().sharing
            assertEquals(SharingState.WAITING, waiting.state)
            assertTrue(waiting.reason.startsWith("waiting for charging and unmetered network to be stable"), waiting.reason)
            assertFalse(waiting.accept)

            // After the stable interval (1 s here) sharing is on, the listener hears it at
            // once, and the router applies it: it accepts transit with the 64 KB/s cap.
            val on = rec.statuses.nextMatching { it.sharing.state == SharingState.ON }
            assertTrue(on.sharing.accept)
            assertEquals("sharing", on.sharing.reason)
            assertEquals(64uL * 1024uL, on.sharing.shareBytesPerS)
            waitUntil("the router to accept transit") { router.status().transitAccepting }
            assertEquals(64uL * 1024uL, router.status().transitShareBytesPerS)

            // Unplugged: new transit is refused at once. This lone router carries no
            // transit tunnels, so there is nothing to drain and the policy goes
            // straight to Off; with tunnels it drains ("draining: unplugged"), which the
            // Rust tests of gousse-ffi and gousse-sharing check.
            router.updatePower(UNPLUGGED)
            val off = router.status().sharing
            assertFalse(off.accept)
            assertEquals(SharingState.OFF, off.state)
            assertEquals("not charging", off.reason)
            waitUntil("the router to refuse transit") { !router.status().transitAccepting }

            router.stop(5_000u)
            assertEquals(RouterState.STOPPED, router.status().state)
        }
    }

    @Test
    fun `power signals and preferences given before start apply at start`() {
        GousseRouter(loopbackSettings(tmp.resolve("data"), stableSecs = 0u)).use { router ->
            router.setSharingPrefs(SharingPrefs(SharingMode.ALWAYS, capKbps = 32u, minBatteryPct = 10u))
            // On battery and metered: only "Always" shares.
            router.updatePower(UNPLUGGED.copy(unmetered = false))
            assertEquals(SharingState.ON, router.status().sharing.state)
            router.start()
            // (Until its core's first status refresh, a moment after start, the router's
            // snapshot shows its default limits: wait for the real ones.)
            waitUntil("the router to share 32 KB/s") {
                router.status().let { it.transitAccepting && it.transitShareBytesPerS == 32uL * 1024uL }
            }

            // Too hot: off, and the router refuses transit.
            router.updatePower(UNPLUGGED.copy(thermal = ThermalStatus.SEVERE))
            assertEquals("phone too hot", router.status().sharing.reason)
            waitUntil("the router to refuse transit") { !router.status().transitAccepting }
            router.stop(5_000u)
        }
    }

    @Test
    fun `default preferences are the restrictive ones`() {
        val d = defaultSharingPrefs()
        assertEquals(SharingMode.WHEN_CHARGING_UNMETERED, d.mode)
        assertTrue(d.capKbps > 0u)
        val s = RouterSettings(dataDir = tmp.toString(), sharing = d)
        assertEquals(2u.toUByte(), s.netId, "the real network by default")
        assertEquals(5000uL, s.statusIntervalMs)
        assertEquals(null, s.console, "no console by default")
    }

    @Test
    fun `a start that fails is reported and typed`() {
        java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1")).use { held ->
            val settings = loopbackSettings(tmp.resolve("data")).copy(port = held.localPort.toUInt())
            GousseRouter(settings).use { router ->
                val rec = Recorder()
                router.setListener(rec)
                val e = assertThrows<GousseException.StartFailed> { router.start() }
                assertTrue(e.message!!.contains("binding NTCP2"), e.message)
                assertTrue(rec.errors.next().contains("binding NTCP2"))
                val st = router.status()
                assertEquals(RouterState.FAILED, st.state)
                assertNotNull(st.error)
                assertThrows<GousseException.NotRunning> { router.stop(100u) }
            }
        }
    }
}
