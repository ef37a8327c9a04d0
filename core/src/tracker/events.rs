//! What the tracker tells the app: the [`Event`]s, the [`EventListener`] that receives them,
//! and the fan-out that turns the policy's and the geofences' decisions into events. Events are
//! delivered in order on the thread that caused them, never while a lock is held.

use super::{Shared, lock};
use crate::filter::Smoothed;
use crate::geofence::RegionRequest;
use crate::geofencing::{GeofenceTransition, Observed};
use crate::policy::{MotionReason, MotionState, PolicyOutput, SamplingRequest};

/// Something the app may want to know, delivered in order on the thread that caused it.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "uniffi", uniffi(name = "TraceletEvent"))]
pub enum Event {
    FixAccepted {
        seq: u64,
    },
    /// The filter smoothed the fix stored as `seq` (the raw position is what is stored).
    FixSmoothed {
        seq: u64,
        smoothed: Smoothed,
    },
    /// A fix was not stored; `reason` is a stable short name (`implied_speed`, `not_finite`…).
    FixRejected {
        reason: String,
    },
    TrackingChanged {
        tracking: bool,
    },
    UploadSucceeded {
        first_seq: u64,
        last_seq: u64,
    },
    UploadFailed {
        reason: String,
        retry_in_ms: i64,
    },
    BatchDeadLettered {
        first_seq: u64,
        last_seq: u64,
        http_status: u16,
    },
    /// The server said it already had fixes or events of a batch sent for the first time:
    /// another install is sending under this device id and stream, or the server does not key
    /// on streams. The batch was deleted as delivered; those fixes may be missing at the
    /// server. (`first_seq`/`last_seq` are 0 for a batch of events only.)
    DeliveryAnomaly {
        first_seq: u64,
        last_seq: u64,
        duplicates: u64,
        event_duplicates: u64,
    },
    /// The queue was full by `reason` and its oldest fixes were dropped.
    FixesEvicted {
        count: u64,
        reason: String,
    },
    /// The queue database was corrupt; it was moved aside and a fresh one started.
    StorageRecovered {
        quarantined_file: String,
    },
    /// The motion policy changed state (for example moving to stationary), and why.
    MotionChanged {
        state: MotionState,
        reason: MotionReason,
    },
    /// The platform layer should apply this request to the OS location API now.
    SamplingChanged {
        request: SamplingRequest,
    },
    /// The device entered, left or dwelt in an app geofence (decided on the fix at `time_ms`).
    Geofence {
        transition: GeofenceTransition,
        id: String,
        time_ms: i64,
    },
    /// The platform layer should have the OS watch exactly these regions now.
    RegionsChanged {
        request: RegionRequest,
    },
    /// What the SDK records under the user's permission changed (approximate only, no
    /// background wake-ups...); see `Tracker::set_location_access`.
    AccessChanged {
        report: crate::platform::AccessReport,
    },
    /// The tracking schedule turned tracking on or off (a `TrackingChanged` comes with it when
    /// that changed anything). `next_transition_ms` (UTC) is when it next will: the platform
    /// arranges to be woken then.
    ScheduleChanged {
        tracking: bool,
        next_transition_ms: Option<i64>,
    },
}

/// Receives events. Implementations must return quickly and must not call back into the
/// tracker synchronously.
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: Event);
}

impl Shared {
    /// Tells the app about geofence transitions and a new region request; true if a geofence
    /// fired (worth an upload at once: the server's "arrived" should not wait for a batch).
    pub(super) fn emit_observed(&self, observed: &Observed) -> bool {
        let mut fired = false;
        for (transition, id, time_ms) in observed.transitions() {
            fired = true;
            self.emit(Event::Geofence {
                transition,
                id: id.to_owned(),
                time_ms,
            });
        }
        if let Some(request) = &observed.regions {
            self.emit(Event::RegionsChanged {
                request: request.clone(),
            });
        }
        fired
    }

    /// Emits what the policy decided; true if the phone stopped (an upload trigger).
    pub(super) fn apply_policy(&self, outputs: Vec<PolicyOutput>) -> bool {
        let mut stopped = false;
        for output in outputs {
            if let Some((state, reason)) = output.motion_change {
                // A stop is worth an upload at once (the server sees the trip end); a departure
                // has little queued and rides with the next interval upload.
                stopped |= state == MotionState::Stationary;
                log::info!("motion: {state:?} ({reason:?})");
                self.emit(Event::MotionChanged { state, reason });
                self.remember_motion(state);
            }
            // While a position request waits, GNSS stays on; the policy's request is
            // announced again when it is answered.
            if let Some(request) = output.request.filter(|_| !self.positions_waiting()) {
                // Never the stationary geofence's centre: only how the OS is asked to sample.
                log::info!(
                    "sampling: {:?}, every {} s, min distance {} m, batched up to {} s{}",
                    request.priority,
                    request.interval_ms / 1000,
                    request.min_distance_m,
                    request.max_batch_delay_ms / 1000,
                    match &request.stationary_geofence {
                        Some(_) => ", stationary geofence armed",
                        None => "",
                    }
                );
                self.emit(Event::SamplingChanged { request });
            }
        }
        stopped
    }

    pub(super) fn emit(&self, event: Event) {
        // Clone the listener out so that no lock is held while foreign code runs.
        let listener = lock(&self.listener).clone();
        if let Some(listener) = listener {
            listener.on_event(event);
        }
    }
}
