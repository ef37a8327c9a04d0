package dev.tracelet

/**
 * An app-defined geofence: the SDK reports [TraceletEvent.GeofenceTransitioned] when the device
 * enters, leaves or dwells in it, decided on the accepted fixes, and sends the same events to
 * the server. Geofences are stored with the queue: they survive restarts.
 *
 * @property id 1 to 128 characters; adding a geofence with an existing id replaces it.
 * @property metadata sent to the server with every event of this geofence.
 * @property dwellMillis time inside after which [GeofenceTransition.DWELL] fires, once per stay;
 *   `null`: never.
 */
data class Geofence(
    val id: String,
    val shape: GeofenceShape,
    val metadata: Map<String, String> = emptyMap(),
    val dwellMillis: Long? = null,
)

/** Where a [Geofence] lies, WGS84 degrees. */
sealed class GeofenceShape {
    /** A circle; [radiusMeters] from 1 m to 100 km. */
    data class Circle(val latitude: Double, val longitude: Double, val radiusMeters: Double) : GeofenceShape() {
        // Places an app watches (a home, a depot) are personal data too: no coordinates in logs.
        override fun toString(): String = "Circle(radiusMeters=$radiusMeters)"
    }

    /**
     * A polygon of 3 to 1,000 [vertices] in order (either winding), fitting in 100 km; it may be
     * concave and may cross the antimeridian. The OS watches its bounding circle.
     */
    data class Polygon(val vertices: List<LatLon>) : GeofenceShape() {
        override fun toString(): String = "Polygon(vertices=${vertices.size})"
    }
}

/** A point of a [GeofenceShape.Polygon], WGS84 degrees. */
data class LatLon(val latitude: Double, val longitude: Double) {
    override fun toString(): String = "LatLon(***)"
}

/** What [TraceletEvent.GeofenceTransitioned] reports. */
enum class GeofenceTransition {
    /** The device is inside (the first decisive fix inside, also right after adding). */
    ENTER,

    /** The device left; only after an [ENTER]. */
    EXIT,

    /** The device has been inside for the geofence's [Geofence.dwellMillis]. */
    DWELL,
}

/**
 * The geofences the OS should watch now, nearest first (a polygon as its bounding circle),
 * within Android's limit of 100 regions less one kept for the stationary geofence. The SDK's
 * tracking service registers them by itself ([TraceletEvent.RegionsChanged]); apps with their
 * own geofencing register them and report each OS transition with `Tracelet.client.onRegionEvent(id)`.
 */
data class RegionRequest(val regions: List<OsRegion>)

/** One circular region for the OS; [id] is the [Geofence.id]. */
data class OsRegion(val id: String, val latitude: Double, val longitude: Double, val radiusMeters: Double) {
    override fun toString(): String = "OsRegion(id=$id, radiusMeters=$radiusMeters)"
}
