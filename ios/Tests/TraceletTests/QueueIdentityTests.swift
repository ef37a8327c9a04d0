import Foundation
@testable import Tracelet
import XCTest

/// A queue that is wiped or copied keeps exactly-once delivery: the real core against a real
/// collector, with the queue's files deleted or copied as "clear data" or a restored backup would
/// leave them.
final class QueueIdentityTests: CollectorTestCase {
    func testAWipedQueueWithTheSameDeviceIdStillDeliversEveryNewFix() async throws {
        let device = makeDeviceId()
        let config = configuration(deviceId: device)
        let first = walk(startMs: nowMs() - 600_000, count: 20)
        let second = walk(startMs: nowMs() - 300_000, count: 20)
        do {
            let tracelet = try Tracelet(configuration: config)
            try tracelet.start()
            for fix in first { try tracelet.record(fix) }
            try await tracelet.flush()
        }
        // The app deleted its storage; it keeps its device id.
        try FileManager.default.removeItem(at: config.storageDirectory)
        let tracelet = try Tracelet(configuration: config)
        try tracelet.start()
        XCTAssertEqual(try tracelet.record(second[0]).storedSeq(), 1, "numbering restarts")
        for fix in second.dropFirst() { try tracelet.record(fix) }
        let flushed = try await tracelet.flush()

        XCTAssertEqual(flushed.uploaded, 20)
        XCTAssertEqual(tracelet.status.deliveryAnomalies, 0)
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.t), (first + second).map(\.timeMs))
        XCTAssertEqual(Set(stored.map(\.stream)).count, 2)
    }

    func testACloneThatCarriedItsMarkerAlongIsReportedAsADeliveryAnomaly() async throws {
        let device = makeDeviceId()
        let original = configuration(deviceId: device)
        var cloned = configuration(deviceId: device)
        cloned.markerDirectory = makeStorageDirectory()
        do {
            let tracelet = try Tracelet(configuration: original)
            try tracelet.start()
            for fix in walk(startMs: nowMs() - 60_000, count: 5) { try tracelet.record(fix) }
            // Copied with its marker before the original uploads: two queues, one stream.
            try FileManager.default.copyItem(at: original.storageDirectory, to: cloned.storageDirectory)
            try FileManager.default.copyItem(
                at: original.defaultMarkerDirectory, to: cloned.markerDirectory!)
            try await tracelet.flush()
        }
        var clone: Tracelet? = try Tracelet(configuration: cloned)
        let events = clone!.events()
        try await clone!.flush()
        XCTAssertEqual(clone!.status.deliveryAnomalies, 1)
        clone = nil

        let anomalies = try await withDeadline { await events.collected() }.filter {
            if case .deliveryAnomaly = $0 { return true } else { return false }
        }
        XCTAssertEqual(anomalies, [
            .deliveryAnomaly(firstSeq: 1, lastSeq: 5, duplicates: 5, eventDuplicates: 0),
        ])
    }

    func testTheQueueAndItsMarkerAreExcludedFromBackupInSeparateDirectories() throws {
        final class Recorder: @unchecked Sendable {
            let lock = NSLock()
            var excluded: [URL] = []
        }
        let recorder = Recorder()
        let backup = BackupExclusion { directory in
            recorder.lock.lock()
            recorder.excluded.append(directory)
            recorder.lock.unlock()
            try BackupExclusion.system.exclude(directory)
        }
        let config = configuration(deviceId: makeDeviceId())
        _ = try Tracelet(configuration: config, backup: backup)

        XCTAssertEqual(recorder.excluded, [config.storageDirectory, config.defaultMarkerDirectory])
        XCTAssertFalse(
            config.defaultMarkerDirectory.path.hasPrefix(config.storageDirectory.path + "/"),
            "the marker must not travel with the queue")
        let marker = config.defaultMarkerDirectory.appendingPathComponent("tracelet-queue.marker")
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker.path))
    }
}
