package dev.tracelet.quickstart

import android.app.Activity
import android.app.Application
import dev.tracelet.Tracelet
import dev.tracelet.TraceletConfig

// The Android quick start of android/README.md. It lives here so the compiler checks it against
// the public API; ReadmeSnippetTest fails if the README's copy differs from the lines below.

// quickstart:begin
class MyApp : Application() {
    override fun onCreate() {
        super.onCreate()
        Tracelet.configure(this, TraceletConfig(
            endpoint = "https://ingest.example.com/v1/batches",
            deviceId = "device-1234",
            bearerToken = "token-from-your-backend",
        ))
    }
}

class MainActivity : Activity() {
    fun onTrackingSwitchedOn() {
        val missing = Tracelet.permissionsToRequest(this)
        if (missing.isNotEmpty()) requestPermissions(missing, 1) else Tracelet.start()
    }
}
// quickstart:end
