import SwiftUI

@main
struct TraceletSampleApp: App {
    @UIApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate

    var body: some Scene {
        WindowGroup {
            if let tracelet = appDelegate.tracelet, let tracker = appDelegate.tracker {
                ContentView(model: TrackingModel(tracelet: tracelet, tracker: tracker))
            } else {
                Text("Tracelet could not start: \(appDelegate.setupError?.localizedDescription ?? "unknown error")")
                    .padding()
            }
        }
    }
}
