package dev.tracelet.platform

import dev.tracelet.PermissionState
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class PermissionStateTest {

    private val none = PermissionInputs(
        sdkInt = 34, fineGranted = false, coarseGranted = false, backgroundGranted = false,
        locationServicesEnabled = true, requestedBefore = false,
    )

    @Test
    fun `nothing granted and never asked is not determined`() {
        assertEquals(PermissionState.NotDetermined, permissionState(none))
    }

    @Test
    fun `nothing granted after asking is denied`() {
        assertEquals(PermissionState.Denied, permissionState(none.copy(requestedBefore = true)))
    }

    @Test
    fun `missing permission is reported before location services being off`() {
        assertEquals(PermissionState.Denied, permissionState(none.copy(requestedBefore = true, locationServicesEnabled = false)))
    }

    @Test
    fun `granted but location off`() {
        assertEquals(
            PermissionState.LocationServicesOff,
            permissionState(none.copy(fineGranted = true, locationServicesEnabled = false)),
        )
    }

    @Test
    fun `while in use, precise and approximate`() {
        assertEquals(PermissionState.ForegroundOnly(precise = true), permissionState(none.copy(fineGranted = true, coarseGranted = true)))
        assertEquals(PermissionState.ForegroundOnly(precise = false), permissionState(none.copy(coarseGranted = true)))
    }

    @Test
    fun `all the time, precise and approximate`() {
        val always = none.copy(backgroundGranted = true)
        assertEquals(PermissionState.BackgroundGranted(precise = true), permissionState(always.copy(fineGranted = true)))
        assertEquals(PermissionState.BackgroundGranted(precise = false), permissionState(always.copy(coarseGranted = true)))
    }

    @Test
    fun `before Android 10 a foreground grant covers the background`() {
        assertEquals(
            PermissionState.BackgroundGranted(precise = true),
            permissionState(none.copy(sdkInt = 28, fineGranted = true)),
        )
    }

    @Test
    fun `only granted states can track, only background can track in background`() {
        assertEquals(false, PermissionState.Denied.canTrack)
        assertEquals(true, PermissionState.ForegroundOnly(true).canTrack)
        assertEquals(false, PermissionState.ForegroundOnly(true).canTrackInBackground)
        assertEquals(true, PermissionState.BackgroundGranted(false).canTrackInBackground)
    }

    @Test
    fun `what tracking needs is foreground location, with notifications on Android 13+`() {
        assertArrayEquals(arrayOf(FINE, COARSE, POST_NOTIFICATIONS), permissionsToRequest(none))
        assertArrayEquals(arrayOf(FINE, COARSE), permissionsToRequest(none.copy(sdkInt = 30)))
    }

    @Test
    fun `keeping while-using is enough to start, background is an upgrade and not a gate`() {
        // The quick start calls start() once permissionsToRequest is empty; it used to return
        // BACKGROUND forever to a user who keeps "while using the app".
        val whileUsing = none.copy(fineGranted = true, coarseGranted = true, requestedBefore = true)
        assertArrayEquals(emptyArray<String>(), permissionsToRequest(whileUsing))
        assertEquals(BACKGROUND, backgroundPermissionToRequest(whileUsing, backgroundDeclared = true))
        assertEquals(null, backgroundPermissionToRequest(whileUsing, backgroundDeclared = false))
        assertEquals(null, backgroundPermissionToRequest(whileUsing.copy(sdkInt = 28), backgroundDeclared = true))
        assertEquals(null, backgroundPermissionToRequest(whileUsing.copy(backgroundGranted = true), backgroundDeclared = true))
        assertEquals(null, backgroundPermissionToRequest(none, backgroundDeclared = true))
    }
}
