//! When the platform may stop its own location updates.
//!
//! While the phone is still, the core's request lets GNSS go off: a stationary geofence (and,
//! with the efficient preset, passive listening) is meant to notice the departure. That is only
//! true if something can actually wake the app: a monitored region, Android's significant-motion
//! sensor, iOS significant-change monitoring. With "while in use" permission, approximate
//! location or a refused region there is none, and stopping updates left the app deaf until the
//! process died. So the platform reports what it armed, and keeps coarse updates otherwise.

use crate::policy::{Priority, SamplingRequest};

/// The wake-up sources the platform layer actually set up (accepted by the OS), not merely
/// asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WakeSources {
    /// The stationary geofence is monitored (iOS region, Android proximity alert).
    pub stationary_region: bool,
    /// Android's one-shot `TYPE_SIGNIFICANT_MOTION` trigger is armed.
    pub significant_motion: bool,
    /// iOS significant-change (or visit) monitoring runs.
    pub significant_change: bool,
}

impl WakeSources {
    pub fn any(self) -> bool {
        self.stationary_region || self.significant_motion || self.significant_change
    }
}

/// What the platform applies to the OS.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UpdatesPlan {
    /// The request to apply (the core's own, or the coarse fallback).
    pub request: SamplingRequest,
    /// Whether the platform keeps standard location updates running. False only when the
    /// core's request allows GNSS off and a wake-up source is armed.
    pub standard_updates: bool,
    /// True when the coarse fallback replaced an idle request because nothing can wake the app.
    pub coarse_fallback: bool,
}

/// Longest wait between fallback fixes: a departure is noticed within about this long.
pub const FALLBACK_MAX_INTERVAL_MS: i64 = 5 * 60_000;

/// Decides the updates for `request` given what the platform armed.
pub fn plan_updates(request: &SamplingRequest, armed: WakeSources) -> UpdatesPlan {
    let idle = request.priority == Priority::Passive || request.stationary_geofence.is_some();
    if !idle {
        return UpdatesPlan {
            request: request.clone(),
            standard_updates: true,
            coarse_fallback: false,
        };
    }
    if armed.any() {
        return UpdatesPlan {
            request: request.clone(),
            standard_updates: false,
            coarse_fallback: false,
        };
    }
    UpdatesPlan {
        request: coarse_fallback(request),
        standard_updates: true,
        coarse_fallback: true,
    }
}

/// Network-quality fixes often enough to notice a departure, and only when the phone moved
/// about the geofence's radius: still cheap, never GNSS.
fn coarse_fallback(request: &SamplingRequest) -> SamplingRequest {
    let interval_ms = request.interval_ms.clamp(1, FALLBACK_MAX_INTERVAL_MS);
    SamplingRequest {
        priority: Priority::LowPower,
        interval_ms,
        fastest_interval_ms: request.fastest_interval_ms.clamp(1, interval_ms),
        min_distance_m: request.stationary_geofence.map_or(0.0, |g| g.radius_m),
        max_batch_delay_ms: 0,
        // Kept: if the platform manages to arm it later, the exit still resumes sampling.
        stationary_geofence: request.stationary_geofence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{MotionPolicy, PolicyConfig, StationaryGeofence};

    fn stationary(config: PolicyConfig) -> SamplingRequest {
        let mut request = MotionPolicy::new(config.clone()).sampling_request();
        request.priority = config.heartbeat_priority;
        request.interval_ms = config.heartbeat_ms;
        request.fastest_interval_ms = 60_000;
        request.stationary_geofence = Some(StationaryGeofence {
            latitude_deg: 48.0,
            longitude_deg: 11.0,
            radius_m: config.geofence_radius_m,
        });
        request
    }

    #[test]
    fn moving_requests_always_keep_updates() {
        let moving = SamplingRequest::moving_balanced();
        let plan = plan_updates(&moving, WakeSources::default());
        assert_eq!(plan.request, moving);
        assert!(plan.standard_updates && !plan.coarse_fallback);
    }

    #[test]
    fn updates_stop_only_when_a_wake_up_source_is_armed() {
        let still = stationary(PolicyConfig::balanced());
        for armed in [
            WakeSources {
                stationary_region: true,
                ..WakeSources::default()
            },
            WakeSources {
                significant_motion: true,
                ..WakeSources::default()
            },
            WakeSources {
                significant_change: true,
                ..WakeSources::default()
            },
        ] {
            let plan = plan_updates(&still, armed);
            assert!(!plan.standard_updates, "{armed:?}");
            assert_eq!(plan.request, still);
        }
    }

    #[test]
    fn without_a_wake_up_source_coarse_updates_continue() {
        for config in [PolicyConfig::efficient(), PolicyConfig::balanced()] {
            let still = stationary(config.clone());
            let plan = plan_updates(&still, WakeSources::default());
            assert!(plan.standard_updates && plan.coarse_fallback);
            assert_eq!(plan.request.priority, Priority::LowPower);
            assert!(plan.request.interval_ms <= FALLBACK_MAX_INTERVAL_MS);
            assert_eq!(plan.request.min_distance_m, config.geofence_radius_m);
            assert!(plan.request.is_valid(), "{:?}", plan.request);
        }
    }
}
