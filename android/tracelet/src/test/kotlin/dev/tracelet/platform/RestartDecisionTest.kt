package dev.tracelet.platform

import dev.tracelet.PermissionState
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class RestartDecisionTest {
    private val always = PermissionState.BackgroundGranted(precise = true)

    @Test
    fun `restarts after boot and after an update when tracking was on`() {
        assertEquals(RestartDecision.RESTART, restartDecision(ACTION_BOOT_COMPLETED, true, always))
        assertEquals(RestartDecision.RESTART, restartDecision(ACTION_MY_PACKAGE_REPLACED, true, always))
    }

    @Test
    fun `stays off when tracking was off`() {
        assertEquals(RestartDecision.NOT_TRACKING, restartDecision(ACTION_BOOT_COMPLETED, false, always))
    }

    @Test
    fun `does not restart without background permission`() {
        assertEquals(
            RestartDecision.NO_BACKGROUND_PERMISSION,
            restartDecision(ACTION_BOOT_COMPLETED, true, PermissionState.ForegroundOnly(precise = true)),
        )
        assertEquals(
            RestartDecision.NO_BACKGROUND_PERMISSION,
            restartDecision(ACTION_BOOT_COMPLETED, true, PermissionState.LocationServicesOff),
        )
    }

    @Test
    fun `ignores other broadcasts`() {
        assertEquals(RestartDecision.IGNORED, restartDecision("android.intent.action.TIME_SET", true, always))
        assertEquals(RestartDecision.IGNORED, restartDecision(null, true, always))
    }
}
