import Foundation
import Tracelet
import XCTest

/// App geofences through Swift, against the real core: transitions on the event stream,
/// persistence across reopening, typed validation errors, and the OS region request.
final class GeofenceTests: CollectorTestCase {
    private let cafe = LatLon(latitude: 48.8566, longitude: 2.3522)

    func testWalkingThroughACircleGivesEnterThenExitOnceEachInOrder() async throws {
        var tracelet: Tracelet? = try makeTracelet(deviceId: makeDeviceId())
        try tracelet!.addGeofence(Geofence(
            id: "cafe",
            shape: .circle(latitude: cafe.latitude, longitude: cafe.longitude, radiusM: 100),
            metadata: ["kind": "shop"]))
        let events = tracelet!.events()
        // From 300 m south of the centre to 300 m north of it, 10 m every 5 s.
        let fixes = meridianWalk(through: cafe, fromM: -300, toM: 300, startMs: nowMs() - 600_000)

        let outcomes = try tracelet!.record(fixes)
        XCTAssertEqual(outcomes.acceptedSequenceNumbers.count, fixes.count, "\(outcomes)")
        tracelet = nil

        let received = try await withDeadline { await events.collected() }
        let transitions = received.compactMap { event -> (GeofenceTransition, String, Int64)? in
            guard case .geofence(let transition, let id, let timeMs) = event else { return nil }
            return (transition, id, timeMs)
        }
        XCTAssertEqual(transitions.map(\.0), [.enter, .exit], "\(transitions)")
        XCTAssertEqual(transitions.map(\.1), ["cafe", "cafe"])
        guard transitions.count == 2 else { return }
        // Decided on fixes of the walk: entering on the way in, leaving on the way out.
        let times = fixes.map(\.timeMs)
        XCTAssertTrue(times.contains(transitions[0].2) && times.contains(transitions[1].2))
        XCTAssertLessThan(transitions[0].2, transitions[1].2)
        // Entered within the circle's southern half, left within 50 m past its northern edge.
        let enteredAt = northOffsetM(fixes[times.firstIndex(of: transitions[0].2)!], from: cafe)
        let leftAt = northOffsetM(fixes[times.firstIndex(of: transitions[1].2)!], from: cafe)
        XCTAssertTrue((-100.0 ... 0).contains(enteredAt), "entered \(enteredAt) m north")
        XCTAssertTrue((100.0 ... 150).contains(leftAt), "left \(leftAt) m north")
    }

    func testGeofencesAndTheirStatePersistAcrossReopening() async throws {
        let config = configuration(deviceId: makeDeviceId())
        let fences = [
            Geofence(
                id: "cafe",
                shape: .circle(latitude: cafe.latitude, longitude: cafe.longitude, radiusM: 100),
                metadata: ["kind": "shop", "floor": "0"],
                dwellMs: 86_400_000),
            Geofence(
                id: "depot",
                shape: .polygon(vertices: [
                    LatLon(latitude: 48.86, longitude: 2.36),
                    LatLon(latitude: 48.86, longitude: 2.37),
                    LatLon(latitude: 48.87, longitude: 2.365),
                ])),
        ]
        let startMs = nowMs() - 3_600_000

        var first: Tracelet? = try Tracelet(configuration: config)
        try first!.start()
        let firstEvents = first!.events()
        try first!.addGeofences(fences)
        try first!.record(gnssFix(at: cafe, timeMs: startMs))
        first = nil
        let firstTransitions = try await withDeadline { await firstEvents.collected() }.geofenceTransitions
        XCTAssertEqual(firstTransitions, [.init(.enter, "cafe")])

        var second: Tracelet? = try Tracelet(configuration: config)
        XCTAssertEqual(second!.geofences, fences)
        XCTAssertTrue(second!.status.tracking)
        let secondEvents = second!.events()
        // Still inside: no second Enter. Ten minutes later, 300 m north: Exit (two decisive
        // fixes confirm it), so the core remembered being inside.
        try second!.record(gnssFix(at: cafe, timeMs: startMs + 60_000))
        try second!.record(gnssFix(at: cafe, northM: 300, timeMs: startMs + 660_000))
        try second!.record(gnssFix(at: cafe, northM: 305, timeMs: startMs + 661_000))
        second = nil
        let secondTransitions = try await withDeadline { await secondEvents.collected() }
            .geofenceTransitions
        XCTAssertEqual(secondTransitions, [.init(.exit, "cafe")])
    }

    func testAnInvalidGeofenceIsATypedErrorAndNothingIsAdded() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        let valid = Geofence(
            id: "ok", shape: .circle(latitude: cafe.latitude, longitude: cafe.longitude, radiusM: 100))
        let invalid = Geofence(id: "bad", shape: .circle(latitude: 91, longitude: 2.35, radiusM: 100))

