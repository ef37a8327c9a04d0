// Sample app: the integration in about ten lines (SampleApp.kt + MainActivity.kt).
// Built from android/ as the :sample module: ./gradlew :sample:installDebug (not built on CI).
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "dev.tracelet.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.tracelet.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // Point this at your collector, e.g. `cargo run -p tracelet-collector -- --listen 0.0.0.0:8080`
        // behind HTTPS; plain http is accepted only for loopback (adb reverse tcp:8080 tcp:8080).
        buildConfigField("String", "TRACELET_ENDPOINT", "\"http://127.0.0.1:8080/v1/batches\"")
        buildConfigField("String", "TRACELET_TOKEN", "\"dev-token\"")
    }

    buildFeatures { buildConfig = true }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation(project(":tracelet"))
}
