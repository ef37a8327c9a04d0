#if os(Linux)
import CoreLocation
import Foundation
@testable import Tracelet

/// A fake of `CLLocationManager` (CoreLocation does not exist here; the stand-in module only
/// declares its types): records what the layer asks of it, and lets a test play the OS's part:
/// change the authorization, deliver positions, refuse a region.
@MainActor
final class FakeLocationManager: LocationManaging {
    weak var events: (any LocationManagerEvents)?

    var authorizationStatus: CLAuthorizationStatus = .notDetermined
    var accuracyAuthorization: CLAccuracyAuthorization = .fullAccuracy
    var desiredAccuracy: CLLocationAccuracy = kCLLocationAccuracyBest
    var distanceFilter: CLLocationDistance = kCLDistanceFilterNone
    var pausesLocationUpdatesAutomatically = true
    var allowsBackgroundLocationUpdates = false
    var showsBackgroundLocationIndicator = false
    var maximumRegionMonitoringDistance: CLLocationDistance = 10_000
    var monitoredRegions: Set<CLRegion> = []
    var significantChangeMonitoringAvailable = true
    var circularRegionMonitoringAvailable = true

    private(set) var updatingLocation = false
    private(set) var monitoringSignificantChanges = false
    private(set) var monitoringVisits = false
    private(set) var requests: [String] = []

    var stationaryRegion: CLCircularRegion? {
        monitoredRegions.first { $0.identifier == LocationTracker.stationaryRegionId } as? CLCircularRegion
    }

    func requestWhenInUseAuthorization() { requests.append("whenInUse") }
    func requestAlwaysAuthorization() { requests.append("always") }
    func requestTemporaryFullAccuracyAuthorization(withPurposeKey purposeKey: String) {
        requests.append("fullAccuracy:\(purposeKey)")
    }
    func startUpdatingLocation() { updatingLocation = true }
    func stopUpdatingLocation() { updatingLocation = false }
    func startMonitoringSignificantLocationChanges() { monitoringSignificantChanges = true }
    func stopMonitoringSignificantLocationChanges() { monitoringSignificantChanges = false }
    func startMonitoringVisits() { monitoringVisits = true }
    func stopMonitoringVisits() { monitoringVisits = false }
    func startMonitoring(for region: CLRegion) {
        monitoredRegions = monitoredRegions.filter { $0.identifier != region.identifier }
        monitoredRegions.insert(region)
    }
    func stopMonitoring(for region: CLRegion) {
        monitoredRegions = monitoredRegions.filter { $0.identifier != region.identifier }
    }

    // MARK: The OS's part

    func authorize(_ status: CLAuthorizationStatus, reduced: Bool = false) {
        authorizationStatus = status
        accuracyAuthorization = reduced ? .reducedAccuracy : .fullAccuracy
        events?.didChangeAuthorization()
    }

    /// Delivers a position `northM` metres north of a fixed point, `secondsAgo` in the past.
    func deliver(northM: Double = 0, accuracy: Double = 5, secondsAgo: Double = 0) {
        let location = CLLocation(
            coordinate: CLLocationCoordinate2D(latitude: 48.137 + northM / 111_195, longitude: 11.575),
            altitude: 520, horizontalAccuracy: accuracy, verticalAccuracy: 3, course: -1,
            courseAccuracy: -1, speed: 0, speedAccuracy: -1,
            timestamp: Date(timeIntervalSinceNow: -secondsAgo))
        events?.didUpdateLocations([location])
    }

    /// The OS refuses the stationary region, as `monitoringDidFailFor` reports it.
    func failStationaryRegion() {
        let region = stationaryRegion
        if let region { stopMonitoring(for: region) }
        events?.monitoringDidFail(for: region)
    }

    func exitStationaryRegion() {
        if let region = stationaryRegion { events?.didExitRegion(region) }
    }
}
#endif
