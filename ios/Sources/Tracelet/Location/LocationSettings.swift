/// How the CoreLocation layer applies the core's ``UpdatesPlan`` (its ``SamplingRequest``, and
/// whether standard updates may stop), in plain numbers so that the decision is tested on every
/// platform and the OS-specific code only copies fields.
///
/// iOS has no update interval: `intervalMs`, `fastestIntervalMs` and `maxBatchDelayMs` have no
/// CoreLocation counterpart, so accuracy and distance filter carry the request.
public struct LocationSettings: Equatable, Hashable, Sendable {
    /// CoreLocation's accuracy constants, by value (`kCLLocationAccuracy...`).
    public enum Accuracy {
        public static let best = -1.0
        public static let hundredMeters = 100.0
        public static let kilometer = 1000.0
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
        plan: UpdatesPlan,
        options: LocationOptions,
        authorization: LocationAuthorization,
        declaresBackgroundLocation: Bool,
        maximumRegionRadius: Double
    ) {
        let request = plan.request
        desiredAccuracy = Self.accuracy(for: request.priority)
        distanceFilter = request.minDistanceM > 0 ? request.minDistanceM : Self.noDistanceFilter
        pausesAutomatically = false
        allowsBackgroundUpdates = options.allowsBackgroundUpdates && declaresBackgroundLocation
        showsBackgroundIndicator = options.showsBackgroundIndicator && allowsBackgroundUpdates
        monitorsSignificantChangesAndVisits = authorization.allowsRelaunch

        let region = request.stationaryGeofence.flatMap { geofence in
            authorization.allowsRegionMonitoring
                ? Region(
                    latitude: geofence.latitudeDeg, longitude: geofence.longitudeDeg,
                    radius: min(max(geofence.radiusM, Self.minimumRegionRadius), maximumRegionRadius))
                : nil
        }
        stationaryRegion = region
        // Standard updates stop only when the core's plan says a wake-up source was armed (the
        // region, significant changes); with When In Use or reduced accuracy nothing can wake
        // the app, and the plan keeps coarse updates instead of going deaf.
        usesStandardUpdates = authorization.allowsTracking && plan.standardUpdates
    }

    /// What the layer can arm for the core's `request`: the stationary region needs Always with
    /// precise location, monitoring available, and no failure reported for it; significant
    /// changes need Always. The core's plan is decided from these.
    public static func wakeSources(
        request: SamplingRequest,
        authorization: LocationAuthorization,
        regionMonitoringAvailable: Bool,
        stationaryRegionFailed: Bool,
        significantChangeAvailable: Bool
    ) -> WakeSources {
        WakeSources(
            stationaryRegion: request.stationaryGeofence != nil && authorization.allowsRegionMonitoring
                && regionMonitoringAvailable && !stationaryRegionFailed,
            significantMotion: false,
            significantChange: authorization.allowsRelaunch && significantChangeAvailable)
    }

    /// One step coarser than the priority's name suggests: CoreLocation's constants are goals
    /// it overshoots with GNSS, so `balanced` (Wi-Fi quality) asks for 100 m, not 10 m.
    static func accuracy(for priority: Priority) -> Double {
        switch priority {
        case .highAccuracy: return Accuracy.best
        case .balanced: return Accuracy.hundredMeters
        case .lowPower: return Accuracy.kilometer
        case .passive: return Accuracy.threeKilometers
        }
    }
}
