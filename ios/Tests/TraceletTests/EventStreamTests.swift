import Foundation
import Tracelet
import XCTest

/// The core's events reach Swift as `AsyncStream`s, in order, and the streams end when the SDK
/// object is released (so `for await` loops terminate).
final class EventStreamTests: CollectorTestCase {
    func testTheStreamCarriesEachEventOfARecordAndFlushRoundInOrder() async throws {
        var tracelet: Tracelet? = try Tracelet(configuration: configuration(deviceId: makeDeviceId()))
        let events = tracelet!.events()
        let fixes = walk(startMs: nowMs() - 10_000, count: 3)
        var bad = fixes[2]
        bad.longitudeDeg = 200

        try tracelet!.start()
        let startSampling = tracelet!.samplingRequest
        try tracelet!.record(fixes[0])
        try tracelet!.record(fixes[1])
        XCTAssertThrowsError(try tracelet!.record(bad))
        try tracelet!.record(fixes[2])
        try await tracelet!.flush()
        try tracelet!.stop()
        tracelet = nil

        let received = try await withDeadline { await events.collected() }.withoutSmoothing
        // start() announces the sampling it asks for; the walk's speed keeps it unchanged.
        XCTAssertEqual(received, [
            .trackingChanged(tracking: true),
            .samplingChanged(request: startSampling),
            .fixAccepted(seq: 1),
            .fixAccepted(seq: 2),
            .fixRejected(reason: "invalid_value"),
            .fixAccepted(seq: 3),
            .uploadSucceeded(firstSeq: 1, lastSeq: 3),
            .trackingChanged(tracking: false),
        ])
    }

    func testStartDeliversASamplingChangedForTheOSLocationLayer() async throws {
        var tracelet: Tracelet? = try Tracelet(configuration: configuration(deviceId: makeDeviceId()))
        let events = tracelet!.events()
        try tracelet!.start()
        tracelet = nil

        let sampling = try await withDeadline { await events.collected() }.compactMap { event in
            if case .samplingChanged(let request) = event { return request } else { return nil }
        }
        // The balanced preset, moving: best accuracy every 5 s, no stationary geofence.
        XCTAssertEqual(sampling.count, 1, "\(sampling)")
        XCTAssertEqual(sampling.first?.priority, .highAccuracy)
        XCTAssertEqual(sampling.first?.intervalMs, 5_000)
        XCTAssertNil(sampling.first?.stationaryGeofence)
    }

    func testEverySubscriberGetsEveryEventAndACancelledOneIsDropped() async throws {
        var tracelet: Tracelet? = try makeTracelet(deviceId: makeDeviceId())
        let first = tracelet!.events()
        let second = tracelet!.events()
        let cancelled = Task { [stream = tracelet!.events()] in await stream.collected() }
        cancelled.cancel()
        _ = await cancelled.value

        try tracelet!.record(walk(startMs: nowMs() - 10_000, count: 5))
        tracelet = nil

        let expected = (1...5).map { TraceletEvent.fixAccepted(seq: UInt64($0)) }
        let fromFirst = try await withDeadline { await first.collected() }.withoutSmoothing
        let fromSecond = try await withDeadline { await second.collected() }.withoutSmoothing
        XCTAssertEqual(fromFirst, expected)
        XCTAssertEqual(fromSecond, expected)
    }

    func testAStreamKeepsOnlyTheNewestEventsWhenItsBufferIsFull() async throws {
        var tracelet: Tracelet? = try makeTracelet(deviceId: makeDeviceId())
        let events = tracelet!.events(bufferingPolicy: .bufferingNewest(2))

        try tracelet!.record(walk(startMs: nowMs() - 10_000, count: 5))
        tracelet = nil

        // The newest two: the last fix accepted, then its smoothed position.
        let received = try await withDeadline { await events.collected() }
        XCTAssertEqual(received.count, 2)
        XCTAssertEqual(received.first, .fixAccepted(seq: 5))
        guard case .fixSmoothed(let seq, _) = received.last else {
            return XCTFail("expected the smoothed position last, got \(received)")
        }
        XCTAssertEqual(seq, 5)
    }

    func testEachAcceptedFixIsFollowedByItsSmoothedPosition() async throws {
        var tracelet: Tracelet? = try makeTracelet(deviceId: makeDeviceId())
        let events = tracelet!.events()
        try tracelet!.record(walk(startMs: nowMs() - 10_000, count: 3))
        tracelet = nil
        let received = try await withDeadline { await events.collected() }
        let smoothed: [UInt64] = received.compactMap { event in
            guard case .fixSmoothed(let seq, let smoothed) = event, smoothed.accuracyM > 0 else { return nil }
            return seq
        }
        XCTAssertEqual(smoothed, [1, 2, 3])
    }
}

extension Array where Element == TraceletEvent {
    /// The events without the smoothed positions that follow each accepted fix (tested above).
    var withoutSmoothing: [TraceletEvent] {
        filter { if case .fixSmoothed = $0 { return false } else { return true } }
    }
}

extension AsyncStream where Element: Sendable {
    /// Every element until the stream finishes (or the task is cancelled).
    func collected() async -> [Element] {
        var elements: [Element] = []
        for await element in self {
            elements.append(element)
        }
        return elements
    }
}
