import Foundation
import Tracelet
import XCTest

/// The on-device filter through Swift: a valid fix it judges bad comes back as `.filtered`, is
/// counted, and never reaches the collector, while the fixes around it do.
final class FilterTests: CollectorTestCase {
    /// A walk whose fix at `index` is moved about 50 km north, one second after its neighbour.
    private func walkWithJump(count: Int, at index: Int) -> [Fix] {
        var fixes = walk(startMs: nowMs() - 60_000, count: count)
        fixes[index].latitudeDeg += 0.45
        return fixes
    }

    func testAJumpIsFilteredAsImpliedSpeedAndItsNeighboursArrive() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let fixes = walkWithJump(count: 5, at: 2)

        let outcomes = try fixes.map { try tracelet.record($0) }
        try await tracelet.flush()

        XCTAssertEqual(outcomes[2], .filtered(reason: .impliedSpeed))
        XCTAssertEqual(
            outcomes.enumerated().filter { $0.offset != 2 }.map(\.element),
            [1, 2, 3, 4].map { RecordOutcome.stored(seq: $0) })
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.t), [0, 1, 3, 4].map { fixes[$0].timeMs })
        for (row, index) in zip(stored, [0, 1, 3, 4]) {
            assertStored(row, matches: fixes[index])
        }
    }

    func testABatchReportsTheFilteredFixByIndexApartFromTheInvalidOnes() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        var fixes = walkWithJump(count: 5, at: 3)
        fixes[1].horizontalAccuracyM = 0

        let result = try tracelet.record(fixes)
        try await tracelet.flush()

        XCTAssertEqual(result.acceptedSequenceNumbers, [1, 2, 3])
        XCTAssertEqual(result.rejected.map(\.index), [1])
        XCTAssertEqual(result.filtered.map(\.index), [3])
        XCTAssertEqual(result.filtered.map(\.reason), ["implied_speed"])
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.t), [0, 2, 4].map { fixes[$0].timeMs })
    }

    func testStatusCountsTheFilteredFixUnderItsReason() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        let fixes = walkWithJump(count: 4, at: 2)
        for fix in fixes {
            try tracelet.record(fix)
        }
        var invalid = fixes[3]
        invalid.latitudeDeg = 91
        XCTAssertThrowsError(try tracelet.record(invalid))

        let status = tracelet.status
        XCTAssertEqual(status.rejectedTotal, 2)
        XCTAssertEqual(status.acceptedTotal, 3)
        XCTAssertEqual(status.rejectedByReason, [
            ReasonCount(reason: "implied_speed", count: 1),
            ReasonCount(reason: "invalid_value", count: 1),
        ])
        // Recently recorded fixes within the stop radius: moving, or a candidate stop.
        XCTAssertTrue(status.motionState == .moving || status.motionState == .stopping)
    }

    func testWithTheFilterOffTheJumpIsStoredLikeAnyValidFix() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device, filterEnabled: false)
        let fixes = walkWithJump(count: 3, at: 1)

        let seqs = try fixes.map { try tracelet.record($0).storedSeq() }
        try await tracelet.flush()

        XCTAssertEqual(seqs, [1, 2, 3])
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.t), fixes.map(\.timeMs))
    }

    func testMockFixesAreRefusedWhenAskedAndSmoothingCanBeSwitchedOff() async throws {
        var config = configuration(deviceId: makeDeviceId())
        config.rejectMock = true
        config.smoothingEnabled = false
        var tracelet: Tracelet? = try Tracelet(configuration: config)
        try tracelet!.start()
        let events = tracelet!.events()
        var fixes = walk(startMs: nowMs() - 3_000, count: 3)
        fixes[1].isMock = true
        let outcomes = try fixes.map { try tracelet!.record($0) }
        XCTAssertEqual(try outcomes[0].storedSeq(), 1)
        guard case .filtered(let reason) = outcomes[1] else {
            return XCTFail("a mock fix must be refused, got \(outcomes[1])")
        }
        XCTAssertEqual(reason, .mock)
        XCTAssertEqual(try outcomes[2].storedSeq(), 2)
        tracelet = nil  // the stream ends when the SDK object goes
        let received = try await withDeadline { await events.collected() }
        XCTAssertFalse(received.contains { if case .fixSmoothed = $0 { return true } else { return false } })
    }
}
