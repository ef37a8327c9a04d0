// Gradle build for Android developers and the release workflow. It needs the Android SDK and,
// for the native libraries, the NDK + cargo-ndk: neither exists on the CI machines, which build
// and test this code with Maven instead (see README.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    plugins {
        id("com.android.library") version "8.7.3"
        id("com.android.application") version "8.7.3"
        id("org.jetbrains.kotlin.android") version "2.4.21"
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "tracelet-android"

include(":tracelet")

// The sample app lives with the other examples; build it with ./gradlew :sample:assembleDebug.
include(":sample")
project(":sample").projectDir = file("../examples/android-sample")
