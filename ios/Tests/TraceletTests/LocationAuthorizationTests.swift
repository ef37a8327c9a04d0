import Tracelet
import XCTest

final class LocationAuthorizationTests: XCTestCase {
    func testCoreLocationRawValuesMapToEachState() {
        // CLAuthorizationStatus: notDetermined 0, restricted 1, denied 2, authorizedAlways 3,
        // authorizedWhenInUse 4. CLAccuracyAuthorization: fullAccuracy 0, reducedAccuracy 1.
        let expected: [Int32: LocationAuthorization.Status] = [
            0: .notDetermined, 1: .restricted, 2: .denied, 3: .always, 4: .whenInUse,
        ]
        for (raw, status) in expected {
            XCTAssertEqual(
                LocationAuthorization(coreLocationStatus: raw, accuracyAuthorization: 0),
                LocationAuthorization(status: status, isReducedAccuracy: false), "raw \(raw)")
        }
        XCTAssertTrue(
            LocationAuthorization(coreLocationStatus: 4, accuracyAuthorization: 1).isReducedAccuracy)
    }

    func testAnUnknownFutureStatusTracksNothing() {
        let unknown = LocationAuthorization(coreLocationStatus: 99, accuracyAuthorization: 7)
        XCTAssertEqual(unknown.status, .notDetermined)
        XCTAssertFalse(unknown.allowsTracking)
        XCTAssertFalse(unknown.isReducedAccuracy)
    }

    func testWhatEachStateAllowsAndWhatToAskNext() {
        typealias Row = (LocationAuthorization, tracking: Bool, relaunch: Bool, regions: Bool,
                         next: LocationAuthorization.NextStep)
        let rows: [Row] = [
            (.init(status: .notDetermined), false, false, false, .requestWhenInUse),
            (.init(status: .denied), false, false, false, .openSettings),
            (.init(status: .restricted), false, false, false, .none),
            (.init(status: .whenInUse), true, false, false, .requestAlways),
            (.init(status: .always), true, true, true, .none),
            (.init(status: .always, isReducedAccuracy: true), true, true, false, .requestFullAccuracy),
            (.init(status: .whenInUse, isReducedAccuracy: true), true, false, false, .requestFullAccuracy),
        ]
        for (state, tracking, relaunch, regions, next) in rows {
            XCTAssertEqual(state.allowsTracking, tracking, "\(state)")
            XCTAssertEqual(state.allowsRelaunch, relaunch, "\(state)")
            XCTAssertEqual(state.allowsRegionMonitoring, regions, "\(state)")
            XCTAssertEqual(state.nextStep, next, "\(state)")
        }
    }
}
