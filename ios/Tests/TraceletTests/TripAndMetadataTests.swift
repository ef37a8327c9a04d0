import Foundation
import Tracelet
import XCTest

/// Trips, per-fix extras and device metadata through Swift: what the app attaches reaches the
/// real collector (`tr` and `x` on fixes, trip and device events), and maps past the caps are
/// typed errors that keep what was in force.
final class TripAndMetadataTests: CollectorTestCase {
    func testFixesRecordedDuringATripCarryItsIdAtTheCollector() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let fixes = walk(startMs: nowMs() - 60_000, count: 5)

        XCTAssertNil(tracelet.currentTrip)
        try tracelet.startTrip(id: "delivery-42", metadata: ["order": "42"])
        XCTAssertEqual(tracelet.currentTrip, "delivery-42")
        try tracelet.record(Array(fixes[0..<3]))
        XCTAssertEqual(try tracelet.endTrip(), "delivery-42")
        XCTAssertNil(tracelet.currentTrip)
        XCTAssertNil(try tracelet.endTrip(), "no trip running any more")
        try tracelet.record(Array(fixes[3...]))
        let result = try await tracelet.flush()

        XCTAssertEqual(result.pending, 0)
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.seq), [1, 2, 3, 4, 5])
        XCTAssertEqual(stored.map(\.tr), ["delivery-42", "delivery-42", "delivery-42", nil, nil])
        let trips = try await client.events(device: device).filter { $0.k.hasPrefix("trip_") }
        XCTAssertEqual(trips.map(\.k), ["trip_start", "trip_end"])
        XCTAssertEqual(trips.map(\.id), ["delivery-42", "delivery-42"])
        XCTAssertEqual(trips.first?.m, ["order": "42"])
    }

    func testFixExtrasReachTheCollectorAndExtrasPastTheCapAreRefused() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        try tracelet.setFixExtras(["driver": "d-7"])

        // 17 entries: one past the cap of 16.
        let tooMany = Dictionary(uniqueKeysWithValues: (0..<17).map { ("k\($0)", "v") })
        assertInvalidMetadata(try tracelet.setFixExtras(tooMany))
        // One entry of 1,025 bytes of key and value: one past the cap of 1,024.
        assertInvalidMetadata(try tracelet.setFixExtras(["k": String(repeating: "v", count: 1_024)]))
        assertInvalidMetadata(try tracelet.setDeviceMetadata(tooMany))
        assertInvalidMetadata(try tracelet.startTrip(id: ""))
        XCTAssertNil(tracelet.currentTrip)
        // Exactly at the caps is fine.
        let atCap = Dictionary(uniqueKeysWithValues: (0..<16).map { ("k\($0)", "v") })
        XCTAssertNoThrow(try tracelet.setDeviceMetadata(atCap))

        try tracelet.record(walk(startMs: nowMs() - 10_000, count: 2))
        try await tracelet.flush()

        // The refused extras changed nothing: the fixes carry the ones set before.
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.x), [["driver": "d-7"], ["driver": "d-7"]])
    }

    func testDeviceMetadataIsSentAsADeviceEvent() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        try tracelet.setDeviceMetadata(["app": "1.4.0", "model": "iPhone15,2"])
        try tracelet.setDeviceMetadata(["app": "1.4.0", "model": "iPhone15,2"])  // unchanged: not sent again
        try tracelet.record(walk(startMs: nowMs() - 10_000, count: 1))
        try await tracelet.flush()

        let deviceEvents = try await client.events(device: device).filter { $0.k == "device" }
        XCTAssertEqual(deviceEvents.map(\.m), [["app": "1.4.0", "model": "iPhone15,2"]])
    }

    private func assertInvalidMetadata(
        _ call: @autoclosure () throws -> Void, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try call(), file: file, line: line) { error in
            guard case TraceletError.invalidMetadata(let reason) = error else {
                return XCTFail("expected invalidMetadata, got \(error)", file: file, line: line)
            }
            XCTAssertFalse(reason.isEmpty, file: file, line: line)
        }
    }
}
