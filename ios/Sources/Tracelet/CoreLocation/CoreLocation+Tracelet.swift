#if canImport(CoreLocation)
import CoreLocation

// Thin adapters from CoreLocation types to the plain values the rest of the SDK uses; the
// conventions they rely on are in Fix+CoreLocationValues.swift and tested there.

extension Fix {
    /// The core's fix for a CoreLocation position.
    public init(_ location: CLLocation) {
        self = Fix.fromCoreLocation(
            timestamp: location.timestamp,
            latitude: location.coordinate.latitude,
            longitude: location.coordinate.longitude,
            horizontalAccuracy: location.horizontalAccuracy,
            // Height above the WGS 84 ellipsoid, as Android reports it, not above sea level.
            altitude: location.ellipsoidalAltitude,
            verticalAccuracy: location.verticalAccuracy,
            speed: location.speed,
            speedAccuracy: location.speedAccuracy,
            course: location.course,
            courseAccuracy: location.courseAccuracy,
            isSimulated: location.sourceInformation?.isSimulatedBySoftware ?? false
        )
    }
}

extension LocationAuthorization {
    /// The permission `manager` currently holds.
    public init(_ manager: CLLocationManager) {
        self.init(
            coreLocationStatus: manager.authorizationStatus.rawValue,
            accuracyAuthorization: manager.accuracyAuthorization.rawValue
        )
    }
}
#endif
