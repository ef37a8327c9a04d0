import Foundation
import Tracelet
import XCTest

/// Base class for tests that talk to a real collector: a collector process, a fresh storage
/// directory and device id per test, so tests cannot see each other's fixes or counters.
class CollectorTestCase: XCTestCase {
    private(set) var collector: CollectorProcess!
    private var storageDirectories: [URL] = []

    var client: CollectorClient { CollectorClient(baseURL: collector.baseURL) }

    override func setUpWithError() throws {
        try super.setUpWithError()
        collector = try CollectorProcess()
    }

    override func tearDown() {
        collector?.stop()
        collector = nil
        for directory in storageDirectories {
            try? FileManager.default.removeItem(at: directory)
            // The install marker's default directory sits beside the queue's.
            try? FileManager.default.removeItem(
                at: directory.deletingLastPathComponent()
                    .appendingPathComponent(directory.lastPathComponent + "-marker"))
        }
        super.tearDown()
    }

    /// A unique device id, readable in collector output.
    func makeDeviceId(_ label: String = #function) -> String {
        let name = label.prefix(while: { $0.isLetter || $0.isNumber })
        return "swift-\(name)-\(UUID().uuidString.prefix(8))"
    }

    func makeStorageDirectory() -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("tracelet-swift-tests-\(UUID().uuidString)", isDirectory: true)
        storageDirectories.append(directory)
        return directory
    }

    func configuration(deviceId: String, endpoint: URL? = nil) -> TraceletConfiguration {
        TraceletConfiguration(
            endpoint: endpoint ?? collector.ingestURL,
            deviceId: deviceId,
            bearerToken: CollectorProcess.token,
            storageDirectory: makeStorageDirectory()
        )
    }

    /// A started tracker that uploads to this class's collector.
    func makeTracelet(deviceId: String, filterEnabled: Bool = true) throws -> Tracelet {
        var config = configuration(deviceId: deviceId)
        config.filterEnabled = filterEnabled
        let tracelet = try Tracelet(configuration: config)
        try tracelet.start()
        return tracelet
    }
}

struct FixWasFiltered: Error {
    var reason: RejectReason
}

extension RecordOutcome {
    /// The sequence number of a stored fix; throws (failing the test) if the filter dropped it.
    func storedSeq() throws -> UInt64 {
        switch self {
        case .stored(let seq): return seq
        case .filtered(let reason): throw FixWasFiltered(reason: reason)
        }
    }
}

struct TimedOut: Error {}

/// Runs `operation`, failing instead of hanging the whole suite if it never completes. A guard
/// against bugs, not a timing assertion: the limit is far above any expected duration.
func withDeadline<T: Sendable>(
    seconds: Double = 60, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            throw TimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

func nowMs() -> Int64 {
    Int64((Date().timeIntervalSince1970 * 1000).rounded())
}

/// A deterministic walk: one fix a second, heading north-east, every optional field set on
/// every third fix so both shapes travel.
func walk(startMs: Int64, count: Int) -> [Fix] {
    (0..<count).map { i in
        let full = i % 3 == 0
        return Fix(
            timeMs: startMs + Int64(i) * 1000,
            latitudeDeg: 48.8566 + Double(i) * 1.1e-5,
            longitudeDeg: 2.3522 + Double(i) * 1.3e-5,
            horizontalAccuracyM: 3.5 + Double(i % 7),
            altitudeM: full ? 35.2 + Double(i % 5) : nil,
            verticalAccuracyM: full ? 4.1 : nil,
            speedMps: full ? 1.42 : nil,
            speedAccuracyMps: full ? 0.3 : nil,
            bearingDeg: full ? 45.5 : nil,
            bearingAccuracyDeg: full ? 10.2 : nil,
            provider: full ? .gps : .fused,
            isMock: i % 10 == 9
        )
    }
}

/// Asserts that what the collector stored is `sent`, field by field, at the protocol's
/// rounding (lat/lon 1e-7, metres 0.1, speed 0.01).
func assertStored(
    _ stored: StoredFix, matches sent: Fix, file: StaticString = #filePath, line: UInt = #line
) {
    let degrees = 1e-7 / 2 + 1e-12
    let tenth = 0.05 + 1e-9
    XCTAssertEqual(stored.t, sent.timeMs, file: file, line: line)
    XCTAssertEqual(stored.la, sent.latitudeDeg, accuracy: degrees, file: file, line: line)
    XCTAssertEqual(stored.lo, sent.longitudeDeg, accuracy: degrees, file: file, line: line)
    XCTAssertEqual(stored.ac, sent.horizontalAccuracyM, accuracy: tenth, file: file, line: line)
    assertOptional(stored.al, sent.altitudeM, tenth, file: file, line: line)
    assertOptional(stored.va, sent.verticalAccuracyM, tenth, file: file, line: line)
    assertOptional(stored.sp, sent.speedMps, 0.005 + 1e-9, file: file, line: line)
    assertOptional(stored.sa, sent.speedAccuracyMps, tenth, file: file, line: line)
    assertOptional(stored.be, sent.bearingDeg, tenth, file: file, line: line)
    assertOptional(stored.ba, sent.bearingAccuracyDeg, tenth, file: file, line: line)
    XCTAssertEqual(stored.pr, sent.provider == .gps ? "gps" : "fused", file: file, line: line)
    XCTAssertEqual(stored.mk ?? false, sent.isMock, file: file, line: line)
}

private func assertOptional(
    _ stored: Double?, _ sent: Double?, _ accuracy: Double, file: StaticString, line: UInt
) {
    switch (stored, sent) {
    case (nil, nil): break
    case let (stored?, sent?): XCTAssertEqual(stored, sent, accuracy: accuracy, file: file, line: line)
    default: XCTFail("stored \(String(describing: stored)), sent \(String(describing: sent))", file: file, line: line)
    }
}
