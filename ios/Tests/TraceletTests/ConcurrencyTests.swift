import Foundation
import Tracelet
import XCTest

/// Many tasks recording through one `Tracelet` at once, while uploads run: nothing is lost,
/// nothing is duplicated, and every sequence number is handed out once.
final class ConcurrencyTests: CollectorTestCase {
    private let taskCount = 8
    private let fixesPerTask = 250

    func testRecordingFromEightConcurrentTasksLosesNothing() async throws {
        let device = makeDeviceId()
        // The filter off: what is tested is the concurrency of the SDK's recording path. The
        // tasks' fixes interleave in an order no thread controls, and with the filter on, a fix
        // older than one another task stored first comes back as .filtered("out_of_order").
        var tracelet: Tracelet? = try makeTracelet(deviceId: device, filterEnabled: false)
        let events = tracelet!.events(bufferingPolicy: .unbounded)
        let base = nowMs() - 3_600_000
        // Disjoint time ranges per task, so every fix is identifiable at the collector.
        let perTask = (0..<taskCount).map { task in
            walk(startMs: base + Int64(task * fixesPerTask) * 1000, count: fixesPerTask)
        }

        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for fixes in perTask {
                group.addTask { [tracelet = tracelet!] in
                    var seqs: [UInt64] = []
                    for (i, fix) in fixes.enumerated() {
                        seqs.append(try tracelet.record(fix).storedSeq())
                        // Concurrent flushes, mid-way, race with the recording of the others.
                        if i == fixes.count / 2 { try await tracelet.flush() }
                    }
                    return seqs
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        try await tracelet!.flush()

        let total = taskCount * fixesPerTask
        XCTAssertEqual(seqs.sorted(), (1...total).map(UInt64.init))
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.seq), (1...total).map(UInt64.init))
        let sent = perTask.joined()
        XCTAssertEqual(Set(stored.map(\.t)), Set(sent.map(\.timeMs)))
        XCTAssertEqual(Set(stored.map(\.t)).count, total)
        let sentByTime = Dictionary(uniqueKeysWithValues: sent.map { ($0.timeMs, $0) })
        for row in stored {
            guard let fix = sentByTime[row.t] else {
                XCTFail("the collector holds a fix that was never sent (seq \(row.seq))")
                continue
            }
            assertStored(row, matches: fix)
        }
        let stats = try await client.stats()
        XCTAssertEqual(stats.fixes_accepted, UInt64(total))
        XCTAssertEqual(tracelet!.status.acceptedTotal, UInt64(total))
        XCTAssertEqual(tracelet!.status.pendingCount, 0)

        tracelet = nil
        let accepted = try await withDeadline { await events.collected() }.compactMap { event in
            if case .fixAccepted(let seq) = event { return seq } else { return nil }
        }
        XCTAssertEqual(accepted.sorted(), (1...total).map(UInt64.init))
    }
}
