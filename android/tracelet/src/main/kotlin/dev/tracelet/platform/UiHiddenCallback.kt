package dev.tracelet.platform

import android.content.ComponentCallbacks2
import android.content.res.Configuration

/**
 * Calls [onHidden] when the app's last visible UI goes away, the framework's own "moved to the
 * background" signal (`onTrimMemory(TRIM_MEMORY_UI_HIDDEN)`); no AndroidX lifecycle needed.
 * Registered on the application context by `Tracelet.configure`.
 */
internal class UiHiddenCallback(private val onHidden: () -> Unit) : ComponentCallbacks2 {

    override fun onTrimMemory(level: Int) {
        // Higher levels repeat while the app stays in the background; upload once, on hiding.
        if (level == ComponentCallbacks2.TRIM_MEMORY_UI_HIDDEN) onHidden()
    }

    override fun onConfigurationChanged(newConfig: Configuration) = Unit

    @Deprecated("Superseded by onTrimMemory; required by the interface.")
    override fun onLowMemory() = Unit
}
