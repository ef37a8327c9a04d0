import Foundation
import Tracelet
import XCTest

/// The walking skeleton through Swift: fixes recorded via the facade reach the real collector
/// exactly once, in order, with their values.
final class DeliveryTests: CollectorTestCase {
    func testRecordedFixesArriveOnceEachInOrderWithTheirValues() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let fixes = walk(startMs: nowMs() - 600_000, count: 250)

        var seqs: [UInt64] = []
        for fix in fixes {
            seqs.append(try tracelet.record(fix).storedSeq())
        }
        let result = try await tracelet.flush()

        XCTAssertEqual(seqs, Array(1...250))
        XCTAssertEqual(result.pending, 0)
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.count, fixes.count)
        XCTAssertEqual(stored.map(\.seq), Array(1...250))
        for (row, sent) in zip(stored, fixes) {
            assertStored(row, matches: sent)
        }
        let status = tracelet.status
        XCTAssertEqual(status.acceptedTotal, 250)
        XCTAssertEqual(status.uploadedTotal, 250)
        XCTAssertEqual(status.pendingCount, 0)
        guard case .delivered = status.lastUpload else {
            return XCTFail("last upload: \(String(describing: status.lastUpload))")
        }
    }

    func testNaNLatitudeIsATypedErrorAndALaterFixStillArrives() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let fixes = walk(startMs: nowMs() - 10_000, count: 2)
        var bad = fixes[1]
        bad.latitudeDeg = .nan

        try tracelet.record(fixes[0])
        XCTAssertThrowsError(try tracelet.record(bad)) { error in
            guard case TraceletError.invalidFix(let reason) = error else {
                return XCTFail("expected invalidFix, got \(error)")
            }
            XCTAssertTrue(reason.contains("latitude"), reason)
            XCTAssertFalse(reason.lowercased().contains("nan"), "reason echoes the value: \(reason)")
        }
        try tracelet.record(fixes[1])
        try await tracelet.flush()

        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.seq), [1, 2])
        assertStored(stored[1], matches: fixes[1])
        XCTAssertEqual(tracelet.status.rejectedTotal, 1)
    }

    func testABatchStoresTheValidFixesAndReportsTheInvalidOnes() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        var fixes = walk(startMs: nowMs() - 10_000, count: 4)
        fixes[1].horizontalAccuracyM = -1
        fixes[2].speedMps = .infinity

        let result = try tracelet.record(fixes)
        try await tracelet.flush()

        XCTAssertEqual(result.acceptedSequenceNumbers, [1, 2])
        XCTAssertEqual(result.rejected.map(\.index), [1, 2])
        XCTAssertEqual(result.filtered, [])
        for rejection in result.rejected {
            guard case .invalidFix = rejection.error else {
                return XCTFail("expected invalidFix, got \(rejection.error)")
            }
        }
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.count, 2)
        assertStored(stored[0], matches: fixes[0])
        assertStored(stored[1], matches: fixes[3])
    }

    func testRecordingWhileStoppedIsNotTrackingAndStoresNothing() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let fix = walk(startMs: nowMs() - 1_000, count: 1)[0]
        try tracelet.stop()

        XCTAssertThrowsError(try tracelet.record(fix)) { error in
            XCTAssertEqual(error as? TraceletError, .notTracking)
        }
        XCTAssertFalse(tracelet.status.tracking)
        XCTAssertEqual(tracelet.status.pendingCount, 0)
    }

    func testAnUnreachableServerIsAnUploadErrorAndTheFixesStayQueued() async throws {
        // Port 1 on loopback: nothing listens, so the connection is refused at once.
        let unreachable = URL(string: "http://127.0.0.1:1/v1/batches")!
        let tracelet = try Tracelet(
            configuration: configuration(deviceId: makeDeviceId(), endpoint: unreachable))
        try tracelet.start()
        try tracelet.record(walk(startMs: nowMs() - 5_000, count: 3))

        do {
            try await tracelet.flush()
            XCTFail("flush to an unreachable server succeeded")
        } catch TraceletError.upload(let reason) {
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertEqual(tracelet.status.pendingCount, 3)
    }
}
