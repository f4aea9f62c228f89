package org.gousse.app

import java.util.concurrent.CopyOnWriteArraySet
import org.gousse.core.GousseRouter
import org.gousse.core.PowerState
import org.gousse.core.RouterState
import org.gousse.core.RouterStatus

/**
 * What the service knows of its router, for the screen: the router while the
 * service holds one, its state, last status, last error and the power signals last
 * sent. Written by [RouterService] on the main thread; observers are called there.
 */
object RouterHub {
    /** The service's router, while the service runs. */
    @Volatile
    var router: GousseRouter? = null
        internal set

    /** The router's life-cycle state (kept after the service is gone). */
    @Volatile
    var state: RouterState = RouterState.STOPPED
        internal set

    /** The last status snapshot. */
    @Volatile
    var status: RouterStatus? = null
        internal set

    /** The last error (failed start, invalid settings, ...), cleared by a new start. */
    @Volatile
    var error: String? = null
        internal set

    /** The power signals last given to the router. */
    @Volatile
    var power: PowerState? = null
        internal set

    private val observers = CopyOnWriteArraySet<() -> Unit>()

    /** Calls [o] on the main thread after each change. */
    fun addObserver(o: () -> Unit) {
        observers.add(o)
    }

    /** Stops calling [o]. */
    fun removeObserver(o: () -> Unit) {
        observers.remove(o)
    }

    internal fun changed() {
        observers.forEach { it() }
    }
}
