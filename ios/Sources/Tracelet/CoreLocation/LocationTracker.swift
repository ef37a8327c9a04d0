#if canImport(CoreLocation) && os(iOS)
import CoreLocation
import Foundation

/// Feeds CoreLocation's positions into a ``Tracelet`` and applies the core's
/// ``SamplingRequest`` to a `CLLocationManager`: the core decides, the OS obeys.
///
/// Create it on the main thread (CoreLocation calls back on the thread that created the
/// manager), early in `application(_:didFinishLaunchingWithOptions:)`, and call
/// ``resumeIfTracking()`` there: after termination, iOS relaunches the app in the background for
/// a region exit, a significant location change or a visit, and only a delegate that exists at
/// launch receives it.
///
/// While it exists it also tells the ``Tracelet`` about the network (`NWPathMonitor`) and about
/// the app moving to the background, which uploads what is pending at once.
///
/// The core announces each new ``SamplingRequest`` with a `samplingChanged` event (also when
/// no fix arrives, say a stop noticed by time); the tracker applies it on the main thread, and
/// reads the request back after each delivery of fixes in case an event was missed. Leaving the
/// stationary geofence's region is reported with ``Tracelet/onGeofenceExit()``.
///
/// Likewise for app geofences: on each `regionsChanged` event the tracker monitors exactly the
/// core's ``RegionRequest`` (as `CLCircularRegion`s named with a prefix, so regions the app
/// monitors itself are left alone), and reports entering or leaving one with
/// ``Tracelet/onRegionEvent(regionId:)``; the core confirms the transition with fixes.
public final class LocationTracker: NSObject {
    private static let stationaryRegionId = "dev.tracelet.stationary"
    /// Prefix of the identifiers of app geofence regions; the rest is the geofence id.
    private static let geofenceRegionPrefix = "dev.tracelet.geofence."

    private let tracelet: Tracelet
    private let options: LocationOptions
    private let manager = CLLocationManager()
    private var applied: LocationSettings?
    private let conditions: SystemConditions
    private let authorizationContinuation: AsyncStream<LocationAuthorization>.Continuation
    private var samplingUpdates: Task<Void, Never>?

    /// The user's location permission as it changes (the newest value is kept for a late reader).
    public let authorizationUpdates: AsyncStream<LocationAuthorization>

    /// The last error from recording (fix rejections also arrive as events on the Tracelet).
    public private(set) var lastError: TraceletError?

    public init(tracelet: Tracelet, options: LocationOptions = LocationOptions()) {
        self.tracelet = tracelet
        self.options = options
        conditions = SystemConditions(tracelet: tracelet)
        (authorizationUpdates, authorizationContinuation) = AsyncStream.makeStream(
            of: LocationAuthorization.self, bufferingPolicy: .bufferingNewest(1))
        super.init()
        manager.delegate = self
        followSamplingChanges()
    }

    deinit {
        samplingUpdates?.cancel()
        authorizationContinuation.finish()
    }

    /// Re-applies the core's sampling or region request on the main thread whenever it
    /// announces a new one. The current request is read when the block runs, so events that
    /// arrive out of order (the core emits from several threads) still leave the newest applied.
    private func followSamplingChanges() {
        let target = WeakTracker(self)
        samplingUpdates = Task { [events = tracelet.events()] in
            for await event in events {
                switch event {
                case .samplingChanged:
                    DispatchQueue.main.async { target.tracker?.applySamplingRequest() }
                case .regionsChanged:
                    DispatchQueue.main.async { target.tracker?.applyRegionRequest() }
                default:
                    continue
                }
            }
        }
    }

    public var authorization: LocationAuthorization {
        LocationAuthorization(manager)
    }

    public func requestWhenInUseAuthorization() {
        manager.requestWhenInUseAuthorization()
    }

    /// Needed for relaunch after termination. iOS may show this prompt later, not at once.
    public func requestAlwaysAuthorization() {
        manager.requestAlwaysAuthorization()
    }

    /// `purposeKey` names an entry of `NSLocationTemporaryUsageDescriptionDictionary`.
    public func requestFullAccuracy(purposeKey: String) {
        manager.requestTemporaryFullAccuracyAuthorization(withPurposeKey: purposeKey)
    }

    /// Starts tracking (persisted in the core) and CoreLocation with it.
    public func start() throws {
        try tracelet.start()
        applySamplingRequest()
        applyRegionRequest()
    }

    /// Stops tracking and every CoreLocation service this tracker started.
    public func stop() throws {
        try tracelet.stop()
        applied = nil
        manager.stopUpdatingLocation()
        manager.stopMonitoringSignificantLocationChanges()
        manager.stopMonitoringVisits()
        stopMonitoringStationaryRegion()
        applyRegionRequest()
    }

    /// Restarts CoreLocation if the app was tracking when it was terminated.
    public func resumeIfTracking() {
        if tracelet.status.tracking {
            applySamplingRequest()
            applyRegionRequest()
        }
    }

