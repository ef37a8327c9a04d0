import Foundation
import Tracelet

/// The README's iOS quick start, compiled with the tests so that it cannot drift from the API
/// (`QuickStartTests` checks the README shows exactly these lines). Never run: it asks for
/// authorization and then waits for events forever.
@MainActor
func readmeQuickStart(installId: String, token: String, storage: URL) async throws {
    // quickstart:begin
    let tracelet = try Tracelet(configuration: TraceletConfiguration(
        endpoint: URL(string: "https://ingest.example.com/v1/batches")!,
        deviceId: installId,
        bearerToken: token,
        storageDirectory: storage))
    let tracker = LocationTracker(tracelet: tracelet)   // CoreLocation layer, main actor
    tracker.resumeIfTracking()                          // after a relaunch, carry on
    tracker.requestWhenInUseAuthorization()             // the prompt; Always later, if needed
    try tracker.start()                                 // starts CoreLocation once authorized
    for await event in tracelet.events() { print(event) }   // AsyncStream<TraceletEvent>
    // quickstart:end
}
