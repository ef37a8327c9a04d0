import Foundation
import Tracelet

/// The screen's state: the SDK's status, its latest events and the location permission.
@MainActor
final class TrackingModel: ObservableObject {
    @Published private(set) var status: TraceletStatus
    @Published private(set) var authorization: LocationAuthorization
    @Published private(set) var recentEvents: [String] = []
    @Published private(set) var lastError: String?

    private let tracelet: Tracelet
    private let tracker: LocationTracker

    init(tracelet: Tracelet, tracker: LocationTracker) {
        self.tracelet = tracelet
        self.tracker = tracker
        status = tracelet.status
        authorization = tracker.authorization
        observe()
    }

    func toggleTracking() {
        do {
            if status.tracking {
                try tracker.stop()
            } else {
                if authorization.nextStep == .requestWhenInUse { tracker.requestWhenInUseAuthorization() }
                try tracker.start()
            }
        } catch {
            lastError = error.localizedDescription
        }
        status = tracelet.status
    }

    func askForAlways() { tracker.requestAlwaysAuthorization() }
    func askForPrecise() { tracker.requestFullAccuracy(purposeKey: "route") }

    func uploadNow() async {
        do {
            try await tracelet.flush()
        } catch {
            lastError = error.localizedDescription
        }
        status = tracelet.status
    }

    private func observe() {
        let events = tracelet.events()
        let authorizationUpdates = tracker.authorizationUpdates()
        Task { [weak self] in
            for await event in events {
                guard let self else { return }
                // Events carry sequence numbers and reasons, never coordinates.
                recentEvents = Array(([String(describing: event)] + recentEvents).prefix(20))
                status = tracelet.status
            }
        }
        Task { [weak self] in
            for await authorization in authorizationUpdates {
                guard let self else { return }
                self.authorization = authorization
            }
        }
    }
}