    /// Applies the core's current request; does nothing when the outcome is unchanged.
    private func applySamplingRequest() {
        let settings = LocationSettings(
            request: tracelet.samplingRequest,
            options: options,
            authorization: authorization,
            declaresBackgroundLocation: LocationOptions.declaresBackgroundLocation(
                Bundle.main.infoDictionary),
            maximumRegionRadius: manager.maximumRegionMonitoringDistance
        )
        guard settings != applied else { return }
        applied = settings

        manager.desiredAccuracy = settings.desiredAccuracy
        manager.distanceFilter = settings.distanceFilter
        manager.pausesLocationUpdatesAutomatically = settings.pausesAutomatically
        manager.allowsBackgroundLocationUpdates = settings.allowsBackgroundUpdates
        manager.showsBackgroundLocationIndicator = settings.showsBackgroundIndicator

        if settings.usesStandardUpdates {
            manager.startUpdatingLocation()
        } else {
            manager.stopUpdatingLocation()
        }
        if settings.monitorsSignificantChangesAndVisits,
            CLLocationManager.significantLocationChangeMonitoringAvailable()
        {
            manager.startMonitoringSignificantLocationChanges()
            manager.startMonitoringVisits()
        } else {
            manager.stopMonitoringSignificantLocationChanges()
            manager.stopMonitoringVisits()
        }
        stopMonitoringStationaryRegion()
        if let region = settings.stationaryRegion,
            CLLocationManager.isMonitoringAvailable(for: CLCircularRegion.self)
        {
            let circle = CLCircularRegion(
                center: CLLocationCoordinate2D(latitude: region.latitude, longitude: region.longitude),
                radius: region.radius,
                identifier: Self.stationaryRegionId)
            circle.notifyOnEntry = false
            circle.notifyOnExit = true
            manager.startMonitoring(for: circle)
        }
    }

    /// Monitors exactly the app geofence regions the core requests (none while tracking is off
    /// or without Always and precise location), leaving the stationary region and the app's own
    /// regions alone. Regions are at least 100 m: iOS is unreliable below that, and the core
    /// decides the transition on fixes anyway.
    private func applyRegionRequest() {
        var wanted: [String: CLCircularRegion] = [:]
        if tracelet.status.tracking, authorization.allowsRegionMonitoring,
            CLLocationManager.isMonitoringAvailable(for: CLCircularRegion.self)
        {
            for region in tracelet.regionRequest.regions {
                let circle = CLCircularRegion(
                    center: CLLocationCoordinate2D(latitude: region.latitude, longitude: region.longitude),
                    radius: min(
                        max(region.radiusM, LocationSettings.minimumRegionRadius),
                        manager.maximumRegionMonitoringDistance),
                    identifier: Self.geofenceRegionPrefix + region.id)
                circle.notifyOnEntry = true
                circle.notifyOnExit = true
                wanted[circle.identifier] = circle
            }
        }
        for region in manager.monitoredRegions where region.identifier.hasPrefix(Self.geofenceRegionPrefix) {
            if let want = wanted[region.identifier] {
                // Already monitored as requested: leave it be. (A changed one is started again
                // below: monitoring an identifier again replaces its region.)
                if let circle = region as? CLCircularRegion, circle.radius == want.radius,
                    circle.center.latitude == want.center.latitude,
                    circle.center.longitude == want.center.longitude
                {
                    wanted[region.identifier] = nil
                }
            } else {
                manager.stopMonitoring(for: region)
            }
        }
        for circle in wanted.values {
            manager.startMonitoring(for: circle)
        }
    }

    /// The geofence id of an app geofence region, nil for any other region.
    private static func geofenceId(of region: CLRegion) -> String? {
        guard region.identifier.hasPrefix(geofenceRegionPrefix) else { return nil }
        return String(region.identifier.dropFirst(geofenceRegionPrefix.count))
    }

    /// The OS saw an app geofence's region crossed: the core resumes sampling and confirms.
    private func reportRegionEvent(_ region: CLRegion) {
        guard let id = Self.geofenceId(of: region), tracelet.status.tracking else { return }
        tracelet.onRegionEvent(regionId: id)
        applySamplingRequest()
    }

    private func stopMonitoringStationaryRegion() {
        for region in manager.monitoredRegions where region.identifier == Self.stationaryRegionId {
            manager.stopMonitoring(for: region)
        }
    }

    private func record(_ locations: [CLLocation]) {
        do {
            let result = try tracelet.record(locations.map { Fix($0) })
            lastError = result.rejected.last?.error
        } catch {
            // .notTracking here is a delivery that raced with stop(); nothing was stored.
            lastError = error as? TraceletError
        }
        // The samplingChanged event does this too; reading the request back here covers a
        // missed event.
        applySamplingRequest()
    }
}

extension LocationTracker: CLLocationManagerDelegate {
    public func locationManager(_ manager: CLLocationManager, didUpdateLocations locations: [CLLocation]) {
        record(locations)
    }

    public func locationManager(_ manager: CLLocationManager, didExitRegion region: CLRegion) {
        guard region.identifier == Self.stationaryRegionId else {
            reportRegionEvent(region)
            return
        }
        guard tracelet.status.tracking else { return }
        // Moving again: the core resumes sampling (and announces it); apply it right away.
        tracelet.onGeofenceExit()
        applySamplingRequest()
    }

    public func locationManager(_ manager: CLLocationManager, didEnterRegion region: CLRegion) {
        reportRegionEvent(region)
    }

    public func locationManager(_ manager: CLLocationManager, didVisit visit: CLVisit) {
        // Mostly a wake-up after termination; positions follow from the restarted updates.
        resumeIfTracking()
    }

    public func locationManagerDidChangeAuthorization(_ manager: CLLocationManager) {
        authorizationContinuation.yield(authorization)
        applied = nil
        resumeIfTracking()
    }

    public func locationManager(_ manager: CLLocationManager, didFailWithError error: Error) {
        // kCLErrorLocationUnknown is transient and CoreLocation keeps trying; a denial arrives
        // through locationManagerDidChangeAuthorization. Nothing to do.
    }
}
/// Lets the event task reach the tracker without keeping it alive. Read only on the main thread.
private final class WeakTracker: @unchecked Sendable {
    weak var tracker: LocationTracker?

    init(_ tracker: LocationTracker) {
        self.tracker = tracker
    }
}
#endif
