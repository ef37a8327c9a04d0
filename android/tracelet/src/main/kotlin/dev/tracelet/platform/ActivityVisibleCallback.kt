package dev.tracelet.platform

import android.app.Activity
import android.app.Application
import android.os.Bundle

/**
 * Calls [onVisible] whenever an activity of the app starts: the moment Android (12+) lets the app
 * start a location foreground service again, so an interrupted tracking service resumes. Every
 * method is implemented: the interface has no default methods before API 29.
 */
internal class ActivityVisibleCallback(private val onVisible: () -> Unit) : Application.ActivityLifecycleCallbacks {
    override fun onActivityStarted(activity: Activity) = onVisible()

    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) = Unit

    override fun onActivityResumed(activity: Activity) = Unit

    override fun onActivityPaused(activity: Activity) = Unit

    override fun onActivityStopped(activity: Activity) = Unit

    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) = Unit

    override fun onActivityDestroyed(activity: Activity) = Unit
}
