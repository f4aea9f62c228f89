package org.gousse.core

import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.junit.jupiter.api.Assertions.fail

/** Records every listener call, for the tests to wait on. */
class Recorder : RouterListener {
    val states = LinkedBlockingQueue<RouterState>()
    val statuses = LinkedBlockingQueue<RouterStatus>()
    val errors = LinkedBlockingQueue<String>()

    override fun onStateChanged(state: RouterState) {
        states.add(state)
    }

    override fun onStatus(status: RouterStatus) {
        statuses.add(status)
    }

    override fun onError(message: String) {
        errors.add(message)
    }
}

/** The next element, or a failure after [ms]. */
fun <T> LinkedBlockingQueue<T>.next(ms: Long = 15_000): T =
    poll(ms, TimeUnit.MILLISECONDS) ?: fail("no listener event within $ms ms")

/** The first element matching [pred], skipping the others, or a failure after [ms]. */
fun <T> LinkedBlockingQueue<T>.nextMatching(ms: Long = 15_000, pred: (T) -> Boolean): T {
    val until = System.nanoTime() + ms * 1_000_000
    while (true) {
        val left = (until - System.nanoTime()) / 1_000_000
        if (left <= 0) fail<T>("no matching listener event within $ms ms")
        val e = poll(left, TimeUnit.MILLISECONDS) ?: fail("no matching listener event within $ms ms")
        if (pred(e)) return e
    }
}

/** Polls [cond] every 50 ms until it holds, or fails after [ms] saying [what]. */
fun waitUntil(what: String, ms: Long = 15_000, cond: () -> Boolean) {
    val until = System.nanoTime() + ms * 1_000_000
    while (!cond()) {
        if (System.nanoTime() > until) fail<Unit>("timed out waiting for $what")
        Thread.sleep(50)
    }
}

/**
 * A router alone on loopback, in a private network (net id 99) with no reseed
 * source: it starts, binds NTCP2 and runs its timers without any peer.
 */
fun loopbackSettings(dir: Path, stableSecs: ULong = 1u) = RouterSettings(
    dataDir = dir.toString(),
    netId = 99u,
    host = "127.0.0.1",
    port = 0u,
    allowPrivateAddresses = true,
    sharing = SharingPrefs(mode = SharingMode.WHEN_CHARGING_UNMETERED, capKbps = 64u, minBatteryPct = 20u),
    sharingStableSecs = stableSecs,
    statusIntervalMs = 200u,
)

val PLUGGED_UNMETERED = PowerState(
    charging = true,
    plug = PlugType.AC,
    batteryPct = 80u,
    powerSave = false,
    thermal = ThermalStatus.NONE,
    unmetered = true,
)

val UNPLUGGED = PLUGGED_UNMETERED.copy(charging = false, plug = PlugType.NONE)
