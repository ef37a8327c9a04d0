#if canImport(CoreLocation)
import CoreLocation
import Foundation

/// Feeds CoreLocation's positions into a ``Tracelet`` and applies the core's plan to a
/// `CLLocationManager`: the core decides, the OS obeys.
///
/// `@MainActor`: create it on the main thread (CoreLocation calls back on the thread that
/// created the manager), early in `application(_:didFinishLaunchingWithOptions:)`, and call
/// ``resumeIfTracking()`` there: after termination, iOS relaunches the app in the background for
/// a region exit, a significant location change or a visit, and only a delegate that exists at
/// launch receives it. The core kept the motion state, so a relaunch of a phone lying still
/// resumes stationary instead of running GNSS for a whole stop timeout.
///
/// Each time it applies the core's ``SamplingRequest`` it first arms what can wake the app (the
/// stationary region with Always and precise location, significant-change and visit
/// monitoring with Always) and asks the core for its ``UpdatesPlan``: standard updates stop only
/// when something armed can wake the app again, otherwise coarse updates continue. With When In
/// Use, with reduced accuracy, or after `monitoringDidFailFor`, the app therefore keeps
/// receiving positions. The permission is reported to the core
/// (``Tracelet/setLocationAccess(_:)``), which records coarse fixes with precise location off and
/// says so as `.accessChanged(report:)`.
///
/// App geofences: on each `regionsChanged` event the tracker monitors exactly the core's
/// ``RegionRequest`` (regions named with a prefix, so those the app monitors itself are left
/// alone) and reports crossings with ``Tracelet/onRegionEvent(regionId:)``.
@MainActor
public final class LocationTracker {
    static let stationaryRegionId = "dev.tracelet.stationary"
    /// Prefix of the identifiers of app geofence regions; the rest is the geofence id.
    static let geofenceRegionPrefix = "dev.tracelet.geofence."
    private static let alwaysRequestedKey = "dev.tracelet.alwaysRequested"

    let tracelet: Tracelet
    private let options: LocationOptions
    let manager: any LocationManaging
    private let declaresBackgroundLocation: Bool
    private let defaults: UserDefaults
    private var applied: LocationSettings?
    private var samplingUpdates: Task<Void, Never>?
    private var authorizationContinuations: [UUID: AsyncStream<LocationAuthorization>.Continuation] = [:]
    /// The OS refused to monitor the stationary region (`monitoringDidFailFor`); cleared when the
    /// core asks for a new one.
    private var stationaryRegionFailed = false
    private var failedGeofence: StationaryGeofence?
    #if os(iOS)
    private var conditions: SystemConditions?
    #endif

    /// The last error from recording (fix rejections also arrive as events on the Tracelet).
    public private(set) var lastError: TraceletError?
    /// The last thing the OS refused (a region it would not monitor), or nil. Tracking goes on
    /// with coarse updates instead; this says why GNSS did not go off.
    public private(set) var lastProblem: String?

    /// Uses the system's `CLLocationManager`, and reports the network and the app moving to the
    /// background to the ``Tracelet`` while it exists.
    public convenience init(tracelet: Tracelet, options: LocationOptions = LocationOptions()) {
        self.init(
            tracelet: tracelet, options: options, manager: SystemLocationManager(),
            declaresBackgroundLocation: LocationOptions.declaresBackgroundLocation(Bundle.main.infoDictionary))
        #if os(iOS)
        conditions = SystemConditions(tracelet: tracelet)
        #endif
    }

    /// The designated initializer, with any manager: tests pass a fake.
    init(
        tracelet: Tracelet, options: LocationOptions, manager: any LocationManaging,
        declaresBackgroundLocation: Bool, defaults: UserDefaults = .standard
    ) {
        self.tracelet = tracelet
        self.options = options
        self.manager = manager
        self.declaresBackgroundLocation = declaresBackgroundLocation
        self.defaults = defaults
        manager.events = self
        followSamplingChanges()
    }

    deinit {
        samplingUpdates?.cancel()
        for continuation in authorizationContinuations.values {
            continuation.finish()
        }
    }

    /// Re-applies the core's sampling or region request on the main actor whenever it
    /// announces one. The current request is read when the block runs, so events that arrive
    /// out of order (the core emits from several threads) still leave the newest applied.
    private func followSamplingChanges() {
        samplingUpdates = Task { [weak self, events = tracelet.events()] in
            for await event in events {
                switch event {
                case .samplingChanged: self?.applySamplingRequest()
                case .regionsChanged: self?.applyRegionRequest()
                case .scheduleChanged: self?.followSchedule()
                default: continue
                }
            }
        }
    }

    /// The user's location permission now.
    public var authorization: LocationAuthorization {
        var value = LocationAuthorization(
            coreLocationStatus: manager.authorizationStatus.rawValue,
            accuracyAuthorization: manager.accuracyAuthorization.rawValue)
        value.alwaysRequested = defaults.bool(forKey: Self.alwaysRequestedKey)
        return value
    }

