package dev.tracelet.platform

/**
 * Marks a small function that calls a framework API newer than minSdk 26 and is only reached
 * behind a `Build.VERSION.SDK_INT` check (or an `sdkInt` that came from one). The build's API
 * check (animal-sniffer against the API 26 signature, see `android/pom.xml`) skips what it
 * marks and fails on any other call above API 26. Keep marked functions to the guarded call.
 */
@Retention(AnnotationRetention.BINARY)
@Target(AnnotationTarget.FUNCTION, AnnotationTarget.PROPERTY_GETTER, AnnotationTarget.CONSTRUCTOR, AnnotationTarget.CLASS)
internal annotation class GuardedApiCall
