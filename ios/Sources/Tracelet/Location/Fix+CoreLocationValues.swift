import Foundation

extension Fix {
    /// A fix from the values of a `CLLocation`, following CoreLocation's conventions: a negative
    /// accuracy marks its value as invalid, so that value (and its accuracy) is left out rather
    /// than sent as a negative number the core would refuse.
    ///
    /// A negative `horizontalAccuracy` means the coordinate itself is invalid; it is passed on
    /// so that the core refuses the fix and counts the rejection.
    public static func fromCoreLocation(
        timestamp: Date,
        latitude: Double,
        longitude: Double,
        horizontalAccuracy: Double,
        altitude: Double,
        verticalAccuracy: Double,
        speed: Double,
        speedAccuracy: Double,
        course: Double,
        courseAccuracy: Double,
        isSimulated: Bool
    ) -> Fix {
        let hasAltitude = verticalAccuracy >= 0
        let hasSpeed = speed >= 0
        let hasCourse = course >= 0
        return Fix(
            timeMs: Int64((timestamp.timeIntervalSince1970 * 1000).rounded()),
            latitudeDeg: latitude,
            longitudeDeg: longitude,
            horizontalAccuracyM: horizontalAccuracy,
            altitudeM: hasAltitude ? altitude : nil,
            verticalAccuracyM: hasAltitude ? verticalAccuracy : nil,
            speedMps: hasSpeed ? speed : nil,
            speedAccuracyMps: hasSpeed && speedAccuracy >= 0 ? speedAccuracy : nil,
            // CoreLocation reports 0..<360, but keep the core's range even at the edge.
            bearingDeg: hasCourse ? course.truncatingRemainder(dividingBy: 360) : nil,
            bearingAccuracyDeg: hasCourse && courseAccuracy >= 0 ? courseAccuracy : nil,
            // CoreLocation blends GNSS, Wi-Fi and cell positions and does not say which it used.
            provider: .fused,
            isMock: isSimulated,
            // CLLocation carries no monotonic timestamp.
            elapsedRealtimeNs: nil
        )
    }
}
