// Gradle build for Android developers and the release workflow. It needs the Android SDK and,
// for the native libraries, the NDK + cargo-ndk: neither exists on the CI machines, which build
// and test this code with Maven instead (see README.md). Gradle itself: the version pinned in
// gradle/wrapper/gradle-wrapper.properties (scripts/gradle.sh runs it, checksum verified).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
    plugins {
        // 8.13: the oldest the publishing plugin 0.37 supports; it needs Gradle 9.0 or later.
        id("com.android.library") version "8.13.2"
        id("com.android.application") version "8.13.2"
        id("org.jetbrains.kotlin.android") version "2.4.21"
        // Maven Central: signing, POM from gradle.properties, sources and Dokka jars.
        id("com.vanniktech.maven.publish") version "0.37.0"
        // Dokka 2 (the publishing plugin requires its v2 mode, the default since 2.1).
        id("org.jetbrains.dokka") version "2.3.0"
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
