//! The uniffi surface for what the platform layers report besides fixes (permission, armed
//! wake-up sources, significant motion) and the core's answers to them, shared by Android and
//! iOS. The decisions are the core's (`tracelet_core::platform`).

use crate::{AccessReport, LocationAccess, Tracelet, UpdatesPlan, WakeSources};

#[uniffi::export]
impl Tracelet {
    /// Reports the permission; call it at start and on every change. Approximate only makes
    /// the core store coarse fixes; each change is told as the `AccessChanged` event.
    pub fn set_location_access(&self, access: LocationAccess) {
        self.tracker.set_location_access(access);
    }

    /// What the SDK records under the permission last reported.
    pub fn access_report(&self) -> AccessReport {
        self.tracker.access_report()
    }

    /// Android's significant-motion sensor fired: sampling resumes if stationary.
    pub fn on_significant_motion(&self) {
        self.tracker.on_significant_motion();
    }

    /// What to apply to the OS now, given the wake-up sources the platform armed.
    pub fn plan_updates(&self, armed: WakeSources) -> UpdatesPlan {
        self.tracker.plan_updates(armed)
    }
}
