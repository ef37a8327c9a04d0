import Foundation
import Tracelet
import XCTest

/// Collects what the SDK logs; signals when a message arrives.
final class CollectingSink: LogSink, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [LogRecord] = []
    private let awaited: String
    let arrived = DispatchSemaphore(value: 0)

    init(waitingFor message: String) {
        awaited = message
    }

    func onLog(_ record: LogRecord) {
        lock.lock()
        stored.append(record)
        lock.unlock()
        if record.message == awaited { arrived.signal() }
    }

    var records: [LogRecord] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

/// The SDK's log through the real core: the app's sink, the export, the typed errors.
final class LogsTests: CollectorTestCase {
    func testAnAppSinkReceivesTheRecordsOfItsTracker() throws {
        let tracelet = try Tracelet(configuration: configuration(deviceId: makeDeviceId()))
        let sink = CollectingSink(waitingFor: "tracking started")
        tracelet.setLogSink(sink, minLevel: .debug)
        try tracelet.start()
        XCTAssertEqual(sink.arrived.wait(timeout: .now() + 30), .success, "\(sink.records)")
        let start = try XCTUnwrap(sink.records.first { $0.message == "tracking started" })
        XCTAssertEqual(start.level, .info)
        XCTAssertEqual(start.target, "tracelet_core::tracker")
        XCTAssertTrue(try tracelet.logRecords().contains { $0.message == "tracking started" })
    }

    func testExportLogsWritesAGzipFileAnyReaderCanOpen() async throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        try tracelet.record(walk(startMs: nowMs() - 10_000, count: 5))
        try await tracelet.flush()
        let directory = makeStorageDirectory()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let destination = directory.appendingPathComponent("support.log.gz")
        let written = try tracelet.exportLogs(to: destination)
        let bytes = try Data(contentsOf: destination)
        XCTAssertEqual(Array(bytes.prefix(2)), [0x1f, 0x8b], "gzip magic")
        let lines = try gunzip(destination).split(separator: "\n").map(String.init)
        XCTAssertEqual(UInt64(lines.count), written + 1, "a header line and one line per record")
        XCTAssertTrue(lines[0].hasPrefix("# Tracelet "))
        XCTAssertTrue(lines.contains { $0.hasSuffix("INFO tracelet_core::tracker: tracking started") })
        XCTAssertTrue(lines.contains { $0.contains("upload delivered: 5 fixes") }, "\(lines)")
    }

    func testAnExportIntoAMissingDirectoryIsATypedErrorAndWritesNothing() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        let before = try tracelet.logRecords()
        let missing = makeStorageDirectory().appendingPathComponent("no-such-dir")
        XCTAssertThrowsError(try tracelet.exportLogs(to: missing.appendingPathComponent("log.gz"))) {
            XCTAssertEqual($0 as? LogError, .destinationMissing(path: missing.path))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path))
        XCTAssertEqual(try tracelet.logRecords(), before)
        XCTAssertThrowsError(
            try tracelet.setLogSettings(LogSettings(minLevel: .info, maxBytes: 10, maxAgeMs: 1_000))
        ) {
            guard case .invalidSettings = $0 as? LogError else { return XCTFail("\($0)") }
        }
    }

    /// Linux has no `os.Logger`: the default sink is none there (Apple platforms use OSLogSink).
    func testOnLinuxNoSystemLogExistsSoNoDefaultSinkIsAttached() throws {
        #if canImport(os)
        throw XCTSkip("Apple platforms attach OSLogSink")
        #else
        XCTAssertNil(defaultLogSink())
        #endif
    }

    /// Decompresses with the system's gzip, a reader independent of the SDK's own encoder.
    private func gunzip(_ file: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: data, as: UTF8.self)
    }
}
