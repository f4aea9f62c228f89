package org.gousse.app

import android.app.Notification
import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.app.Service
import android.content.Context
import android.content.Intent
import android.content.pm.ServiceInfo
import android.graphics.drawable.Icon
import android.os.Build
import android.os.Handler
import android.os.IBinder
import android.os.Looper
import android.util.Log
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import org.gousse.core.GousseException
import org.gousse.core.GousseRouter
import org.gousse.core.PowerState
import org.gousse.core.RouterListener
import org.gousse.core.RouterState
import org.gousse.core.RouterStatus
import org.gousse.core.SharingMode
import org.gousse.core.SharingState

/**
 * The foreground service (type `specialUse`) that runs the router.
 *
 * - On create: a low-importance notification channel and the foreground notification.
 * - `ACTION_START` (or a sticky restart): builds the router from
 *   [RouterSettingsFactory], gives it the power signals ([PowerMonitor]) and starts it
 *   on the service's worker thread (`start` blocks until the router runs).
 * - The router's listener updates [RouterHub] and the notification (state, peers,
 *   sharing state and reason) on the main thread.
 * - `ACTION_STOP` (the notification's Stop): a graceful stop with a deadline of
 *   [STOP_DEADLINE_MS], then the service stops itself. `onDestroy` stops the router
 *   the same way if it still runs, then frees it.
 * - `ACTION_TOGGLE_SHARING` (the notification's Share / Don't share) and
 *   `ACTION_PREFS_CHANGED` (the screen saved the settings): new sharing preferences.
 */
class RouterService : Service() {
    private val main = Handler(Looper.getMainLooper())

