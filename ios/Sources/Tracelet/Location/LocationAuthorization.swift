/// What the user allowed the app to do with location. Mirrors CoreLocation's authorization
/// status and accuracy authorization, but as a plain value that exists on every platform.
public struct LocationAuthorization: Equatable, Hashable, Sendable {
    public enum Status: Equatable, Hashable, Sendable {
        /// The user has not been asked yet.
        case notDetermined
        /// The user refused, or turned location off for the app or the whole device.
        case denied
        /// Parental controls or a device policy forbid location; the user cannot change it.
        case restricted
        /// Allowed while the app is in use (including background updates it started itself).
        case whenInUse
        /// Allowed at any time, including relaunching a terminated app.
        case always
    }

    /// What the app could ask for next.
    public enum NextStep: Equatable, Hashable, Sendable {
        case none
        case requestWhenInUse
        /// Needed for relaunch after termination (region, significant-change, visit monitoring).
        case requestAlways
        /// Precise location is off: ask for temporary full accuracy, with a purpose string.
        case requestFullAccuracy
        /// Only the Settings app can change the decision now.
        case openSettings
    }

    public var status: Status
    /// The user turned "Precise Location" off: fixes are kilometres off, and region
    /// monitoring is unavailable.
    public var isReducedAccuracy: Bool
    /// The app already asked for Always: iOS shows that prompt once, so asking again does
    /// nothing and only Settings can change it.
    public var alwaysRequested: Bool

    public init(status: Status, isReducedAccuracy: Bool = false, alwaysRequested: Bool = false) {
        self.status = status
        self.isReducedAccuracy = isReducedAccuracy
        self.alwaysRequested = alwaysRequested
    }

    /// Maps CoreLocation's raw values (`CLAuthorizationStatus.rawValue`,
    /// `CLAccuracyAuthorization.rawValue`), so the mapping is testable without CoreLocation.
    /// Values unknown to this version count as not determined: nothing is tracked on a guess.
    public init(coreLocationStatus: Int32, accuracyAuthorization: Int) {
        switch coreLocationStatus {
        case 1: status = .restricted
        case 2: status = .denied
        case 3: status = .always
        case 4: status = .whenInUse
        default: status = .notDetermined
        }
        isReducedAccuracy = accuracyAuthorization == 1
        alwaysRequested = false
    }

    /// Whether positions can be collected at all.
    public var allowsTracking: Bool {
        status == .whenInUse || status == .always
    }

    /// Whether iOS will relaunch a terminated app for a region exit, significant change or visit.
    public var allowsRelaunch: Bool {
        status == .always
    }

    /// Whether a region can serve as the stationary geofence (needs precise location).
    public var allowsRegionMonitoring: Bool {
        status == .always && !isReducedAccuracy
    }

    public var nextStep: NextStep {
        switch status {
        case .notDetermined: return .requestWhenInUse
        case .denied: return .openSettings
        case .restricted: return .none
        case .whenInUse, .always:
            if isReducedAccuracy { return .requestFullAccuracy }
            // Once asked, iOS shows no second Always prompt: When In Use is the user's answer,
            // and tracking works with it (in the foreground and with background updates).
            return status == .whenInUse && !alwaysRequested ? .requestAlways : .none
        }
    }
}
