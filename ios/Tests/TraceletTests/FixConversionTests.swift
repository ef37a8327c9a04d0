import Foundation
import Tracelet
import XCTest

/// CoreLocation's values become core fixes without CoreLocation: its "negative means invalid"
/// conventions are honoured, and the result travels through the real core to the collector.
final class FixConversionTests: CollectorTestCase {
    private let timestamp = Date(timeIntervalSince1970: 1_700_000_000.123_4)

    private func convert(
        horizontalAccuracy: Double = 5, verticalAccuracy: Double = 3, speed: Double = 1.5,
        speedAccuracy: Double = 0.5, course: Double = 90, courseAccuracy: Double = 10,
        timestamp: Date? = nil
    ) -> Fix {
        Fix.fromCoreLocation(
            timestamp: timestamp ?? self.timestamp, latitude: 52.52, longitude: 13.405,
            horizontalAccuracy: horizontalAccuracy, altitude: 34, verticalAccuracy: verticalAccuracy,
            speed: speed, speedAccuracy: speedAccuracy, course: course,
            courseAccuracy: courseAccuracy, isSimulated: false)
    }

    func testAValidLocationKeepsEveryValue() {
        let fix = convert()
        XCTAssertEqual(fix, Fix(
            timeMs: 1_700_000_000_123, latitudeDeg: 52.52, longitudeDeg: 13.405, horizontalAccuracyM: 5,
            altitudeM: 34, verticalAccuracyM: 3, speedMps: 1.5, speedAccuracyMps: 0.5,
            bearingDeg: 90, bearingAccuracyDeg: 10, provider: .fused, isMock: false,
            elapsedRealtimeNs: nil))
    }

    func testNegativeAccuraciesDropTheValuesTheyQualify() {
        let noAltitude = convert(verticalAccuracy: -1)
        XCTAssertNil(noAltitude.altitudeM)
        XCTAssertNil(noAltitude.verticalAccuracyM)

        let noSpeed = convert(speed: -1)
        XCTAssertNil(noSpeed.speedMps)
        XCTAssertNil(noSpeed.speedAccuracyMps)
        XCTAssertEqual(convert(speedAccuracy: -1).speedMps, 1.5)
        XCTAssertNil(convert(speedAccuracy: -1).speedAccuracyMps)

        let noCourse = convert(course: -1)
        XCTAssertNil(noCourse.bearingDeg)
        XCTAssertNil(noCourse.bearingAccuracyDeg)
        XCTAssertEqual(convert(courseAccuracy: -1).bearingDeg, 90)
        XCTAssertNil(convert(courseAccuracy: -1).bearingAccuracyDeg)
    }

    func testACourseOfExactly360IsNorth() {
        XCTAssertEqual(convert(course: 360).bearingDeg, 0)
    }

    func testConvertedFixesTravelToTheCollector() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let recent = Date(timeIntervalSinceNow: -60)
        let full = convert(timestamp: recent)
        let sparse = convert(
            verticalAccuracy: -1, speed: -1, course: -1, timestamp: recent.addingTimeInterval(1))

        try tracelet.record([full, sparse])
        try await tracelet.flush()

        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.count, 2)
        assertStored(stored[0], matches: full)
        assertStored(stored[1], matches: sparse)
        XCTAssertNil(stored[1].al)
        XCTAssertNil(stored[1].sp)
        XCTAssertNil(stored[1].be)
    }

    func testAnInvalidCoordinateIsRefusedByTheCoreAsATypedError() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        let invalid = convert(horizontalAccuracy: -1, timestamp: Date())

        XCTAssertThrowsError(try tracelet.record(invalid)) { error in
            guard case TraceletError.invalidFix = error else {
                return XCTFail("expected invalidFix, got \(error)")
            }
        }
        XCTAssertEqual(tracelet.status.rejectedTotal, 1)
    }
}
