#if canImport(UIKit) && os(iOS)
import UIKit

extension Tracelet {
    /// Flushes inside a UIKit background task. Call it when the app moves to the background, so
    /// that pending fixes can be sent before iOS suspends the app. If the time runs out first,
    /// nothing is lost: fixes leave the queue only after the server's 2xx.
    @MainActor
    @discardableResult
    public func flushInBackgroundTask() async throws -> FlushResult {
        let backgroundTask = BackgroundTask(name: "Tracelet upload")
        defer { backgroundTask.end() }
        return try await flush()
    }
}

extension Tracelet {
    /// What the SDK does when the app moves to the background (``LocationTracker`` and
    /// ``LiveUpdatesTracker`` observe `didEnterBackgroundNotification` for it): begins a UIKit
    /// background task at once, on the main thread, then uploads what is pending inside it.
    @MainActor
    func uploadInBackgroundTask() {
        let backgroundTask = BackgroundTask(name: "Tracelet upload")
        onAppBackground()
        Task { @MainActor in
            defer { backgroundTask.end() }
            _ = try? await self.flush()
        }
    }
}

/// One UIKit background task, ended exactly once: by the caller or when iOS says time is up.
@MainActor
private final class BackgroundTask {
    private var id: UIBackgroundTaskIdentifier = .invalid

    init(name: String) {
        id = UIApplication.shared.beginBackgroundTask(withName: name) { [weak self] in
            self?.end()
        }
    }

    func end() {
        guard id != .invalid else { return }
        UIApplication.shared.endBackgroundTask(id)
        id = .invalid
    }
}
#endif
