package dev.tracelet.platform

import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** Which proximity-alert broadcasts count as leaving the stationary geofence. */
class GeofenceExitTest {

    @Test
    fun `only leaving the circle is an exit`() {
        assertTrue(isGeofenceExit(StationaryGeofenceAlert.ACTION_PROXIMITY, entering = false))
        // LocationManager also reports entering (at once, when the alert is added inside the circle).
        assertFalse(isGeofenceExit(StationaryGeofenceAlert.ACTION_PROXIMITY, entering = true))
        assertFalse(isGeofenceExit("some.other.ACTION", entering = false))
        assertFalse(isGeofenceExit(null, entering = false))
    }
}
