package dev.tracelet.platform

import android.content.Context

/** The framework services used here exist on every phone; a missing one is a broken device image. */
internal inline fun <reified T : Any> Context.requireSystemService(): T =
    checkNotNull(getSystemService(T::class.java)) { "system service ${T::class.java.simpleName} unavailable" }
