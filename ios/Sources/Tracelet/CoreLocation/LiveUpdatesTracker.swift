#if canImport(CoreLocation) && os(iOS)
import CoreLocation

/// iOS 17 and later: an alternative to ``LocationTracker`` built on `CLLocationUpdate.liveUpdates`
/// and `CLBackgroundActivitySession`. CoreLocation itself pauses GNSS while the phone is still
/// and resumes on movement (the case where classic `pausesLocationUpdatesAutomatically` never
/// resumes in the background), and a when-in-use app keeps receiving updates in the background.
///
/// It has no accuracy or distance-filter knobs, so the core's ``SamplingRequest`` cannot be
/// applied in full; prefer ``LocationTracker`` when that matters. Like it, create this at launch
/// and call ``resumeIfTracking()``: iOS relaunches an app whose session was active. It also
/// reports the network and the app moving to the background, as ``LocationTracker`` does.
///
/// `@MainActor`: its state is touched from one place only. Releasing it cancels the updates task
/// and ends the background session, so nothing keeps recording after it is gone.
@available(iOS 17.0, *)
@MainActor
public final class LiveUpdatesTracker {
    private let tracelet: Tracelet
    private let configuration: CLLocationUpdate.LiveConfiguration
    private var updates: Task<Void, Never>?
    private var session: CLBackgroundActivitySession?
    private let conditions: SystemConditions

    public init(tracelet: Tracelet, configuration: CLLocationUpdate.LiveConfiguration = .default) {
        self.tracelet = tracelet
        self.configuration = configuration
        conditions = SystemConditions(tracelet: tracelet)
    }

    deinit {
        updates?.cancel()
        session?.invalidate()
    }

    public func start() throws {
        try tracelet.start()
        run()
    }

    public func stop() throws {
        updates?.cancel()
        updates = nil
        session?.invalidate()
        session = nil
        try tracelet.stop()
    }

    public func resumeIfTracking() {
        if tracelet.status.tracking {
            run()
        }
    }

    private func run() {
        guard updates == nil else { return }
        // Created while the app is in the foreground, the session keeps updates flowing after
        // it moves to the background.
        session = CLBackgroundActivitySession()
        let tracelet = tracelet
        let configuration = configuration
        updates = Task.detached {
            do {
                for try await update in CLLocationUpdate.liveUpdates(configuration) {
                    guard let location = update.location else { continue }
                    // Rejections are counted by the core and reported as events.
                    _ = try? tracelet.record(Fix(location))
                }
            } catch {
                // The sequence ends on cancellation (stop()); nothing to report.
            }
        }
    }
}
#endif
