//! The uniffi surface for what the platform layers report besides fixes (permission, armed
//! wake-up sources, significant motion) and the core's answers to them, shared by Android and
//! iOS. The decisions are the core's (`tracelet_core::platform`).

use tracelet_core as core;

use crate::{SamplingRequest, Tracelet};

/// The location permission as the platform reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LocationAccess {
    /// Some location permission is granted and location services are on.
    pub granted: bool,
    /// Precise location; false: approximate only.
    pub precise: bool,
    /// The OS may wake or relaunch the app in the background (Android "all the time", iOS Always).
    pub background: bool,
}

/// What the SDK records under the current permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RecordingMode {
    /// Precise fixes; the motion policy decides the sampling.
    Precise,
    /// Approximate location only: coarse fixes are stored, at most one per 10 minutes; no stop
    /// detection, never GNSS.
    Approximate,
    /// No permission or location off: nothing can be recorded.
    Blocked,
}

/// What the app is told about its permission (also as the `AccessChanged` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct AccessReport {
    pub mode: RecordingMode,
    /// False: nothing can wake the app in the background (no regions, no relaunch); tracking
    /// continues only while it runs, and the platform keeps coarse updates while still.
    pub background_wake: bool,
}

/// The wake-up sources the platform actually armed (accepted by the OS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct WakeSources {
    pub stationary_region: bool,
    pub significant_motion: bool,
    pub significant_change: bool,
}

/// What the platform applies to the OS now.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UpdatesPlan {
    pub request: SamplingRequest,
    /// Keep standard location updates running; false only when the core allows GNSS off and
    /// a wake-up source is armed.
    pub standard_updates: bool,
    /// The coarse fallback replaced an idle request because nothing can wake the app.
    pub coarse_fallback: bool,
}

#[uniffi::export]
impl Tracelet {
    /// Reports the permission; call it at start and on every change. Approximate only makes
    /// the core store coarse fixes; each change is told as the `AccessChanged` event.
    pub fn set_location_access(&self, access: LocationAccess) {
        self.tracker
            .set_location_access(core::platform::LocationAccess {
                granted: access.granted,
                precise: access.precise,
                background: access.background,
            });
    }

    /// What the SDK records under the permission last reported.
    pub fn access_report(&self) -> AccessReport {
        self.tracker.access_report().into()
    }

    /// Android's significant-motion sensor fired: sampling resumes if stationary.
    pub fn on_significant_motion(&self) {
        self.tracker.on_significant_motion();
    }

    /// What to apply to the OS now, given the wake-up sources the platform armed.
    pub fn plan_updates(&self, armed: WakeSources) -> UpdatesPlan {
        let plan = self.tracker.plan_updates(core::platform::WakeSources {
            stationary_region: armed.stationary_region,
            significant_motion: armed.significant_motion,
            significant_change: armed.significant_change,
        });
        UpdatesPlan {
            request: plan.request.into(),
            standard_updates: plan.standard_updates,
            coarse_fallback: plan.coarse_fallback,
        }
    }
}

impl From<core::platform::AccessReport> for AccessReport {
    fn from(r: core::platform::AccessReport) -> Self {
        AccessReport {
            mode: match r.mode {
                core::platform::RecordingMode::Precise => RecordingMode::Precise,
                core::platform::RecordingMode::Approximate => RecordingMode::Approximate,
                core::platform::RecordingMode::Blocked => RecordingMode::Blocked,
            },
            background_wake: r.background_wake,
        }
    }
}
