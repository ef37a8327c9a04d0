package dev.tracelet.platform

import dev.tracelet.internal.core.Priority
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class ProviderSelectionTest {
    private val all = setOf(FUSED, GPS, NETWORK, PASSIVE)

    @Test
    fun `fused alone on API 31+`() {
        assertEquals(listOf(FUSED), selectProviders(Priority.HIGH_ACCURACY, 31, all))
        assertEquals(listOf(FUSED), selectProviders(Priority.LOW_POWER, 35, all))
    }

    @Test
    fun `gps and network stand in below API 31 or without fused`() {
        assertEquals(listOf(GPS, NETWORK), selectProviders(Priority.HIGH_ACCURACY, 30, all))
        assertEquals(listOf(GPS, NETWORK), selectProviders(Priority.HIGH_ACCURACY, 34, all - FUSED))
        assertEquals(listOf(NETWORK), selectProviders(Priority.BALANCED, 30, all))
        assertEquals(listOf(GPS), selectProviders(Priority.BALANCED, 30, setOf(GPS, PASSIVE)))
        assertEquals(listOf(NETWORK), selectProviders(Priority.LOW_POWER, 30, all))
    }

    @Test
    fun `passive priority and nothing enabled fall back to passive`() {
        assertEquals(listOf(PASSIVE), selectProviders(Priority.PASSIVE, 34, all))
        assertEquals(listOf(PASSIVE), selectProviders(Priority.HIGH_ACCURACY, 30, setOf(PASSIVE)))
    }
}
