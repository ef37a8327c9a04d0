#if canImport(CoreLocation) && os(iOS)
import Foundation
import Network
import UIKit

/// Feeds the network (`NWPathMonitor`), the app moving to the background
/// (`UIApplication.didEnterBackgroundNotification`), and the battery and Low Power Mode into a
/// ``Tracelet``. Owned by ``LocationTracker``; it stops when released.
final class SystemConditions {
    private let monitor = NWPathMonitor()
    private var observers: [NSObjectProtocol] = []

    init(tracelet: Tracelet) {
        monitor.pathUpdateHandler = { [weak tracelet] path in
            // Expensive: cellular or a personal hotspot; constrained: Low Data Mode.
            tracelet?.setNetwork(
                connected: path.status == .satisfied,
                unmetered: !path.isExpensive && !path.isConstrained)
        }
        monitor.start(queue: DispatchQueue(label: "dev.tracelet.network"))
        let center = NotificationCenter.default
        // On the main queue, so the UIKit background task begins synchronously, before the app
        // can be suspended: a task begun later, inside a Task, may never start. The notification
        // is posted for scene-based apps too, unlike applicationDidEnterBackground.
        observers.append(center.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main
        ) { [weak tracelet] _ in
            MainActor.assumeIsolated { tracelet?.uploadInBackgroundTask() }
        })
        // The core decides what a low battery or Low Power Mode changes; it only needs facts.
        UIDevice.current.isBatteryMonitoringEnabled = true
        let reportPower: (Notification) -> Void = { [weak tracelet] _ in
            SystemConditions.reportPower(to: tracelet)
        }
        for name in [
            UIDevice.batteryLevelDidChangeNotification,
            UIDevice.batteryStateDidChangeNotification,
            Notification.Name.NSProcessInfoPowerStateDidChange,
        ] {
            observers.append(center.addObserver(forName: name, object: nil, queue: .main, using: reportPower))
        }
        SystemConditions.reportPower(to: tracelet)
    }

    private static func reportPower(to tracelet: Tracelet?) {
        let device = UIDevice.current
        let level = device.batteryLevel  // -1 when unknown
        tracelet?.setPowerState(
            batteryPercent: level < 0 ? nil : Int((level * 100).rounded()),
            charging: device.batteryState == .charging || device.batteryState == .full,
            lowPowerMode: ProcessInfo.processInfo.isLowPowerModeEnabled)
    }

    deinit {
        monitor.cancel()
        observers.forEach(NotificationCenter.default.removeObserver)
    }
}
#endif
