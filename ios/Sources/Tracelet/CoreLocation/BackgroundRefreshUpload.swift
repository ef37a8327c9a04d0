#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import Foundation

extension Tracelet {
    /// Registers a `BGAppRefreshTask` that uploads pending fixes while the app is not running in
    /// the foreground. Call before `application(_:didFinishLaunchingWithOptions:)` returns; list
    /// `identifier` under `BGTaskSchedulerPermittedIdentifiers` and enable the `fetch`
    /// background mode.
    @discardableResult
    public func registerBackgroundUpload(identifier: String) -> Bool {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) {
            [self] task in
            // Keep the chain going: each run schedules the next.
            try? Tracelet.scheduleBackgroundUpload(identifier: identifier)
            let completed = Locked(false)
            let complete = { (success: Bool) in
                let first = completed.withLock { done -> Bool in
                    defer { done = true }
                    return !done
                }
                if first { task.setTaskCompleted(success: success) }
            }
            let upload = Task {
                let result = try? await self.flush()
                complete(result != nil)
            }
            // Unsent fixes stay queued for the next attempt.
            task.expirationHandler = {
                upload.cancel()
                complete(false)
            }
        }
    }

    /// Asks iOS to run the registered upload task no earlier than `delay` seconds from now.
    public static func scheduleBackgroundUpload(
        identifier: String, after delay: TimeInterval = 15 * 60
    ) throws {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: delay)
        try BGTaskScheduler.shared.submit(request)
    }
}
#endif
