package dev.tracelet.sample

import android.app.Activity
import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import dev.tracelet.Tracelet
import dev.tracelet.TraceletException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.MainScope
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.launchIn
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.launch

/** One switch and a line of status; no AndroidX, like the SDK itself. */
class MainActivity : Activity() {
    private val scope: CoroutineScope = MainScope()
    private lateinit var statusView: TextView

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        statusView = TextView(this)
        val toggle = Button(this).apply { text = "Start / stop tracking" }
        toggle.setOnClickListener { toggle() }
        val flush = Button(this).apply { text = "Upload now" }
        flush.setOnClickListener { scope.launch(Dispatchers.IO) { runCatching { Tracelet.flush() } } }
        setContentView(LinearLayout(this).apply {
            orientation = LinearLayout.VERTICAL
            addView(toggle)
            addView(flush)
            addView(statusView)
        })
        // Events arrive on SDK threads; onEach here runs on the main dispatcher of MainScope.
        Tracelet.events.onEach { showStatus(it.toString()) }.launchIn(scope)
        showStatus("ready")
    }

    private fun toggle() {
        if (Tracelet.status.isTracking) return Tracelet.stop().also { showStatus("stopped") }
        val missing = Tracelet.permissionsToRequest(this)
        if (missing.isNotEmpty()) return requestPermissions(missing, REQUEST_LOCATION)
        try {
            Tracelet.start()
        } catch (e: TraceletException.PermissionMissing) {
            showStatus("cannot track: ${e.state}")
        }
    }

    override fun onRequestPermissionsResult(requestCode: Int, permissions: Array<String>, grantResults: IntArray) {
        if (requestCode == REQUEST_LOCATION) showStatus("permission: ${Tracelet.permissionState(this)}")
    }

    private fun showStatus(last: String) {
        val s = Tracelet.status
        statusView.text = "tracking=${s.isTracking} pending=${s.pendingCount} uploaded=${s.uploadedTotal}\n$last"
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    private companion object {
        const val REQUEST_LOCATION = 1
    }
}
