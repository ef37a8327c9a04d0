#if os(Linux)
import CoreLocation
import Foundation
import XCTest
@testable import Tracelet

/// The CoreLocation layer's decisions, driven through a fake `CLLocationManager` (see
/// `FakeLocationManager`: CoreLocation itself cannot run here) over the real core. Each test
/// plays one situation real users are in: When In Use, Precise Location off, a refused region,
/// a relaunch, the permission changing. Every test is `async` so that Linux's test discovery
/// runs it on the main actor.
@MainActor
final class LocationTrackerTests: XCTestCase {
    nonisolated(unsafe) private var directories: [URL] = []

    override func tearDown() {
        for directory in directories {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(
                at: directory.deletingLastPathComponent()
                    .appendingPathComponent(directory.lastPathComponent + "-marker"))
        }
        super.tearDown()
    }

    private func makeDirectory() -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tracelet-tracker-\(UUID().uuidString)", isDirectory: true)
        directories.append(directory)
        return directory
    }

    /// A real core whose policy stops at once (no three-minute wait) and never uploads.
    private func makeTracelet(_ directory: URL? = nil) throws -> Tracelet {
        let tracelet = try Tracelet(configuration: TraceletConfiguration(
            endpoint: URL(string: "http://127.0.0.1:9/v1/batches")!, deviceId: "tracker-tests",
            bearerToken: "token", storageDirectory: directory ?? makeDirectory()))
        try tracelet.setPolicyParameter("stopping_after_ms", to: 0)
        try tracelet.setPolicyParameter("stop_timeout_ms", to: 1)
        return tracelet
    }

    private func makeTracker(
        _ tracelet: Tracelet, _ manager: FakeLocationManager, declaresBackground: Bool = true
    ) -> LocationTracker {
        let defaults = UserDefaults(suiteName: "tracelet-tests-\(UUID().uuidString)")!
        return LocationTracker(
            tracelet: tracelet, options: LocationOptions(), manager: manager,
            declaresBackgroundLocation: declaresBackground, defaults: defaults)
    }

    /// Two fixes at one place: with the test policy the core is stationary after the second.
    private func comeToRest(_ manager: FakeLocationManager) {
        manager.deliver(secondsAgo: 2)
        manager.deliver(secondsAgo: 1)
    }

    // MARK: When In Use

    func testWhenInUseStartsPreciseUpdatesWithoutRelaunchMonitoring() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        let tracker = makeTracker(try makeTracelet(), manager)
        try tracker.start()
        XCTAssertTrue(manager.updatingLocation)
        XCTAssertEqual(manager.desiredAccuracy, kCLLocationAccuracyBest)
        XCTAssertFalse(manager.monitoringSignificantChanges)
        XCTAssertFalse(manager.pausesLocationUpdatesAutomatically)
    }

    func testWhenInUseKeepsCoarseUpdatesAtAStopInsteadOfGoingDeaf() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        comeToRest(manager)
        XCTAssertEqual(tracelet.status.motionState, .stationary)
        XCTAssertNil(manager.stationaryRegion, "When In Use cannot monitor regions")
        XCTAssertTrue(manager.updatingLocation, "standard updates stopped with nothing to wake the app")
        XCTAssertGreaterThanOrEqual(manager.desiredAccuracy, kCLLocationAccuracyKilometer)
    }

    func testWhenInUseIsReportedToTheCoreAsNoBackgroundWake() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        XCTAssertEqual(tracelet.accessReport, AccessReport(mode: .precise, backgroundWake: false))
    }

    func testAFixFarFromTheStopResumesPreciseUpdatesUnderWhenInUse() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        manager.deliver(secondsAgo: 120)
        manager.deliver(secondsAgo: 119)
        XCTAssertEqual(tracelet.status.motionState, .stationary)
        // 200 m in two minutes: walking away, plausible to the filter's speed gate.
        manager.deliver(northM: 200, accuracy: 10)
        XCTAssertNotEqual(tracelet.status.motionState, .stationary)
        XCTAssertEqual(manager.desiredAccuracy, kCLLocationAccuracyBest)
    }

    // MARK: Always

    func testAlwaysWithPreciseLocationTurnsGnssOffAtAStopBehindARegion() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracker = makeTracker(try makeTracelet(), manager)
        try tracker.start()
        XCTAssertTrue(manager.monitoringSignificantChanges)
        XCTAssertTrue(manager.monitoringVisits)
        comeToRest(manager)
        XCTAssertNotNil(manager.stationaryRegion)
        XCTAssertFalse(manager.updatingLocation)
    }

    func testLeavingTheStationaryRegionResumesGnss() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        comeToRest(manager)
        manager.exitStationaryRegion()
        XCTAssertEqual(tracelet.status.motionState, .moving)
        XCTAssertTrue(manager.updatingLocation)
        XCTAssertNil(manager.stationaryRegion)
    }

    // MARK: Region failure

    func testARefusedStationaryRegionKeepsCoarseUpdatesAndSaysWhy() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        manager.significantChangeMonitoringAvailable = false
        let tracker = makeTracker(try makeTracelet(), manager)
        try tracker.start()
        comeToRest(manager)
        XCTAssertFalse(manager.updatingLocation)
        manager.failStationaryRegion()
        XCTAssertTrue(manager.updatingLocation, "GNSS off and no region: the same dead state")
        XCTAssertGreaterThanOrEqual(manager.desiredAccuracy, kCLLocationAccuracyKilometer)
        XCTAssertNotNil(tracker.lastProblem)
    }

    func testRegionMonitoringUnavailableLeavesSignificantChangesAsTheWakeUp() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        manager.circularRegionMonitoringAvailable = false
        let tracker = makeTracker(try makeTracelet(), manager)
        try tracker.start()
        comeToRest(manager)
        XCTAssertNil(manager.stationaryRegion)
        XCTAssertTrue(manager.monitoringSignificantChanges)
        XCTAssertFalse(manager.updatingLocation, "significant changes can wake the app")
    }

    // MARK: Reduced accuracy

    func testPreciseLocationOffRecordsCoarseFixesWithoutGnssAndTellsTheApp() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        manager.accuracyAuthorization = .reducedAccuracy
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        XCTAssertEqual(tracelet.accessReport.mode, .approximate)
        XCTAssertNotEqual(manager.desiredAccuracy, kCLLocationAccuracyBest, "the blue indicator for nothing")
        manager.deliver(accuracy: 5_000, secondsAgo: 1)
        XCTAssertEqual(tracelet.status.acceptedTotal, 1, "a 5 km fix was refused")
        XCTAssertNil(manager.stationaryRegion)
    }

    func testTurningPreciseLocationBackOnResumesPreciseRecording() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        manager.accuracyAuthorization = .reducedAccuracy
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        XCTAssertEqual(tracelet.accessReport.mode, .approximate)
        manager.authorize(.authorizedWhenInUse, reduced: false)
        XCTAssertEqual(tracelet.accessReport.mode, .precise)
        XCTAssertEqual(manager.desiredAccuracy, kCLLocationAccuracyBest)
    }

    // MARK: Relaunch

    func testARelaunchOfAStillPhoneResumesTheStopInsteadOfRunningGnss() async throws {
        let directory = makeDirectory()
        do {
            let manager = FakeLocationManager()
            manager.authorizationStatus = .authorizedAlways
            let tracker = makeTracker(try makeTracelet(directory), manager)
            try tracker.start()
            comeToRest(manager)
            XCTAssertNotNil(manager.stationaryRegion)
        }
        // Terminated; iOS relaunches the app for a visit. A new process, a new manager.
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracelet = try makeTracelet(directory)
        let tracker = makeTracker(tracelet, manager)
        tracker.resumeIfTracking()
        XCTAssertEqual(tracelet.status.motionState, .stationary)
        XCTAssertFalse(manager.updatingLocation, "best-accuracy GNSS for the whole stop timeout")
        XCTAssertNotNil(manager.stationaryRegion)
    }

    func testARelaunchAfterStopStartsNothing() async throws {
        let directory = makeDirectory()
        do {
            let manager = FakeLocationManager()
            manager.authorizationStatus = .authorizedAlways
            let tracker = makeTracker(try makeTracelet(directory), manager)
            try tracker.start()
            try tracker.stop()
            XCTAssertFalse(manager.updatingLocation)
            XCTAssertFalse(manager.monitoringSignificantChanges)
        }
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracker = makeTracker(try makeTracelet(directory), manager)
        tracker.resumeIfTracking()
        XCTAssertFalse(manager.updatingLocation)
        XCTAssertTrue(manager.monitoredRegions.isEmpty)
    }

    // MARK: Authorization changes

    func testGrantingWhenInUseWhileTrackingStartsUpdates() async throws {
        let manager = FakeLocationManager()
        let tracker = makeTracker(try makeTracelet(), manager)
        try tracker.start()
        XCTAssertFalse(manager.updatingLocation, "nothing runs before the user answers")
        manager.authorize(.authorizedWhenInUse)
        XCTAssertTrue(manager.updatingLocation)
    }

    func testRevokingThePermissionStopsEverythingAndReportsBlocked() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        manager.authorize(.denied)
        XCTAssertFalse(manager.updatingLocation)
        XCTAssertFalse(manager.monitoringSignificantChanges)
        XCTAssertEqual(tracelet.accessReport.mode, .blocked)
    }

    func testEachAuthorizationStreamGetsEveryValueAndEndsAlone() async throws {
        let manager = FakeLocationManager()
        let tracker = makeTracker(try makeTracelet(), manager)
        var first = tracker.authorizationUpdates().makeAsyncIterator()
        var second = tracker.authorizationUpdates().makeAsyncIterator()
        let first1 = await first.next()?.status
        XCTAssertEqual(first1, .notDetermined)
        let second1 = await second.next()?.status
        XCTAssertEqual(second1, .notDetermined)
        manager.authorize(.authorizedWhenInUse)
        let first2 = await first.next()?.status
        XCTAssertEqual(first2, .whenInUse)
        let second2 = await second.next()?.status
        XCTAssertEqual(second2, .whenInUse, "two consumers split the values")
        XCTAssertEqual(tracker.authorizationSubscriberCount, 2)
    }

    func testCancellingOneAuthorizationStreamLeavesTheOtherRunning() async throws {
        let manager = FakeLocationManager()
        let tracker = makeTracker(try makeTracelet(), manager)
        let cancelled = Task { @MainActor in
            for await _ in tracker.authorizationUpdates() {}
        }
        var kept = tracker.authorizationUpdates().makeAsyncIterator()
        _ = await kept.next()
        cancelled.cancel()
        _ = await cancelled.value
        manager.authorize(.authorizedAlways)
        let kept1 = await kept.next()?.status
        XCTAssertEqual(kept1, .always, "one cancellation finished every stream")
    }

    func testAlwaysIsSuggestedUntilAskedOnceAndTheRequestReachesTheManager() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        let tracker = makeTracker(try makeTracelet(), manager)
        XCTAssertEqual(tracker.authorization.nextStep, .requestAlways)
        tracker.requestAlwaysAuthorization()
        XCTAssertEqual(manager.requests, ["always"])
        XCTAssertEqual(tracker.authorization.nextStep, LocationAuthorization.NextStep.none)
    }

    func testTheBackgroundModeDecidesBackgroundUpdates() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedWhenInUse
        let tracker = makeTracker(try makeTracelet(), manager, declaresBackground: false)
        try tracker.start()
        XCTAssertFalse(manager.allowsBackgroundLocationUpdates, "CoreLocation throws without the mode")
    }
}
#endif
