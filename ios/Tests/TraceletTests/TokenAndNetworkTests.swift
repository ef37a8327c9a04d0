import Foundation
import Tracelet
import XCTest

/// Token refresh, network state and background uploads, against the real core and collector.
final class TokenAndNetworkTests: CollectorTestCase {
    func testA401AsksTheTokenProviderOnceAndTheFixesArriveWithTheFreshToken() async throws {
        let device = makeDeviceId()
        var configuration = configuration(deviceId: device)
        configuration.bearerToken = "expired-token"
        let tracelet = try Tracelet(configuration: configuration)
        let calls = Counter()
        tracelet.setTokenProvider {
            calls.increment()
            return CollectorProcess.token
        }
        try tracelet.start()
        let fixes = walk(startMs: nowMs() - 10_000, count: 4)
        try tracelet.record(Array(fixes[0..<3]))

        let result = try await tracelet.flush()
        XCTAssertEqual(result.uploaded, 3)
        XCTAssertEqual(calls.value, 1)

        // The fresh token is kept: the next round is accepted without asking again.
        try tracelet.record(fixes[3])
        try await tracelet.flush()
        XCTAssertEqual(calls.value, 1)
        let stored = try await client.fixes(device: device)
        XCTAssertEqual(stored.map(\.seq), [1, 2, 3, 4])
    }

    func testATokenProviderThatThrowsCountsAsNoTokenAndTheFixesStayQueued() async throws {
        let device = makeDeviceId()
        var configuration = configuration(deviceId: device)
        configuration.bearerToken = "expired-token"
        let tracelet = try Tracelet(configuration: configuration)
        let provider = ThrowingProvider()
        tracelet.setTokenProvider(provider)
        try tracelet.start()
        try tracelet.record(walk(startMs: nowMs() - 1_000, count: 1))

        do {
            try await tracelet.flush()
            XCTFail("flush with a refused token succeeded")
        } catch TraceletError.upload(let reason) {
            XCTAssertTrue(reason.contains("401"), reason)
        }
        // At most once per upload round, even though the answer stayed 401.
        XCTAssertEqual(provider.calls.value, 1)
        XCTAssertEqual(tracelet.status.pendingCount, 1)

        // A new token retries what is pending by itself.
        try tracelet.setBearerToken(CollectorProcess.token)
        let stored = try await awaitFixes(device: device, count: 1)
        XCTAssertEqual(stored.count, 1)
    }

    func testABearerTokenWithSpacesIsAnInvalidConfiguration() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        XCTAssertThrowsError(try tracelet.setBearerToken("bad token with spaces")) { error in
            guard case TraceletError.invalidConfiguration(let reason) = error else {
                return XCTFail("expected invalidConfiguration, got \(error)")
            }
            // A credential, even a malformed one, stays out of messages.
            XCTAssertFalse(reason.contains("bad token"), reason)
        }
    }

    func testStatusCountsUploadedBytesAfterASuccessfulFlush() async throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        XCTAssertEqual(tracelet.status.uploadedBytes, 0)
        try tracelet.record(walk(startMs: nowMs() - 10_000, count: 10))
        try await tracelet.flush()

        let status = tracelet.status
        XCTAssertEqual(status.uploadedTotal, 10)
        XCTAssertGreaterThan(status.uploadedBytes, 0)
        XCTAssertEqual(status.evictedTotal, 0)
        XCTAssertFalse(status.storageRecovered)
    }

    func testOfflineFlushIsAnUploadErrorAndRegainingTheNetworkUploadsAtOnce() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        let fixes = walk(startMs: nowMs() - 10_000, count: 3)
        tracelet.setNetwork(connected: false, unmetered: false)
        try tracelet.record(fixes)

        do {
            try await tracelet.flush()
            XCTFail("flush while offline succeeded")
        } catch TraceletError.upload {}
        XCTAssertEqual(tracelet.status.pendingCount, 3)
        let none = try await client.fixes(device: device)
        XCTAssertTrue(none.isEmpty)

        // No flush: the core uploads by itself when a usable network comes back.
        tracelet.setNetwork(connected: true, unmetered: false)
        let stored = try await awaitFixes(device: device, count: 3)
        XCTAssertEqual(stored.map(\.t), fixes.map(\.timeMs))
        XCTAssertEqual(tracelet.status.pendingCount, 0)
    }

    func testAMeteredNetworkHoldsUploadsWhenOnlyUnmeteredOnesAreAllowed() async throws {
        let device = makeDeviceId()
        var configuration = configuration(deviceId: device)
        configuration.uploadOnlyUnmetered = true
        let tracelet = try Tracelet(configuration: configuration)
        try tracelet.start()
        tracelet.setNetwork(connected: true, unmetered: false)
        try tracelet.record(walk(startMs: nowMs() - 1_000, count: 1))

        do {
            try await tracelet.flush()
            XCTFail("flush on a metered network succeeded")
        } catch TraceletError.upload {}
        XCTAssertEqual(tracelet.status.pendingCount, 1)

        tracelet.setNetwork(connected: true, unmetered: true)
        let stored = try await awaitFixes(device: device, count: 1)
        XCTAssertEqual(stored.count, 1)
    }

    func testEnteringTheBackgroundUploadsWhatIsPendingWithoutAFlush() async throws {
        let device = makeDeviceId()
        let tracelet = try makeTracelet(deviceId: device)
        try tracelet.record(walk(startMs: nowMs() - 2_000, count: 2))
        tracelet.onAppBackground()
        let stored = try await awaitFixes(device: device, count: 2)
        XCTAssertEqual(stored.count, 2)
    }

    /// Polls the collector until `count` fixes are there or a few seconds have passed.
    private func awaitFixes(device: String, count: Int, timeout: TimeInterval = 5) async throws
        -> [StoredFix]
    {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let stored = try await client.fixes(device: device)
            if stored.count >= count || Date() > deadline { return stored }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }
}

/// A thread-safe call counter: the SDK calls providers on its upload thread.
private final class Counter: @unchecked Sendable {
    // @unchecked: `count` is only touched while `lock` is held.
    private let lock = NSLock()
    private var count = 0

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    func increment() {
        lock.lock()
        defer { lock.unlock() }
        count += 1
    }
}

private struct BackendUnreachable: Error {}

private final class ThrowingProvider: TokenProvider {
    let calls = Counter()

    func freshToken() throws -> String? {
        calls.increment()
        throw BackendUnreachable()
    }
}
