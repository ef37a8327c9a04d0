/// How the CoreLocation layer applies the core's ``SamplingRequest``, in plain numbers so that
/// the decision is tested on every platform and the OS-specific code only copies fields.
///
/// iOS has no update interval: `intervalMs`, `fastestIntervalMs` and `maxBatchDelayMs` have no
/// CoreLocation counterpart, so accuracy and distance filter carry the request.
public struct LocationSettings: Equatable, Hashable, Sendable {
    /// CoreLocation's accuracy constants, by value (`kCLLocationAccuracy...`).
    public enum Accuracy {
        public static let best = -1.0
        public static let nearestTenMeters = 10.0
        public static let hundredMeters = 100.0
        public static let threeKilometers = 3000.0
    }

    /// `kCLDistanceFilterNone`.
    public static let noDistanceFilter = -1.0
    /// Below this radius iOS region monitoring is unreliable (it fires late or not at all).
    public static let minimumRegionRadius = 100.0

    public struct Region: Equatable, Hashable, Sendable {
        public var latitude: Double
        public var longitude: Double
        public var radius: Double

        public init(latitude: Double, longitude: Double, radius: Double) {
            self.latitude = latitude
            self.longitude = longitude
            self.radius = radius
        }
    }

    /// `desiredAccuracy`, metres (or ``Accuracy/best``).
    public var desiredAccuracy: Double
    /// `distanceFilter`, metres (or ``noDistanceFilter``).
    public var distanceFilter: Double
    /// Standard location updates (GNSS and friends) on or off.
    public var usesStandardUpdates: Bool
    /// Always false: iOS resumes automatically paused updates only in the foreground, so a
    /// still phone would never report again. The core decides when to stop, by geofence.
    public var pausesAutomatically: Bool
    public var allowsBackgroundUpdates: Bool
    public var showsBackgroundIndicator: Bool
    /// Significant-change and visit monitoring: cheap, and they relaunch a terminated app.
    public var monitorsSignificantChangesAndVisits: Bool
    /// The stationary geofence to monitor for an exit, if any.
    public var stationaryRegion: Region?

    public init(
        request: SamplingRequest,
        options: LocationOptions,
        authorization: LocationAuthorization,
        declaresBackgroundLocation: Bool,
        maximumRegionRadius: Double
    ) {
        desiredAccuracy = Self.accuracy(for: request.priority)
        distanceFilter = request.minDistanceM > 0 ? request.minDistanceM : Self.noDistanceFilter
        pausesAutomatically = false
        allowsBackgroundUpdates = options.allowsBackgroundUpdates && declaresBackgroundLocation
        showsBackgroundIndicator = options.showsBackgroundIndicator && allowsBackgroundUpdates
        monitorsSignificantChangesAndVisits = authorization.allowsRelaunch

        let region = request.stationaryGeofence.flatMap { geofence in
            authorization.allowsRegionMonitoring
                ? Region(
                    latitude: geofence.latitude, longitude: geofence.longitude,
                    radius: min(max(geofence.radiusM, Self.minimumRegionRadius), maximumRegionRadius))
                : nil
        }
        stationaryRegion = region
        // While stationary the geofence (or, without one, significant changes) watches for
        // movement, and GNSS stays off; `.passive` asks for no updates of our own at all.
        usesStandardUpdates = authorization.allowsTracking
            && request.priority != .passive
            && request.stationaryGeofence == nil
    }

    static func accuracy(for priority: Priority) -> Double {
        switch priority {
        case .highAccuracy: return Accuracy.best
        case .balanced: return Accuracy.nearestTenMeters
        case .lowPower: return Accuracy.hundredMeters
        case .passive: return Accuracy.threeKilometers
        }
    }
}
