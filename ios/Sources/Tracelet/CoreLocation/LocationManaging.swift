#if canImport(CoreLocation)
import CoreLocation

/// What ``LocationTracker`` needs of a `CLLocationManager`: the seam that lets its decisions be
/// driven by a fake manager in tests. ``SystemLocationManager`` is the real one.
@MainActor
protocol LocationManaging: AnyObject {
    /// Receives the manager's callbacks, on the main actor.
    var events: (any LocationManagerEvents)? { get set }

    var authorizationStatus: CLAuthorizationStatus { get }
    var accuracyAuthorization: CLAccuracyAuthorization { get }
    var desiredAccuracy: CLLocationAccuracy { get set }
    var distanceFilter: CLLocationDistance { get set }
    var pausesLocationUpdatesAutomatically: Bool { get set }
    var allowsBackgroundLocationUpdates: Bool { get set }
    var showsBackgroundLocationIndicator: Bool { get set }
    var maximumRegionMonitoringDistance: CLLocationDistance { get }
    var monitoredRegions: Set<CLRegion> { get }
    /// `CLLocationManager.significantLocationChangeMonitoringAvailable()`.
    var significantChangeMonitoringAvailable: Bool { get }
    /// `CLLocationManager.isMonitoringAvailable(for: CLCircularRegion.self)`.
    var circularRegionMonitoringAvailable: Bool { get }

    func requestWhenInUseAuthorization()
    func requestAlwaysAuthorization()
    func requestTemporaryFullAccuracyAuthorization(withPurposeKey purposeKey: String)
    func startUpdatingLocation()
    func stopUpdatingLocation()
    func startMonitoringSignificantLocationChanges()
    func stopMonitoringSignificantLocationChanges()
    func startMonitoringVisits()
    func stopMonitoringVisits()
    func startMonitoring(for region: CLRegion)
    func stopMonitoring(for region: CLRegion)
}

/// The `CLLocationManagerDelegate` callbacks the tracker acts on, delivered on the main actor.
@MainActor
protocol LocationManagerEvents: AnyObject {
    func didUpdateLocations(_ locations: [CLLocation])
    func didEnterRegion(_ region: CLRegion)
    func didExitRegion(_ region: CLRegion)
    func didVisit()
    func didChangeAuthorization()
    /// `locationManager(_:monitoringDidFailFor:withError:)`: the OS will not watch `region`.
    func monitoringDidFail(for region: CLRegion?)
}
#endif
