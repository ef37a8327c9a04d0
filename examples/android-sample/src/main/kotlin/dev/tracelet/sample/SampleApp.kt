package dev.tracelet.sample

import android.app.Application
import android.provider.Settings
import dev.tracelet.Tracelet
import dev.tracelet.TraceletConfig

class SampleApp : Application() {
    override fun onCreate() {
        super.onCreate()
        // Here, not in an activity: the system restarts tracking after a reboot through the app.
        Tracelet.configure(this, TraceletConfig(
            endpoint = BuildConfig.TRACELET_ENDPOINT,
            deviceId = Settings.Secure.getString(contentResolver, Settings.Secure.ANDROID_ID),
            bearerToken = BuildConfig.TRACELET_TOKEN,
        ))
    }
}
