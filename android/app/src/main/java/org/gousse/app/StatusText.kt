package org.gousse.app

import org.gousse.core.RouterState
import org.gousse.core.RouterStatus
import org.gousse.core.SharingState

/*
 * The words the notification and the screen show: pure functions of the router's
 * state and status (tested in StatusTextTest).
 */

/** "running", "stopped", ... */
fun stateWord(state: RouterState): String = when (state) {
    RouterState.STOPPED -> "stopped"
    RouterState.STARTING -> "starting"
    RouterState.RUNNING -> "running"
    RouterState.STOPPING -> "stopping"
    RouterState.FAILED -> "failed"
}

/** "off", "waiting", "on", "draining". */
fun sharingWord(state: SharingState): String = when (state) {
    SharingState.OFF -> "off"
    SharingState.WAITING -> "waiting"
    SharingState.ON -> "on"
    SharingState.DRAINING -> "draining"
}

/** Peers we hold a session with. */
fun connectedPeers(s: RouterStatus): ULong = s.sessionsInbound + s.sessionsOutbound

/** The notification's title: "I2P router running". */
fun notificationTitle(state: RouterState): String = "I2P router ${stateWord(state)}"

/**
 * The notification's text: peers and sharing, or the error.
 * "3 peers (120 known) · sharing off: not charging".
 */
fun notificationText(state: RouterState, status: RouterStatus?, error: String?): String {
    if (state == RouterState.FAILED && error != null) return error
    if (status == null) return error ?: "no status yet"
    val sh = status.sharing
    return "${connectedPeers(status)} peers (${status.knownRouters} known) · " +
        "sharing ${sharingWord(sh.state)}: ${sh.reason}"
}

/** 1536 -> "1.5 KB", in units of 1024. */
fun formatBytes(b: ULong): String {
    if (b < 1024u) return "$b B"
    val units = arrayOf("KB", "MB", "GB", "TB", "PB", "EB")
    var v = b.toDouble() / 1024
    var i = 0
    while (v >= 1024 && i < units.size - 1) {
        v /= 1024
        i++
    }
    return String.format(java.util.Locale.ROOT, "%.1f %s", v, units[i])
}

/** The main screen's status block, one fact a line. */
fun statusLines(state: RouterState, status: RouterStatus?, error: String?): List<String> {
    val lines = mutableListOf("State: ${stateWord(state)}")
    if (error != null) lines += "Error: $error"
    if (status == null) return lines
    val s = status
    lines += "Peers: ${connectedPeers(s)} connected, ${s.knownRouters} known (${s.knownFloodfills} floodfills)"
    lines += "Tunnels: exploratory ${s.exploratoryInbound} in / ${s.exploratoryOutbound} out, " +
        "client ${s.clientInbound} in / ${s.clientOutbound} out"
    lines += "Transit: ${s.transitTunnels} tunnels, ${s.transitRejected} refused"
    lines += "Sharing: ${sharingWord(s.sharing.state)} (${s.sharing.reason})"
    lines += "Shared today: ${formatBytes(s.sharedBytesToday)}"
    lines += "Traffic: ${formatBytes(s.rateInBps)}/s in, ${formatBytes(s.rateOutBps)}/s out"
    if (s.routerHash.isNotEmpty()) lines += "Router: ${s.routerHash.take(8)}… (net ${s.netId})"
    return lines
}

/** "12:03:04 INFO gousse::router router running" (local time). */
fun formatLogLine(l: org.gousse.core.LogLine, zone: java.time.ZoneId = java.time.ZoneId.systemDefault()): String {
    val t = java.time.Instant.ofEpochMilli(l.timeMs.toLong()).atZone(zone).format(LOG_TIME)
    return "$t ${l.level} ${l.target} ${l.message}"
}

private val LOG_TIME = java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss", java.util.Locale.ROOT)
