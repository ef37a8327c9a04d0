import Tracelet
import UIKit

/// Creates the SDK at launch, before anything else: iOS relaunches a terminated app in the
/// background for location events, and only objects that exist by the end of launch get them.
final class AppDelegate: NSObject, UIApplicationDelegate {
    static let uploadTaskId = "dev.tracelet.sample.upload"

    private(set) var tracelet: Tracelet?
    private(set) var tracker: LocationTracker?
    private(set) var setupError: TraceletError?

    func application(
        _ application: UIApplication,
        didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        do {
            let tracelet = try Tracelet(configuration: Self.configuration())
            let tracker = LocationTracker(tracelet: tracelet)
            tracelet.registerBackgroundUpload(identifier: Self.uploadTaskId)
            tracker.resumeIfTracking()
            self.tracelet = tracelet
            self.tracker = tracker
        } catch {
            setupError = error as? TraceletError
        }
        return true
    }

    // No applicationDidEnterBackground: UIKit does not call it in a scene-based (SwiftUI) app.
    // The LocationTracker uploads inside a background task on didEnterBackgroundNotification
    // itself; the app only keeps the refresh task scheduled.
    func applicationDidBecomeActive(_ application: UIApplication) {
        try? Tracelet.scheduleBackgroundUpload(identifier: Self.uploadTaskId)
    }

    private static func configuration() throws -> TraceletConfiguration {
        let info = Bundle.main.infoDictionary ?? [:]
        let storage = try FileManager.default
            .url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("Tracelet", isDirectory: true)
        return TraceletConfiguration(
            endpoint: URL(string: info["TraceletEndpoint"] as? String ?? "")!,
            // Per-install id: stable across launches, not linked to the user or the device.
            deviceId: UserDefaults.standard.string(forKey: "traceletDeviceId") ?? {
                let id = UUID().uuidString
                UserDefaults.standard.set(id, forKey: "traceletDeviceId")
                return id
            }(),
            bearerToken: info["TraceletToken"] as? String ?? "",
            storageDirectory: storage
        )
    }
}
