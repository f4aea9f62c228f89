package org.gousse.core

import java.nio.file.Files
import java.nio.file.Path
import java.util.Collections
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import kotlin.random.Random
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.joinAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** Bad input across the API: typed exceptions or correct results, never a crash. */
@Timeout(120)
class BadInputTest {
    @TempDir
    lateinit var tmp: Path

    private fun invalid(settings: RouterSettings): String {
        val e = assertThrows<GousseException.InvalidConfig> { GousseRouter(settings).close() }
        return e.message!!
    }

    @Test
    fun `invalid settings are InvalidConfig naming the problem`() {
        val base = loopbackSettings(tmp.resolve("data"))
        assertTrue(invalid(base.copy(port = 70000u)).contains("port 70000 is above 65535"))
        assertTrue(invalid(base.copy(host = "not-an-ip")).contains("not an IP address"))
        assertTrue(invalid(base.copy(host = "10.1.2.3", allowPrivateAddresses = false)).contains("not a public address"))
        assertTrue(invalid(base.copy(console = "127.0.0.1")).contains("console"))
        assertTrue(invalid(base.copy(statusIntervalMs = 0u)).contains("status_interval_ms"))
        assertTrue(invalid(base.copy(reseedDirs = listOf(tmp.resolve("missing").toString()))).contains("reseed directory"))
        assertTrue(invalid(base.copy(logFilter = "gousse=loud")).contains("log filter"))
        assertTrue(
            invalid(base.copy(sharing = base.sharing.copy(minBatteryPct = 101u))).contains("min_battery_pct"),
        )
    }

    @Test
    fun `an unwritable data directory is InvalidConfig`() {
        // Under a regular file: cannot be created, even by root.
        val file = Files.writeString(tmp.resolve("a-file"), "x")
        val m1 = invalid(loopbackSettings(file.resolve("data")))
        assertTrue(m1.contains("data directory") && m1.contains("cannot be created"), m1)
        // A file where the directory should be.
        val m2 = invalid(loopbackSettings(file))
        assertTrue(m2.contains("data directory"), m2)
        // /proc refuses new entries to everyone, root included.
        val m3 = invalid(loopbackSettings(Path.of("/proc/gousse-kotlin-test")))
        assertTrue(m3.contains("cannot be created"), m3)
    }

    @Test
    fun `calls out of order or after stop are typed, status always works`() {
        GousseRouter(loopbackSettings(tmp.resolve("data"))).use { router ->
            assertThrows<GousseException.NotRunning> { router.stop(1000u) }
            router.start()
            assertThrows<GousseException.AlreadyRunning> { router.start() }
            router.stop(5000u)
            assertThrows<GousseException.NotRunning> { router.stop(1000u) }
            assertEquals(RouterState.STOPPED, router.status().state)
            // The signals and preferences are still taken; a huge deadline is capped.
            router.updatePower(PLUGGED_UNMETERED)
            router.setSharingPrefs(defaultSharingPrefs())
            assertThrows<GousseException.InvalidArgument> { router.updatePower(PLUGGED_UNMETERED.copy(batteryPct = 150u)) }
            assertThrows<GousseException.InvalidArgument> {
                router.setSharingPrefs(defaultSharingPrefs().copy(minBatteryPct = 200u))
            }
            assertTrue(router.recentLogs(UInt.MAX_VALUE).size <= 2000)
            // It can run again.
            router.start()
            assertEquals(RouterState.RUNNING, router.status().state)
            router.stop(ULong.MAX_VALUE)
        }
        // After close() the Kotlin object refuses calls with an exception, not a crash.
        val closed = GousseRouter(loopbackSettings(tmp.resolve("data2")))
        closed.close()
        assertThrows<IllegalStateException> { closed.status() }
    }

    @Test
    fun `a listener that throws does not stop the router`() {
        GousseRouter(loopbackSettings(tmp.resolve("data"))).use { router ->
            val calls = AtomicInteger()
            router.setListener(object : RouterListener {
                override fun onStateChanged(state: RouterState) {
                    calls.incrementAndGet()
                    throw IllegalStateException("listener bug")
                }
                override fun onStatus(status: RouterStatus) {
                    calls.incrementAndGet()
                    throw RuntimeException("listener bug")
                }
                override fun onError(message: String) = throw RuntimeException("listener bug")
            })
            router.start()
            waitUntil("some status calls") { calls.get() >= 4 }
            assertEquals(RouterState.RUNNING, router.status().state)
            assertTrue(router.recentLogs(2000u).any { it.message.contains("listener failed") && it.message.contains("listener bug") })
            // A good listener set afterwards gets the events.
            val rec = Recorder()
            router.setListener(rec)
            assertEquals(RouterState.RUNNING, rec.statuses.next().state)
            router.stop(5000u)
            assertEquals(RouterState.STOPPED, rec.states.nextMatching { it == RouterState.STOPPED })
        }
    }

    @Test
    fun `sixteen threads at once get correct results or typed exceptions`() {
        GousseRouter(loopbackSettings(tmp.resolve("data"))).use { router ->
            router.setListener(Recorder())
            router.start()
            val hash = router.status().routerHash
            val unexpected = Collections.synchronizedList(mutableListOf<Throwable>())
            val typed = AtomicInteger()
            val pool = Executors.newFixedThreadPool(16)
            try {
                runBlocking {
                    (0 until 16).map { t ->
                        launch(pool.asCoroutineDispatcher()) {
                            val rnd = Random(t)
                            repeat(200) {
                                try {
                                    when (rnd.nextInt(5)) {
                                        0, 1 -> {
                                            val st = router.status()
                                            check(st.routerHash == hash) { "hash changed" }
                                            check(st.state == RouterState.RUNNING) { "state ${st.state}" }
                                        }
                                        2 -> router.updatePower(
                                            PLUGGED_UNMETERED.copy(
                                                charging = rnd.nextBoolean(),
                                                batteryPct = rnd.nextInt(0, 130).toUByte(),
                                                thermal = ThermalStatus.entries[rnd.nextInt(ThermalStatus.entries.size)],
                                            ),
                                        )
                                        3 -> router.setSharingPrefs(
                                            SharingPrefs(
                                                SharingMode.entries[rnd.nextInt(SharingMode.entries.size)],
                                                capKbps = rnd.nextLong(0, 1000).toULong(),
                                                minBatteryPct = rnd.nextInt(0, 130).toUByte(),
                                            ),
                                        )
                                        else -> {
                                            router.recentLogs(rnd.nextInt(0, 50).toUInt())
                                            // Starting a running router is refused.
                                            if (rnd.nextInt(10) == 0) router.start()
                                        }
                                    }
                                } catch (e: GousseException.InvalidArgument) {
                                    typed.incrementAndGet()
                                } catch (e: GousseException.AlreadyRunning) {
                                    typed.incrementAndGet()
                                } catch (e: Throwable) {
                                    unexpected.add(e)
                                }
                            }
                        }
                    }.joinAll()
                }
            } finally {
                pool.shutdown()
            }
            assertEquals(emptyList<Throwable>(), unexpected)
            assertTrue(typed.get() > 0, "some calls were out of range and said so")
            // Still consistent afterwards.
            router.setSharingPrefs(SharingPrefs(SharingMode.WHEN_CHARGING, capKbps = 64u, minBatteryPct = 20u))
            router.updatePower(UNPLUGGED)
            val sharing = router.status().sharing
            assertTrue(!sharing.accept && sharing.reason in setOf("not charging", "draining: unplugged"), "$sharing")
            router.stop(5000u)
            assertEquals(RouterState.STOPPED, router.status().state)
        }
    }
}
