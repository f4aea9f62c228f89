package org.gousse.app

import android.content.Context
import java.io.File
import org.gousse.core.RouterSettings

/**
 * Where the service gets its router's settings. The app's default: the real I2P
 * network (net id 2), keys and netDb in `filesDir/router`, the user's sharing
 * preferences. Tests replace [factory] (a private network on loopback, no reseed,
 * a temporary data directory).
 */
object RouterSettingsFactory {
    /** Builds the settings of the next router the service creates. */
    @Volatile
    var factory: (Context) -> RouterSettings = ::defaultSettings

    /** The app's own settings. */
    fun defaultSettings(context: Context): RouterSettings = RouterSettings(
        dataDir = File(context.filesDir, "router").path,
        sharing = AppPrefs(context).sharing,
    )

    /** Puts [factory] back to the app's own. */
    fun reset() {
        factory = ::defaultSettings
    }
}
