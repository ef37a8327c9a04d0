#if canImport(CoreLocation)
import CoreLocation

/// The tracking schedule on iOS. The core turns tracking on and off; this follows it with
/// CoreLocation. iOS runs no app code at a chosen time in the background, so while the schedule
/// holds tracking off the tracker keeps significant-change and visit monitoring armed (with
/// Always): the OS relaunches or resumes the app when the user moves, and each such wake-up
/// applies a transition that has passed (``ScheduleWakePlan``). See docs/schedules.md.
extension LocationTracker {
    /// The schedule turned tracking on or off (`.scheduleChanged`), or a wake-up applied it.
    func followSchedule() {
        if tracelet.status.tracking {
            resumeIfTracking()
            return
        }
        stopLocationServices()
        let plan = ScheduleWakePlan.decide(
            state: tracelet.status.schedule, tracking: false, authorization: authorization,
            significantChangeAvailable: manager.significantChangeMonitoringAvailable)
        if plan.significantChange {
            manager.startMonitoringSignificantLocationChanges()
            manager.startMonitoringVisits()
        }
    }

    /// The OS woke the app: apply a schedule transition that passed meanwhile, and follow it
    /// at once rather than when its event arrives.
    func applyScheduleOnWake() {
        let wasTracking = tracelet.status.tracking
        // A storage failure leaves the transition to the next wake-up or the core's own timer.
        _ = try? tracelet.applySchedule()
        if tracelet.status.tracking != wasTracking {
            followSchedule()
        }
    }
}
#endif
