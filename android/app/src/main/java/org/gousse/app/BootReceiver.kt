package org.gousse.app

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.util.Log

/**
 * Starts the router service after boot, if the user asked for it (the "Start on boot"
 * setting, off by default). `specialUse` services may be started from
 * `BOOT_COMPLETED` (Android 15 forbids it only for dataSync, camera, media and
 * phone-call types).
 */
class BootReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        if (intent.action != Intent.ACTION_BOOT_COMPLETED) return
        if (!AppPrefs(context).startOnBoot) return
        try {
            RouterService.start(context)
        } catch (e: IllegalStateException) {
            // The system refused a foreground start from here (should not happen
            // for BOOT_COMPLETED); the user can start the router from the app.
            Log.w("GousseBoot", "cannot start the router service: $e")
        }
    }
}
