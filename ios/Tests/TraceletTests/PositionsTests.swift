import Foundation
import Tracelet
import XCTest

/// Locations, the odometer, one position on demand and privacy zones, against the real core and
/// collector.
final class PositionsTests: CollectorTestCase {
    private func recentWalk(_ count: Int) -> [Fix] {
        walk(startMs: nowMs() - Int64(count) * 1_000 - 5_000, count: count)
    }

    func testEveryAcceptedFixArrivesAsALocationAndTheLastOneSurvivesARelaunch() async throws {
        let device = makeDeviceId()
        let configuration = configuration(deviceId: device)
        let fixes = recentWalk(60)
        var last: TraceletLocation?
        do {
            let tracelet = try Tracelet(configuration: configuration)
            try tracelet.start()
            XCTAssertNil(tracelet.lastKnownLocation)
            let stream = tracelet.locations()
            let accepted = try tracelet.record(fixes).acceptedSequenceNumbers
            XCTAssertGreaterThan(accepted.count, 40)
            let received = try await withDeadline(seconds: 30) {
                var received: [TraceletLocation] = []
                for await location in stream {
                    received.append(location)
                    if received.count == accepted.count { break }
                }
                return received
            }
            XCTAssertEqual(received.map(\.seq), accepted)
            XCTAssertGreaterThan(received.last?.odometerM ?? 0, 0)
            XCTAssertEqual(tracelet.lastKnownLocation, received.last)
            last = received.last
        }
        let relaunched = try Tracelet(configuration: configuration)
        XCTAssertEqual(relaunched.lastKnownLocation, last)
        XCTAssertEqual(relaunched.odometer.meters, last?.odometerM ?? -1, accuracy: 1e-9)
    }

    func testTheOdometerRefusesANegativeResetAndKeepsItsValue() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        try tracelet.record(recentWalk(60))
        let before = tracelet.odometer
        XCTAssertGreaterThan(before.meters, 0)
        XCTAssertThrowsError(try tracelet.resetOdometer(-1)) { error in
            guard case TraceletError.invalidArgument = error else {
                return XCTFail("expected invalidArgument, got \(error)")
            }
        }
        XCTAssertEqual(tracelet.odometer, before)
        try tracelet.resetOdometer()
        XCTAssertEqual(tracelet.odometer.meters, 0)
    }

    func testCurrentPositionAnswersFromTheCacheThenFromTheNextFixElseTimesOut() async throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        let fixes = recentWalk(12)
        let accepted = try tracelet.record(Array(fixes[0..<10])).acceptedSequenceNumbers
        let cached = try await tracelet.currentPosition(maxAge: 60)
        XCTAssertEqual(cached.seq, accepted.last)

        let waiting = Task { try await tracelet.currentPosition(desiredAccuracy: 50) }
        try await withDeadline(seconds: 30) {
            while !tracelet.currentPositionPending { try await Task.sleep(nanoseconds: 10_000_000) }
        }
        let outcome = try tracelet.record(fixes[10])
        let answered = try await waiting.value
        XCTAssertEqual(answered.seq, try outcome.storedSeq())

        do {
            _ = try await tracelet.currentPosition(timeout: 0.05)
            XCTFail("a position arrived without any fix")
        } catch TraceletError.timeout {}
        do {
            _ = try await tracelet.currentPosition(desiredAccuracy: 0)
            XCTFail("an accuracy of 0 m was accepted")
        } catch TraceletError.invalidArgument {}
    }

    func testNoFixInsideADropZoneIsStored() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let home = PrivacyZone(id: "home", latitudeDeg: 48.8566, longitudeDeg: 2.3522, radiusM: 50, action: .drop)
        try tracelet.setPrivacyZones([home])
        XCTAssertThrowsError(try tracelet.setPrivacyZones([home, home]))
        XCTAssertEqual(tracelet.privacyZones, [home])
        try tracelet.record(recentWalk(60))
        try await tracelet.flush()
        let stored = try await client.fixes(device: device)
        XCTAssertFalse(stored.isEmpty)
        XCTAssertGreaterThan(tracelet.status.privacyDroppedTotal, 0)
        for fix in stored {
            let north = (fix.la - home.latitudeDeg) * 111_320
            let east = (fix.lo - home.longitudeDeg) * 111_320 * cos(home.latitudeDeg * .pi / 180)
            XCTAssertGreaterThan((north * north + east * east).squareRoot(), 50)
        }
    }
}
