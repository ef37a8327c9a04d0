import TraceletBindings

/// What the platform layer reports besides fixes, and the core's shared answers to it (the
/// same decisions as on Android).
extension Tracelet {
    /// Reports the permission: at start and whenever it changes (``LocationTracker`` does).
    /// With precise location off the core stores coarse fixes, at most one per 10 minutes,
    /// instead of refusing every one; each change is told as `.accessChanged(report:)`.
    public func setLocationAccess(_ access: LocationAccess) {
        core.setLocationAccess(access: access)
    }

    /// What the SDK records under the permission last reported.
    public var accessReport: AccessReport {
        core.accessReport()
    }

    /// A motion trigger fired while stationary (Android's significant-motion sensor; an app may
    /// call it from Core Motion): sampling resumes at once.
    public func onSignificantMotion() {
        core.onSignificantMotion()
    }

    /// What to apply to CoreLocation now, given the wake-up sources actually armed: standard
    /// updates stop only when a monitored region or significant-change monitoring can wake the
    /// app again; otherwise coarse updates continue.
    public func planUpdates(armed: WakeSources) -> UpdatesPlan {
        core.planUpdates(armed: armed)
    }
}

extension LocationAccess {
    /// The permission as the core needs it, from the layer's ``LocationAuthorization``.
    public init(_ authorization: LocationAuthorization) {
        self.init(
            granted: authorization.allowsTracking,
            precise: !authorization.isReducedAccuracy,
            background: authorization.allowsRelaunch)
    }
}
