package org.gousse.app

import java.time.ZoneOffset
import org.gousse.core.LogLevel
import org.gousse.core.LogLine
import org.gousse.core.RouterState
import org.gousse.core.RouterStatus
import org.gousse.core.SharingState
import org.gousse.core.SharingStatus
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** The words of the notification and the screen (plain JUnit: no Android involved). */
class StatusTextTest {
    private val status = RouterStatus(
        state = RouterState.RUNNING, error = null, routerHash = "AbCdEfGh" + "x".repeat(36), version = "0.1.0",
        netId = 2u, uptimeS = 60u, knownRouters = 120u, knownFloodfills = 9u, sessionsInbound = 1u,
        sessionsOutbound = 2u, exploratoryInbound = 2u, exploratoryOutbound = 2u, clientInbound = 0u,
        clientOutbound = 0u, transitTunnels = 4u, transitRejected = 7u, bytesReceived = 0u, bytesSent = 0u,
        rateInBps = 2048u, rateOutBps = 512u, transitBytes = 0u, sharedBytesToday = 3u * 1024u * 1024u,
        transitAccepting = false, transitShareBytesPerS = 0u, ntcp2Address = "1.2.3.4:5678",
        sharing = SharingStatus(SharingState.DRAINING, "draining: unplugged", accept = false, shareBytesPerS = 65536u),
    )

    @Test
    fun `notification text shows peers and sharing, or the error`() {
        assertEquals("I2P router running", notificationTitle(RouterState.RUNNING))
        assertEquals("3 peers (120 known) · sharing draining: draining: unplugged", notificationText(RouterState.RUNNING, status, null))
        assertEquals("start failed: port in use", notificationText(RouterState.FAILED, status, "start failed: port in use"))
        assertEquals("no status yet", notificationText(RouterState.STARTING, null, null))
    }

    @Test
    fun `status lines show state, peers, tunnels, transit, sharing and bytes shared today`() {
        val lines = statusLines(RouterState.RUNNING, status, null)
        assertEquals("State: running", lines[0])
        assertTrue(lines.toString(), "Peers: 3 connected, 120 known (9 floodfills)" in lines)
        assertTrue(lines.toString(), "Tunnels: exploratory 2 in / 2 out, client 0 in / 0 out" in lines)
        assertTrue(lines.toString(), "Transit: 4 tunnels, 7 refused" in lines)
        assertTrue(lines.toString(), "Sharing: draining (draining: unplugged)" in lines)
        assertTrue(lines.toString(), "Shared today: 3.0 MB" in lines)
        assertTrue(lines.toString(), "Traffic: 2.0 KB/s in, 512 B/s out" in lines)
        assertEquals(listOf("State: failed", "Error: bad port"), statusLines(RouterState.FAILED, null, "bad port"))
    }

    @Test
    fun `byte counts and log lines`() {
        assertEquals("0 B", formatBytes(0u))
        assertEquals("1023 B", formatBytes(1023u))
        assertEquals("1.5 KB", formatBytes(1536u))
        assertEquals("16.0 EB", formatBytes(ULong.MAX_VALUE))
        val l = LogLine(timeMs = 3_723_000u, level = LogLevel.INFO, target = "gousse::router", message = "router running")
        assertEquals("01:02:03 INFO gousse::router router running", formatLogLine(l, ZoneOffset.UTC))
    }
}
