#if canImport(CoreLocation)
import CoreLocation
import Foundation

/// The real `CLLocationManager` behind ``LocationManaging``. Created on the main actor, so
/// CoreLocation calls its delegate on the main thread, which is where the callbacks are passed
/// on.
@MainActor
final class SystemLocationManager: NSObject, LocationManaging {
    private let manager = CLLocationManager()
    weak var events: (any LocationManagerEvents)?

    override init() {
        super.init()
        manager.delegate = self
    }

    var authorizationStatus: CLAuthorizationStatus { manager.authorizationStatus }
    var accuracyAuthorization: CLAccuracyAuthorization { manager.accuracyAuthorization }
    var desiredAccuracy: CLLocationAccuracy {
        get { manager.desiredAccuracy }
        set { manager.desiredAccuracy = newValue }
    }
    var distanceFilter: CLLocationDistance {
        get { manager.distanceFilter }
        set { manager.distanceFilter = newValue }
    }
    var pausesLocationUpdatesAutomatically: Bool {
        get { manager.pausesLocationUpdatesAutomatically }
        set { manager.pausesLocationUpdatesAutomatically = newValue }
    }
    var allowsBackgroundLocationUpdates: Bool {
        get { manager.allowsBackgroundLocationUpdates }
        set { manager.allowsBackgroundLocationUpdates = newValue }
    }
    var showsBackgroundLocationIndicator: Bool {
        get { manager.showsBackgroundLocationIndicator }
        set { manager.showsBackgroundLocationIndicator = newValue }
    }
    var maximumRegionMonitoringDistance: CLLocationDistance { manager.maximumRegionMonitoringDistance }
    var monitoredRegions: Set<CLRegion> { manager.monitoredRegions }
    var significantChangeMonitoringAvailable: Bool {
        CLLocationManager.significantLocationChangeMonitoringAvailable()
    }
    var circularRegionMonitoringAvailable: Bool {
        CLLocationManager.isMonitoringAvailable(for: CLCircularRegion.self)
    }

    func requestWhenInUseAuthorization() { manager.requestWhenInUseAuthorization() }
    func requestAlwaysAuthorization() { manager.requestAlwaysAuthorization() }
    func requestTemporaryFullAccuracyAuthorization(withPurposeKey purposeKey: String) {
        manager.requestTemporaryFullAccuracyAuthorization(withPurposeKey: purposeKey)
    }
    func startUpdatingLocation() { manager.startUpdatingLocation() }
    func stopUpdatingLocation() { manager.stopUpdatingLocation() }
    func startMonitoringSignificantLocationChanges() { manager.startMonitoringSignificantLocationChanges() }
    func stopMonitoringSignificantLocationChanges() { manager.stopMonitoringSignificantLocationChanges() }
    func startMonitoringVisits() { manager.startMonitoringVisits() }
    func stopMonitoringVisits() { manager.stopMonitoringVisits() }
    func startMonitoring(for region: CLRegion) { manager.startMonitoring(for: region) }
    func stopMonitoring(for region: CLRegion) { manager.stopMonitoring(for: region) }
}

// CoreLocation calls the delegate on the thread that created the manager: the main thread.
extension SystemLocationManager: CLLocationManagerDelegate {
    nonisolated func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        nonisolated(unsafe) let locations = locations
        MainActor.assumeIsolated { events?.didUpdateLocations(locations) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didEnterRegion region: CLRegion) {
        nonisolated(unsafe) let region = region
        MainActor.assumeIsolated { events?.didEnterRegion(region) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didExitRegion region: CLRegion) {
        nonisolated(unsafe) let region = region
        MainActor.assumeIsolated { events?.didExitRegion(region) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didVisit visit: CLVisit) {
        MainActor.assumeIsolated { events?.didVisit() }
    }

    nonisolated func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        MainActor.assumeIsolated { events?.didChangeAuthorization() }
    }

    nonisolated func locationManager(
        _ manager: CLLocationManager, monitoringDidFailFor region: CLRegion?, withError error: any Error
    ) {
        nonisolated(unsafe) let region = region
        MainActor.assumeIsolated { events?.monitoringDidFail(for: region) }
    }

    nonisolated func locationManager(_ manager: CLLocationManager, didFailWithError error: any Error) {
        // kCLErrorLocationUnknown is transient and CoreLocation keeps trying; a denial arrives
        // as an authorization change. Nothing to do.
    }
}
#endif
