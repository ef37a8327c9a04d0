import Foundation
import Tracelet
import XCTest

/// The tracking schedule through the real core and the real wall clock: windows are placed on
/// whole UTC days around today, so the core's answer is known in advance. Daylight-saving
/// changes and a day of virtual time are tested in the core (`scheduled_tests.rs`).
final class ScheduleTests: CollectorTestCase {
    private static let msPerDay: Int64 = 86_400_000

    /// Midnight UTC at the start of the day `offset` days from today, and that day's weekday.
    private func utcDay(_ offset: Int64) -> (midnightMs: Int64, weekday: Weekday) {
        let midnight = (nowMs() / Self.msPerDay + offset) * Self.msPerDay
        // 1 January 1970 was a Thursday.
        let days = Int(midnight / Self.msPerDay)
        let weekdays: [Weekday] = [.thursday, .friday, .saturday, .sunday, .monday, .tuesday, .wednesday]
        return (midnight, weekdays[days % 7])
    }

    private func wholeDay(_ offset: Int64) -> TrackingSchedule {
        TrackingSchedule(
            windows: [ScheduleWindow(
                days: [utcDay(offset).weekday], start: TimeOfDay(hour: 0, minute: 0),
                end: TimeOfDay(hour: 24, minute: 0))],
            timeZone: "UTC")
    }

    private let office = TrackingSchedule(
        windows: [ScheduleWindow(
            days: Weekday.workdays, start: TimeOfDay(hour: 8, minute: 0), end: TimeOfDay(hour: 18, minute: 0))],
        timeZone: "Europe/Berlin")

    func testAScheduleTurnsTrackingOnShowsInTheStatusAndSurvivesARelaunch() throws {
        let configuration = configuration(deviceId: makeDeviceId())
        let schedule = wholeDay(0)
        do {
            let tracelet = try Tracelet(configuration: configuration)
            XCTAssertNil(tracelet.status.schedule)
            let state = try tracelet.setSchedule(schedule)
            XCTAssertEqual(state, ScheduleState(tracking: true, nextTransitionMs: utcDay(1).midnightMs))
            XCTAssertTrue(tracelet.status.tracking)
            XCTAssertEqual(tracelet.status.schedule, state)
            XCTAssertEqual(tracelet.schedule, schedule)
        }
        let relaunched = try Tracelet(configuration: configuration)
        XCTAssertEqual(relaunched.schedule, schedule)
        XCTAssertTrue(relaunched.status.tracking)
    }

    func testAScheduleForTomorrowTurnsTrackingOffAndSaysWhen() async throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        try tracelet.start()
        let events = tracelet.events()
        let state = try tracelet.setSchedule(wholeDay(1))
        XCTAssertEqual(state, ScheduleState(tracking: false, nextTransitionMs: utcDay(1).midnightMs))
        XCTAssertFalse(tracelet.status.tracking)
        let told = try await withDeadline(seconds: 30) { () -> TraceletEvent? in
            for await event in events {
                if case .scheduleChanged = event { return event }
            }
            return nil
        }
        XCTAssertEqual(told, .scheduleChanged(tracking: false, nextTransitionMs: utcDay(1).midnightMs))
        XCTAssertEqual(try tracelet.applySchedule(), state, "nothing more to apply")
    }

    func testBadSchedulesGiveTypedErrorsAndChangeNothing() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        let before = try tracelet.setSchedule(office)
        let monday: [Weekday] = [.monday]
        func window(_ days: [Weekday], _ start: UInt8, _ end: UInt8) -> ScheduleWindow {
            ScheduleWindow(days: days, start: TimeOfDay(hour: start, minute: 0), end: TimeOfDay(hour: end, minute: 0))
        }
        let cases: [(TrackingSchedule, ScheduleError)] = [
            (TrackingSchedule(windows: office.windows, timeZone: "Europe/Atlantis"),
             .UnknownTimeZone(zone: "Europe/Atlantis")),
            (TrackingSchedule(windows: office.windows + [window(monday, 17, 19)], timeZone: "UTC"),
             .OverlappingWindows(first: 0, second: 1, day: .monday)),
            (TrackingSchedule(windows: [window(monday, 18, 8)], timeZone: "UTC"),
             .EndBeforeStart(window: 0, start: "18:00", end: "08:00")),
            (TrackingSchedule(windows: [window([], 8, 9)], timeZone: "UTC"), .NoDays(window: 0)),
            (TrackingSchedule(windows: [window(monday + monday, 8, 9)], timeZone: "UTC"), .RepeatedDay(window: 0)),
            (TrackingSchedule(windows: [window(monday, 8, 25)], timeZone: "UTC"),
             .InvalidTime(window: 0, time: "25:00")),
            (TrackingSchedule(windows: [], timeZone: "UTC"), .NoWindows),
        ]
        for (bad, expected) in cases {
            XCTAssertThrowsError(try tracelet.setSchedule(bad)) { error in
                XCTAssertEqual(error as? ScheduleError, expected)
            }
            XCTAssertEqual(tracelet.schedule, office, "the schedule in force is kept")
            XCTAssertEqual(tracelet.status.schedule?.tracking, before.tracking)
        }
    }

    func testClearingTheScheduleKeepsTrackingAsItIs() throws {
        let tracelet = try makeTracelet(deviceId: makeDeviceId())
        try tracelet.setSchedule(wholeDay(0))
        try tracelet.clearSchedule()
        XCTAssertNil(tracelet.schedule)
        XCTAssertNil(tracelet.status.schedule)
        XCTAssertNil(try tracelet.applySchedule())
        XCTAssertTrue(tracelet.status.tracking)
    }
}
