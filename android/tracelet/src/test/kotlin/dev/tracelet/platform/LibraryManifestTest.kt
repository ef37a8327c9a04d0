package dev.tracelet.platform

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.w3c.dom.Element

/**
 * The library manifest as an app's manifest merger receives it. The merger itself runs only in
 * app builds (Android Gradle plugin), which this machine cannot make, so this reads the file and
 * checks what makes a merge clean: no attributes AGP 8 rejects in a library (`package`,
 * `<uses-sdk>`), the permissions the SDK needs and none it leaves to the app, the location
 * foreground service, and every component naming a class that exists. Backup rules:
 * [BackupRulesTest].
 */
class LibraryManifestTest {

    private val main = File(System.getProperty("basedir") ?: ".", "tracelet/src/main")
    private val android = "http://schemas.android.com/apk/res/android"
    private val manifest: Element by lazy {
        val factory = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
        factory.newDocumentBuilder().parse(File(main, "AndroidManifest.xml")).documentElement
    }

    private fun elements(tag: String): List<Element> {
        val nodes = manifest.getElementsByTagName(tag)
        return (0 until nodes.length).map { nodes.item(it) as Element }
    }

    private fun Element.android(name: String): String = getAttributeNS(android, name)

    @Test
    fun `nothing the merger refuses in a library manifest`() {
        assertEquals("manifest", manifest.tagName)
        // AGP 8 takes the namespace from the build file and refuses a package attribute.
        assertFalse(manifest.hasAttribute("package"), "package attribute")
        // minSdk and targetSdk come from the build file; <uses-sdk> here conflicts with it.
        assertTrue(elements("uses-sdk").isEmpty(), "<uses-sdk>")
        assertEquals(1, elements("application").size)
    }

    @Test
    fun `the permissions the SDK needs, and background location left to the app`() {
        val permissions = elements("uses-permission").map { it.android("name") }
        assertEquals(permissions.size, permissions.toSet().size, "declared once each")
        assertEquals(
            setOf(
                "android.permission.ACCESS_FINE_LOCATION",
                "android.permission.ACCESS_COARSE_LOCATION",
                "android.permission.INTERNET",
                "android.permission.ACCESS_NETWORK_STATE",
                "android.permission.FOREGROUND_SERVICE",
                // Android 14+: a foreground service of type location needs this one too.
                "android.permission.FOREGROUND_SERVICE_LOCATION",
                "android.permission.POST_NOTIFICATIONS",
                "android.permission.RECEIVE_BOOT_COMPLETED",
            ),
            permissions.toSet(),
        )
        assertFalse("android.permission.ACCESS_BACKGROUND_LOCATION" in permissions)
    }

    @Test
    fun `the tracking service is a location foreground service, not exported`() {
        val service = elements("service").single { it.android("name") == "dev.tracelet.platform.TrackingService" }
        assertEquals("location", service.android("foregroundServiceType"))
        assertEquals("false", service.android("exported"))
    }

    @Test
    fun `every component is declared explicitly exported or not and names a class of the library`() {
        val components = elements("service") + elements("receiver") + elements("activity") + elements("provider")
        assertTrue(components.isNotEmpty())
        for (component in components) {
            val name = component.android("name")
            assertTrue(name.startsWith("dev.tracelet."), "fully qualified: $name")
            // Android 12+ refuses to install an app whose components with intent filters do
            // not say; saying it everywhere keeps the merged manifest's intent visible.
            assertTrue(component.android("exported") in setOf("true", "false"), "$name exported")
            Class.forName(name, false, javaClass.classLoader)
        }
        // The only exported one is the job service, guarded by the system-only permission.
        val exported = components.filter { it.android("exported") == "true" }
        assertEquals(listOf("dev.tracelet.platform.FlushJobService"), exported.map { it.android("name") })
        assertEquals("android.permission.BIND_JOB_SERVICE", exported.single().android("permission"))
    }
}
