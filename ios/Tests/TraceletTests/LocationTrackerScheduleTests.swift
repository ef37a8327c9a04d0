#if os(Linux)
import CoreLocation
import Foundation
import XCTest
@testable import Tracelet

/// The iOS layer's part in the tracking schedule: what it keeps armed to be woken while the
/// schedule holds tracking off, and CoreLocation following the core. CoreLocation cannot run
/// here: `FakeLocationManager` plays the OS, over the real core.
@MainActor
final class LocationTrackerScheduleTests: XCTestCase {
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

    private func makeTracelet() throws -> Tracelet {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tracelet-schedule-\(UUID().uuidString)", isDirectory: true)
        directories.append(directory)
        return try Tracelet(configuration: TraceletConfiguration(
            endpoint: URL(string: "http://127.0.0.1:9/v1/batches")!, deviceId: "schedule-tests",
            bearerToken: "token", storageDirectory: directory))
    }

    private func makeTracker(_ tracelet: Tracelet, _ manager: FakeLocationManager) -> LocationTracker {
        LocationTracker(
            tracelet: tracelet, options: LocationOptions(), manager: manager,
            declaresBackgroundLocation: true,
            defaults: UserDefaults(suiteName: "tracelet-tests-\(UUID().uuidString)")!)
    }

    /// A window on the whole UTC day `offset` days from today.
    private func wholeDay(_ offset: Int64) -> TrackingSchedule {
        let day = nowMs() / 86_400_000 + offset
        let weekdays: [Weekday] = [.thursday, .friday, .saturday, .sunday, .monday, .tuesday, .wednesday]
        return TrackingSchedule(
            windows: [ScheduleWindow(
                days: [weekdays[Int(day % 7)]], start: TimeOfDay(hour: 0, minute: 0),
                end: TimeOfDay(hour: 24, minute: 0))],
            timeZone: "UTC")
    }

    func testWakeSourcesAreKeptOnlyWhileTheScheduleHoldsTrackingOffWithAlways() async throws {
        let off = ScheduleState(tracking: false, nextTransitionMs: 1_000)
        let always = LocationAuthorization(status: .always)
        XCTAssertEqual(
            ScheduleWakePlan.decide(state: off, tracking: false, authorization: always, significantChangeAvailable: true),
            ScheduleWakePlan(significantChange: true))
        // When In Use cannot relaunch the app: nothing worth arming.
        XCTAssertFalse(ScheduleWakePlan.decide(
            state: off, tracking: false, authorization: LocationAuthorization(status: .whenInUse),
            significantChangeAvailable: true).significantChange)
        XCTAssertFalse(ScheduleWakePlan.decide(
            state: off, tracking: false, authorization: always, significantChangeAvailable: false).significantChange)
        // Tracking on (updates run anyway), no schedule, or a schedule that never changes.
        XCTAssertFalse(ScheduleWakePlan.decide(
            state: off, tracking: true, authorization: always, significantChangeAvailable: true).significantChange)
        XCTAssertFalse(ScheduleWakePlan.decide(
            state: nil, tracking: false, authorization: always, significantChangeAvailable: true).significantChange)
        XCTAssertFalse(ScheduleWakePlan.decide(
            state: ScheduleState(tracking: false, nextTransitionMs: nil), tracking: false, authorization: always,
            significantChangeAvailable: true).significantChange)
    }

    func testAClosedWindowStopsUpdatesAndKeepsSignificantChangesToWakeTheApp() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracker.start()
        XCTAssertTrue(manager.updatingLocation)
        try tracelet.setSchedule(wholeDay(1))
        XCTAssertFalse(tracelet.status.tracking)
        // What the `.scheduleChanged` event makes the tracker do.
        tracker.followSchedule()
        XCTAssertFalse(manager.updatingLocation)
        XCTAssertTrue(manager.monitoringSignificantChanges)
        XCTAssertTrue(manager.monitoringVisits)
    }

    func testAWindowOpeningRestartsUpdatesThroughItsEvent() async throws {
        let manager = FakeLocationManager()
        manager.authorizationStatus = .authorizedAlways
        let tracelet = try makeTracelet()
        let tracker = makeTracker(tracelet, manager)
        try tracelet.setSchedule(wholeDay(1))
        tracker.followSchedule()
        XCTAssertFalse(manager.updatingLocation)
        // The core turns tracking on; the tracker hears `.scheduleChanged` on the main actor.
        try tracelet.setSchedule(wholeDay(0))
        XCTAssertTrue(tracelet.status.tracking)
        for _ in 0..<3_000 where !manager.updatingLocation {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        XCTAssertTrue(manager.updatingLocation)
        withExtendedLifetime(tracker) {}
    }
}
#endif
