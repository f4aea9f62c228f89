package org.gousse.app

import android.Manifest
import android.app.Activity
import android.content.pm.PackageManager
import android.graphics.Typeface
import android.os.Build
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import android.text.InputType
import android.view.View
import android.view.ViewGroup.LayoutParams.MATCH_PARENT
import android.view.ViewGroup.LayoutParams.WRAP_CONTENT
import android.widget.Button
import android.widget.CheckBox
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.ScrollView
import android.widget.TextView
import android.widget.Toast
import org.gousse.core.RouterState
import org.gousse.core.SharingMode
import org.gousse.core.SharingPrefs

/**
 * The main screen, built in code (the app has no XML resources): the router's status
 * (refreshed by [RouterHub] on each listener event), start/stop, the sharing settings
 * and start-on-boot, and the router's recent log lines (refreshed every 2 s).
 */
class MainActivity : Activity() {
    private lateinit var prefs: AppPrefs
    private lateinit var statusView: TextView
    private lateinit var startStop: Button
    private lateinit var modes: RadioGroup
    private val modeIds = mutableMapOf<SharingMode, Int>()
    private lateinit var capField: EditText
    private lateinit var minBatteryField: EditText
    private lateinit var bootBox: CheckBox
    private lateinit var logView: TextView
    private val main = Handler(Looper.getMainLooper())
    private val observer: () -> Unit = { render() }
    private val logTick = object : Runnable {
        override fun run() {
            renderLogs()
            main.postDelayed(this, LOG_PERIOD_MS)
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        prefs = AppPrefs(this)
        setContentView(buildViews())
        showSettings()
        if (Build.VERSION.SDK_INT >= 33 &&
            checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED
        ) {
            // The service's notification (state, Stop, Share) needs it on Android 13+.
            requestPermissions(arrayOf(Manifest.permission.POST_NOTIFICATIONS), 1)
        }
    }

    override fun onResume() {
        super.onResume()
        RouterHub.addObserver(observer)
        render()
        main.post(logTick)
    }

    override fun onPause() {
        RouterHub.removeObserver(observer)
        main.removeCallbacks(logTick)
        super.onPause()
    }

    /** The router runs or is starting (the button stops it). */
    private fun active(): Boolean =
        RouterHub.router != null && RouterHub.state in setOf(RouterState.STARTING, RouterState.RUNNING)

    private fun render() {
        statusView.text = statusLines(RouterHub.state, RouterHub.status, RouterHub.error).joinToString("\n")
        startStop.text = if (active()) "Stop router" else "Start router"
    }

    private fun renderLogs() {
        val lines = try {
            RouterHub.router?.recentLogs(LOG_LINES)
        } catch (e: IllegalStateException) {
            null // The service freed the router a moment ago.
        }
        logView.text = lines?.joinToString("\n") { formatLogLine(it) } ?: "The router is not running."
    }

    private fun onStartStop() {
        if (active()) RouterService.send(this, RouterService.ACTION_STOP) else RouterService.start(this)
    }

    private fun showSettings() {
        val p = prefs.sharing
        modeIds[p.mode]?.let { modes.check(it) }
        capField.setText(p.capKbps.toString())
        minBatteryField.setText(p.minBatteryPct.toString())
        bootBox.isChecked = prefs.startOnBoot
    }

    private fun onSave() {
        val mode = modeIds.entries.firstOrNull { it.value == modes.checkedRadioButtonId }?.key
        val cap = capField.text.toString().trim().toULongOrNull()?.takeIf { it <= MAX_CAP_KBPS }
        val minBattery = minBatteryField.text.toString().trim().toIntOrNull()?.takeIf { it in 0..100 }
        if (cap == null) capField.error = "0 to $MAX_CAP_KBPS KB/s"
        if (minBattery == null) minBatteryField.error = "0 to 100 %"
        if (mode == null || cap == null || minBattery == null) return
        prefs.sharing = SharingPrefs(mode = mode, capKbps = cap, minBatteryPct = minBattery.toUByte())
        prefs.startOnBoot = bootBox.isChecked
        if (RouterHub.router != null) RouterService.send(this, RouterService.ACTION_PREFS_CHANGED)
        Toast.makeText(this, "Settings saved", Toast.LENGTH_SHORT).show()
    }

    private fun buildViews(): View {
        val pad = (16 * resources.displayMetrics.density).toInt()
        val col = LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            setPadding(pad, pad, pad, pad)
        }
        fun header(text: String) = TextView(this).apply {
            this.text = text
            textSize = 18f
            setTypeface(typeface, Typeface.BOLD)
            setPadding(0, pad, 0, pad / 2)
        }

        col.addView(header("Gousse I2P router"))
        statusView = TextView(this).apply { id = View.generateViewId() }
        col.addView(statusView)
        startStop = Button(this).apply { setOnClickListener { onStartStop() } }
        col.addView(startStop, LinearLayout.LayoutParams(WRAP_CONTENT, WRAP_CONTENT))

        col.addView(header("Bandwidth sharing"))
        modes = RadioGroup(this)
        for ((mode, label) in MODE_LABELS) {
            val b = RadioButton(this).apply {
                id = View.generateViewId()
                text = label
            }
            modeIds[mode] = b.id
            modes.addView(b)
        }
        col.addView(modes)
        col.addView(TextView(this).apply { text = "Bandwidth cap, KB/s" })
        capField = EditText(this).apply { inputType = InputType.TYPE_CLASS_NUMBER }
        col.addView(capField)
        col.addView(TextView(this).apply { text = "Stop below this battery level, %" })
        minBatteryField = EditText(this).apply { inputType = InputType.TYPE_CLASS_NUMBER }
        col.addView(minBatteryField)
        bootBox = CheckBox(this).apply { text = "Start the router when the phone starts" }
        col.addView(bootBox)
        col.addView(Button(this).apply {
            text = "Save settings"
            setOnClickListener { onSave() }
        }, LinearLayout.LayoutParams(WRAP_CONTENT, WRAP_CONTENT))

        col.addView(header("Recent log"))
        logView = TextView(this).apply {
            typeface = Typeface.MONOSPACE
            textSize = 11f
            setTextIsSelectable(true)
        }
        col.addView(logView)

        return ScrollView(this).apply { addView(col, LinearLayout.LayoutParams(MATCH_PARENT, WRAP_CONTENT)) }
    }

    /** For tests: the views a user reads and taps. */
    internal val statusText: CharSequence get() = statusView.text
    internal val logText: CharSequence get() = logView.text
    internal fun clickStartStop() = startStop.performClick()

    companion object {
        private const val LOG_PERIOD_MS = 2_000L
        private val LOG_LINES: UInt = 200u

        /** Highest cap the screen accepts, KB/s (1 GB/s). */
        const val MAX_CAP_KBPS: ULong = 1_000_000u

        private val MODE_LABELS = listOf(
            SharingMode.NEVER to "Never",
            SharingMode.WHEN_CHARGING to "While charging",
            SharingMode.WHEN_CHARGING_UNMETERED to "While charging on an unmetered network (Wi-Fi)",
            SharingMode.ALWAYS to "Always (battery, heat and power-save permitting)",
        )
    }
}
