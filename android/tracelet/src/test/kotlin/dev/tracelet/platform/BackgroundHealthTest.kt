package dev.tracelet.platform

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * The background-health report built from what the OS says. `PowerManager`, `AlarmManager` and
 * `ActivityManager` cannot run on the JVM, so their answers are given as [HealthInputs].
 */
class BackgroundHealthTest {

    private fun inputs(maker: String) = HealthInputs(
        sdkInt = 34,
        ignoringBatteryOptimizations = false,
        exactAlarmsAllowed = true,
        backgroundRestricted = true,
        manufacturer = maker,
    )

    @Test
    fun `the report carries the OS answers and the maker's settings`() {
        val health = backgroundHealth(inputs(" Xiaomi "))
        assertFalse(health.ignoringBatteryOptimizations)
        assertTrue(health.canScheduleExactAlarms)
        assertTrue(health.backgroundRestricted)
        assertEquals("xiaomi", health.manufacturer)
        assertTrue(health.vendorSettings.any { it.startsWith("Autostart") }, health.vendorSettings.toString())
    }

    @Test
    fun `makers known to stop background apps have advice and stock Android has none`() {
        for (maker in listOf("samsung", "HUAWEI", "honor", "OnePlus", "OPPO", "realme", "vivo", "asus", "sony")) {
            assertTrue(vendorSettings(maker).isNotEmpty(), maker)
        }
        assertEquals(emptyList<String>(), vendorSettings("Google"))
        assertEquals(emptyList<String>(), vendorSettings(""))
    }
}