    /// The permission as it changes, starting with the current value. One stream per call:
    /// several consumers each get every value, and cancelling one leaves the others running.
    public func authorizationUpdates() -> AsyncStream<LocationAuthorization> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: LocationAuthorization.self, bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        authorizationContinuations[id] = continuation
        continuation.yield(authorization)
        continuation.onTermination = { [weak self] _ in
            Task { @MainActor in self?.authorizationContinuations[id] = nil }
        }
        return stream
    }

    /// How many authorization streams are open; for tests.
    var authorizationSubscriberCount: Int { authorizationContinuations.count }

    public func requestWhenInUseAuthorization() {
        manager.requestWhenInUseAuthorization()
    }

    /// Needed for relaunch after termination. iOS shows this prompt once (and may show it
    /// later, not at once); after that ``LocationAuthorization/nextStep`` stops suggesting it.
    public func requestAlwaysAuthorization() {
        defaults.set(true, forKey: Self.alwaysRequestedKey)
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
        stopLocationServices()
    }

    /// Stops every CoreLocation service this tracker started; tracking's own state is left alone.
    func stopLocationServices() {
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

    /// Applies the core's current plan; does nothing when the outcome is unchanged.
    private func applySamplingRequest() {
        guard tracelet.status.tracking else { return }
        let authorization = authorization
        tracelet.setLocationAccess(LocationAccess(authorization))
        let request = tracelet.samplingRequest
        if request.stationaryGeofence != failedGeofence {
            // A new stop: the OS may well accept its region.
            stationaryRegionFailed = false
            failedGeofence = nil
        }
        let armed = LocationSettings.wakeSources(
            request: request, authorization: authorization,
            regionMonitoringAvailable: manager.circularRegionMonitoringAvailable,
            stationaryRegionFailed: stationaryRegionFailed,
            significantChangeAvailable: manager.significantChangeMonitoringAvailable)
        let settings = LocationSettings(
            plan: tracelet.planUpdates(armed: armed),
            options: options,
            authorization: authorization,
            declaresBackgroundLocation: declaresBackgroundLocation,
            maximumRegionRadius: manager.maximumRegionMonitoringDistance)
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
        if armed.significantChange {
            manager.startMonitoringSignificantLocationChanges()
            manager.startMonitoringVisits()
        } else {
            manager.stopMonitoringSignificantLocationChanges()
            manager.stopMonitoringVisits()
        }
        stopMonitoringStationaryRegion()
        if armed.stationaryRegion, let region = settings.stationaryRegion {
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
            manager.circularRegionMonitoringAvailable
        {
            for region in tracelet.regionRequest.regions {
                let circle = CLCircularRegion(
                    center: CLLocationCoordinate2D(latitude: region.centerLat, longitude: region.centerLon),
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

extension LocationTracker: LocationManagerEvents {
    func didUpdateLocations(_ locations: [CLLocation]) {
        // While off, a position is a wake-up (significant change): a window may have opened.
        if !tracelet.status.tracking { applyScheduleOnWake() }
        record(locations)
    }

    func didExitRegion(_ region: CLRegion) {
        guard region.identifier == Self.stationaryRegionId else {
            reportRegionEvent(region)
            return
        }
        guard tracelet.status.tracking else { return }
        // Moving again: the core resumes sampling (and announces it); apply it right away.
        tracelet.onGeofenceExit()
        applySamplingRequest()
    }

    func didEnterRegion(_ region: CLRegion) {
        reportRegionEvent(region)
    }

    func didVisit() {
        // Mostly a wake-up after termination; positions follow from the restarted updates.
        applyScheduleOnWake()
        resumeIfTracking()
    }

    func didChangeAuthorization() {
        let current = authorization
        for continuation in authorizationContinuations.values {
            continuation.yield(current)
        }
        applied = nil
        if tracelet.status.tracking {
            if current.allowsTracking {
                resumeIfTracking()
            } else {
                // Denied or restricted: report it (nothing can be recorded) and stop asking.
                tracelet.setLocationAccess(LocationAccess(current))
                manager.stopUpdatingLocation()
                manager.stopMonitoringSignificantLocationChanges()
                manager.stopMonitoringVisits()
                stopMonitoringStationaryRegion()
            }
        }
    }

    func monitoringDidFail(for region: CLRegion?) {
        guard region?.identifier == Self.stationaryRegionId else {
            if let region, region.identifier.hasPrefix(Self.geofenceRegionPrefix) {
                lastProblem = "region monitoring failed for a geofence; fixes still decide its events"
            }
            return
        }
        // Without the region nothing wakes the app at a stop: keep coarse updates instead.
        stationaryRegionFailed = true
        failedGeofence = tracelet.samplingRequest.stationaryGeofence
        lastProblem = "stationary region monitoring failed; coarse updates continue"
        applied = nil
        applySamplingRequest()
    }
}
#endif
