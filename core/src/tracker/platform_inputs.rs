//! What the platform layer reports besides fixes: the permission the user granted, the
//! wake-up sources it armed, the significant-motion trigger; and the motion state kept for a
//! relaunch. The decisions are in `crate::platform`; this file wires them into the tracker.

use super::{Event, Shared, Tracker, lock};
use crate::decisions::Decider;
use crate::platform::relaunch::{self, RelaunchState};
use crate::platform::{AccessReport, LocationAccess, RecordingMode, UpdatesPlan, WakeSources};
use crate::policy::MotionState;
use crate::store::Store;

impl Tracker {
    /// The permission as the platform reads it; call it at start and whenever it changes.
    /// Approximate-only access switches to recording coarse fixes (see
    /// `platform::approximate`); any change of what is recorded is told as
    /// [`Event::AccessChanged`], so the app never sits in a silent dead state.
    pub fn set_location_access(&self, access: LocationAccess) {
        let _log = self.shared.log_scope();
        let report = AccessReport::of(access);
        let previous = std::mem::replace(&mut *lock(&self.shared.access), report);
        let output = lock(&self.shared.decider).set_mode(report.mode, self.shared.steady.now_ms());
        if previous != report {
            log::info!(
                "location permission: granted {}, precise {}, background {}: recording {:?}",
                access.granted,
                access.precise,
                access.background,
                report.mode
            );
            self.shared.emit(Event::AccessChanged { report });
        }
        self.shared.apply_policy(vec![output]);
    }

    /// What the SDK records under the permission last reported.
    pub fn access_report(&self) -> AccessReport {
        *lock(&self.shared.access)
    }

    /// Android's significant-motion sensor fired: resume sampling if stationary.
    pub fn on_significant_motion(&self) {
        let _log = self.shared.log_scope();
        log::info!("the OS reports significant motion");
        let output = lock(&self.shared.decider).significant_motion(self.shared.steady.now_ms());
        if self.shared.apply_policy(vec![output]) {
            self.upload_now(false);
        }
    }

    /// What the platform should apply now, given the wake-up sources it actually armed: it
    /// may stop its own updates only when one of them can wake it again.
    pub fn plan_updates(&self, armed: WakeSources) -> UpdatesPlan {
        crate::platform::plan_updates(&self.sampling_request(), armed)
    }
}

impl Shared {
    /// Saves the motion state for the next process, best effort: a failed write only costs
    /// a relaunch some GNSS time.
    pub(super) fn remember_motion(&self, state: MotionState) {
        // A stop inside a privacy zone is not written down: the relaunched process starts
        // moving instead (some GNSS time) rather than store a position the app keeps private.
        let stop = lock(&self.decider)
            .stop_position()
            .filter(|&(lat, lon)| !self.in_privacy_zone(lat, lon));
        let saved = match (state, stop) {
            (MotionState::Stationary, Some((latitude_deg, longitude_deg))) => {
                RelaunchState::Stationary {
                    latitude_deg,
                    longitude_deg,
                    saved_at_ms: self.steady.now_ms(),
                }
            }
            _ => RelaunchState::Moving,
        };
        let _ = lock(&self.store).set_meta(relaunch::META_KEY, &saved.encode());
    }
}

/// At open: a tracker that was tracking resumes the stop it saved, if recent.
pub(super) fn resume_motion(store: &Store, decider: &mut Decider, tracking: bool, now_ms: i64) {
    if !tracking || decider.mode() != RecordingMode::Precise {
        return;
    }
    let saved = store
        .meta(relaunch::META_KEY)
        .ok()
        .flatten()
        .and_then(|text| RelaunchState::decode(&text));
    if let Some((latitude_deg, longitude_deg)) = saved.and_then(|s| s.resume_at(now_ms)) {
        decider.resume_stationary(latitude_deg, longitude_deg, now_ms);
    }
}

#[cfg(test)]
#[path = "platform_inputs_tests.rs"]
mod tests;