        XCTAssertThrowsError(try tracelet.addGeofences([valid, invalid])) { error in
            guard case TraceletError.invalidGeofence(let reason) = error else {
                return XCTFail("expected invalidGeofence, got \(error)")
            }
            XCTAssertFalse(reason.isEmpty)
            XCTAssertFalse(reason.contains("91"), "reason echoes the value: \(reason)")
            XCTAssertNotNil((error as? LocalizedError)?.errorDescription)
        }
        XCTAssertEqual(tracelet.geofences, [])
        XCTAssertThrowsError(try tracelet.addGeofence(Geofence(
            id: "tiny", shape: .circle(latitude: 48.85, longitude: 2.35, radiusM: 0.5)))) { error in
            guard case TraceletError.invalidGeofence = error else {
                return XCTFail("expected invalidGeofence, got \(error)")
            }
        }
        XCTAssertThrowsError(try tracelet.addGeofence(Geofence(
            id: "line", shape: .polygon(vertices: [cafe, LatLon(latitude: 48.86, longitude: 2.36)]))))
        XCTAssertEqual(tracelet.geofences, [])
    }

    func testRemovingGeofences() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        try tracelet.addGeofences(["a", "b", "c"].map {
            Geofence(id: $0, shape: .circle(latitude: cafe.latitude, longitude: cafe.longitude, radiusM: 50))
        })
        XCTAssertTrue(try tracelet.removeGeofence(id: "b"))
        XCTAssertFalse(try tracelet.removeGeofence(id: "b"))
        XCTAssertEqual(Set(tracelet.geofences.map(\.id)), ["a", "c"])
        try tracelet.removeAllGeofences()
        XCTAssertEqual(tracelet.geofences, [])
    }

    func testFiftyGeofencesGiveTheNineteenNearestAsTheRegionRequest() async throws {
        var tracelet: Tracelet? = try makeTracelet(deviceId: makeDeviceId())
        let events = tracelet!.events()
        // 50 circles of 100 m strung out northwards, 250 m apart: f1 nearest, f50 farthest.
        try tracelet!.addGeofences(fencesNorthward(count: 50))
        XCTAssertEqual(tracelet!.regionRequest.regions, [], "no position yet, nothing to choose from")
        try tracelet!.record(gnssFix(at: cafe, timeMs: nowMs() - 1_000))
        let current = tracelet!.regionRequest
        tracelet = nil

        let requests = try await withDeadline { await events.collected() }.compactMap { event in
            if case .regionsChanged(let request) = event { return request } else { return nil }
        }
        XCTAssertEqual(requests.count, 1, "\(requests)")
        guard let request = requests.last else { return }
        // iOS watches 20 regions per app; one is kept for the stationary geofence.
        XCTAssertLessThanOrEqual(request.regions.count, 19)
        XCTAssertEqual(request.regions.map(\.id), (1...19).map { "f\($0)" })
        XCTAssertEqual(request, current)
        XCTAssertEqual(request.regions.first?.radiusM ?? 0, 100, accuracy: 1e-6)
    }

    func testMaxMonitoredRegionsLimitsTheRegionRequest() throws {
        var config = configuration(deviceId: makeDeviceId())
        config.maxMonitoredRegions = 5
        let tracelet = try Tracelet(configuration: config)
        try tracelet.start()
        try tracelet.addGeofences(fencesNorthward(count: 10))
        try tracelet.record(gnssFix(at: cafe, timeMs: nowMs() - 1_000))

        XCTAssertEqual(tracelet.regionRequest.regions.map(\.id), ["f1", "f2", "f3", "f4"])
    }

    // MARK: helpers

    /// Circles of 100 m, `f1` 250 m north of the café, each next one 250 m farther north.
    private func fencesNorthward(count: Int) -> [Geofence] {
        (1...count).map { i in
            let centre = offset(cafe, northM: Double(i) * 250)
            return Geofence(
                id: "f\(i)",
                shape: .circle(latitude: centre.latitude, longitude: centre.longitude, radiusM: 100))
        }
    }
}

struct Transition: Equatable, CustomStringConvertible {
    var transition: GeofenceTransition
    var id: String

    init(_ transition: GeofenceTransition, _ id: String) {
        self.transition = transition
        self.id = id
    }

    var description: String { "\(transition) \(id)" }
}

extension Array where Element == TraceletEvent {
    /// The geofence transitions among the events, in order.
    var geofenceTransitions: [Transition] {
        compactMap { event in
            guard case .geofence(let transition, let id, _) = event else { return nil }
            return Transition(transition, id)
        }
    }
}

/// Metres per degree of latitude (mean Earth radius).
private let metresPerDegree = 6_371_008.8 * Double.pi / 180

func offset(_ point: LatLon, northM: Double) -> LatLon {
    LatLon(latitude: point.latitude + northM / metresPerDegree, longitude: point.longitude)
}

func northOffsetM(_ fix: Fix, from point: LatLon) -> Double {
    (fix.latitudeDeg - point.latitude) * metresPerDegree
}

/// An accurate GNSS fix `northM` metres north of `point`.
func gnssFix(at point: LatLon, northM: Double = 0, timeMs: Int64) -> Fix {
    let position = offset(point, northM: northM)
    return Fix(
        timeMs: timeMs, latitudeDeg: position.latitude, longitudeDeg: position.longitude,
        horizontalAccuracyM: 5, provider: .gps)
}

/// A walk due north along the meridian of `point`, from `fromM` to `toM` metres north of it:
/// one fix every 5 s, 10 m apart (2 m/s), accurate to 5 m.
func meridianWalk(through point: LatLon, fromM: Double, toM: Double, startMs: Int64) -> [Fix] {
    stride(from: fromM, through: toM, by: 10).enumerated().map { i, northM in
        gnssFix(at: point, northM: northM, timeMs: startMs + Int64(i) * 5_000)
    }
}
