//! What the user granted, and what the SDK records with it.

/// The location permission as the platform reads it from the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocationAccess {
    /// Some location permission is granted and the device's location setting is on.
    pub granted: bool,
    /// Precise location (Android's fine location, iOS full accuracy); false: approximate only.
    pub precise: bool,
    /// The OS may wake or relaunch the app while it is not visible (Android "allow all the
    /// time", iOS Always). Without it, regions, significant changes and visits wake nothing.
    pub background: bool,
}

impl LocationAccess {
    /// What a freshly started tracker assumes until the platform says otherwise.
    pub const FULL: LocationAccess = LocationAccess {
        granted: true,
        precise: true,
        background: true,
    };
}

impl Default for LocationAccess {
    fn default() -> LocationAccess {
        LocationAccess::FULL
    }
}

/// What the SDK records under the current permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RecordingMode {
    /// Precise fixes through the filter; the motion policy decides the sampling.
    Precise,
    /// Approximate location only: coarse fixes (kilometres) are stored, at most one per
    /// [`crate::platform::approximate::MIN_INTERVAL_MS`]; no stop detection, no GNSS.
    Approximate,
    /// No permission or location off: nothing can be recorded until that changes.
    Blocked,
}

impl RecordingMode {
    /// Stable short name, for logs and the replay report.
    pub fn name(self) -> &'static str {
        match self {
            RecordingMode::Precise => "precise",
            RecordingMode::Approximate => "approximate",
            RecordingMode::Blocked => "blocked",
        }
    }
}

/// What the app is told about its permission: the recording mode and whether anything can
/// wake the app in the background. Emitted whenever it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AccessReport {
    pub mode: RecordingMode,
    /// False: tracking continues only while the app (or its foreground service) runs, and the
    /// platform keeps coarse updates instead of relying on regions to wake it.
    pub background_wake: bool,
}

impl AccessReport {
    pub fn of(access: LocationAccess) -> AccessReport {
        let mode = match (access.granted, access.precise) {
            (false, _) => RecordingMode::Blocked,
            (true, true) => RecordingMode::Precise,
            (true, false) => RecordingMode::Approximate,
        };
        AccessReport {
            mode,
            // Region monitoring needs precise location on both platforms.
            background_wake: access.granted && access.precise && access.background,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(granted: bool, precise: bool, background: bool) -> LocationAccess {
        LocationAccess {
            granted,
            precise,
            background,
        }
    }

    #[test]
    fn approximate_only_is_its_own_mode() {
        let report = AccessReport::of(access(true, false, true));
        assert_eq!(report.mode, RecordingMode::Approximate);
        assert!(!report.background_wake, "regions need precise location");
    }

    #[test]
    fn when_in_use_records_precisely_but_nothing_wakes_the_app() {
        let report = AccessReport::of(access(true, true, false));
        assert_eq!(report.mode, RecordingMode::Precise);
        assert!(!report.background_wake);
    }

    #[test]
    fn no_permission_blocks_recording() {
        assert_eq!(
            AccessReport::of(access(false, true, true)).mode,
            RecordingMode::Blocked
        );
        assert_eq!(
            AccessReport::of(LocationAccess::FULL),
            AccessReport {
                mode: RecordingMode::Precise,
                background_wake: true
            }
        );
    }
}