    // start and stop block; they run here, one at a time, in the order asked.
    private val worker: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "gousse-service").apply { isDaemon = true }
    }
    private lateinit var prefs: AppPrefs
    private lateinit var nm: NotificationManager
    private lateinit var power: PowerMonitor
    private var router: GousseRouter? = null
    private var stopRequested = false
    private var destroyed = false
    private var foregroundRefused = false
    private var shown: List<Any?>? = null

    override fun onBind(intent: Intent?): IBinder? = null

    override fun onCreate() {
        super.onCreate()
        prefs = AppPrefs(this)
        nm = getSystemService(NotificationManager::class.java)
        RouterHub.status = null
        RouterHub.error = null
        createChannel(nm)
        try {
            val n = buildNotification()
            if (Build.VERSION.SDK_INT >= 34) {
                startForeground(NOTIFICATION_ID, n, ServiceInfo.FOREGROUND_SERVICE_TYPE_SPECIAL_USE)
            } else {
                startForeground(NOTIFICATION_ID, n)
            }
        } catch (e: IllegalStateException) {
            // ForegroundServiceStartNotAllowedException (API 31+): started from the
            // background where Android does not allow it.
            Log.w(TAG, "cannot run in the foreground: $e")
            foregroundRefused = true
        }
        power = PowerMonitor(this, ::onPower)
    }

    override fun onStartCommand(intent: Intent?, flags: Int, startId: Int): Int {
        if (foregroundRefused) {
            stopSelf()
            return START_NOT_STICKY
        }
        when (intent?.action) {
            ACTION_STOP -> stopRouter()
            ACTION_TOGGLE_SHARING -> toggleSharing()
            ACTION_PREFS_CHANGED -> applyPrefs()
            // ACTION_START, or null: restarted by the system after being killed.
            else -> startRouter()
        }
        return START_STICKY
    }

    override fun onDestroy() {
        destroyed = true
        power.stop()
        val r = router
        router = null
        if (RouterHub.router === r) RouterHub.router = null
        if (r != null) {
            worker.execute {
                try {
                    r.stop(STOP_DEADLINE_MS)
                } catch (e: GousseException) {
                    // NotRunning: already stopped. Anything else: freed below anyway.
                    if (e !is GousseException.NotRunning) Log.w(TAG, "stop: ${e.message}")
                }
                // The listener keeps receiving the events already queued.
                r.close()
            }
        }
        worker.shutdown()
        RouterHub.changed()
        super.onDestroy()
    }

    private fun startRouter() {
        stopRequested = false
        val r = router ?: createRouter() ?: return
        RouterHub.error = null
        worker.execute {
            try {
                r.start()
            } catch (e: GousseException.AlreadyRunning) {
                // Started already: nothing to do.
            } catch (e: GousseException) {
                // The listener reports it too (on_error); keep the latest text.
                main.post {
                    RouterHub.error = e.message
                    refresh()
                }
            }
        }
    }

    private fun createRouter(): GousseRouter? {
        val r = try {
            GousseRouter(RouterSettingsFactory.factory(this))
        } catch (e: GousseException) {
            fail(e.message ?: e.toString())
            return null
        } catch (e: LinkageError) {
            // libgousse_ffi.so or JNA missing from the APK.
            fail("cannot load the router library: $e")
            return null
        }
        r.setListener(Listener())
        router = r
        RouterHub.router = r
        RouterHub.state = RouterState.STOPPED
        // The first PowerState reaches the router before it starts: its first
        // sharing decision is made from real signals.
        power.start()
        return r
    }

    private fun fail(message: String) {
        Log.e(TAG, message)
        RouterHub.error = message
        RouterHub.state = RouterState.FAILED
        refresh()
        finish()
    }

    private fun stopRouter() {
        stopRequested = true
        val r = router
        if (r == null) {
            finish()
            return
        }
        worker.execute {
            try {
                r.stop(STOP_DEADLINE_MS)
            } catch (e: GousseException) {
                if (e !is GousseException.NotRunning) main.post { RouterHub.error = e.message }
            }
            main.post { if (stopRequested && !destroyed) finish() }
        }
    }

    private fun finish() {
        stopForeground(STOP_FOREGROUND_REMOVE)
        stopSelf()
    }

    private fun toggleSharing() {
        val p = prefs.sharing
        prefs.sharing = if (p.mode == SharingMode.NEVER) p.copy(mode = prefs.lastSharingMode) else p.copy(mode = SharingMode.NEVER)
        applyPrefs()
    }

    private fun applyPrefs() {
        val r = router
        if (r == null) {
            // Started only to deliver this: there is no router to tell.
            finish()
            return
        }
        try {
            r.setSharingPrefs(prefs.sharing)
        } catch (e: GousseException) {
            RouterHub.error = e.message
        }
        pullStatus()
    }

    private fun onPower(p: PowerState) {
        RouterHub.power = p
        val r = router ?: return
        try {
            r.updatePower(p)
        } catch (e: GousseException) {
            Log.w(TAG, "updatePower: ${e.message}")
        }
        pullStatus()
    }

    /** A fresh snapshot (the listener's come periodically, and only while running). */
    private fun pullStatus() {
        val r = router ?: return
        RouterHub.status = r.status()
        refresh()
    }

    private fun refresh() {
        if (!destroyed && !foregroundRefused) {
            // Only when what it shows changed (Android rate-limits notification updates).
            val key = listOf(
                notificationTitle(RouterHub.state),
                notificationText(RouterHub.state, RouterHub.status, RouterHub.error),
                RouterHub.status?.sharing?.state,
                prefs.sharing.mode == SharingMode.NEVER,
            )
            if (key != shown) {
                shown = key
                nm.notify(NOTIFICATION_ID, buildNotification())
            }
        }
        RouterHub.changed()
    }

    private fun buildNotification(): Notification {
        val state = RouterHub.state
        val status = RouterHub.status
        val sharingAllowed = prefs.sharing.mode != SharingMode.NEVER
        val icon = if (status?.sharing?.state == SharingState.ON) {
            android.R.drawable.stat_sys_upload
        } else {
            android.R.drawable.stat_sys_upload_done
        }
        val open = PendingIntent.getActivity(
            this, 0, Intent(this, MainActivity::class.java), PendingIntent.FLAG_IMMUTABLE,
        )
        val b = Notification.Builder(this, CHANNEL_ID)
            .setSmallIcon(icon)
            .setContentTitle(notificationTitle(state))
            .setContentText(notificationText(state, status, RouterHub.error))
            .setCategory(Notification.CATEGORY_SERVICE)
            .setOngoing(true)
            .setOnlyAlertOnce(true)
            .setShowWhen(false)
            .setContentIntent(open)
            .addAction(action(ACTION_STOP, 1, android.R.drawable.ic_menu_close_clear_cancel, "Stop"))
            .addAction(
                if (sharingAllowed) {
                    action(ACTION_TOGGLE_SHARING, 2, android.R.drawable.ic_media_pause, "Don't share")
                } else {
                    action(ACTION_TOGGLE_SHARING, 2, android.R.drawable.ic_media_play, "Share")
                },
            )
        if (Build.VERSION.SDK_INT >= 31) b.setForegroundServiceBehavior(Notification.FOREGROUND_SERVICE_IMMEDIATE)
        return b.build()
    }

    private fun action(what: String, code: Int, icon: Int, label: String): Notification.Action {
        val pi = PendingIntent.getService(
            this, code, Intent(this, RouterService::class.java).setAction(what),
            PendingIntent.FLAG_IMMUTABLE or PendingIntent.FLAG_UPDATE_CURRENT,
        )
        return Notification.Action.Builder(Icon.createWithResource(this, icon), label, pi).build()
    }

    /** Called by the router's own thread; everything moves to the main thread. */
    private inner class Listener : RouterListener {
        override fun onStateChanged(state: RouterState) {
            main.post {
                RouterHub.state = state
                refresh()
            }
        }

        override fun onStatus(status: RouterStatus) {
            main.post {
                if (!destroyed) {
                    RouterHub.status = status
                    refresh()
                }
            }
        }

        override fun onError(message: String) {
            main.post {
                RouterHub.error = message
                refresh()
            }
        }
    }

    companion object {
        private const val TAG = "GousseService"

        /** Starts (or keeps) the router. */
        const val ACTION_START = "org.gousse.app.action.START"

        /** Stops the router gracefully, then the service. */
        const val ACTION_STOP = "org.gousse.app.action.STOP"

        /** Switches sharing off (mode NEVER), or back to the last mode that shared. */
        const val ACTION_TOGGLE_SHARING = "org.gousse.app.action.TOGGLE_SHARING"

        /** The sharing settings in [AppPrefs] changed. */
        const val ACTION_PREFS_CHANGED = "org.gousse.app.action.PREFS_CHANGED"

        /** The foreground notification's id. */
        const val NOTIFICATION_ID = 1

        /** The notification channel (low importance: no sound, no peeking). */
        const val CHANNEL_ID = "router"

        /** How long a graceful stop may take. */
        const val STOP_DEADLINE_MS: ULong = 5_000u

        /** Starts the service in the foreground with [ACTION_START]. */
        fun start(context: Context) {
            context.startForegroundService(Intent(context, RouterService::class.java).setAction(ACTION_START))
        }

        /** Sends [action] to a running service (from the foreground only). */
        fun send(context: Context, action: String) {
            context.startService(Intent(context, RouterService::class.java).setAction(action))
        }

        internal fun createChannel(nm: NotificationManager) {
            val ch = NotificationChannel(CHANNEL_ID, "I2P router", NotificationManager.IMPORTANCE_LOW).apply {
                description = "The router's state, peers and bandwidth sharing"
                setShowBadge(false)
            }
            nm.createNotificationChannel(ch)
        }
    }
}
