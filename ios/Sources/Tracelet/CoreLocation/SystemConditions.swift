#if canImport(CoreLocation) && os(iOS)
import Foundation
import Network
import UIKit

/// Feeds the network (`NWPathMonitor`) and the app moving to the background
/// (`UIApplication.didEnterBackgroundNotification`) into a ``Tracelet``. Owned by
/// ``LocationTracker``; it stops when released.
final class SystemConditions {
    private let monitor = NWPathMonitor()
    private let observer: NSObjectProtocol

    init(tracelet: Tracelet) {
        monitor.pathUpdateHandler = { [weak tracelet] path in
            // Expensive: cellular or a personal hotspot; constrained: Low Data Mode.
            tracelet?.setNetwork(
                connected: path.status == .satisfied,
                unmetered: !path.isExpensive && !path.isConstrained)
        }
        monitor.start(queue: DispatchQueue(label: "dev.tracelet.network"))
        observer = NotificationCenter.default.addObserver(
            forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: nil
        ) { [weak tracelet] _ in
            tracelet?.appDidEnterBackground()
        }
    }

    deinit {
        monitor.cancel()
        NotificationCenter.default.removeObserver(observer)
    }
}
#endif
