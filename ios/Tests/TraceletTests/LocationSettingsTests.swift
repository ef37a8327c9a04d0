import Tracelet
import XCTest

/// The core's SamplingRequest becomes CoreLocation settings (as plain numbers).
final class LocationSettingsTests: XCTestCase {
    private let always = LocationAuthorization(status: .always)

    private func request(
        _ priority: Priority = .highAccuracy, minDistance: Double = 10,
        geofence: StationaryGeofence? = nil
    ) -> SamplingRequest {
        SamplingRequest(
            priority: priority, intervalMs: 5_000, fastestIntervalMs: 1_000,
            minDistanceM: minDistance, maxBatchDelayMs: 60_000, stationaryGeofence: geofence)
    }

    private func settings(
        _ request: SamplingRequest, authorization: LocationAuthorization? = nil,
        options: LocationOptions = LocationOptions(), declaresBackground: Bool = true
    ) -> LocationSettings {
        // The plan the core gives when the region is armed (see LocationTrackerTests for the rest).
        let idle = request.stationaryGeofence != nil || request.priority == .passive
        return LocationSettings(
            plan: UpdatesPlan(request: request, standardUpdates: !idle, coarseFallback: false),
            options: options, authorization: authorization ?? always,
            declaresBackgroundLocation: declaresBackground, maximumRegionRadius: 1_000)
    }

    func testPriorityBecomesDesiredAccuracy() {
        XCTAssertEqual(settings(request(.highAccuracy)).desiredAccuracy, -1)  // kCLLocationAccuracyBest
        // One step coarser than before: balanced is Wi-Fi quality, low power cell quality.
        XCTAssertEqual(settings(request(.balanced)).desiredAccuracy, 100)
        XCTAssertEqual(settings(request(.lowPower)).desiredAccuracy, 1_000)
        XCTAssertEqual(settings(request(.passive)).desiredAccuracy, 3_000)
    }

    func testMinimumDistanceBecomesDistanceFilter() {
        XCTAssertEqual(settings(request(minDistance: 25)).distanceFilter, 25)
        XCTAssertEqual(settings(request(minDistance: 0)).distanceFilter, -1)  // kCLDistanceFilterNone
    }

    func testTheCoreMovingRequestRunsGnssInTheBackgroundWithoutAutomaticPauses() {
        let moving = settings(request())
        XCTAssertTrue(moving.usesStandardUpdates)
        XCTAssertFalse(moving.pausesAutomatically)
        XCTAssertTrue(moving.allowsBackgroundUpdates)
        XCTAssertTrue(moving.monitorsSignificantChangesAndVisits)
        XCTAssertNil(moving.stationaryRegion)
    }

    func testBackgroundUpdatesNeedTheInfoPlistModeAndTheOption() {
        XCTAssertFalse(settings(request(), declaresBackground: false).allowsBackgroundUpdates)
        let optedOut = LocationOptions(allowsBackgroundUpdates: false, showsBackgroundIndicator: true)
        XCTAssertFalse(settings(request(), options: optedOut).allowsBackgroundUpdates)
        XCTAssertFalse(settings(request(), options: optedOut).showsBackgroundIndicator)
        let indicator = LocationOptions(showsBackgroundIndicator: true)
        XCTAssertTrue(settings(request(), options: indicator).showsBackgroundIndicator)

        XCTAssertTrue(LocationOptions.declaresBackgroundLocation(
            ["UIBackgroundModes": ["fetch", "location"]]))
        XCTAssertFalse(LocationOptions.declaresBackgroundLocation(["UIBackgroundModes": ["fetch"]]))
        XCTAssertFalse(LocationOptions.declaresBackgroundLocation(nil))
    }

    func testAStationaryGeofenceTurnsGnssOffAndBecomesAClampedRegion() {
        let small = StationaryGeofence(latitudeDeg: 48.1, longitudeDeg: 11.5, radiusM: 30)
        let stationary = settings(request(geofence: small))
        XCTAssertFalse(stationary.usesStandardUpdates)
        XCTAssertEqual(
            stationary.stationaryRegion,
            LocationSettings.Region(latitude: 48.1, longitude: 11.5, radius: 100))

        let huge = StationaryGeofence(latitudeDeg: 48.1, longitudeDeg: 11.5, radiusM: 50_000)
        XCTAssertEqual(settings(request(geofence: huge)).stationaryRegion?.radius, 1_000)
    }

    func testWithoutPreciseAlwaysAuthorizationThereIsNoRegionOrRelaunchMonitoring() {
        let geofence = StationaryGeofence(latitudeDeg: 48.1, longitudeDeg: 11.5, radiusM: 150)
        let reduced = settings(
            request(geofence: geofence),
            authorization: LocationAuthorization(status: .always, isReducedAccuracy: true))
        XCTAssertNil(reduced.stationaryRegion)
        XCTAssertTrue(reduced.monitorsSignificantChangesAndVisits)

        let whenInUse = settings(request(), authorization: LocationAuthorization(status: .whenInUse))
        XCTAssertTrue(whenInUse.usesStandardUpdates)
        XCTAssertFalse(whenInUse.monitorsSignificantChangesAndVisits)
    }

    func testNothingRunsWithoutAuthorizationOrForAPassiveRequest() {
        let denied = settings(request(), authorization: LocationAuthorization(status: .denied))
        XCTAssertFalse(denied.usesStandardUpdates)
        XCTAssertFalse(denied.monitorsSignificantChangesAndVisits)
        XCTAssertFalse(settings(request(.passive)).usesStandardUpdates)
    }

    func testTheCoreCurrentRequestMapsToSettings() throws {
        // The live request from the real core, so a change to its shape shows up here.
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tracelet-settings-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tracelet = try Tracelet(configuration: TraceletConfiguration(
            endpoint: URL(string: "https://ingest.example.com/v1/batches")!,
            deviceId: "settings-test", bearerToken: "token", storageDirectory: directory))
        let live = LocationSettings(
            plan: tracelet.planUpdates(armed: WakeSources(
                stationaryRegion: false, significantMotion: false, significantChange: false)),
            options: LocationOptions(), authorization: always,
            declaresBackgroundLocation: true, maximumRegionRadius: 1_000)
        XCTAssertTrue(live.usesStandardUpdates)
        XCTAssertEqual(live.distanceFilter, tracelet.samplingRequest.minDistanceM)
    }
}
