package dev.tracelet.robolectric

import org.junit.runners.model.FrameworkMethod
import org.robolectric.RobolectricTestRunner
import org.robolectric.internal.bytecode.InstrumentationConfiguration

/**
 * Robolectric loads the SDK's classes again in one sandbox per API level, but the native
 * library is loaded once per process and keeps one table of foreign callbacks (the generated
 * bindings register theirs when they first load). Loaded once per sandbox, the events of a
 * tracker opened in one sandbox would reach the callback objects of another: an invalid handle,
 * or another test's listener. So the generated bindings (`dev.tracelet.internal`) are loaded
 * once, by the test's own class loader, and shared by every sandbox, as in an app's process.
 */
class TraceletRobolectricTestRunner(testClass: Class<*>) : RobolectricTestRunner(testClass) {
    override fun createClassLoaderConfig(method: FrameworkMethod): InstrumentationConfiguration =
        InstrumentationConfiguration.Builder(super.createClassLoaderConfig(method))
            .doNotAcquirePackage("dev.tracelet.internal")
            .build()
}
