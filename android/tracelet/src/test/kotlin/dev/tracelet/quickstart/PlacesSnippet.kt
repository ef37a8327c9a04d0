package dev.tracelet.quickstart

import dev.tracelet.Geofence
import dev.tracelet.GeofenceShape
import dev.tracelet.GeofenceTransition
import dev.tracelet.Tracelet
import dev.tracelet.TraceletEvent
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.launch

// The "Geofences, trips and metadata" example of android/README.md, compiled here;
// ReadmeSnippetTest fails if the README's copy differs from the lines below.

// places:begin
fun startDeliveryRound(scope: CoroutineScope) {
    Tracelet.client.setDeviceMetadata(mapOf("app" to "4.2.0", "fleet" to "vans"))
    Tracelet.client.addGeofences(listOf(
        Geofence(
            id = "depot",
            shape = GeofenceShape.Circle(latitude = 48.8566, longitude = 2.3522, radiusMeters = 150.0),
            metadata = mapOf("site" to "paris-north"),
            dwellMillis = 5 * 60_000L,
        ),
    ))
    Tracelet.client.setFixExtras(mapOf("vehicle" to "van-7"))
    Tracelet.client.startTrip("round-1187", mapOf("driver" to "ann"))

    scope.launch {
        Tracelet.events.filterIsInstance<TraceletEvent.GeofenceTransitioned>().collect { event ->
            if (event.geofenceId == "depot" && event.transition == GeofenceTransition.ENTER) {
                Tracelet.client.endTrip() // back at the depot
            }
        }
    }
}
// places:end
